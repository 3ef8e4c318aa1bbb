"""Fetch Debian packages without installing them: `apt-get download` + `dpkg-deb -x` into a folder.

Needs no root and changes nothing system-wide. Downloads are cached as `<raw>/debs/<name>.deb`
and unpacked once into `<raw>/<name>/`. Leaves out: verifying signatures beyond what apt does.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from tokshift.core.atomic import atomic_dir
from tokshift.core.errors import TokshiftError

log = logging.getLogger(__name__)


class DebianSourceError(TokshiftError, RuntimeError):
    """A Debian package could not be fetched or unpacked; the message says what to do instead."""


NO_APT = (
    "apt-get is not available on this machine, so the embedded Debian corpus cannot be fetched. "
    "Use a `files` source (local txt/jsonl/parquet) or an `hf` source (a Hugging Face dataset) "
    "in params.yaml: corpus.sources instead."
)


def download_deb(package: str, debs_dir: Path) -> Path:
    """`apt-get download <package>` into `debs_dir`; returns the cached `.deb` path."""
    debs_dir.mkdir(parents=True, exist_ok=True)
    cached = debs_dir / f"{package}.deb"
    if cached.exists():
        return cached
    if shutil.which("apt-get") is None:
        raise DebianSourceError(NO_APT)
    work = debs_dir / f".{package}.download"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    for attempt in range(2):
        proc = subprocess.run(["apt-get", "download", "-q", package], cwd=work, capture_output=True, text=True)
        if proc.returncode == 0:
            break
        # A fresh machine has empty package lists; root can refresh them once.
        if attempt == 0 and "Unable to locate" in proc.stderr and os.geteuid() == 0:
            log.info("refreshing apt package lists (apt-get update)")
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True)
            continue
        shutil.rmtree(work, ignore_errors=True)
        hint = "run `apt-get update` (as root) first" if "Unable to locate" in proc.stderr else "check the name"
        raise DebianSourceError(
            f"apt-get download {package} failed: {proc.stderr.strip()[-400:]}\n"
            f"Fix: {hint} in params.yaml: corpus.sources, or use a `files` / `hf` source instead."
        )
    found = sorted(work.glob("*.deb"))
    if len(found) != 1:
        raise DebianSourceError(f"apt-get download {package} produced {len(found)} .deb files in {work}")
    os.replace(found[0], cached)
    shutil.rmtree(work, ignore_errors=True)
    return cached


def extract_deb(deb: Path, dest: Path) -> Path:
    """`dpkg-deb -x deb dest` (atomically, once); returns `dest`."""
    if dest.exists():
        return dest
    if shutil.which("dpkg-deb") is None:
        raise DebianSourceError(NO_APT.replace("apt-get", "dpkg-deb", 1))
    with atomic_dir(dest) as tmp:
        proc = subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise DebianSourceError(
                f"{deb}: dpkg-deb -x failed ({proc.stderr.strip()[-300:]}); delete the file to download it again"
            )
    return dest


def fetch_package(package: str, raw_dir: Path) -> Path:
    """Download and unpack `package` under `raw_dir`; returns the unpacked root folder."""
    deb = download_deb(package, raw_dir / "debs")
    return extract_deb(deb, raw_dir / "deb" / package)
