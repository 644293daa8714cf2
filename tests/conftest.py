"""Shared fixtures: the real ``asktell`` command, run as a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.files import assert_study_files_valid

_SCRIPT = Path(sys.executable).with_name("asktell")
#: The CLI as users run it: the installed console script (or ``python -m asktell``).
ASKTELL = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "asktell"]


def run_asktell(*args: object, cwd: Path | None = None, env: dict | None = None,
                input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``asktell ARGS...`` and capture its output (never raises on a non-zero exit)."""
    return subprocess.run([*ASKTELL, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, input=input, timeout=timeout)


def popen_asktell(*args: object, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([*ASKTELL, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


@pytest.fixture
def asktell():
    """``asktell(*args)`` runs the real CLI in a subprocess."""
    return run_asktell


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """A small study with every parameter kind and a condition, minimizing ``loss``."""
    path = tmp_path / "study"
    result = run_asktell("create", path, "-p", "lr=1e-5..1e-1:log", "-p", "n_layers=1..4",
                         "-p", "opt=adam,sgd", "-p", "momentum=0..0.9 if opt == sgd",
                         "-p", "dropout=0..0.5:0.1", "--minimize", "loss", "--seed", "7")
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def valid_files():
    """``valid_files(study)`` asserts every file of the study matches schemas/."""
    return assert_study_files_valid
