"""ShadowEyes pre-training and inference throughput and peak memory, beside the MLP baseline.

    python benchmarks/shadoweyes_throughput.py [--device cpu|cuda] [--rows N] [--layout small|resnet50]

Both models get the same preprocessed rows of the default ``chain_sim`` world (synthetic) and
the same trainer; ShadowEyes pre-trains with NT-Xent on Gaussian-noise views (so augmentation
cost is excluded: this measures the networks), then fine-tunes; the MLP trains supervised.
Throughput is rows x epochs per second of training, and rows per second of inference; peak
memory is the process RSS (CPU) or ``torch.cuda.max_memory_allocated`` (GPU). Numbers go to
stdout as a table with the ShadowEyes / MLP ratio.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from framework.interfaces import DataContext, UnlabeledPool
from framework.memory import PeakMemorySampler
from framework.preprocessing import Preprocessor
from plugins.datasets.chain_sim.dataset import ChainSimDataset
from plugins.encoders.resnet1d import ResNet1DEncoder
from plugins.models.mlp import MLPModel
from plugins.models.shadoweyes import ShadowEyes

EPOCHS = 10


def measure(name: str, model, X: np.ndarray, y: np.ndarray, pool: UnlabeledPool | None,
            device: str, train_epochs: int) -> dict[str, float]:
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    with PeakMemorySampler() as memory:
        tick = time.perf_counter()
        model.fit(X, y, unlabeled=pool)
        fit_s = time.perf_counter() - tick
        tick = time.perf_counter()
        for _ in range(5):
            model.predict_proba(X)
        predict_s = (time.perf_counter() - tick) / 5
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else memory.peak_mb)
    return {"model": name, "fit_s": fit_s,
            "train_rows_per_s": len(X) * train_epochs / fit_s,
            "infer_rows_per_s": len(X) / predict_s, "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--rows", type=int, default=None, help="tile the data to this many rows")
    parser.add_argument("--layout", choices=("small", "resnet50"), default="small")
    args = parser.parse_args()
    data = ChainSimDataset().load(DataContext(None, Path("/tmp"), 0))
    X = Preprocessor().fit(data.X).transform(data.X)
    y = data.y
    if args.rows:
        repeats = int(np.ceil(args.rows / len(X)))
        X, y = np.tile(X, (repeats, 1))[: args.rows], np.tile(y, repeats)[: args.rows]
    trainer = {"accelerator": "gpu" if args.device == "cuda" else "cpu", "devices": 1,
               "enable_progress_bar": False, "deterministic": False}
    encoder = ResNet1DEncoder() if args.layout == "small" else ResNet1DEncoder((3, 4, 6, 3), 64)
    # Fixed epoch counts (patience larger than epochs) so both runs do the same work.
    shadoweyes = ShadowEyes(pretrain_epochs=EPOCHS, finetune_epochs=EPOCHS, patience=EPOCHS + 1,
                            n_views=2, encoder=encoder, trainer=trainer)
    mlp = MLPModel(max_epochs=2 * EPOCHS, patience=2 * EPOCHS + 1, trainer=trainer)
    pool = UnlabeledPool(X=X)
    rows = [measure("mlp", mlp, X, y, None, args.device, 2 * EPOCHS),
            measure(f"shadoweyes ({args.layout})", shadoweyes, X, y, pool, args.device,
                    2 * EPOCHS)]
    print(f"device={args.device} rows={len(X)} features={X.shape[1]} epochs={2 * EPOCHS} "
          f"torch={torch.__version__}")
    print(f"{'model':28s} {'fit s':>8s} {'train rows/s':>13s} {'infer rows/s':>13s} {'peak MB':>9s}")
    for row in rows:
        print(f"{row['model']:28s} {row['fit_s']:8.1f} {row['train_rows_per_s']:13.0f} "
              f"{row['infer_rows_per_s']:13.0f} {row['peak_mb']:9.0f}")
    base, other = rows
    print(f"{'ratio shadoweyes / mlp':28s} {other['fit_s'] / base['fit_s']:8.2f} "
          f"{other['train_rows_per_s'] / base['train_rows_per_s']:13.2f} "
          f"{other['infer_rows_per_s'] / base['infer_rows_per_s']:13.2f} "
          f"{other['peak_mb'] / base['peak_mb']:9.2f}")


if __name__ == "__main__":
    main()
