"""Training adapters for image tensors: ISVS as a data transform, with a sparsity that is
fixed, drawn at random per image (augmentation) or scheduled over epochs (curriculum)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ._validation import check_real
from .images import smooth_images

__all__ = ["CoarseToFine", "ISVSTransform", "SparsityRange"]


def _check_sparsity(name: str, value) -> float:
    value = check_real(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return value


class SparsityRange:
    """Draw each image's sparsity uniformly from ``[low, high]`` (augmentation)."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = _check_sparsity("low", low), _check_sparsity("high", high)
        if self.low > self.high:
            raise ValueError(f"low must be <= high, got low={low!r}, high={high!r}")

    def sample(self, count: int, generator: torch.Generator | None = None) -> np.ndarray:
        draw = torch.rand(count, generator=generator, dtype=torch.float64).numpy()
        return self.low + (self.high - self.low) * draw

    def __repr__(self) -> str:
        return f"SparsityRange({self.low!r}, {self.high!r})"


class CoarseToFine:
    """A curriculum: sparsity ``start`` in the first epoch, falling linearly to ``end``
    at epoch ``epochs − 1``; from then on the original images (no smoothing).

    ``schedule(epoch)`` gives the sparsity, or ``None`` for the original images.

    Examples
    --------
    >>> from isvs_graph.augment import CoarseToFine
    >>> schedule = CoarseToFine(0.9, 0.5, epochs=3)
    >>> [schedule(e) for e in range(5)]
    [0.9, 0.7, 0.5, None, None]
    """

    def __init__(self, start: float = 0.9, end: float = 0.5, *, epochs: int) -> None:
        self.start, self.end = _check_sparsity("start", start), _check_sparsity("end", end)
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
        self.epochs = epochs

    def __call__(self, epoch: int) -> float | None:
        if epoch >= self.epochs:
            return None
        if self.epochs == 1:
            return self.start
        return round(self.start + (self.end - self.start) * epoch / (self.epochs - 1), 12)

    def __repr__(self) -> str:
        return f"CoarseToFine({self.start!r}, {self.end!r}, epochs={self.epochs})"


Sparsity = float | SparsityRange | Callable[[int], "float | SparsityRange | None"]


class ISVSTransform:
    """Smooth image tensors (``C × H × W`` or ``B × C × H × W``, CPU or CUDA).

    Parameters
    ----------
    sparsity : float, SparsityRange or callable
        A fixed sparsity, a :class:`SparsityRange` drawn per image, or a schedule
        ``epoch -> float | SparsityRange | None`` such as :class:`CoarseToFine`
        (``None``: pass images through). Call :meth:`set_epoch` each epoch.
    seed : int, optional
        Seeds the draws of a :class:`SparsityRange`, for reproducible runs.
    **solver_options
        Passed to :func:`isvs_graph.smooth_images` (``kappa``, ``mode`` …).

    Examples
    --------
    >>> import torch
    >>> from isvs_graph.augment import ISVSTransform, SparsityRange
    >>> transform = ISVSTransform(SparsityRange(0.7, 0.9), seed=0)
    >>> transform(torch.rand(4, 3, 16, 16)).shape
    torch.Size([4, 3, 16, 16])
    """

    def __init__(self, sparsity: Sparsity, *, seed: int | None = None, **solver_options) -> None:
        if not callable(sparsity) or isinstance(sparsity, SparsityRange):
            if not isinstance(sparsity, SparsityRange):
                sparsity = _check_sparsity("sparsity", sparsity)
        self.sparsity = sparsity
        self.solver_options = solver_options
        self.epoch = 0
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(seed)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def current(self) -> float | SparsityRange | None:
        """The sparsity rule in force this epoch."""
        if callable(self.sparsity) and not isinstance(self.sparsity, SparsityRange):
            return self.sparsity(self.epoch)
        return self.sparsity

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        single = images.ndim == 3
        batch = images[None] if single else images
        rule = self.current()
        if rule is None:
            return images
        level = rule.sample(len(batch), self.generator) if isinstance(rule, SparsityRange) \
            else rule
        out = smooth_images(batch, sparsity=level, **self.solver_options)
        return out[0] if single else out

    def __repr__(self) -> str:
        options = "".join(f", {k}={v!r}" for k, v in self.solver_options.items())
        return f"ISVSTransform(sparsity={self.sparsity!r}{options})"
