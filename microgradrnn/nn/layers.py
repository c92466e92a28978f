"""Linear and Embedding layers."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Tensor
from ..ops import linear
from . import init
from .module import Module, Parameter, check_sizes

__all__ = ["Linear", "Embedding"]


class Linear(Module):
    """y = x @ weight.T + bias, one engine op.

    x: (..., in_features) -> (..., out_features). weight: (out_features, in_features),
    bias: (out_features,), both initialised as PyTorch does: uniform ±1/sqrt(in_features).
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        check_sizes("Linear", in_features=in_features, out_features=out_features)
        g = init.as_generator(rng)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(init.pytorch_default((out_features, in_features), in_features, g))
        self.bias = (Parameter(init.pytorch_default((out_features,), in_features, g))
                     if bias else None)

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not x.shape or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: input of shape {x.shape} has "
                             f"{x.shape[-1] if x.shape else 0} features, expected "
                             f"in_features={self.in_features}")
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """A lookup table: integer indices of any shape -> (*shape, embedding_dim).

    weight: (num_embeddings, embedding_dim), initialised N(0, 1) as in PyTorch. Repeated
    indices accumulate their gradients.
    """

    def __init__(
        self, num_embeddings: int, embedding_dim: int,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        check_sizes("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        g = init.as_generator(rng)
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.weight = Parameter(init.normal((num_embeddings, embedding_dim), 1.0, g))

    def forward(self, indices: Any) -> Tensor:
        idx = np.asarray(indices._data if isinstance(indices, Tensor) else indices)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"Embedding: indices must be integers, got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            raise IndexError(f"Embedding: indices must lie in [0, {self.num_embeddings}), "
                             f"got values from {idx.min()} to {idx.max()}")
        return self.weight[idx]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
