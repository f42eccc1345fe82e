"""Paths of image batches: :func:`image_paths` lays a ``B × C × H × W`` batch out on its
pixel grid and records one :class:`~isvs_graph.ISVSPath` per image (see
:mod:`isvs_graph.path`); reads come back as images of the batch's kind and dtype."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .graphs import grid_graph
from .images import images_to_signals
from .path import (DEFAULT_LEVELS, ISVSPath, Layout, check_levels,
                   load_paths, record)
from .smoothing import prepare
from ._solver import DEFAULT_KAPPA, DEFAULT_TOL

__all__ = ["image_paths", "load_paths"]


def _output_dtype(images: np.ndarray | torch.Tensor) -> str:
    """Name of the dtype :func:`~isvs_graph.smooth_images` returns for ``images``."""
    name = str(images.dtype).removeprefix("torch.")
    integer = name.startswith(("int", "uint"))
    return name if integer or name in ("float32", "float64") else "float32"


def image_paths(images: np.ndarray | torch.Tensor, *, levels: Sequence[float] = DEFAULT_LEVELS,
                sparsity_min: float | None = None, t_max: float | None = None,
                record_times: Sequence[float] = (), connectivity: int = 4,
                kappa: float = DEFAULT_KAPPA, nu: float = 1.0, alpha: float | None = None,
                mode: str = "joint", tol: float = DEFAULT_TOL, max_iter: int | None = None,
                jumps: bool = True, progress: bool = False) -> ISVSPath:
    """Compute the inverse-scale paths of a batch of images in one solve.

    Parameters
    ----------
    images : numpy.ndarray or torch.Tensor
        ``B × C × H × W``; integers (uint8 …) are read by value. CUDA tensors are
        brought to the CPU: paths are a CPU-side cache.
    levels : sequence of float
        Sparsities whose iterates are recorded, so that :meth:`ISVSPath.at` is exact
        there (default 1, 0.95, …, 0.5).
    sparsity_min, t_max : float, optional
        Where the paths stop (at most one); default ``sparsity_min = min(levels)``.
    record_times : sequence of float
        Times whose iterates are recorded as well.
    connectivity, kappa, nu, alpha, mode, tol, max_iter, jumps, progress
        As for :func:`isvs_graph.smooth_images`.

    Returns
    -------
    ISVSPath
        Its reads are ``B × C × H × W`` batches of the images' kind and dtype:
        exactly :func:`~isvs_graph.smooth_images` at the recorded levels and times,
        within :meth:`ISVSPath.bound` of it between them.

    Examples
    --------
    >>> import numpy as np
    >>> from isvs_graph import image_paths, smooth_images
    >>> images = np.random.default_rng(0).random((4, 3, 16, 16))
    >>> paths = image_paths(images, levels=[1.0, 0.8, 0.6])
    >>> bool((paths.at(sparsity=0.8) == smooth_images(images, sparsity=0.8)).all())
    True
    """
    if t_max is not None and sparsity_min is not None:
        raise ValueError("give at most one of t_max and sparsity_min, got "
                         f"t_max={t_max!r}, sparsity_min={sparsity_min!r}")
    kind = "torch" if isinstance(images, torch.Tensor) else "numpy"
    if kind == "torch":
        images = images.detach().cpu()
    signals, height, width, _ = images_to_signals(images)
    levels = check_levels(levels)
    if sparsity_min is None and t_max is None:
        sparsity_min = levels[-1]
    graph = grid_graph(height, width, connectivity)
    problem = prepare(graph, signals, kappa=kappa, nu=nu, alpha=alpha, mode=mode, tol=tol,
                      max_iter=max_iter, jumps=jumps)
    dtype = _output_dtype(images)
    layout = Layout("images", kind, dtype, str(problem.x.dtype).removeprefix("torch."),
                    tuple(int(v) for v in images.shape))
    flat = images.reshape(len(images), -1)
    exact = flat[:, 0] if np.dtype(dtype).kind in "iu" else None
    if exact is not None and isinstance(exact, torch.Tensor):
        exact = exact.numpy()
    return record(problem, layout, levels=levels, record_times=record_times, t_max=t_max,
                  sparsity_min=sparsity_min, progress=progress, exact_constants=exact,
                  options={"connectivity": connectivity})


def __getattr__(name: str):
    if name == "ImagePaths":
        import warnings
        warnings.warn("isvs_graph.image_paths.ImagePaths is deprecated and will be removed "
                      "in the next release; use isvs_graph.ISVSPath", DeprecationWarning,
                      stacklevel=2)
        return ISVSPath
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
