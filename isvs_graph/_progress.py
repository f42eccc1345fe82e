"""When the package draws progress bars: the one rule that the command line, the
training datasets, the evaluation harness and the training example share
(re-exported as :func:`isvs_graph.training.show_progress`)."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import autonotebook, std

__all__ = ["show_progress"]


def show_progress(progress: bool = True, stream: TextIO | None = None) -> bool:
    """Whether to draw progress bars: only where they redraw in place.

    A bar rewrites its line with carriage returns; a terminal shows the last state, but
    a log file keeps every redraw (hundreds of kilobytes over a training run). So bars
    are drawn only when ``progress`` is true and ``stream`` (default ``sys.stderr``,
    where tqdm writes) is a terminal, or when tqdm draws notebook widgets instead.

    Parameters
    ----------
    progress : bool
        The caller's wish (``False``: never, as ``--quiet`` asks).
    stream : file-like, optional
        The stream the bars go to; default ``sys.stderr`` at the time of the call.

    Returns
    -------
    bool
        True where bars should be drawn.

    Raises
    ------
    TypeError
        If ``progress`` is not a bool.

    Examples
    --------
    >>> import io
    >>> show_progress(False)
    False
    >>> show_progress(True, io.StringIO())  # a file, not a terminal
    False
    """
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be a bool, got {type(progress).__name__}")
    if not progress:
        return False
    if autonotebook.tqdm is not std.tqdm:  # tqdm.auto draws notebook widgets, not lines
        return True
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False
