"""Presets: named sets of params overrides kept as files (presets/<name>.yaml), run as one DVC experiment, or
pipelines of their own (presets/<name>/dvc.yaml + params.yaml, e.g. gemma3: another base model), run by `dvc repro`
on that file and so outside the default run.

A preset mirrors params.yaml's nesting with only the keys it changes. `overrides` checks every key
against params.yaml and every touched section against its dataclass, then flattens the preset into
`dvc exp run -S key=value` arguments; values are written in the override grammar DVC parses (strings
quoted, so `IVF4096,SQfp16` is one value and not a sweep over two).
Leaves out: sweeps (use `dvc exp run -S` directly).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokshift.core.errors import MissingFileError
from tokshift.core.params import ParamsError, from_dict, read_yaml


def preset_path(name: str, root: str | Path = ".") -> Path:
    """presets/<name>.yaml under `root`, presets/<name>/dvc.yaml (a pipeline preset), or `name` itself when it is a
    YAML file."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    presets = Path(root) / "presets"
    if (presets / name / "dvc.yaml").is_file():
        return presets / name / "dvc.yaml"
    path = presets / f"{name}.yaml"
    if not path.is_file():
        known = sorted([p.stem for p in presets.glob("*.yaml")] + [p.parent.name for p in presets.glob("*/dvc.yaml")])
        raise MissingFileError(f"{path}: no such preset; known presets: {known}")
    return path


def command(preset: Path, params: str | Path = "params.yaml") -> list[str]:
    """The dvc command that runs a preset: `dvc repro <its dvc.yaml>` for a pipeline preset, else `dvc exp run` with
    the overrides (checked first)."""
    if preset.name == "dvc.yaml":
        check_pipeline_params(preset.parent / "params.yaml")
        return ["dvc", "repro", str(preset)]
    return ["dvc", "exp", "run", *overrides(preset, params)]


def check_pipeline_params(params: Path) -> None:
    """Check every section of a pipeline preset's params file against its dataclass before anything runs."""
    from tokshift.evaluation.speed import SpeedConfig
    from tokshift.tokenization.training import TokenizerConfig

    configs = {**section_configs(), "model_report": SpeedConfig}  # the report stage runs in pipeline presets only
    for section, value in read_yaml(params).items():
        if section == "tokenizers":
            for name, spec in value.items():
                from_dict(TokenizerConfig, spec, f"{params}: tokenizers.{name}")
        elif section in configs:
            from_dict(configs[section], value, f"{params}: {section}")
        else:
            raise ParamsError(f"{params}: section '{section}' is read by no stage; known: {sorted(configs)}")


def _leaves(data: dict, prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        out += _leaves(value, name + ".") if isinstance(value, dict) else [(name, value)]
    return out


def _merge(base: dict, extra: dict, where: str) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if key not in base:
            raise ParamsError(f"{where}.{key}: not a key of params.yaml; known keys are {sorted(base)}")
        nested = isinstance(value, dict) and isinstance(base[key], dict)
        out[key] = _merge(base[key], value, f"{where}.{key}") if nested else value
    return out


def _value(value: Any) -> str:
    """One value in DVC's override grammar: 20000, 0.0001, true, "IVF4096,SQfp16", [de, ja]."""
    if isinstance(value, list):
        return "[" + ",".join(_value(v) for v in value) + "]"
    return json.dumps(value)


def section_configs() -> dict[str, type]:
    """params.yaml section -> the dataclass its stage reads (`tokenizers` and `compound_tokenizers` map names to
    TokenizerConfig)."""
    from tokshift.adapt.config import AdaptConfig
    from tokshift.compounds.decompounder import DecompounderConfig
    from tokshift.compounds.measure import CompoundEvalConfig
    from tokshift.compounds.pairs import CompoundDataConfig
    from tokshift.data.corpus import CorpusConfig
    from tokshift.data.samples import SampleConfig
    from tokshift.dynamic.evaluate import DynamicEvalConfig
    from tokshift.encoders.dynamic import EncoderDynamicConfig
    from tokshift.encoders.evaluate import EncoderEvalConfig
    from tokshift.encoders.help_task import HelpTaskConfig
    from tokshift.evaluation.ensemble import EnsembleEvalConfig
    from tokshift.evaluation.evaluate import EvaluateConfig
    from tokshift.heuristics.spaces import WechselConfig
    from tokshift.hypernet.config import EncoderHypernetConfig, TrainConfig
    from tokshift.large_vocab.folder import VocabIndexConfig
    from tokshift.mixture.infer import MixtureConfig
    from tokshift.model.base import BaseModelConfig, EncoderModelConfig
    from tokshift.stats.tokens import StatsConfig
    from tokshift.transfers.methods import EncoderTransferConfig, TransferConfig

    return {"corpus": CorpusConfig, "stats": StatsConfig, "base_model": BaseModelConfig, "transfer": TransferConfig,
            "hypernet": TrainConfig, "evaluate": EvaluateConfig, "dynamic_eval": DynamicEvalConfig,
            "vocab_index": VocabIndexConfig, "adapt": AdaptConfig, "encoder_model": EncoderModelConfig,
            "help_task": HelpTaskConfig, "encoder_transfer": EncoderTransferConfig, "encoder_eval": EncoderEvalConfig,
            "encoder_hypernet": EncoderHypernetConfig, "encoder_dynamic_eval": EncoderDynamicConfig,
            "mixture": MixtureConfig, "ensemble_eval": EnsembleEvalConfig, "wechsel": WechselConfig,
            "samples": SampleConfig, "compound_data": CompoundDataConfig, "decompounder": DecompounderConfig,
            "compound_eval": CompoundEvalConfig}


def overrides(preset: str | Path, params: str | Path = "params.yaml") -> list[str]:
    """`-S key=value` arguments for `dvc exp run`; each changed section is checked by loading it into its config."""
    data = read_yaml(preset)
    merged = _merge(read_yaml(params), data, Path(preset).name)
    configs = section_configs()
    for section in data:
        if section in configs:
            from_dict(configs[section], merged[section], f"{Path(preset).name}: {section}")
    args = []
    for key, value in _leaves(data):
        args += ["-S", f"{key}={_value(value)}"]
    return args
