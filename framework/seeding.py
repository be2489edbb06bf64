"""One seed for Python, NumPy, torch and Lightning."""

from __future__ import annotations

import os
import random
import sys

import numpy as np


def seed_everything(seed: int) -> bool:
    """Seed every generator a job may touch and ask torch for deterministic kernels; returns
    whether torch was seeded.

    torch and Lightning are seeded only when torch is already imported: the job's plugins are
    imported before it is seeded (a plugin that uses torch imports it at module level, which a
    test checks for ours), so a job without torch never pays its 5 s import. The runner warns
    in the result when torch arrives later anyway. Same seed + same command on CPU gives
    identical metrics (tested). On GPU some kernels have no deterministic version;
    ``warn_only`` keeps them usable and Lightning logs a warning.
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    if "torch" not in sys.modules:
        return False
    import torch

    torch.manual_seed(seed)
    if "lightning" in sys.modules:  # its data-loader workers read the seed it records
        import lightning

        lightning.seed_everything(seed, workers=True, verbose=False)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return True
