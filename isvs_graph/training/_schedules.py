"""Scale rules: which scale each training image gets, one protocol for all.

A rule draws the scales of ``count`` images in an epoch from a generator it is given (so
that runs, workers and epochs are reproducible from one seed), says in which scale it
draws (``scale``: ``"t"``, the dimensionless time, or ``"sparsity"``) and the finest value
it can ever draw (so that a path cache can be built to reach it).

The time is the training scale that transfers between images and data sets: a contour
enters the support about when ``t`` times its contrast (a fraction of the image's range)
reaches 2.5 (at ``ν = 1``, on a grey image; a colour image's contrast counts over its
channels), whatever the share of flat edges, where a sparsity counts flat background
edges that never enter (see the Theory page). :class:`TimeRange` with no arguments is
the recipe's default, :data:`DEFAULT_TIMES`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from .._validation import check_count, check_real, check_sparsity

__all__ = ["DEFAULT_TIMES", "CoarseToFine", "Fixed", "SparsityRange", "SparsityRule",
           "TimeRange", "as_rule"]

#: The default training range of times, ``(low, high)``: one for every data set, chosen
#: on validation splits of digits and Fashion-MNIST (see the README's "Robust training").
DEFAULT_TIMES = (12.0, 24.0)
#: The scales a rule can draw in.
SCALES = ("t", "sparsity")


def check_level(scale: str, name: str, value) -> float:
    """A value of ``scale``: a time ``>= 0`` or a sparsity in ``[0, 1]``."""
    if scale == "t":
        return check_real(name, value, nonnegative=True)
    return check_sparsity(name, value)


def _check_scale_name(scale) -> str:
    if scale not in SCALES:
        raise ValueError(f"scale must be 't' or 'sparsity', got {scale!r}")
    return scale


def rule_scale(rule) -> tuple[str, float | None]:
    """``(scale, finest)`` of a rule: the scale it draws in (``"sparsity"`` for rules
    that do not say) and the finest value it can draw (the largest time or the lowest
    sparsity; ``None`` when not known in advance)."""
    scale = getattr(rule, "scale", "sparsity")
    finest = getattr(rule, "finest", rule.lowest)
    return scale, finest


@runtime_checkable
class SparsityRule(Protocol):
    """What every scale rule provides (the name is historical: rules draw times too).

    Attributes
    ----------
    lowest : float or None
        The lowest sparsity :meth:`draw` can return (the finest scale); ``None`` when
        it is not known in advance (each draw is checked then) or the rule draws times.
    scale : str, optional
        What :meth:`draw` returns: ``"t"`` (times) or ``"sparsity"``. A rule without it
        draws sparsities.
    finest : float or None, optional
        The finest value :meth:`draw` can return in its scale (the largest time, the
        lowest sparsity); default ``lowest``.
    """

    lowest: float | None

    def draw(self, count: int, *, epoch: int,
             generator: torch.Generator | None = None) -> np.ndarray | None:
        """The scales of ``count`` images in ``epoch``: a float64 array of length
        ``count``, or ``None`` for "no smoothing: the original images"."""


class Fixed:
    """The same scale for every image and epoch: a sparsity, or a time with
    ``scale="t"``.

    Examples
    --------
    >>> from isvs_graph.training import Fixed
    >>> Fixed(0.8).draw(3, epoch=0).tolist()
    [0.8, 0.8, 0.8]
    >>> Fixed(16, scale="t").draw(2, epoch=0).tolist()
    [16.0, 16.0]
    """

    def __init__(self, value: float, *, scale: str = "sparsity") -> None:
        self.scale = _check_scale_name(scale)
        self.value = check_level(scale, "t" if scale == "t" else "sparsity", value)

    @property
    def sparsity(self) -> float | None:
        """The sparsity (``None`` for a fixed time)."""
        return self.value if self.scale == "sparsity" else None

    @property
    def finest(self) -> float:
        """The value itself."""
        return self.value

    @property
    def lowest(self) -> float | None:
        """The sparsity itself (``None`` for a fixed time)."""
        return self.sparsity

    def draw(self, count: int, *, epoch: int = 0,
             generator: torch.Generator | None = None) -> np.ndarray:
        """``count`` copies of the value."""
        return np.full(count, self.value)

    def __repr__(self) -> str:
        return f"Fixed({self.value!r})" if self.scale == "sparsity" else \
            f"Fixed({self.value!r}, scale='t')"


def _bounds(scale: str, low, high) -> tuple[float, float]:
    """``(low, high)`` checked as values of ``scale``, ``low <= high``."""
    low, high = check_level(scale, "low", low), check_level(scale, "high", high)
    if low > high:
        raise ValueError(f"low must be <= high, got low={low!r}, high={high!r}")
    return low, high


def _draw_uniform(self, count: int, *, epoch: int = 0,
                  generator: torch.Generator | None = None) -> np.ndarray:
    """``count`` independent uniform draws from ``[low, high]`` (from ``generator``; the
    same for every epoch). The ``draw`` of both ranges."""
    uniform = torch.rand(count, generator=generator, dtype=torch.float64,
                         device="cpu").numpy()  # (whatever torch's default device)
    return self.low + (self.high - self.low) * uniform


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

    scale = "sparsity"

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = _bounds(self.scale, low, high)

    @property
    def lowest(self) -> float:
        """``low``."""
        return self.low

    @property
    def finest(self) -> float:
        """``low`` (the lowest sparsity is the finest scale)."""
        return self.low

    draw = _draw_uniform

    def sample(self, count: int, generator: torch.Generator | None = None) -> np.ndarray:
        """Deprecated; use :meth:`~isvs_graph.training.SparsityRange.draw`."""
        warnings.warn("SparsityRange.sample() is deprecated and will be removed in the next "
                      "release; use SparsityRange.draw(count, epoch=..., generator=...)",
                      DeprecationWarning, stacklevel=2)
        return self.draw(count, generator=generator)

    def __repr__(self) -> str:
        return f"SparsityRange({self.low!r}, {self.high!r})"


class TimeRange:
    """Each image's time drawn uniformly from ``[low, high]`` (augmentation): the
    recipe's default, ``TimeRange()`` = :data:`DEFAULT_TIMES`.

    A time smooths every image about equally, whatever its share of flat background
    (where a sparsity does not; see the Theory page), among images with the same
    channels: in joint mode a colour image's edges count their contrast over the
    channels and enter sooner (a grey image needs about 1.3–1.7 times the time).

    Examples
    --------
    >>> import torch
    >>> from isvs_graph.training import TimeRange
    >>> rule = TimeRange(8, 16)
    >>> draws = rule.draw(1000, epoch=0, generator=torch.Generator().manual_seed(0))
    >>> bool((draws >= 8).all() and (draws <= 16).all()), rule.finest, rule.scale
    (True, 16.0, 't')
    """

    scale = "t"
    lowest = None  # draws times, not sparsities

    def __init__(self, low: float = DEFAULT_TIMES[0], high: float = DEFAULT_TIMES[1]) -> None:
        self.low, self.high = _bounds(self.scale, low, high)

    @property
    def finest(self) -> float:
        """``high`` (the largest time is the finest scale)."""
        return self.high

    draw = _draw_uniform

    def __repr__(self) -> str:
        return f"TimeRange({self.low!r}, {self.high!r})"


class CoarseToFine:
    """A curriculum: scale ``start`` in the first epoch, moving linearly to ``end``
    at epoch ``epochs − 1``; from then on the original images (no smoothing).

    ``scale="sparsity"`` (default ``0.9 → 0.5``) or ``scale="t"`` (default the
    :data:`DEFAULT_TIMES`, ``12 → 24``: coarse is a small time). ``schedule(epoch)``
    gives that epoch's value, or ``None`` for the originals.

    Examples
    --------
    >>> from isvs_graph.training import CoarseToFine
    >>> schedule = CoarseToFine(0.9, 0.5, epochs=3)
    >>> [schedule(e) for e in range(5)]
    [0.9, 0.7, 0.5, None, None]
    >>> schedule.draw(2, epoch=1).tolist(), schedule.draw(2, epoch=3)
    ([0.7, 0.7], None)
    >>> [CoarseToFine(scale="t", epochs=3)(e) for e in range(4)]
    [12.0, 18.0, 24.0, None]
    """

    def __init__(self, start: float | None = None, end: float | None = None, *,
                 epochs: int, scale: str = "sparsity") -> None:
        self.scale = _check_scale_name(scale)
        defaults = DEFAULT_TIMES if scale == "t" else (0.9, 0.5)
        self.start = check_level(scale, "start", defaults[0] if start is None else start)
        self.end = check_level(scale, "end", defaults[1] if end is None else end)
        self.epochs = check_count("epochs", epochs)

    @property
    def lowest(self) -> float | None:
        """The smaller of ``start`` and ``end`` (``None`` for times)."""
        return min(self.start, self.end) if self.scale == "sparsity" else None

    @property
    def finest(self) -> float:
        """The finest of ``start`` and ``end``: the larger time or smaller sparsity."""
        return max(self.start, self.end) if self.scale == "t" else min(self.start, self.end)

    def __call__(self, epoch: int) -> float | None:
        """The sparsity of ``epoch``, or ``None`` (the original images) from epoch
        ``epochs`` on."""
        if epoch >= self.epochs:
            return None
        if self.epochs == 1:
            return self.start
        fraction = epoch / (self.epochs - 1)
        return float(np.clip(self.start + (self.end - self.start) * fraction,
                             min(self.start, self.end), max(self.start, self.end)))

    def draw(self, count: int, *, epoch: int = 0,
             generator: torch.Generator | None = None) -> np.ndarray | None:
        """The epoch's sparsity for all ``count`` images, or ``None`` past the
        curriculum."""
        level = self(epoch)
        return None if level is None else np.full(count, level)

    def __repr__(self) -> str:
        scale = ", scale='t'" if self.scale == "t" else ""
        return f"CoarseToFine({self.start!r}, {self.end!r}, epochs={self.epochs}{scale})"


class _Scheduled:
    """A rule from a function ``epoch -> value | rule | None`` (a user's schedule)."""

    lowest = None  # not known in advance: users of the rule check each draw
    finest = None

    def __init__(self, schedule: Callable[[int], object], scale: str) -> None:
        self.schedule = schedule
        self.scale = scale

    def draw(self, count: int, *, epoch: int = 0,
             generator: torch.Generator | None = None) -> np.ndarray | None:
        given = self.schedule(epoch)
        if given is None:
            return None
        rule = as_rule(given, scale=self.scale)
        if rule_scale(rule)[0] != self.scale:
            raise ValueError(f"the schedule returned {rule!r} in epoch {epoch}, a rule in "
                             f"{rule_scale(rule)[0]}, where it was given as {self.scale}")
        return rule.draw(count, epoch=epoch, generator=generator)

    def __repr__(self) -> str:
        return f"as_rule({self.schedule!r}, scale={self.scale!r})"


def as_rule(value: float | tuple[float, float] | SparsityRule | Callable[[int], object],
            *, scale: str = "sparsity") -> SparsityRule:
    """Any way of giving a scale as a rule: a number becomes :class:`Fixed`, a pair
    ``(low, high)`` a range (:class:`TimeRange` or :class:`SparsityRange`), a rule stays
    itself (in its own scale), and a function ``epoch -> value, rule or None`` becomes a
    rule that asks it each epoch. Numbers are read in ``scale`` (``"sparsity"`` or
    ``"t"``).

    Examples
    --------
    >>> from isvs_graph.training import as_rule
    >>> as_rule(0.7), as_rule((8, 16), scale="t"), as_rule(16, scale="t")
    (Fixed(0.7), TimeRange(8.0, 16.0), Fixed(16.0, scale='t'))
    """
    _check_scale_name(scale)
    if isinstance(value, SparsityRule):
        return value
    if callable(value):
        return _Scheduled(value, scale)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return TimeRange(*value) if scale == "t" else SparsityRange(*value)
    return Fixed(value, scale=scale)


def make_rule(sparsity, t) -> SparsityRule:
    """The rule of a ``sparsity=`` or ``t=`` argument (at most one); neither: the
    default :class:`TimeRange`."""
    if sparsity is not None and t is not None:
        raise TypeError(f"give sparsity or t, not both (got sparsity={sparsity!r}, "
                        f"t={t!r})")
    if sparsity is None and t is None:
        return TimeRange()
    return as_rule(sparsity, scale="sparsity") if t is None else as_rule(t, scale="t")
