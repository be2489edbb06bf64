"""Shared training loop of the built-in neural models: Lightning, early stopping, auto accelerator.

Every neural baseline trains the same way so that differences in a leaderboard come from the
architecture, not from the loop: Adam, cross-entropy, early stopping on validation loss (a
stratified tenth of the training rows when the scenario gives no validation split), best
weights restored, accelerator from the ``trainer`` config group.

Lightning's chatter (accelerator banners, "does not have many workers" on in-memory tensors)
is silenced only while :func:`train` runs: importing a plugin changes no process-wide logging
level or warning filter. Progress is one bar per fit over its epochs (:class:`EpochProgress`),
on the policy of :mod:`framework.progress`.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import lightning as L
import numpy as np
import torch

from lightning.pytorch.callbacks import Callback, EarlyStopping
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from framework.progress import allowed_by, progress

LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning")
# Warnings that say nothing to a researcher: expected for small in-memory tabular data, or
# Lightning 2.6 calling a torch API that torch 2.13 deprecates (once per fit).
EXPECTED_WARNINGS = (".*does not have many workers.*", ".*The number of training batches.*",
                     r".*isinstance\(treespec, LeafSpec\).*")


class ClassifierModule(L.LightningModule):
    """Wraps any ``nn.Module`` producing logits into a Lightning module."""

    def __init__(self, network: nn.Module, lr: float, weight_decay: float,
                 class_weights: torch.Tensor | None = None) -> None:
        super().__init__()
        self.network = network
        self.lr = lr
        self.weight_decay = weight_decay
        self.loss = nn.CrossEntropyLoss(weight=class_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        x, y = batch
        loss = self.loss(self(x), y)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        x, y = batch
        self.log("val_loss", self.loss(self(x), y), prog_bar=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)


class BestWeights(Callback):
    """Keeps the weights of the epoch with the lowest monitored loss, in memory."""

    def __init__(self, monitor: str) -> None:
        self.monitor = monitor
        self.best = float("inf")
        self.state: dict[str, torch.Tensor] | None = None

    def on_validation_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if value is not None and float(value) < self.best:
            self.best = float(value)
            self.state = copy.deepcopy(module.state_dict())


class EpochProgress(Callback):
    """One bar over a fit's epochs with its logged losses: the ETA covers the whole fit (an
    upper bound under early stopping), where Lightning's own bar restarts every epoch."""

    def __init__(self, desc: str, allowed: bool) -> None:
        self.desc, self.allowed = desc, allowed
        self.bar: Any = None

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.bar = progress(total=trainer.max_epochs, desc=self.desc, unit="epoch",
                            allowed=self.allowed)

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.bar.set_postfix({name: f"{float(value):.4f}"
                              for name, value in trainer.callback_metrics.items()}, refresh=False)
        self.bar.update(1)

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.bar.close()

    def on_exception(self, trainer: L.Trainer, module: L.LightningModule,
                     exception: BaseException) -> None:
        if self.bar is not None:
            self.bar.close()


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Lightning's INFO banners and its expected warnings, silenced for one training only:
    logger levels and warning filters are restored afterwards, whatever happens."""
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        for message in EXPECTED_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


def train(module: L.LightningModule, train_loader: DataLoader,
          val_loader: DataLoader | None = None, *, trainer_cfg: dict[str, Any] | None,
          max_epochs: int, callbacks: Sequence[Callback] = (), desc: str) -> None:
    """Fit ``module`` with the ``trainer`` config group's settings (epochs capped by its
    ``max_epochs``), showing a bar named ``desc`` where progress is shown."""
    cfg = dict(trainer_cfg or {})
    cap = cfg.get("max_epochs")
    bar = EpochProgress(desc, allowed_by(cfg))
    with quiet_lightning():
        trainer = L.Trainer(
            max_epochs=min(max_epochs, cap) if cap else max_epochs,
            accelerator=cfg.get("accelerator", "auto"), devices=cfg.get("devices", 1),
            deterministic=cfg.get("deterministic", True),
            enable_progress_bar=False,  # EpochProgress draws the one bar
            enable_model_summary=False, logger=False, callbacks=[*callbacks, bar],
            enable_checkpointing=False)
        trainer.fit(module, train_loader, val_loader)


def loader(X: np.ndarray, y: np.ndarray | None, batch_size: int, shuffle: bool,
           seed: int) -> DataLoader:
    tensors = [torch.as_tensor(X, dtype=torch.float32)]
    if y is not None:
        tensors.append(torch.as_tensor(y, dtype=torch.long))
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(*tensors), batch_size=batch_size, shuffle=shuffle,
                      generator=generator)


def split_validation(X: np.ndarray, y: np.ndarray,
                     validation: tuple[np.ndarray, np.ndarray] | None,
                     seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Use the scenario's validation rows, or hold out a stratified tenth of training."""
    if validation is not None and len(validation[0]):
        return X, y, validation[0], validation[1]
    counts = np.bincount(y)
    stratify = y if len(y) >= 20 and counts[counts > 0].min() >= 2 else None
    if len(y) < 10:
        return X, y, X, y
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.1, random_state=seed,
                                              stratify=stratify)
    return X_tr, y_tr, X_va, y_va


def fit_classifier(network: nn.Module, X: np.ndarray, y: np.ndarray,
                   validation: tuple[np.ndarray, np.ndarray] | None, *, trainer_cfg: dict | None,
                   lr: float, weight_decay: float, batch_size: int, max_epochs: int,
                   patience: int, seed: int, desc: str = "training") -> ClassifierModule:
    """Train ``network`` on (X, y) with early stopping; returns the module with best weights."""
    X_tr, y_tr, X_va, y_va = split_validation(X, y, validation, seed)
    module = ClassifierModule(network, lr=lr, weight_decay=weight_decay)
    best = BestWeights("val_loss")
    train(module, loader(X_tr, y_tr, batch_size, True, seed),
          loader(X_va, y_va, batch_size, False, seed), trainer_cfg=trainer_cfg,
          max_epochs=max_epochs, callbacks=[EarlyStopping(monitor="val_loss", patience=patience),
                                            best], desc=desc)
    if best.state is not None:
        module.load_state_dict(best.state)
    module.eval()
    return module


@torch.no_grad()
def predict_logits(module: nn.Module, X: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    module.eval()
    device = next(module.parameters()).device
    outputs = [module(torch.as_tensor(X[i:i + batch_size], dtype=torch.float32, device=device))
               .float().cpu() for i in range(0, len(X), batch_size)]
    return torch.cat(outputs).numpy() if outputs else np.zeros((0, 0))


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def encode_labels(y: np.ndarray, validation: tuple[np.ndarray, np.ndarray] | None
                  ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """Classes seen in training, labels as 0..k-1, and validation rows of those classes only."""
    classes, encoded = np.unique(y, return_inverse=True)
    if validation is None:
        return classes, encoded, None
    keep = np.isin(validation[1], classes)
    return classes, encoded, (validation[0][keep], np.searchsorted(classes, validation[1][keep]))


class LogitsClassifier:
    """``predict_proba`` / ``predict`` for models whose fitted ``module_`` outputs logits."""

    classes_: np.ndarray
    module_: nn.Module

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return softmax(predict_logits(self.module_, X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
