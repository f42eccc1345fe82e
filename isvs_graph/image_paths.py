"""Paths of image batches: solve once, read any scale in O(p) per image, cache on disk.

:func:`image_paths` runs Split LBI once per image of a ``B × C × H × W`` batch (the
fused CPU kernels, images in parallel) and records, per image,

* the iteration at which each entry of ``γ`` (an edge, or an edge-channel pair in
  channel mode) first became non-zero;
* ``u_k`` and the support of ``γ_k`` at the iterate where the sparsity first drops to
  each recorded level, and at the last iterate.

:meth:`ImagePaths.at` then reads any scale without iterating again: the partition
from the entry iterations (edges entered by ``k`` are cut), the values from the
nearest recorded ``u_k``, averaged over the partition — a connected-components
labelling and a mean, ``O(p + m)`` per image. At the recorded levels the answer is
exactly :func:`isvs_graph.smooth_images` at that sparsity. Between them, the
partition is exact for images without leave events (an entry that left the support
again; :attr:`ImagePaths.leave_events` counts them, rare for ``ν >= 1``) and the
values are those of the nearest recorded iterate.

:meth:`ImagePaths.save` and :func:`load_paths` keep a dataset's paths on disk:
written atomically, versioned with the solver options, checksummed, and refused
with a clear error when damaged or made with other options.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence

import numpy as np
import torch

from ._validation import check_batch_scale, check_scale
from .graphs import canonical_graph, grid_graph
from .images import _float_bounds, images_to_signals
from .projection import project
from .smoothing import limit_values, prepare
from ._solver import DEFAULT_KAPPA, DEFAULT_TOL, iterations_for_time, run_split_lbi

__all__ = ["ImagePaths", "image_paths", "load_paths"]

FORMAT = "isvs_graph.image_paths"
FORMAT_VERSION = 2
DEFAULT_LEVELS = tuple(np.round(np.linspace(1.0, 0.5, 11), 10))
_ARRAYS = ("entry_iter", "leave_events", "snapshots", "snapshot_support",
           "snapshot_iter", "converged")


class ImagePaths:
    """Recorded inverse-scale paths of a batch of images (see :func:`image_paths`).

    Attributes
    ----------
    shape : tuple
        ``(B, C, H, W)`` of the images.
    options : dict
        The solver options the paths were made with (``kappa``, ``nu``, ``alpha``,
        ``mode``, ``tol``, ``connectivity``, ``levels``).
    levels : ndarray
        The recorded sparsities, decreasing.
    entry_iter : ndarray of shape (B, m) or (B, m·C)
        First iteration with ``γ ≠ 0`` per entry; −1 if it never entered.
    leave_events : ndarray of shape (B,)
        Entries that left the support after entering, per image.
    snapshot_iter : ndarray of shape (B, L + 1)
        The iterate recorded for each level (−1 where a level was not reached), then
        the last iterate.
    converged : ndarray of shape (B,)
        Whether an image's run ended by convergence (its later scales are all the
        last iterate).
    """

    def __init__(self, shape, kind, dtype, options, arrays) -> None:
        self.shape = tuple(int(v) for v in shape)
        self.kind, self.dtype = kind, dtype
        self.options = dict(options)
        self.levels = np.asarray(self.options["levels"], dtype=np.float64)
        for name in _ARRAYS:
            setattr(self, name, arrays[name])
        _, channels, height, width = self.shape
        self._graph = canonical_graph(grid_graph(height, width, self.options["connectivity"]))
        self._per_edge = 1 if self.options["mode"] == "joint" else channels
        self._sorted_entries = np.sort(np.where(self.entry_iter < 0, np.iinfo(np.int64).max,
                                                self.entry_iter), axis=1)

    def __len__(self) -> int:
        return self.shape[0]

    def select(self, index) -> ImagePaths:
        """The paths of some images only: ``index`` is an int, a slice or indices."""
        rows = np.arange(self.shape[0])[index]
        rows = np.atleast_1d(rows)
        arrays = {name: getattr(self, name)[rows] for name in _ARRAYS}
        return ImagePaths((len(rows), *self.shape[1:]), self.kind, self.dtype, self.options,
                          arrays)

    def __repr__(self) -> str:
        return (f"ImagePaths(shape={self.shape}, mode={self.options['mode']!r}, "
                f"levels={len(self.levels)}, kappa={self.options['kappa']!r}, "
                f"nu={self.options['nu']!r})")

    def iterations(self, t=None, *, sparsity=None) -> np.ndarray:
        """The iterate each image's solve would stop at, shape ``(B,)``."""
        batch = self.shape[0]
        t, sparsity = check_batch_scale(t, sparsity, batch)
        entries = self.entry_iter.shape[1]
        last = self.snapshot_iter[:, -1]
        if t is not None:
            k = np.array([iterations_for_time(v, self.options["alpha"]) for v in t])
            beyond = k > last
        else:
            rows = np.arange(batch)
            needed = _entries_needed(entries, sparsity)
            k = np.where(needed > 0, self._sorted_entries[rows, np.maximum(needed - 1, 0)], 0)
            # At a recorded level the recorded iterate is exact, leave events or not.
            where = {level: i for i, level in enumerate(self.levels.tolist())}
            level = np.array([where.get(s, -1) for s in sparsity.tolist()])
            recorded = np.where(level >= 0, self.snapshot_iter[rows, np.maximum(level, 0)], -1)
            k = np.where(recorded >= 0, recorded, k)
            beyond = (recorded < 0) & (k > last)
        if beyond.any():
            stuck = beyond & ~self.converged
            if stuck.any():
                raise ValueError(
                    f"{int(stuck.sum())} image(s) have no recorded iterate at that scale: "
                    "their paths stop earlier (at the finest level recorded); build the "
                    "paths with a smaller sparsity_min or a larger t_max")
            k = np.where(beyond, last, k)
        return k

    def at(self, t=None, *, sparsity=None):
        """The smoothed batch at time ``t`` or at ``sparsity`` (one value or one per
        image), of the kind, shape and dtype of the images the paths were made from.
        """
        k = self.iterations(t, sparsity=sparsity)
        recorded = self.snapshot_iter
        # The nearest recorded iterate of each image (exactly k where recorded).
        distance = np.where(recorded >= 0, np.abs(recorded - k[:, None]), np.iinfo(np.int64).max)
        nearest = distance.argmin(axis=1)
        exact = distance[np.arange(len(k)), nearest] == 0
        rows = np.arange(len(k))
        u = self.snapshots[rows, nearest]  # (B, p, C)
        support = self.snapshot_support[rows, nearest]  # (B, m, per_edge)
        if not exact.all():
            entered = (self.entry_iter >= 0) & (self.entry_iter <= k[:, None])
            from_entries = entered.reshape(len(k), -1, self._per_edge)
            support = np.where(exact[:, None, None], support, from_entries)
        # Views in the (p, B, C) layout project() takes; it works group-major inside.
        u_t = torch.from_numpy(u).permute(1, 0, 2)
        support_t = torch.from_numpy(support).permute(1, 0, 2)
        if self._per_edge == 1 and self.options["mode"] == "joint":
            support_t = support_t[:, :, 0]
        smoothed = project(self._graph, u_t, support_t).permute(1, 0, 2).numpy()
        return self._restore(smoothed)

    def _restore(self, smoothed: np.ndarray):
        batch, channels, height, width = self.shape
        out = smoothed.reshape(batch, height, width, channels).transpose(0, 3, 1, 2)
        dtype = np.dtype(self.dtype)
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            out = out.round().clip(*_float_bounds(info))
        out = np.ascontiguousarray(out.astype(dtype))
        return torch.from_numpy(out) if self.kind == "torch" else out

    def save(self, file: str | os.PathLike) -> None:
        """Write the paths to ``file`` (an ``.npz``) atomically, with a checksum."""
        meta = self._meta()
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        digest = _checksum(meta, arrays)
        file = os.fspath(file)
        folder = os.path.dirname(os.path.abspath(file))
        # The writer's pid in the name lets a later build remove what a killed one left.
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".isvs-paths-{os.getpid()}-",
                                         suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, meta=np.frombuffer(meta.encode(), dtype=np.uint8),
                         checksum=np.frombuffer(digest.encode(), dtype=np.uint8), **arrays)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, file)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    def _meta(self) -> str:
        return json.dumps({"format": FORMAT, "version": FORMAT_VERSION, "shape": self.shape,
                           "kind": self.kind, "dtype": self.dtype, "options": self.options},
                          sort_keys=True)


