"""The "evaluate" step of the PyTorch pipeline example.

    python3 evaluate.py TRIAL_DIR

Loads TRIAL_DIR/model.pt (written by train.py), measures its accuracy on the validation
images, which is what the study maximizes, and writes TRIAL_DIR/result.yaml for ``asktell tell``:

    {"values": {"accuracy": 0.9633}, "attrs": {"validation_loss": 0.12, "test_accuracy": 0.95, ...}}

(JSON is YAML.) The test images are scored only as an attribute, never tuned on.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import torch
from torch import nn

from digits import build_model, limit_threads, load_split, write_atomic


def scores(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, float | None]:
    """Accuracy and mean cross-entropy (None when not finite, as after a diverged training)."""
    with torch.no_grad():
        logits = model(images)
    accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
    loss = nn.functional.cross_entropy(logits, labels).item()
    return accuracy, loss if math.isfinite(loss) else None


def main(trial_dir: Path) -> None:
    saved = torch.load(trial_dir / "model.pt", weights_only=True)
    model = build_model(saved["depth"], saved["width"])
    model.load_state_dict(saved["state_dict"])
    model.eval()
    split = load_split()
    accuracy, loss = scores(model, *split["validation"])
    test_accuracy, _ = scores(model, *split["test"])
    train_loss = json.loads((trial_dir / "metrics.json").read_text())["train_loss"][-1]
    result = {"values": {"accuracy": accuracy},
              "attrs": {"validation_loss": loss, "test_accuracy": test_accuracy, "train_loss": train_loss}}
    write_atomic(trial_dir / "result.yaml", json.dumps(result) + "\n")
    print(f"evaluate: validation accuracy {accuracy:.4f}, test accuracy {test_accuracy:.4f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} TRIAL_DIR")
    limit_threads()
    main(Path(sys.argv[1]))
