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
from typing import Any

import numpy as np

from framework.errors import ConfigError
from framework.hookspecs import hookimpl
from framework.interfaces import Command
from framework.progress import progress
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
    from matplotlib.figure import Figure  # no pyplot: the caller's backend stays as it was

    fig = Figure(figsize=(12, 5.5))
    axes = fig.subplots(1, 2)
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
    return buffer.getvalue()


def _run(args: argparse.Namespace) -> int:
    try:
        import torch
    except ModuleNotFoundError as exc:
        raise ConfigError(f"chainsleuth embeddings needs {exc.name}, which the 'neural' extra "
                          f'installs: pip install "chainsleuth[neural]"') from None

    from framework.hydra_app import compose_config
    from framework.runner import prepare
    from plugins.models.contrastive import embed

    cfg = compose_config(["model=shadoweyes", *args.overrides])
    # Six steps of very unequal length; the model's own bars give the ETA of the long ones.
    with progress(total=6, desc="embeddings", unit="step") as steps:
        steps.set_postfix_str("building the job (data, representation)")
        job = prepare(cfg)
        if job.encoder is None or not callable(getattr(job.model, "embed", None)):
            raise ConfigError(f"model '{cfg.model.name}' has no encoder embeddings to plot; "
                              f"use model=shadoweyes or model=ficl")
        task, X, seed = job.task, job.X, int(cfg.seed)
        rows = task.test
        if len(rows) > args.max_points:
            rows = np.sort(np.random.default_rng(seed).choice(rows, args.max_points,
                                                              replace=False))
        _advance(steps, "embedding with the random encoder")
        torch.manual_seed(seed)
        before = embed(job.encoder.build(X.shape[1]), X[rows])
        _advance(steps, "pre-training and fine-tuning")
        validation = ((X[task.validation], task.y[task.validation]) if len(task.validation)
                      else None)
        job.model.fit(X[task.train], task.y[task.train], validation=validation,
                      unlabeled=job.pool)
        _advance(steps, "embedding with the trained encoder")
        after = job.model.embed(X[rows])
        _advance(steps, "t-SNE of the random encoder's embeddings")
        before_map = _tsne(before, seed)
        _advance(steps, "t-SNE of the trained encoder's embeddings")
        after_map = _tsne(after, seed)
        _advance(steps, "drawing")
    origin = job.data.provenance.origin
    title = (f"{cfg.model.name} on {job.data.name} ({origin}), {len(rows)} test rows, "
             f"augmentation={cfg.augmentation.name}, seed {seed}")
    png = draw(before_map, after_map, task.y[rows], task.class_names, title)
    with atomic_output(args.out) as tmp:
        tmp.write_bytes(png)
    print(f"wrote {args.out} ({title})")
    return 0


def _advance(steps: Any, next_step: str) -> None:
    """Count the finished step and name the one that starts (shown beside the bar)."""
    steps.set_postfix_str(next_step, refresh=False)
    steps.update(1)


@hookimpl
def register_commands() -> dict[str, Command]:
    return {"embeddings": Command(help="t-SNE of encoder embeddings before/after pre-training "
                                       "(ShadowEyes Fig. 10)", configure=_configure, run=_run)}
