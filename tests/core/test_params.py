"""params.yaml is read into dataclasses; every bad value names its field."""

from __future__ import annotations

import pytest

from tests.helpers import ROOT
from tokshift.core.params import ParamsError, from_dict, load_section, read_yaml
from tokshift.data.corpus import CorpusConfig
from tokshift.hypernet.config import TrainConfig
from tokshift.presets import section_configs
from tokshift.stats.tokens import StatsConfig
from tokshift.tokenization.training import TokenizerConfig


def test_every_shipped_section_loads():
    load_section(ROOT / "params.yaml", "corpus", CorpusConfig)
    load_section(ROOT / "params.yaml", "stats", StatsConfig)
    assert load_section(ROOT / "params.yaml", "hypernet", TrainConfig).terms(0) == {"lm"}
    tokenizers = read_yaml(ROOT / "params.yaml")["tokenizers"]
    assert {"de-bpe-16k", "ru-bpe-16k", "ja-unigram-16k", "code-bpe-16k", "multi-bpe-32k"} <= set(tokenizers)
    for name, section in tokenizers.items():
        from_dict(TokenizerConfig, section, f"tokenizers.{name}")
    for name, section in read_yaml(ROOT / "params.yaml")["compound_tokenizers"].items():
        from_dict(TokenizerConfig, section, f"compound_tokenizers.{name}")


@pytest.mark.parametrize("value, message", [
    (0, "tokenizers.x.vocab_size must be > 0, got 0"),
    (-5, "tokenizers.x.vocab_size must be > 0, got -5"),
    (100, "tokenizers.x.vocab_size must be >= 259"),
    ("big", "tokenizers.x.vocab_size: expected int, got 'big'"),
    (True, "tokenizers.x.vocab_size: expected int, got True"),
])
def test_bad_vocab_size_names_the_field(value, message):
    with pytest.raises(ParamsError, match=message.replace(".", r"\.")):
        from_dict(TokenizerConfig, {"model": "bpe", "vocab_size": value, "langs": ["de"]}, "tokenizers.x")


def test_unknown_key_lists_known_keys():
    with pytest.raises(ParamsError, match=r"unknown key\(s\) \['vocab'\].*vocab_size"):
        from_dict(TokenizerConfig, {"model": "bpe", "vocab": 1000, "langs": ["de"]}, "tokenizers.x")


def test_missing_required_field():
    with pytest.raises(ParamsError, match=r"tokenizers\.x\.langs is required"):
        from_dict(TokenizerConfig, {"model": "bpe", "vocab_size": 1000}, "tokenizers.x")


def test_unknown_language_and_source_kind():
    with pytest.raises(ParamsError, match=r"corpus\.sources\[0\]\.lang: unknown language 'xx'"):
        from_dict(CorpusConfig, {"sources": [{"kind": "files", "lang": "xx", "path": "a"}]}, "corpus")
    kinds = r"\['debian', 'python_stdlib', 'hf', 'files'\]"
    with pytest.raises(ParamsError, match=rf"corpus\.sources\[0\]\.kind must be one of {kinds}, got 'ftp'"):
        from_dict(CorpusConfig, {"sources": [{"kind": "ftp", "lang": "de"}]}, "corpus")


def test_out_of_range_fraction():
    with pytest.raises(ParamsError, match=r"corpus\.valid_fraction must be in \(0, 1\), got 1\.5"):
        from_dict(CorpusConfig, {"sources": [{"kind": "python_stdlib", "lang": "code"}],
                                 "valid_fraction": 1.5}, "corpus")


def test_malformed_yaml_names_the_file(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("corpus:\n  sources: [unclosed\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="params.yaml: not valid YAML"):
        load_section(bad, "corpus", CorpusConfig)
    bad.write_text("stats: {}\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="section 'corpus' is missing"):
        load_section(bad, "corpus", CorpusConfig)


# `tokenizers` is a name -> TokenizerConfig mapping: which tokenizers to train is the pipeline's choice, and each
# entry leaves every field but model, vocab_size and langs (required, no default) and the base model's convention
# at TokenizerConfig's default.
NO_DEFAULT = {"tokenizers", "compound_tokenizers"}


def test_every_params_section_has_a_config():
    assert set(read_yaml(ROOT / "params.yaml")) == set(section_configs()) | NO_DEFAULT


@pytest.mark.parametrize("section", sorted(section_configs()))
def test_shipped_params_are_the_dataclass_defaults(section):
    cls = section_configs()[section]
    assert load_section(ROOT / "params.yaml", section, cls) == cls(), \
        f"params.yaml: {section} differs from {cls.__name__}'s defaults; change both together"


def test_tokenizer_entries_only_set_required_fields():
    for name, entry in read_yaml(ROOT / "params.yaml")["tokenizers"].items():
        assert set(entry) <= {"model", "vocab_size", "langs", "convention"}, f"tokenizers.{name}"
