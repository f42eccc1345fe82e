"""isvs_graph: inverse-scale-space (Split LBI) smoothing of signals on graphs.

Data flows one way: a graph (:mod:`isvs_graph.graphs`) gives the difference
operator, the Split LBI solver runs on it, the connected-components projection makes
the answer (:func:`solve`, :func:`path`); images, transforms and the command line are
layers over that, and :mod:`isvs_graph.training` builds robust training from them.

Every public name is imported on first use (``lazy_loader``, as scikit-image does), so
``import isvs_graph`` loads neither torch nor numba; the first call pays for what it needs.
The core is numpy: numpy in, numpy out never imports torch or torch_geometric.
"""

import lazy_loader as lazy

from . import _moved

__all__ = [
    "ConvergenceWarning",
    "DifferenceOperator",
    "ISVSPath",
    "canonical_graph",
    "clear_caches",
    "difference_operator",
    "from_networkx",
    "from_scipy",
    "graphs",
    "grid_graph",
    "image_paths",
    "knn_graph",
    "load_paths",
    "mesh_graph",
    "path",
    "radius_graph",
    "read_mesh",
    "smooth_image",
    "smooth_images",
    "solve",
    "superpixel_graph",
    "training",
    "transforms",
]

_load, __dir__, _names = lazy.attach(
    __name__,
    submodules=["graphs", "training", "transforms"],
    submod_attrs={
        "_kept": ["clear_caches"],
        "_operator": ["DifferenceOperator", "difference_operator"],
        "_paths": ["ISVSPath", "load_paths", "path"],
        "_solve": ["solve"],
        "_warnings": ["ConvergenceWarning"],
        "graphs": ["canonical_graph", "from_networkx", "from_scipy", "grid_graph",
                   "knn_graph", "mesh_graph", "radius_graph", "read_mesh",
                   "superpixel_graph"],
        "images": ["image_paths", "smooth_image", "smooth_images"],
    })
assert _names == sorted(__all__), "the lazy map and __all__ name the same things"

_moved.install()


def _version() -> str:
    """The installed distribution's version (pyproject.toml's); ``"0+unknown"`` where the
    package runs uninstalled, from a bare source tree."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(__name__)
    except PackageNotFoundError:
        return "0+unknown"


def __getattr__(name: str):
    if name == "__version__":  # pyproject.toml's, read when asked (importlib.metadata: ~30 ms)
        return _version()
    if name in __all__:
        return _load(name)
    if f"{__name__}.{name}" in _moved.MOVED or name == "images":
        # isvs_graph.augment and the like; images came with the package when it was eager
        import importlib
        return importlib.import_module(f".{name}", __name__)
    if name == "ImagePaths":  # deprecated: one path class
        import warnings
        warnings.warn("isvs_graph.ImagePaths is deprecated and will be removed in the next "
                      "release; use isvs_graph.ISVSPath", DeprecationWarning, stacklevel=2)
        return _load("ISVSPath")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
