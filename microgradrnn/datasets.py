"""Toy data sets made in code: nothing is downloaded.

Sequences are time-major, ``(T, batch, features)``, like the recurrent layers expect.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["sine_to_cosine", "binary_addition", "bits_to_int", "source_corpus", "CharVocab"]


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def sine_to_cosine(
    batch: int, steps: int = 40, dt: float = 0.2, seed: int | np.random.Generator | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Sine waves and their cosines, each sequence starting at a random phase.

    Returns x, y of shape (steps, batch, 1): x_t = sin(phase + t dt), y_t = cos(phase + t dt).
    Mapping x to y needs memory: from one sample of sin alone the sign of cos is unknown.
    """
    phase = _rng(seed).uniform(0, 2 * np.pi, size=(1, batch, 1))
    angle = phase + dt * np.arange(steps).reshape(steps, 1, 1)
    return np.sin(angle), np.cos(angle)


def binary_addition(
    batch: int, bits: int = 8, seed: int | np.random.Generator | None = 0
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Pairs of numbers a, b < 2^(bits-1) and their sum, bit by bit, least significant first.

    Returns x of shape (bits, batch, 2) (the bits of a and b at each step), y of shape
    (bits, batch) (the bits of a + b, as integer class labels) and the numbers (a, b).
    """
    rng = _rng(seed)
    a = rng.integers(0, 2 ** (bits - 1), size=batch)
    b = rng.integers(0, 2 ** (bits - 1), size=batch)
    place = 2 ** np.arange(bits).reshape(bits, 1)
    x = np.stack([(a // place) % 2, (b // place) % 2], axis=-1).astype(np.float64)
    y = ((a + b) // place) % 2
    return x, y, (a, b)


def bits_to_int(bits: np.ndarray) -> np.ndarray:
    """Bits of shape (n_bits, batch), least significant first, to integers of shape (batch,)."""
    place = 2 ** np.arange(bits.shape[0]).reshape(-1, 1)
    return (np.asarray(bits, dtype=np.int64) * place).sum(axis=0)


def source_corpus() -> str:
    """The text of this package's own Python source files, in a fixed order."""
    root = Path(__file__).resolve().parent
    files = sorted(root.rglob("*.py"))
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


class CharVocab:
    """Characters <-> integer ids for a character-level language model."""

    def __init__(self, text: str) -> None:
        if not text:
            raise ValueError("CharVocab: the text is empty")
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        unknown = set(text) - self.index.keys()
        if unknown:
            raise ValueError(f"CharVocab.encode: characters not in the vocabulary: "
                             f"{''.join(sorted(unknown))!r}")
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, ids: np.ndarray) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def unigram_entropy(self, ids: np.ndarray) -> float:
        """Entropy (nats per character) of the character frequencies: the loss to beat."""
        p = np.bincount(ids, minlength=len(self)) / len(ids)
        p = p[p > 0]
        return float(-(p * np.log(p)).sum())
