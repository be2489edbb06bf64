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


def carve_validation(train: np.ndarray, y: np.ndarray, val_size: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation): a seeded ``val_size`` share of the training rows, stratified when
    every present class has two rows; no validation rows when ``val_size`` is 0."""
    if val_size <= 0:
        return train, np.empty(0, dtype=np.int64)
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y[train])
    stratify = y[train] if counts[counts > 0].min() >= 2 else None
    kept, validation = train_test_split(train, test_size=val_size, random_state=seed,
                                        stratify=stratify)
    return kept, validation


def positive_class(data: AccountData) -> int | None:
    """The malicious class of a two-class dataset with one benign class, else None."""
    names = list(data.class_names)
    malicious = [c for c in names if c not in data.benign_classes]
    return names.index(malicious[0]) if len(names) == 2 and len(malicious) == 1 else None
