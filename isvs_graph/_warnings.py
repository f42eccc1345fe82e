"""The package's warning class, and warnings that point at the user's own line."""

from __future__ import annotations

import os
import sys
import warnings

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
    reached."""


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the first caller outside this package (and the
    libraries that call it back)."""
    frame, level = sys._getframe(1), 2
    folders = _library_folders()
    while frame is not None and frame.f_code.co_filename.startswith(folders):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
