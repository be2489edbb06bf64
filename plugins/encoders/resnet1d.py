"""``resnet1d``: the residual 1-D encoder of ShadowEyes' contrastive stage.

The feature vector is read as a one-channel sequence. A stem convolution is followed by four
stages of bottleneck blocks (1x1 reduce, 3-wide convolution, 1x1 expand by 4, identity or
projected shortcut); stages 2-4 halve the sequence length and double the width. ``layers``
gives the number of blocks per stage: ``[3, 4, 6, 3]`` with ``width=64`` is the ResNet-50
layout (output 2048); the default ``[1, 1, 1, 1]`` with ``width=8`` (output 256) trains in
seconds on a CPU. Global average pooling gives the embedding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from framework.hookspecs import hookimpl

EXPANSION = 4


class Bottleneck(nn.Module):
    def __init__(self, in_channels: int, mid: int, stride: int) -> None:
        super().__init__()
        out = mid * EXPANSION
        self.body = nn.Sequential(
            nn.Conv1d(in_channels, mid, 1, bias=False), nn.BatchNorm1d(mid), nn.ReLU(inplace=True),
            nn.Conv1d(mid, mid, 3, stride=stride, padding=1, bias=False), nn.BatchNorm1d(mid),
            nn.ReLU(inplace=True),
            nn.Conv1d(mid, out, 1, bias=False), nn.BatchNorm1d(out))
        self.shortcut = nn.Identity() if stride == 1 and in_channels == out else nn.Sequential(
            nn.Conv1d(in_channels, out, 1, stride=stride, bias=False), nn.BatchNorm1d(out))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ResNet1D(nn.Module):
    def __init__(self, layers: Sequence[int], width: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(1, width, 3, padding=1, bias=False),
                                  nn.BatchNorm1d(width), nn.ReLU(inplace=True))
        blocks: list[nn.Module] = []
        channels = width
        for stage, count in enumerate(layers):
            mid = width * 2**stage
            for block in range(count):
                stride = 2 if stage > 0 and block == 0 else 1
                blocks.append(Bottleneck(channels, mid, stride))
                channels = mid * EXPANSION
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool1d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.blocks(self.stem(x.unsqueeze(1)))).flatten(1)


class ResNet1DEncoder:
    def __init__(self, layers: Sequence[int] = (1, 1, 1, 1), width: int = 8) -> None:
        if len(layers) != 4 or min(layers) < 1 or width < 1:
            raise ValueError(f"encoder 'resnet1d': layers must be 4 positive block counts and "
                             f"width positive, got {list(layers)}, {width}")
        self.layers, self.width = list(layers), width
        self.output_dim = width * 2 ** (len(layers) - 1) * EXPANSION

    def build(self, input_dim: int) -> nn.Module:
        return ResNet1D(self.layers, self.width)


@hookimpl
def register_encoders() -> dict[str, Callable[..., ResNet1DEncoder]]:
    return {"resnet1d": ResNet1DEncoder}
