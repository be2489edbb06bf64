"""One seed for Python, NumPy, torch and Lightning."""

from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int) -> None:
    """Seed every generator a job may touch and ask torch for deterministic kernels.

    Same seed + same command on CPU gives identical metrics (tested). On GPU some kernels have
    no deterministic version; ``warn_only`` keeps them usable and Lightning logs a warning.
    """
    import lightning
    import torch

    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    lightning.seed_everything(seed, workers=True, verbose=False)
    torch.use_deterministic_algorithms(True, warn_only=True)
