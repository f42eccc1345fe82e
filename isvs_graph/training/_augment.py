"""ISVS as a data transform for image tensors, with a scale (a time or a sparsity) that
is fixed, drawn at random per image (augmentation) or scheduled over epochs
(curriculum)."""

from __future__ import annotations

from typing import Any

import os
import warnings
from collections.abc import Callable

import numpy as np
import torch

from .._validation import check_count
from ..images import check_image_options, smooth_images
from ._schedules import SparsityRule, make_rule, rule_scale

__all__ = ["ISVSTransform", "SmoothImages"]


class SmoothImages:
    """:func:`~isvs_graph.smooth_images` as a transform of image tensors
    (``C × H × W`` or ``B × C × H × W``, CPU or CUDA).

    With no scale given, each image's time is drawn from :class:`TimeRange` ``()``
    (:data:`~isvs_graph.training.DEFAULT_TIMES`, 12–24): the recipe's default, one
    strength of smoothing for every data set.

    Parameters
    ----------
    sparsity : float, (low, high), SparsityRule or callable, optional
        A fixed sparsity, a range ``(low, high)`` (drawn per image), a rule such as
        :class:`SparsityRange` or :class:`CoarseToFine` (by epoch) — a rule draws in
        its own scale, so a :class:`TimeRange` may be given here too — or a function
        ``epoch -> sparsity, rule or None`` (``None``: pass images through). Call
        :meth:`set_epoch` each epoch.
    t : float, (low, high), SparsityRule or callable, optional
        Instead of ``sparsity``: the same in the dimensionless time (numbers and pairs
        are times: ``t=(8, 16)`` is :class:`TimeRange` ``(8, 16)``).
    seed : int, optional
        Seeds the draws, for reproducible runs. The draws depend on the seed, the
        epoch and the DataLoader worker (as torch's own samplers do): two workers, or
        two epochs, never draw the same sparsities. Without a seed they come from
        torch's seed (:func:`torch.initial_seed`, a worker's own seed in a worker).
    **solver_options
        Passed to :func:`isvs_graph.smooth_images` (``kappa``, ``mode`` …).

    Notes
    -----
    The result is detached from autograd (smoothing is a data transform, not a layer).

    Examples
    --------
    >>> import torch
    >>> from isvs_graph.training import SmoothImages, SparsityRange
    >>> SmoothImages()(torch.rand(4, 3, 16, 16)).shape
    torch.Size([4, 3, 16, 16])
    >>> SmoothImages(SparsityRange(0.7, 0.9), seed=0)
    SmoothImages(SparsityRange(0.7, 0.9))
    >>> SmoothImages(t=(8, 16)).rule
    TimeRange(8.0, 16.0)
    """

    def __init__(self, sparsity: float | SparsityRule | Callable[[int], object] | None = None,
                 *, t: float | SparsityRule | Callable[[int], object] | None = None,
                 seed: int | None = None, **solver_options: Any) -> None:
        check_image_options(type(self).__name__, solver_options)
        self.rule = make_rule(sparsity, t)
        self.scale = rule_scale(self.rule)[0]
        self.solver_options = solver_options
        self.seed = None if seed is None else check_count("seed", seed, minimum=0)
        self.epoch = 0
        self.generator = torch.Generator()
        self._context: tuple | None = None

    def set_epoch(self, epoch: int) -> None:
        """Tell the sparsity rule which epoch it is (schedules change with it).

        DataLoader workers hold copies of the transform: with ``persistent_workers``
        they keep the epoch they started with, so use non-persistent workers (the
        default) for schedules such as :class:`CoarseToFine`."""
        self.epoch = epoch

    def _draws(self) -> torch.Generator:
        """The generator of this process, worker and epoch, seeded on first use."""
        info = torch.utils.data.get_worker_info()
        context = (os.getpid(), None if info is None else info.id, self.epoch)
        if context != self._context:
            base = self.seed if self.seed is not None else torch.initial_seed()
            worker = 0 if info is None else info.id + 1
            state = np.random.SeedSequence([base, worker, self.epoch]).generate_state(1)
            self.generator.manual_seed(int(state[0]))
            self._context = context
        return self.generator

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        if not (torch.is_tensor(images) or isinstance(images, np.ndarray)):
            hint = " (a PIL image: put torchvision's PILToTensor() before this)" if \
                hasattr(images, "getbands") else ""
            raise TypeError(f"{type(self).__name__} takes image tensors (C × H × W or "
                            f"B × C × H × W), got {type(images).__name__}{hint}")
        single = images.ndim == 3
        batch = images[None] if single else images
        levels = self.rule.draw(len(batch), epoch=self.epoch, generator=self._draws())
        if levels is None:
            return images
        out = smooth_images(batch, **{self.scale: levels}, **self.solver_options)
        return out[0] if single else out

    def __repr__(self) -> str:
        options = "".join(f", {k}={v!r}" for k, v in self.solver_options.items())
        return f"{type(self).__name__}({self.rule!r}{options})"


class ISVSTransform(SmoothImages):
    """Deprecated name of :class:`SmoothImages`."""

    def __init__(self, *args, **kwargs) -> None:
        warnings.warn("ISVSTransform is deprecated and will be removed in the next release; "
                      "use isvs_graph.training.SmoothImages", DeprecationWarning, stacklevel=2)
        super().__init__(*args, **kwargs)
