"""``cnn`` baseline: 1-D convolutions over the feature vector, trained with the shared loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from framework.hookspecs import hookimpl
from plugins.models.lightning_training import LogitsClassifier, encode_labels, fit_classifier


class ConvNet(nn.Module):
    def __init__(self, channels: int, kernel: int, dropout: float, n_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(1, channels, kernel, padding=kernel // 2), nn.BatchNorm1d(channels),
            nn.ReLU(), nn.Conv1d(channels, 2 * channels, kernel, padding=kernel // 2),
            nn.BatchNorm1d(2 * channels), nn.ReLU(), nn.AdaptiveMaxPool1d(4), nn.Flatten(),
            nn.Dropout(dropout))
        self.classifier = nn.Linear(8 * channels, n_classes)

    def forward(self, x):
        return self.classifier(self.features(x.unsqueeze(1)))


class CNNModel(LogitsClassifier):
    def __init__(self, channels: int = 32, kernel: int = 3, dropout: float = 0.1,
                 lr: float = 1e-3, batch_size: int = 128, max_epochs: int = 100,
                 patience: int = 10, trainer: dict[str, Any] | None = None, seed: int = 0) -> None:
        self.channels, self.kernel, self.dropout = channels, kernel, dropout
        self.lr, self.batch_size, self.max_epochs, self.patience = lr, batch_size, max_epochs, patience
        self.trainer, self.seed = trainer, seed

    def fit(self, X, y, *, validation=None, unlabeled=None):
        self.classes_, encoded, val = encode_labels(y, validation)
        network = ConvNet(self.channels, self.kernel, self.dropout, len(self.classes_))
        self.module_ = fit_classifier(network, X, encoded, val, trainer_cfg=self.trainer,
                                      lr=self.lr, weight_decay=1e-5, batch_size=self.batch_size,
                                      max_epochs=self.max_epochs, patience=self.patience,
                                      seed=self.seed, desc="cnn training")
        return self


@hookimpl
def register_models() -> dict[str, Callable[..., CNNModel]]:
    return {"cnn": CNNModel}
