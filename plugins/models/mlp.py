"""MLP baseline: fully connected layers trained with the shared Lightning loop."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from framework.hookspecs import hookimpl
from plugins.models.lightning_training import LogitsClassifier, encode_labels, fit_classifier


def mlp_layers(input_dim: int, hidden_dims: Sequence[int], dropout: float) -> list[nn.Module]:
    layers: list[nn.Module] = []
    previous = input_dim
    for width in hidden_dims:
        layers += [nn.Linear(previous, width), nn.ReLU(), nn.Dropout(dropout)]
        previous = width
    return layers


class MLPModel(LogitsClassifier):
    def __init__(self, hidden_dims: Sequence[int] = (128, 64), dropout: float = 0.1,
                 lr: float = 1e-3, weight_decay: float = 1e-5, batch_size: int = 128,
                 max_epochs: int = 100, patience: int = 10,
                 trainer: dict[str, Any] | None = None, seed: int = 0) -> None:
        self.hidden_dims = list(hidden_dims)
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.trainer = trainer
        self.seed = seed

    def fit(self, X, y, *, validation=None, unlabeled=None) -> MLPModel:
        self.classes_, encoded, val = encode_labels(y, validation)
        layers = mlp_layers(X.shape[1], self.hidden_dims, self.dropout)
        width = self.hidden_dims[-1] if self.hidden_dims else X.shape[1]
        network = nn.Sequential(*layers, nn.Linear(width, len(self.classes_)))
        self.module_ = fit_classifier(network, X, encoded, val, trainer_cfg=self.trainer,
                                      lr=self.lr, weight_decay=self.weight_decay,
                                      batch_size=self.batch_size, max_epochs=self.max_epochs,
                                      patience=self.patience, seed=self.seed, desc="mlp training")
        return self


@hookimpl
def register_models() -> dict[str, Callable[..., MLPModel]]:
    return {"mlp": MLPModel}
