"""Virtual environments for the heavy dependencies of the pipeline examples (Airflow, PyTorch).

They are not asktell's dependencies, so the tests install them into a venv of their own under
the repository (gitignored ``.venv-NAME``), made once and reused while its requirements stay the
same: a stamp file written after a complete install records them, so an interrupted install is
redone rather than trusted.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Installs fetch hundreds of MB from the registry: bounded, never a speed assertion.
INSTALL_TIMEOUT = 1200


class VenvUnavailable(Exception):
    """The venv cannot be made here (no network, no pip, ...): the test says why and skips."""


def cached_venv(name: str, requirements: list[str]) -> Path:
    """``ROOT/.venv-NAME`` with ``requirements`` pip-installed (``-e ROOT`` style entries allowed); its python."""
    folder = ROOT / f".venv-{name}"
    python = folder / "bin" / "python"
    stamp = folder / "installed.txt"
    wanted = "\n".join(requirements) + "\n"
    if stamp.is_file() and stamp.read_text() == wanted and python.exists():
        return python
    shutil.rmtree(folder, ignore_errors=True)
    for command in ([sys.executable, "-m", "venv", str(folder)],
                    [str(python), "-m", "pip", "install", "--quiet", *requirements]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        if result.returncode != 0:
            raise VenvUnavailable(f"{' '.join(command[:4])} ... exited {result.returncode}: "
                                  f"{result.stderr.strip()[-800:]}")
    stamp.write_text(wanted)
    return python
