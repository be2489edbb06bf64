"""``bert`` baseline: a transformer over feature tokens, pre-trained by masked-feature modelling.

Each feature ``j`` becomes a token ``value * w_j + b_j`` (a per-feature linear embedding), a
learned [CLS] token is prepended, and a transformer encoder reads the sequence. Pre-training on
the unlabelled rows masks each feature token with probability ``mask_p`` (replaced by a learned
[MASK] embedding) and regresses the masked values (MSE), as BERT predicts masked words; then the
whole network is fine-tuned with a classifier on [CLS], with early stopping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from framework.hookspecs import hookimpl
from plugins.models.lightning_training import (LogitsClassifier, encode_labels, fit_classifier,
                                               train)


class FeatureTransformer(nn.Module):
    def __init__(self, n_features: int, dim: int, heads: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_features, dim) * 0.1)
        self.bias = nn.Parameter(torch.zeros(n_features, dim))
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.mask = nn.Parameter(torch.zeros(dim))
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=dropout,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.reconstruct = nn.Linear(dim, 1)

    def tokens(self, x: torch.Tensor, masked: torch.Tensor | None = None) -> torch.Tensor:
        tokens = x.unsqueeze(-1) * self.weight + self.bias
        if masked is not None:
            tokens = torch.where(masked.unsqueeze(-1), self.mask.expand_as(tokens), tokens)
        return torch.cat([self.cls.expand(len(x), -1, -1), tokens], dim=1)

    def forward(self, x: torch.Tensor, masked: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(self.tokens(x, masked))


class MaskedFeatureModule(L.LightningModule):
    def __init__(self, network: FeatureTransformer, mask_p: float, lr: float) -> None:
        super().__init__()
        self.network, self.mask_p, self.lr = network, mask_p, lr

    def training_step(self, batch, _):
        (x,) = batch
        masked = torch.rand(x.shape, device=x.device) < self.mask_p
        out = self.network.reconstruct(self.network(x, masked)[:, 1:]).squeeze(-1)
        loss = nn.functional.mse_loss(out[masked], x[masked]) if masked.any() else out.sum() * 0
        self.log("masked_mse", loss, prog_bar=True, on_epoch=True, on_step=False)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


class ClsClassifier(nn.Module):
    def __init__(self, network: FeatureTransformer, dim: int, n_classes: int) -> None:
        super().__init__()
        self.network, self.head = network, nn.Linear(dim, n_classes)

    def forward(self, x):
        return self.head(self.network(x)[:, 0])


class BERTModel(LogitsClassifier):
    def __init__(self, dim: int = 32, heads: int = 4, layers: int = 2, dropout: float = 0.1,
                 mask_p: float = 0.15, pretrain_epochs: int = 20, lr: float = 1e-3,
                 batch_size: int = 128, max_epochs: int = 100, patience: int = 10,
                 trainer: dict[str, Any] | None = None, seed: int = 0) -> None:
        self.dim, self.heads, self.layers, self.dropout = dim, heads, layers, dropout
        self.mask_p, self.pretrain_epochs, self.lr = mask_p, pretrain_epochs, lr
        self.batch_size, self.max_epochs, self.patience = batch_size, max_epochs, patience
        self.trainer, self.seed = trainer, seed

    def fit(self, X, y, *, validation=None, unlabeled=None):
        self.classes_, encoded, val = encode_labels(y, validation)
        torch.manual_seed(self.seed)
        network = FeatureTransformer(X.shape[1], self.dim, self.heads, self.layers, self.dropout)
        pool = unlabeled.X if unlabeled is not None and len(unlabeled.X) else X
        if self.pretrain_epochs > 0:
            generator = torch.Generator().manual_seed(self.seed)
            loader = DataLoader(TensorDataset(torch.as_tensor(pool, dtype=torch.float32)),
                                batch_size=self.batch_size, shuffle=True, generator=generator)
            train(MaskedFeatureModule(network, self.mask_p, self.lr), loader,
                  trainer_cfg=self.trainer, max_epochs=self.pretrain_epochs,
                  desc="bert masked-feature pre-training")
        self.module_ = fit_classifier(ClsClassifier(network.cpu(), self.dim, len(self.classes_)),
                                      X, encoded, val, trainer_cfg=self.trainer, lr=self.lr,
                                      weight_decay=1e-5, batch_size=self.batch_size,
                                      max_epochs=self.max_epochs, patience=self.patience,
                                      seed=self.seed, desc="bert fine-tuning")
        return self


@hookimpl
def register_models() -> dict[str, Callable[..., BERTModel]]:
    return {"bert": BERTModel}
