"""The package's warning class, and warnings that point at the user's own line."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from contextvars import ContextVar

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _library_folders() -> tuple[str, ...]:
    """This package and the libraries that call it back (PyG transforms, torch data
    loading): a warning is attributed to the first frame outside all of them."""
    folders = [_PACKAGE]
    for name in ("torch_geometric", "torch"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            folders.append(os.path.dirname(os.path.abspath(module.__file__)) + os.sep)
    return tuple(folders)


class ConvergenceWarning(UserWarning):
    """A run stopped short of its target: at the floor (the target lies beyond the
    finest scale the signal has above the tolerance), at ``max_iter``, or slowed down
    by a stiff problem. The message names which, and the result is the finest scale
    reached.

    Attributes
    ----------
    signals : numpy.ndarray
        The positions in the batch (``int64``) of the signals (images) it is about:
        ``[0]`` for one signal; in the dataset for
        :meth:`~isvs_graph.training.CachedISVSDataset.build`, the graphs of a PyG
        ``Batch`` for :class:`~isvs_graph.transforms.ISVSSmooth`. Read it from a caught
        warning's ``message``.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from isvs_graph import ConvergenceWarning, smooth_images
    >>> images = np.random.default_rng(0).integers(0, 256, (3, 1, 8, 8), dtype=np.uint8)
    >>> images[1] = 0
    >>> images[1, :, :, 4:] = 255  # one edge: its other edges are flat
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = smooth_images(images, sparsity=0.5)
    >>> [w.message.signals.tolist() for w in caught if w.category is ConvergenceWarning]
    [[1]]
    """

    def __init__(self, message: str, signals=()) -> None:
        super().__init__(message)
        import numpy as np
        self.signals = np.asarray(signals, dtype=np.int64).reshape(-1)


def warn_user(message: str | Warning, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the first caller outside this package (and the
    libraries that call it back)."""
    frame, level = sys._getframe(1), 2
    folders = _library_folders()
    while frame is not None and frame.f_code.co_filename.startswith(folders):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


#: Where the signals of the solves now running lie in what the caller gave: an offset to
#: their positions and the words that lead a warning (:func:`signals_moved`).
_MOVED: ContextVar[tuple[int, str]] = ContextVar("isvs_graph_signals_moved", default=(0, ""))


@contextlib.contextmanager
def signals_moved(offset: int, where: str) -> Iterator[None]:
    """Within the block, a :class:`ConvergenceWarning` (:func:`convergence_warning`) is
    led by ``where`` (``"shard 2 (images 1024–1535)"``) and its ``signals`` are moved by
    ``offset``: positions in what the caller was given, where the solves inside see a
    part of it. The warning is made so where it arises: filters and Python's once-only
    registry treat it as any other (one turned into an error raises it moved)."""
    outer, said = _MOVED.get()
    token = _MOVED.set((outer + offset, f"{said}{where}: "))
    try:
        yield
    finally:
        _MOVED.reset(token)


def convergence_warning(message: str, signals) -> ConvergenceWarning:
    """A :class:`ConvergenceWarning` about the signals at ``signals`` of a solve, moved
    to the caller's positions and led by its words (:func:`signals_moved`)."""
    import numpy as np
    offset, said = _MOVED.get()
    return ConvergenceWarning(f"{said}{message}", np.asarray(signals, dtype=np.int64) + offset)
