"""The PyTorch pipeline example, pipelines/pytorch/, run end to end with a real (CPU) PyTorch.

torch and scikit-learn come from the test interpreter when it has them, and otherwise from a
venv of their own (tests/support/venvs.py); asktell is the test interpreter's CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from asktell import Study
from tests.support.pipelines import asktell_command
from tests.support.processes import assert_check_passes
from tests.support.venvs import ROOT, VenvUnavailable, cached_venv

pytestmark = pytest.mark.slow

EXAMPLE = ROOT / "pipelines" / "pytorch"
#: The CPU build: any other version pulls gigabytes of CUDA packages.
REQUIREMENTS = ["torch==2.13.0", "scikit-learn"]
#: Ten classes: a model that learned nothing scores about 0.1.
CHANCE = 0.1
#: Bound for a few trials on a small, busy machine, never a speed assertion.
RUN_TIMEOUT = 900


@pytest.fixture(scope="module")
def torch_python() -> Path:
    """An interpreter that imports torch and scikit-learn."""
    probe = subprocess.run([sys.executable, "-c", "import torch, sklearn"], capture_output=True)
    if probe.returncode == 0:
        return Path(sys.executable)
    try:
        return cached_venv("torch", REQUIREMENTS)
    except VenvUnavailable as exc:
        pytest.skip(f"PyTorch cannot be installed here: {exc}")


def test_run_sh_tunes_an_mlp_on_digits(torch_python, tmp_path, valid_files):
    env = {**{k: v for k, v in os.environ.items() if k not in ("STUDY", "N_TRIALS", "SEED", "OMP_NUM_THREADS")},
           "STUDY": "study", "N_TRIALS": "3", "SEED": "3", "EPOCHS": "10",
           "PYTHON": str(torch_python), "ASKTELL": asktell_command(tmp_path)}
    run = subprocess.run([str(EXAMPLE / "run.sh")], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=RUN_TIMEOUT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "best trial:" in run.stdout

    study = tmp_path / "study"
    trials = Study.open(study).trials
    assert [t.state for t in trials] == ["complete"] * 3, run.stdout + run.stderr
    for record in trials:
        folder = study / "trials" / f"{record.number:06d}"
        assert (folder / "model.pt").is_file()
        assert len(json.loads((folder / "metrics.json").read_text())["train_loss"]) == 10
        result = yaml.safe_load((folder / "result.yaml").read_text())
        assert record.values == result["values"] and 0 <= result["values"]["accuracy"] <= 1
        assert 0 <= result["attrs"]["test_accuracy"] <= 1
        assert ("momentum" in record.params) == (record.params["optimizer"] == "sgd")
        assert 1 <= record.params["depth"] <= 3 and 16 <= record.params["width"] <= 256
    # Seed 3's first trial (Adam, lr 0.098, two layers of 206) reaches about 0.83 after 10 epochs.
    best = max(t.values["accuracy"] for t in trials)
    assert best > 5 * CHANCE, [t.values for t in trials]
    valid_files(study)
    assert_check_passes(study)