def _output_dtype(images: np.ndarray | torch.Tensor) -> str:
    """Name of the dtype :func:`~isvs_graph.smooth_images` returns for ``images``."""
    name = str(images.dtype).removeprefix("torch.")
    integer = name.startswith(("int", "uint"))
    return name if integer or name in ("float32", "float64") else "float32"


def _entries_needed(entries: int, sparsity: np.ndarray) -> np.ndarray:
    """Fewest non-zero entries ``c`` with ``(entries − c) / entries <= sparsity``, per
    value, in the solver's own arithmetic."""
    if entries == 0:
        return np.zeros(len(sparsity), dtype=np.int64)
    c = np.maximum(np.ceil(entries - sparsity * entries).astype(np.int64) - 1, 0)
    while True:
        short = (entries - c) / entries > sparsity
        if not short.any():
            return c
        c += short


def _checksum(meta: str, arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(meta.encode())
    for name in _ARRAYS:
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def image_paths(images: np.ndarray | torch.Tensor, *, levels: Sequence[float] = DEFAULT_LEVELS,
                sparsity_min: float | None = None, t_max: float | None = None,
                connectivity: int = 4, kappa: float = DEFAULT_KAPPA, nu: float = 1.0,
                alpha: float | None = None, mode: str = "joint", tol: float = DEFAULT_TOL,
                max_iter: int | None = None, progress: bool = False) -> ImagePaths:
    """Compute the inverse-scale paths of a batch of images in one solve.

    Parameters
    ----------
    images : numpy.ndarray or torch.Tensor
        ``B × C × H × W``; integers (uint8 …) are read by value. CUDA tensors
        are brought to the CPU: paths are a CPU-side cache.
    levels : sequence of float
        Sparsities whose iterates are stored, so that :meth:`ImagePaths.at` is exact
        there (default 1, 0.95, …, 0.5).
    sparsity_min, t_max : float, optional
        Where the paths stop (at most one); default ``sparsity_min = min(levels)``.
    connectivity, kappa, nu, alpha, mode, tol, max_iter, progress
        As for :func:`isvs_graph.smooth_images`.

    Returns
    -------
    ImagePaths

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
    dtype = _output_dtype(images)
    batch = signals.shape[0]
    levels = sorted({check_scale(None, v)[1] for v in levels}, reverse=True)
    if not levels:
        raise ValueError("levels must name at least one sparsity")
    if sparsity_min is None and t_max is None:
        sparsity_min = levels[-1]
    t_stop, s_stop = (None, None)
    if t_max is not None:
        t_stop = check_batch_scale(t_max, None, batch)[0]
    else:
        s_stop = check_batch_scale(None, sparsity_min, batch)[1]
    graph = grid_graph(height, width, connectivity)
    problem = prepare(graph, signals, kappa=kappa, nu=nu, alpha=alpha, mode=mode, tol=tol,
                      max_iter=max_iter)
    result = run_split_lbi(problem.op, problem.x, problem.initial(), problem.options,
                           t=t_stop, sparsity=s_stop, progress=progress, backend="numba",
                           record_levels=levels, record_entries=True)
    # At the floor the finest scale is the projection of x itself (see solve).
    final_u = limit_values(problem.x, result).permute(1, 0, 2).numpy()[:, None]
    support = result.support if result.support.ndim == 3 else result.support[:, :, None]
    final_support = support.permute(1, 0, 2).numpy()[:, None]
    arrays = {
        "entry_iter": result.entry_iter,
        "leave_events": result.leaves,
        "snapshots": np.concatenate([result.level_u, final_u], axis=1),
        "snapshot_support": np.concatenate([result.level_support, final_support], axis=1),
        "snapshot_iter": np.concatenate([result.level_iter, result.iterations[:, None]],
                                        axis=1),
        "converged": result.converged,
    }
    options = {"kappa": problem.options.kappa, "nu": problem.options.nu,
               "alpha": problem.options.alpha, "mode": problem.options.mode,
               "tol": problem.options.tol, "connectivity": connectivity, "levels": levels}
    return ImagePaths((batch, signals.shape[2], height, width), kind, dtype, options, arrays)


def load_paths(file: str | os.PathLike, **expected_options) -> ImagePaths:
    """Read paths written by :meth:`ImagePaths.save`.

    Parameters
    ----------
    file : str or path
    **expected_options
        Solver options the cache must have been made with (``kappa``, ``nu``,
        ``mode``, ``connectivity``, ``levels`` …); a cache made with others is
        refused.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is truncated or corrupted (checksum), of another format or version,
        or made with other options.
    """
    file = os.fspath(file)
    if not os.path.exists(file):
        raise FileNotFoundError(f"no path cache at {file!r}")
    try:
        with np.load(file, allow_pickle=False) as data:
            contents = {name: data[name] for name in data.files}
    except Exception as error:  # zipfile, zlib, format errors: all mean damage
        raise ValueError(f"path cache {file!r} is damaged and cannot be read "
                         f"({type(error).__name__}: {error}); delete it and build it again"
                         ) from error
    missing = {"meta", "checksum", *_ARRAYS} - set(contents)
    if missing:
        raise ValueError(f"path cache {file!r} is damaged or not a path cache: missing "
                         f"{sorted(missing)}")
    meta_text = contents["meta"].tobytes().decode("utf-8", errors="replace")
    try:
        meta = json.loads(meta_text)
    except json.JSONDecodeError as error:
        raise ValueError(f"path cache {file!r} is damaged: unreadable header") from error
    if meta.get("format") != FORMAT:
        raise ValueError(f"{file!r} is not an isvs_graph path cache")
    if meta.get("version") != FORMAT_VERSION:
        raise ValueError(f"path cache {file!r} has format version {meta.get('version')!r}; "
                         f"this isvs_graph reads version {FORMAT_VERSION}: build it again")
    arrays = {name: contents[name] for name in _ARRAYS}
    if _checksum(meta_text, arrays) != contents["checksum"].tobytes().decode(errors="replace"):
        raise ValueError(f"path cache {file!r} is damaged: its checksum does not match")
    options = meta["options"]
    for name, value in expected_options.items():
        have = options.get(name, "<missing>")
        if name == "levels":
            value = sorted((float(v) for v in value), reverse=True)
        if have != value:
            raise ValueError(f"path cache {file!r} was made with {name}={have!r}, not "
                             f"{value!r}: build it again with these options")
    return ImagePaths(meta["shape"], meta["kind"], meta["dtype"], options, arrays)
