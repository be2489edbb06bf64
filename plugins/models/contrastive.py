"""Contrastive pre-training shared by ShadowEyes and FICL: NT-Xent, projection head, fine-tuning.

Pre-training (SimCLR-style) learns an encoder so that two augmented views of one account map
close together and views of different accounts apart:

* projection head: bias-free linear, batch norm, ReLU, linear (ShadowEyes' head);
* NT-Xent loss with temperature ``tau``: for a batch of N accounts and 2N views, each view's
  positive is the other view of its account and its negatives the other 2N - 2 views;
* fine-tuning: the pre-trained encoder is frozen (weights and batch-norm statistics) and a new
  fully connected classifier is trained on the labelled rows with the shared loop.

Views are precomputed once per model: ``n_views`` augmented copies of every pre-training row;
each epoch pairs two different copies per row. This keeps transaction-level augmentations
(which recompute account attributes) affordable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from framework.progress import progress
from plugins.models.lightning_training import train


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """Normalised temperature-scaled cross entropy over the 2N views of a batch."""
    z = nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    similarity = z @ z.T / temperature
    similarity.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return nn.functional.cross_entropy(similarity, targets)


def projection_head(input_dim: int, hidden: int, output: int) -> nn.Module:
    return nn.Sequential(nn.Linear(input_dim, hidden, bias=False), nn.BatchNorm1d(hidden),
                         nn.ReLU(inplace=True), nn.Linear(hidden, output))


class ViewPairs(Dataset):
    """Two different precomputed views of each row, re-drawn every epoch."""

    def __init__(self, views: np.ndarray, seed: int) -> None:
        self.views = torch.as_tensor(views, dtype=torch.float32)  # (n_views, n_rows, d)
        self.rng = np.random.default_rng(seed)
        self.redraw()

    def redraw(self) -> None:
        k, n = self.views.shape[:2]
        first = self.rng.integers(0, k, size=n)
        second = (first + self.rng.integers(1, k, size=n)) % k if k > 1 else first
        self.pairs = np.stack([first, second], axis=1)

    def __len__(self) -> int:
        return self.views.shape[1]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = self.pairs[i]
        return self.views[a, i], self.views[b, i]


class ContrastiveModule(L.LightningModule):
    def __init__(self, encoder: nn.Module, encoder_dim: int, projection_dim: int,
                 temperature: float, lr: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = projection_head(encoder_dim, encoder_dim, projection_dim)
        self.temperature, self.lr = temperature, lr
        self.epoch_losses: list[float] = []
        self._sum, self._count = 0.0, 0

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        v1, v2 = batch
        loss = nt_xent(self.head(self.encoder(v1)), self.head(self.encoder(v2)), self.temperature)
        self.log("nt_xent", loss, prog_bar=True, on_epoch=True, on_step=False)
        self._sum += float(loss.detach()) * len(v1)
        self._count += len(v1)
        return loss

    def on_train_epoch_end(self) -> None:
        self.epoch_losses.append(self._sum / max(self._count, 1))
        self._sum, self._count = 0.0, 0
        loader = self.trainer.train_dataloader
        if loader is not None and hasattr(loader.dataset, "redraw"):
            loader.dataset.redraw()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=1e-6)


def precompute_views(X: np.ndarray, augment: Callable[[np.ndarray, np.random.Generator],
                                                      np.ndarray] | None,
                     n_views: int, rng: np.random.Generator, noise: float) -> np.ndarray:
    """``n_views`` augmented copies of ``X``; Gaussian noise when no augmentation is given."""
    positions = np.arange(len(X))
    views = []
    # Transaction-level augmentations recompute every account's attributes: minutes per view.
    for _ in progress(range(n_views), total=n_views, desc="augmented views", unit="view"):
        view = augment(positions, rng) if augment is not None else (
            X + rng.normal(0.0, noise, size=X.shape))
        views.append(np.asarray(view, dtype=np.float32))
    return np.stack(views)


def pretrain(encoder: nn.Module, encoder_dim: int, views: np.ndarray, *, projection_dim: int,
             temperature: float, lr: float, batch_size: int, epochs: int,
             trainer_cfg: dict[str, Any] | None, seed: int,
             desc: str = "contrastive pre-training") -> ContrastiveModule:
    module = ContrastiveModule(encoder, encoder_dim, projection_dim, temperature, lr)
    pairs = ViewPairs(views, seed)
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(pairs, batch_size=min(batch_size, len(pairs)), shuffle=True,
                        drop_last=len(pairs) > batch_size, generator=generator)
    train(module, loader, trainer_cfg=trainer_cfg, max_epochs=epochs, desc=desc)
    return module


class FrozenEncoder(nn.Module):
    """A pre-trained encoder whose weights and batch-norm statistics stay fixed."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        for parameter in self.encoder.parameters():
            parameter.requires_grad_(False)

    def train(self, mode: bool = True) -> FrozenEncoder:
        super().train(mode)
        self.encoder.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)


@torch.no_grad()
def embed(encoder: nn.Module, X: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    encoder.eval()
    device = next(encoder.parameters()).device
    return torch.cat([encoder(torch.as_tensor(X[i:i + batch_size], dtype=torch.float32,
                                              device=device)).cpu()
                      for i in range(0, len(X), batch_size)]).numpy()
