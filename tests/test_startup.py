"""Every pipeline step pays the CLI's start-up: the hot commands must not import heavy modules.

numpy (~60 ms), scipy (over a second for scipy.stats), rich (~50 ms),
filelock (~30 ms, only the flock lock kind needs it), jsonschema (only
``check`` needs it) and matplotlib (0.3 s, only ``plot`` and ``report-html``)
must stay out of ask, tell, params, and report and should-prune, which a
training loop runs at every step.  This checks what is imported, not how
long it takes, so it does not depend on machine load.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("numpy", "scipy", "rich", "filelock", "jsonschema", "pydantic", "matplotlib")


def imported_modules(*args: str, top_level: bool = True) -> set[str]:
    """Names of every module a real ``python -m asktell ARGS`` imports (top-level packages only by default)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "asktell", *args],
                            capture_output=True, text=True, timeout=60)
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            names.add(name.split(".")[0] if top_level else name)
    assert names, result.stderr
    return names


@pytest.mark.parametrize("command", [
    ["ask", "{study}"],
    ["ask", "{study}", "--format", "env"],
    ["tell", "{study}", "0", "--value", "0.5"],
    ["params", "{study}/trials/000000", "--format", "args"],
    ["report", "{study}", "0", "--step", "1", "--value", "0.5"],
    ["should-prune", "{study}", "0"],
])
def test_hot_commands_import_nothing_heavy(study, command):
    if command[0] != "ask":
        assert subprocess.run([sys.executable, "-m", "asktell", "ask", str(study)], capture_output=True).returncode == 0
    loaded = imported_modules(*[part.format(study=study) for part in command])
    assert not loaded & set(HEAVY), f"{command[0]} imported {sorted(loaded & set(HEAVY))}"


#: A module each pruner imports with an import statement (-X importtime does not see importlib.import_module).
PRUNER_IMPORTS = {"median": "asktell.pruners.percentile", "hyperband": "asktell.pruners.successive_halving",
                  "wilcoxon": "asktell.pruners.signed_rank", "patient": "asktell.pruners.signed_rank"}


@pytest.mark.parametrize("pruner", sorted(PRUNER_IMPORTS))
def test_report_with_a_pruner_imports_nothing_heavy(tmp_path, pruner):
    """Every pruner is plain Python; wilcoxon computes its p-values without scipy.stats."""
    study = tmp_path / "study"
    options = {"hyperband": ["max_resource=9"], "patient": ["patience=1", "wrapped=wilcoxon"]}
    create = [sys.executable, "-m", "asktell", "create", str(study), "-p", "x=0..1", "--minimize", "loss",
              "--sampler", "random", "--pruner", pruner, *[f"--pruner-option={o}" for o in options.get(pruner, [])]]
    assert subprocess.run(create, capture_output=True).returncode == 0
    for _ in range(2):  # one complete trial with values to compare against, then the one reporting
        trial = subprocess.run([sys.executable, "-m", "asktell", "ask", str(study)], capture_output=True, text=True)
        for step in range(3):
            report = [sys.executable, "-m", "asktell", "report", str(study), trial.stdout.strip(), "--step", str(step),
                      "--value", "0.5"]
            assert subprocess.run(report, capture_output=True).returncode == 0
    tell = [sys.executable, "-m", "asktell", "tell", str(study), "0", "--value", "0.5"]
    assert subprocess.run(tell, capture_output=True).returncode == 0
    loaded = imported_modules("report", str(study), "1", "--step", "3", "--value", "0.9", top_level=False)
    assert PRUNER_IMPORTS[pruner] in loaded  # the pruner was built
    assert not {name.split(".")[0] for name in loaded} & set(HEAVY)


def test_the_probe_sees_heavy_imports(study):
    """``check`` does import jsonschema: proof that the probe above can fail."""
    assert "jsonschema" in imported_modules("check", str(study))


def test_tpe_model_needs_numpy_but_not_its_random_module_nor_scipy(tmp_path):
    """The default sampler imports numpy only once past its random start-up, and never ``numpy.random`` (~10 ms)."""
    study = tmp_path / "study"
    create = [sys.executable, "-m", "asktell", "create", str(study), "-p", "x=0..1", "--minimize", "loss",
              "--sampler-option", "n_startup=1"]
    assert subprocess.run(create, capture_output=True).returncode == 0
    assert "numpy" not in imported_modules("ask", str(study))  # the start-up trial
    tell = [sys.executable, "-m", "asktell", "tell", str(study), "0", "--value", "0.5"]
    assert subprocess.run(tell, capture_output=True).returncode == 0
    loaded = imported_modules("ask", str(study), top_level=False)
    assert "numpy" in loaded and "numpy.random" not in loaded and "scipy" not in loaded
