"""``mlp`` encoder: a stack of fully connected layers, the simplest backbone for neural models."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from framework.hookspecs import hookimpl


class MLPEncoder:
    def __init__(self, hidden_dims: Sequence[int] = (128, 64), dropout: float = 0.1) -> None:
        if not hidden_dims:
            raise ValueError("encoder 'mlp' needs at least one hidden layer")
        self.hidden_dims = list(hidden_dims)
        self.dropout = dropout
        self.output_dim = self.hidden_dims[-1]

    def build(self, input_dim: int) -> nn.Module:
        layers: list[nn.Module] = []
        previous = input_dim
        for width in self.hidden_dims:
            layers += [nn.Linear(previous, width), nn.BatchNorm1d(width), nn.ReLU(),
                       nn.Dropout(self.dropout)]
            previous = width
        return nn.Sequential(*layers)


@hookimpl
def register_encoders() -> dict[str, Callable[..., MLPEncoder]]:
    return {"mlp": MLPEncoder}
