"""NT-Xent against a hand-computed value; pre-training lowers the contrastive loss."""

import math

import numpy as np
import pytest
import torch

from framework.contracts import SMALL_TRAINER, toy_data
from plugins.encoders.resnet1d import ResNet1DEncoder
from plugins.models.contrastive import nt_xent, precompute_views, pretrain


def test_nt_xent_matches_hand_computation():
    # views a=(1,0), b=(0,1) and their partners c=(1,0), d=(-1,0); temperature 1.
    # Row a: logits to (b, c, d) = (0, 1, -1), positive c -> -1 + log(1 + e + 1/e); row c alike.
    # Row b: logits to (a, c, d) = (0, 0, 0), positive d -> log 3.
    # Row d: logits to (a, b, c) = (-1, 0, -1), positive b -> log(1 + 2/e).
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    e = math.e
    expected = (2 * (-1 + math.log(1 + e + 1 / e)) + math.log(3) + math.log(1 + 2 / e)) / 4
    assert float(nt_xent(z1, z2, temperature=1.0)) == pytest.approx(expected, rel=1e-6)


def test_temperature_sharpens_the_loss():
    z1, z2 = torch.randn(8, 4), torch.randn(8, 4)
    aligned = nt_xent(z1, z1, temperature=0.1)
    assert aligned < nt_xent(z1, z1, temperature=1.0) and aligned < nt_xent(z1, z2, 0.1)


def test_pretraining_lowers_the_contrastive_loss():
    data = toy_data(n=256, n_features=12)
    X = np.nan_to_num((data.X - np.nanmean(data.X, 0)) / np.nanstd(data.X, 0)).astype(np.float32)
    views = precompute_views(X, None, n_views=4, rng=np.random.default_rng(0), noise=0.2)
    torch.manual_seed(0)
    encoder = ResNet1DEncoder()
    module = pretrain(encoder.build(12), encoder.output_dim, views, projection_dim=32,
                      temperature=0.5, lr=1e-3, batch_size=64, epochs=15,
                      trainer_cfg={**SMALL_TRAINER, "max_epochs": None}, seed=0)
    losses = module.epoch_losses
    assert len(losses) == 15
    assert losses[-1] < losses[0] - 0.3, losses


def test_identical_view_pairs_are_measured():
    from plugins.models.shadoweyes import identical_share

    rng = np.random.default_rng(0)
    views = rng.normal(size=(3, 10, 4))
    assert identical_share(views) == 0.0
    views[1, :4] = views[0, :4]  # 4 of 10 rows identical in the first pair, none in the second
    views[0, 0, 0] = views[1, 0, 0] = np.nan  # NaN in both views counts as equal
    assert identical_share(views) == pytest.approx(4 / 20)
    assert identical_share(views[:1]) is None
