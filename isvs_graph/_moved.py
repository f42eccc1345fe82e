"""Old module paths, kept working for a release.

Modules of the first release moved when the package took its layout (graph families
into :mod:`isvs_graph.graphs`, the training stack into :mod:`isvs_graph.training`, the
core into private modules). ``import isvs_graph.meshes`` and the like still work through
a finder that hands out a stand-in for the new module with a :class:`DeprecationWarning`
naming where to import from. Old paths that are now functions of the package
(``isvs_graph.path``, ``isvs_graph.image_paths``) fail with a message naming the new one.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types
import warnings

#: old module -> (the module that now holds its code, where users should import from)
MOVED = {f"isvs_graph.{old}": (f"{home}.{new}", public)
         for home, public, names in (
             ("isvs_graph", "isvs_graph", {"operator": "_operator",
                                           "projection": "_projection",
                                           "smoothing": "_solve", "solver": "_solver"}),
             ("isvs_graph", "isvs_graph.ISVSPath.plot", {"path_plot": "_path_plot"}),
             ("isvs_graph.graphs", "isvs_graph.graphs", {
                 name: f"_{name}" for name in ("superpixels", "meshes", "point_clouds",
                                               "conversions")}),
             ("isvs_graph.training", "isvs_graph.training", {
                 name: f"_{name}" for name in ("augment", "datasets", "robustness")}))
         for old, new in names.items()}

#: old modules whose name is now a function of the package
GONE = {
    "isvs_graph.path": "isvs_graph.path is the function path(); import ISVSPath, "
                       "load_paths and path from isvs_graph",
    "isvs_graph.image_paths": "isvs_graph.image_paths is the function image_paths(); import "
                              "it (and ISVSPath, load_paths) from isvs_graph",
}


def moved_message(old: str) -> str:
    new = MOVED[old][1]
    return (f"{old} is deprecated and will be removed in the next release; import from "
            f"{new}")


# Plain classes with the protocol's methods: importlib.abc would cost ``import
# isvs_graph`` a fifth of its time (it loads typing and importlib.resources).
class _Loader:
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        old = module.__name__
        if old in GONE:
            raise ImportError(GONE[old], name=old)
        target = importlib.import_module(MOVED[old][0])
        warnings.warn(moved_message(old), DeprecationWarning, stacklevel=2)
        module.__doc__ = f"Deprecated: {moved_message(old)}."
        module.__all__ = list(getattr(target, "__all__", ()))
        module.__getattr__ = lambda name: getattr(target, name)


class _Finder:
    def find_spec(self, fullname: str, path: object = None, target: object = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname in MOVED or fullname in GONE:
            return importlib.machinery.ModuleSpec(fullname, _Loader())
        return None


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.append(_Finder())
