"""What train.py and evaluate.py share: the data split and the network, so the two never disagree.

The data are scikit-learn's bundled 8x8 digits (1,797 images, nothing downloaded), split once
with a fixed seed into training, validation (the study's objective) and test (kept aside, reported
only) sets.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

CLASSES = 10
PIXELS = 64
#: Images per set; the rest of the 1,797 are for training.
VALIDATION, TEST = 300, 300
SPLIT_SEED = 0


def limit_threads() -> None:
    """One intra-op thread unless OMP_NUM_THREADS says otherwise.

    A network this small gains nothing from more, and several trials often share a machine:
    there, torch's default of one thread per core made an epoch 50 times slower (measured
    with two threads on a loaded 2-core machine: 49 s instead of 1 s for 380 steps).
    """
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)


def load_split() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{"train" | "validation" | "test": (images, labels)}``, pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.data, dtype=torch.float32) / 16.0
    labels = torch.tensor(digits.target, dtype=torch.long)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
    parts = {"validation": order[:VALIDATION], "test": order[VALIDATION:VALIDATION + TEST],
             "train": order[VALIDATION + TEST:]}
    return {name: (images[index], labels[index]) for name, index in parts.items()}


def build_model(depth: int, width: int) -> nn.Sequential:
    """``depth`` hidden ReLU layers of ``width`` units between the 64 pixels and the 10 classes."""
    layers: list[nn.Module] = []
    fan_in = PIXELS
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width), nn.ReLU()]
        fan_in = width
    layers.append(nn.Linear(fan_in, CLASSES))
    return nn.Sequential(*layers)


def trial_params(trial_dir: Path) -> dict:
    """The trial's parameters, from ``asktell params`` ($ASKTELL, split on whitespace, or asktell)."""
    command = [*shlex.split(os.environ.get("ASKTELL", "asktell")), "params", str(trial_dir), "--format", "json"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{shlex.join(command)} exited {result.returncode}: {result.stderr.strip()}")
    return json.loads(result.stdout)


def write_atomic(path: Path, text: str) -> None:
    """Write next to the final name and move into place, so a reader never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)
