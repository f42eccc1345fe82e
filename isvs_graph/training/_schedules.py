"""Sparsity rules: which scale each training image gets, one protocol for all.

A rule draws the sparsities of ``count`` images in an epoch from a generator it is
given (so that runs, workers and epochs are reproducible from one seed) and says the
lowest sparsity it can ever draw (so that a path cache can be built to reach it).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from .._validation import check_count, check_sparsity

__all__ = ["CoarseToFine", "Fixed", "SparsityRange", "SparsityRule", "as_rule"]


@runtime_checkable
class SparsityRule(Protocol):
    """What every sparsity rule provides.

    Attributes
    ----------
    lowest : float or None
        The lowest sparsity :meth:`draw` can return (the finest scale); ``None`` when
        it is not known in advance (each draw is checked then).
    """

    lowest: float | None

    def draw(self, count: int, *, epoch: int,
             generator: torch.Generator | None = None) -> np.ndarray | None:
        """The sparsities of ``count`` images in ``epoch``: a float64 array of length
        ``count``, or ``None`` for "no smoothing: the original images"."""


class Fixed:
    """The same sparsity for every image and epoch.

    Examples
    --------
    >>> from isvs_graph.training import Fixed
    >>> Fixed(0.8).draw(3, epoch=0).tolist()
    [0.8, 0.8, 0.8]
    """

    def __init__(self, sparsity: float) -> None:
        self.sparsity = check_sparsity("sparsity", sparsity)

    @property
    def lowest(self) -> float:
        """The sparsity itself."""
        return self.sparsity

    def draw(self, count: int, *, epoch: int = 0,
             generator: torch.Generator | None = None) -> np.ndarray:
        """``count`` copies of the sparsity."""
        return np.full(count, self.sparsity)

    def __repr__(self) -> str:
        return f"Fixed({self.sparsity!r})"


class SparsityRange:
    """Each image's sparsity drawn uniformly from ``[low, high]`` (augmentation).

    Examples
    --------
    >>> import torch
    >>> from isvs_graph.training import SparsityRange
    >>> rule = SparsityRange(0.6, 0.8)
    >>> draws = rule.draw(1000, epoch=0, generator=torch.Generator().manual_seed(0))
    >>> bool((draws >= 0.6).all() and (draws <= 0.8).all()), rule.lowest
    (True, 0.6)
    """

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = check_sparsity("low", low), check_sparsity("high", high)
        if self.low > self.high:
            raise ValueError(f"low must be <= high, got low={self.low!r}, high={self.high!r}")

    @property
    def lowest(self) -> float:
        """``low``."""
        return self.low

    def draw(self, count: int, *, epoch: int = 0,
             generator: torch.Generator | None = None) -> np.ndarray:
        """``count`` independent uniform draws from ``[low, high]`` (from ``generator``;
        the same for every epoch)."""
        uniform = torch.rand(count, generator=generator, dtype=torch.float64).numpy()
        return self.low + (self.high - self.low) * uniform

    def sample(self, count: int, generator: torch.Generator | None = None) -> np.ndarray:
        """Deprecated; use :meth:`~isvs_graph.training.SparsityRange.draw`."""
        warnings.warn("SparsityRange.sample() is deprecated and will be removed in the next "
                      "release; use SparsityRange.draw(count, epoch=..., generator=...)",
                      DeprecationWarning, stacklevel=2)
        return self.draw(count, generator=generator)

    def __repr__(self) -> str:
        return f"SparsityRange({self.low!r}, {self.high!r})"


class CoarseToFine:
    """A curriculum: sparsity ``start`` in the first epoch, falling linearly to ``end``
    at epoch ``epochs − 1``; from then on the original images (no smoothing).

    ``schedule(epoch)`` gives that epoch's sparsity, or ``None`` for the originals.

    Examples
    --------
    >>> from isvs_graph.training import CoarseToFine
    >>> schedule = CoarseToFine(0.9, 0.5, epochs=3)
    >>> [schedule(e) for e in range(5)]
    [0.9, 0.7, 0.5, None, None]
    >>> schedule.draw(2, epoch=1).tolist(), schedule.draw(2, epoch=3)
    ([0.7, 0.7], None)
    """

    def __init__(self, start: float = 0.9, end: float = 0.5, *, epochs: int) -> None:
        self.start, self.end = check_sparsity("start", start), check_sparsity("end", end)
        self.epochs = check_count("epochs", epochs)

    @property
    def lowest(self) -> float:
        """The smaller of ``start`` and ``end``."""
        return min(self.start, self.end)

    def __call__(self, epoch: int) -> float | None:
        """The sparsity of ``epoch``, or ``None`` (the original images) from epoch
        ``epochs`` on."""
        if epoch >= self.epochs:
            return None
        if self.epochs == 1:
            return self.start
        fraction = epoch / (self.epochs - 1)
        return float(np.clip(self.start + (self.end - self.start) * fraction,
                             self.lowest, max(self.start, self.end)))

    def draw(self, count: int, *, epoch: int = 0,
             generator: torch.Generator | None = None) -> np.ndarray | None:
        """The epoch's sparsity for all ``count`` images, or ``None`` past the
        curriculum."""
        level = self(epoch)
        return None if level is None else np.full(count, level)

    def __repr__(self) -> str:
        return f"CoarseToFine({self.start!r}, {self.end!r}, epochs={self.epochs})"


class _Scheduled:
    """A rule from a function ``epoch -> float | rule | None`` (a user's schedule)."""

    lowest = None  # not known in advance: users of the rule check each draw

    def __init__(self, schedule: Callable[[int], object]) -> None:
        self.schedule = schedule

    def draw(self, count: int, *, epoch: int = 0,
             generator: torch.Generator | None = None) -> np.ndarray | None:
        rule = self.schedule(epoch)
        return None if rule is None else as_rule(rule).draw(count, epoch=epoch,
                                                            generator=generator)

    def __repr__(self) -> str:
        return f"as_rule({self.schedule!r})"


def as_rule(sparsity: float | SparsityRule | Callable[[int], object]) -> SparsityRule:
    """Any way of giving a sparsity as a :class:`SparsityRule`: a number becomes
    :class:`Fixed`, a rule stays itself, and a function ``epoch -> sparsity, rule or
    None`` becomes a rule that asks it each epoch."""
    if isinstance(sparsity, SparsityRule):
        return sparsity
    if callable(sparsity):
        return _Scheduled(sparsity)
    return Fixed(sparsity)
