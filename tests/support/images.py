"""Reading pictures back: pixels of a PNG, and how much of it is ink or a given colour."""

from __future__ import annotations

import io

import numpy as np


def png_pixels(data: bytes) -> np.ndarray:
    """Height x width x RGB, 0-255 (Pillow comes with matplotlib)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def ink_share(pixels: np.ndarray) -> float:
    """Share of pixels that are not (nearly) white."""
    return float(np.mean(np.any(pixels < 235, axis=2)))


def colour_count(pixels: np.ndarray, colour: str, tolerance: int = 12) -> int:
    """Pixels within ``tolerance`` of ``#rrggbb`` in every channel."""
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int(np.sum(np.all(np.abs(pixels - rgb) <= tolerance, axis=2)))
