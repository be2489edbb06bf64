"""``shadoweyes`` (contrastive pre-training + frozen fine-tuning) and ``ficl`` baselines.

ShadowEyes (arXiv 2410.23563): the encoder (the configured ``encoder``, residual 1-D by
default) is pre-trained with NT-Xent on the unlabelled rows, whose two views come from the
configured augmentation (the evasion augmentations ``random_time_delay``, ``amount_split`` or
both as ``evasion``); then it is frozen and a new fully connected classifier is trained on the
labelled rows. Its TxGraph input is the ``txgraph`` representation (``representation=txgraph``);
the "w/o Repre." ablation is ``representation=none``, the "w/o CL-Encoder" ablation
``model.pretrain=false`` (encoder and classifier then train end to end, supervised, from a
random initialisation).

FICL: the same pre-training, with its own augmentation, feature inversion (each
standardised feature swapped with probability ``inversion_p`` with the value of another row of
the batch), whatever augmentation is configured.

Hyper-parameters the paper does not publish (batch size, temperature, epochs, views) are
choices documented in ``conf/model/shadoweyes.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from framework.errors import ConfigError
from framework.hookspecs import hookimpl
from plugins.models.contrastive import FrozenEncoder, embed, precompute_views, pretrain
from plugins.models.lightning_training import LogitsClassifier, encode_labels, fit_classifier


def identical_share(views: np.ndarray) -> float | None:
    """Share of (row, consecutive view pair) whose two views are equal: a positive pair that
    teaches nothing. The issue measured 24.9 % with p = 0.5 augmentations; it is recorded so a
    reader sees how much of the contrastive signal was real."""
    if len(views) < 2 or not views.shape[1]:
        return None
    same = (views[1:] == views[:-1]) | (np.isnan(views[1:]) & np.isnan(views[:-1]))
    return float(same.all(axis=2).mean())


class ContrastiveClassifier(LogitsClassifier):
    """Pre-train (optionally) an encoder on unlabelled views, then fit a classifier on top."""

    augmentation_source = "configured"

    def __init__(self, pretrain: bool = True, pretrain_epochs: int = 30, n_views: int = 6,
                 batch_size: int = 256, temperature: float = 0.5, projection_dim: int = 64,
                 lr: float = 1e-3, finetune_lr: float = 1e-2, finetune_batch_size: int = 64,
                 finetune_epochs: int = 100, patience: int = 10, noise: float = 0.1,
                 encoder: Any = None, trainer: dict[str, Any] | None = None,
                 seed: int = 0) -> None:
        if encoder is None:
            raise ConfigError(f"model '{type(self).__name__}' needs an encoder (encoder=resnet1d)")
        self.pretrain, self.pretrain_epochs, self.n_views = pretrain, pretrain_epochs, n_views
        self.batch_size, self.temperature, self.projection_dim = batch_size, temperature, projection_dim
        self.lr, self.finetune_epochs, self.patience, self.noise = lr, finetune_epochs, patience, noise
        self.finetune_lr, self.finetune_batch_size = finetune_lr, finetune_batch_size
        self.encoder, self.trainer, self.seed = encoder, trainer, seed

    @property
    def _name(self) -> str:
        """How progress bars name this model (``shadoweyes``, ``ficl``)."""
        return type(self).__name__.lower()

    def _augment(self, unlabeled):
        return unlabeled.augment if unlabeled is not None else None

    def fit(self, X, y, *, validation=None, unlabeled=None):
        self.classes_, encoded, val = encode_labels(y, validation)
        torch.manual_seed(self.seed)
        network = self.encoder.build(X.shape[1])
        self.info_: dict[str, Any] = {"pretrained": False}
        if self.pretrain:
            pool = unlabeled.X if unlabeled is not None and len(unlabeled.X) else X
            augment = self._augment(unlabeled) if unlabeled is not None and len(unlabeled.X) else None
            if augment is None and self.augmentation_source == "configured":
                self.info_["views"] = f"gaussian noise (sigma {self.noise}): no augmentation configured"
            else:
                self.info_["views"] = self.augmentation_source
            rng = np.random.default_rng(self.seed)
            views = precompute_views(pool, augment, self.n_views, rng, self.noise)
            module = pretrain(network, self.encoder.output_dim, views,
                              projection_dim=self.projection_dim, temperature=self.temperature,
                              lr=self.lr, batch_size=self.batch_size,
                              epochs=self.pretrain_epochs, trainer_cfg=self.trainer,
                              seed=self.seed, desc=f"{self._name} contrastive pre-training")
            self.info_.update(pretrained=True, pretrain_rows=int(len(pool)),
                              identical_view_pairs=identical_share(views),
                              nt_xent_first=module.epoch_losses[0] if module.epoch_losses else None,
                              nt_xent_last=module.epoch_losses[-1] if module.epoch_losses else None)
            self.pretrain_losses_ = module.epoch_losses
            network = FrozenEncoder(module.encoder.cpu())
        self.encoder_module_ = network
        classifier = nn.Sequential(network, nn.Linear(self.encoder.output_dim, len(self.classes_)))
        stage = "fine-tuning" if self.pretrain else "training"
        self.module_ = fit_classifier(classifier, X, encoded, val, trainer_cfg=self.trainer,
                                      lr=self.finetune_lr if self.pretrain else self.lr,
                                      weight_decay=1e-5, batch_size=self.finetune_batch_size,
                                      max_epochs=self.finetune_epochs, patience=self.patience,
                                      seed=self.seed, desc=f"{self._name} {stage}")
        return self

    def embed(self, X: np.ndarray) -> np.ndarray:
        return embed(self.encoder_module_, X)

    def describe(self) -> dict[str, Any]:
        return getattr(self, "info_", {})


class ShadowEyes(ContrastiveClassifier):
    """ShadowEyes' contrastive stage and classifier (see the module docs)."""


class FICL(ContrastiveClassifier):
    augmentation_source = "feature inversion (FICL)"

    def __init__(self, inversion_p: float = 0.3, pretrain_epochs: int = 30, n_views: int = 6,
                 batch_size: int = 256, temperature: float = 0.5, projection_dim: int = 64,
                 lr: float = 1e-3, finetune_lr: float = 1e-2, finetune_batch_size: int = 64,
                 finetune_epochs: int = 100, patience: int = 10, encoder: Any = None,
                 trainer: dict[str, Any] | None = None, seed: int = 0) -> None:
        super().__init__(pretrain=True, pretrain_epochs=pretrain_epochs, n_views=n_views,
                         batch_size=batch_size, temperature=temperature,
                         projection_dim=projection_dim, lr=lr, finetune_lr=finetune_lr,
                         finetune_batch_size=finetune_batch_size, finetune_epochs=finetune_epochs,
                         patience=patience, encoder=encoder, trainer=trainer, seed=seed)
        self.inversion_p = inversion_p

    def _augment(self, unlabeled):
        X, p = unlabeled.X, self.inversion_p

        def invert(positions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            view = X[positions].copy()
            donors = X[rng.integers(0, len(X), size=len(positions))]
            swap = rng.random(view.shape) < p
            view[swap] = donors[swap]
            return view
        return invert


@hookimpl
def register_models() -> dict[str, Callable[..., ContrastiveClassifier]]:
    return {"shadoweyes": ShadowEyes, "ficl": FICL}
