"""``chainsleuth embeddings``: t-SNE of a contrastive model's embeddings before and after
pre-training (the ShadowEyes paper's Fig. 10), written to a PNG.

It builds exactly what ``chainsleuth run`` would (same overrides), embeds the test rows with the
randomly initialised encoder, pre-trains and fine-tunes the model, embeds them again with the
trained encoder, and draws both t-SNE maps coloured by class.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np

from framework.errors import ConfigError
from framework.hookspecs import hookimpl
from framework.interfaces import Command
from framework.results import atomic_output


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--max-points", type=int, default=2000,
                        help="test rows to plot (a seeded sample when there are more)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for chainsleuth run")


def _tsne(points: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    perplexity = float(min(30, max(5, len(points) // 4)))
    return TSNE(n_components=2, random_state=seed, perplexity=perplexity,
                init="pca").fit_transform(points)


def draw(before: np.ndarray, after: np.ndarray, labels: np.ndarray, names: list[str],
         title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
    for ax, points, caption in ((axes[0], before, "before pre-training"),
                                (axes[1], after, "after pre-training")):
        for index, name in enumerate(names):
            mask = labels == index
            ax.scatter(points[mask, 0], points[mask, 1], s=6, alpha=0.7, label=name)
        ax.set_title(caption)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[1].legend(markerscale=3, fontsize=7, loc="best")
    fig.suptitle(title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _run(args: argparse.Namespace) -> int:
    import torch

    from framework.hydra_app import compose_config
    from framework.runner import prepare
    from plugins.models.contrastive import embed

    cfg = compose_config(["model=shadoweyes", *args.overrides])
    job = prepare(cfg)
    if job.encoder is None or not callable(getattr(job.model, "embed", None)):
        raise ConfigError(f"model '{cfg.model.name}' has no encoder embeddings to plot; use "
                          f"model=shadoweyes or model=ficl")
    task, X, seed = job.task, job.X, int(cfg.seed)
    rows = task.test
    if len(rows) > args.max_points:
        rows = np.sort(np.random.default_rng(seed).choice(rows, args.max_points, replace=False))
    torch.manual_seed(seed)
    before = embed(job.encoder.build(X.shape[1]), X[rows])
    validation = (X[task.validation], task.y[task.validation]) if len(task.validation) else None
    job.model.fit(X[task.train], task.y[task.train], validation=validation, unlabeled=job.pool)
    after = job.model.embed(X[rows])
    origin = job.data.provenance.origin
    title = (f"{cfg.model.name} on {job.data.name} ({origin}), {len(rows)} test rows, "
             f"augmentation={cfg.augmentation.name}, seed {seed}")
    png = draw(_tsne(before, seed), _tsne(after, seed), task.y[rows], task.class_names, title)
    with atomic_output(args.out) as tmp:
        tmp.write_bytes(png)
    print(f"wrote {args.out} ({title})")
    return 0


@hookimpl
def register_commands() -> dict[str, Command]:
    return {"embeddings": Command(help="t-SNE of encoder embeddings before/after pre-training "
                                       "(ShadowEyes Fig. 10)", configure=_configure, run=_run)}
