"""Rounding as a person reads numbers: two decimals, half up."""

from __future__ import annotations

import numpy as np


def round_half_up_array(values: np.ndarray, places: int = 2) -> np.ndarray:
    """Round every element half up (away from zero) to `places` decimals."""
    scale = 10.0**places
    # Rounding the scaled value to 6 places first removes binary noise, so that 2.675
    # (stored as 2.67499999…) rounds to 2.68 as printed, not to 2.67.
    scaled = np.round(np.abs(values) * scale, 6)
    rounded: np.ndarray = np.sign(values) * np.floor(scaled + 0.5) / scale
    return rounded


def round_half_up(value: float, places: int = 2) -> float:
    """Round one number half up (away from zero) to `places` decimals."""
    return float(round_half_up_array(np.array([value], dtype=float), places)[0])
