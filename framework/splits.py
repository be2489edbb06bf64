"""Label helpers that scenarios (and the cross-platform pairing) share, kept once here.

A plugin never imports another plugin, so what two scenario plugins both need lives in the
framework: turning a dataset's classes into malicious (1) vs benign (0).
"""

from __future__ import annotations

import numpy as np

from framework.data import AccountData
from framework.errors import ConfigError

BINARY_CLASSES = ["benign", "malicious"]


def binarise(data: AccountData, purpose: str = "to binarise") -> np.ndarray:
    """1 for rows of a malicious class, 0 for benign, -1 for unlabelled rows. ``purpose`` ends
    the error raised when the dataset does not have both benign and malicious classes."""
    benign = [data.class_names.index(c) for c in data.benign_classes]
    if not benign or len(benign) == len(data.class_names):
        raise ConfigError(f"dataset '{data.name}' needs both benign and malicious classes "
                          f"{purpose} (benign: {data.benign_classes})")
    return np.where(data.y < 0, -1, ~np.isin(data.y, benign)).astype(np.int64)
