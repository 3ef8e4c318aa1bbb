"""The public API: every name in tokshift.__all__ resolves to the function or class it documents."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tokshift


@pytest.mark.parametrize("name", tokshift.__all__)
def test_every_public_name_resolves(name):
    value = getattr(tokshift, name)
    assert value.__name__ == name and value.__module__.startswith("tokshift.")


def test_importing_the_package_loads_no_model_code():
    code = "import sys, tokshift; print(int('torch' in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "0\n"


def test_unknown_names_are_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'transfr'"):
        tokshift.transfr  # noqa: B018


def test_all_lists_exactly_the_lazy_exports():
    assert sorted(tokshift.__all__) == sorted(tokshift._EXPORTS)
