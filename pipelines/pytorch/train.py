"""The "train" step of the PyTorch pipeline example.

    python3 train.py TRIAL_DIR

Reads the trial's parameters with ``asktell params``, trains the MLP of digits.py on the
training images by mini-batch Adam or SGD (with momentum), and writes TRIAL_DIR/model.pt (the
weights and the architecture) and TRIAL_DIR/metrics.json (the training loss of each epoch).
A diverging run is not an error: its model is saved as it is and scores what it scores.

Environment: EPOCHS (default 30), ASKTELL (the asktell command, default ``asktell``).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

from digits import build_model, limit_threads, load_split, trial_params, write_atomic

BATCH = 64
#: One seed for every trial, so that the same parameters always train the same model.
SEED = 0


def make_optimizer(params: dict, weights) -> torch.optim.Optimizer:
    if params["optimizer"] == "adam":
        return torch.optim.Adam(weights, lr=params["lr"])
    return torch.optim.SGD(weights, lr=params["lr"], momentum=params["momentum"])


def main(trial_dir: Path) -> None:
    params = trial_params(trial_dir)
    epochs = int(os.environ.get("EPOCHS", "30"))
    print(f"train: {json.dumps(params)}, {epochs} epochs")
    torch.manual_seed(SEED)
    images, labels = load_split()["train"]
    model = build_model(params["depth"], params["width"])
    optimizer = make_optimizer(params, model.parameters())
    loss_of = nn.CrossEntropyLoss()

    started = time.monotonic()
    losses = []
    for epoch in range(1, epochs + 1):
        total = 0.0
        for batch in torch.randperm(len(labels)).split(BATCH):
            optimizer.zero_grad()
            loss = loss_of(model(images[batch]), labels[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(labels))
        print(f"train: epoch {epoch:3d}/{epochs}  loss {losses[-1]:.4f}")

    torch.save({"depth": params["depth"], "width": params["width"], "state_dict": model.state_dict()},
               trial_dir / "model.pt.partial")
    os.replace(trial_dir / "model.pt.partial", trial_dir / "model.pt")
    finite = [loss if math.isfinite(loss) else None for loss in losses]  # JSON has no NaN
    write_atomic(trial_dir / "metrics.json",
                 json.dumps({"epochs": epochs, "seconds": round(time.monotonic() - started, 3), "train_loss": finite}))
    print(f"train: wrote {trial_dir / 'model.pt'}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} TRIAL_DIR")
    limit_threads()
    main(Path(sys.argv[1]))
