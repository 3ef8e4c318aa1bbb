"""The device setting: auto picks CUDA only when there is one; an explicit GPU on a CPU machine is one line."""

from __future__ import annotations

import pytest
import torch

from tokshift.cli import main as cli_main
from tokshift.core.device import DeviceError, autocast, cpu_has_bf16, is_device_name, resolve_device, uses_bf16
from tokshift.core.params import ParamsError, from_dict
from tokshift.dynamic.evaluate import DynamicEvalConfig
from tokshift.evaluation.evaluate import EvaluateConfig, evaluate_all
from tokshift.hypernet.config import TrainConfig
from tokshift.large_vocab.folder import VocabIndexConfig
from tokshift.transfers.methods import TransferConfig, transfer

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour of a machine without a GPU")


def test_auto_follows_what_torch_sees(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device(" CPU ") == torch.device("cpu")


@no_gpu
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:3"])
def test_explicit_gpu_without_one_is_a_one_line_error(name):
    with pytest.raises(DeviceError) as err:
        resolve_device(name, "evaluate.device")
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"evaluate.device: '{name}' asked for")
    assert "set evaluate.device: auto or cpu" in message


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "tpu", ""])
def test_names_that_are_no_device(name):
    assert not is_device_name(name)
    with pytest.raises(DeviceError, match="use auto, cpu, cuda or cuda:N"):
        resolve_device(name or "nothing")


@pytest.mark.parametrize("cls, section", [(EvaluateConfig, "evaluate"), (DynamicEvalConfig, "dynamic_eval"),
                                          (VocabIndexConfig, "vocab_index"), (TransferConfig, "transfer"),
                                          (TrainConfig, "hypernet")])
def test_every_model_stage_has_the_setting(cls, section):
    assert cls().device == "auto"
    with pytest.raises(ParamsError, match=rf"{section}\.device must be auto, cpu, cuda or cuda:N, got 'gpu'"):
        from_dict(cls, {"device": "gpu"}, section)


def test_a_cpu_is_bf16_native_by_its_flags(tmp_path):
    native, plain = tmp_path / "native", tmp_path / "plain"
    native.write_text("flags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n")
    plain.write_text("flags\t\t: fpu avx2 avx512f avx512_vnni\n")
    assert cpu_has_bf16(str(native))
    assert not cpu_has_bf16(str(plain))
    assert not cpu_has_bf16(str(tmp_path / "absent"))  # not Linux: float32


@pytest.mark.parametrize("native", [False, True])
def test_cpu_autocasts_to_bf16_only_where_native_and_asked(monkeypatch, native):
    monkeypatch.setattr("tokshift.core.device.cpu_has_bf16", lambda: native)
    cpu = torch.device("cpu")
    assert uses_bf16(cpu) is native
    assert not uses_bf16(cpu, bf16=False)
    with autocast(cpu):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == (torch.bfloat16 if native else torch.float32)
    with autocast(cpu, bf16=False):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


@no_gpu
def test_stages_refuse_cuda_before_any_work(tiny_models, tokenizers_dir, tmp_path):
    with pytest.raises(DeviceError, match=r"^evaluate\.device: 'cuda' asked for"):
        evaluate_all(tiny_models["llama-tied"], [], tmp_path / "no-corpus.parquet", EvaluateConfig(device="cuda"))
    with pytest.raises(DeviceError, match=r"^transfer\.device: 'cuda' asked for"):
        transfer(tiny_models["llama-tied"], tokenizers_dir / "de-bpe-400", "hypernet", tmp_path / "t",
                 hypernet_dir=tmp_path, device="cuda")
    assert not (tmp_path / "t").exists()


@no_gpu
@pytest.mark.parametrize("command", ["evaluate", "generate"])
def test_cli_device_error_is_one_line(tiny_models, tmp_path, capsys, command):
    (tmp_path / "t.txt").write_text("Hallo Welt, wie geht es dir heute?", encoding="utf-8")
    args = {"evaluate": ["evaluate", "--model", str(tiny_models["llama-tied"]), "--text", str(tmp_path / "t.txt")],
            "generate": ["generate", "Hallo", "--model", str(tiny_models["llama-tied"])]}[command]
    assert cli_main([*args, "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--device: 'cuda' asked for" in err


def test_auto_runs_the_tiny_model_on_cpu(tiny_models, tmp_path, capsys):
    (tmp_path / "t.txt").write_text("Hallo Welt, wie geht es dir heute?", encoding="utf-8")
    assert cli_main(["evaluate", "--model", str(tiny_models["llama-tied"]), "--text", str(tmp_path / "t.txt"),
                     "--device", "auto"]) == 0
    assert "bpb" in capsys.readouterr().out
