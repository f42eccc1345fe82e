"""isvs_graph: inverse-scale-space (Split LBI) smoothing of signals on graphs.

Data flows one way: a graph (:mod:`isvs_graph.graphs`) gives the difference
operator, the Split LBI solver runs on it, the connected-components projection makes
the answer (:func:`solve`, :func:`path`); images, transforms and the command line are
layers over that, and :mod:`isvs_graph.training` (imported on first use) builds robust
training from them.
"""

from . import _moved, graphs, transforms
from ._operator import DifferenceOperator, difference_operator
from ._paths import ISVSPath, load_paths, path
from ._solve import solve
from ._warnings import ConvergenceWarning
from .graphs import (canonical_graph, from_networkx, from_scipy, grid_graph, knn_graph,
                     mesh_graph, radius_graph, read_mesh, superpixel_graph)
from .images import image_paths, smooth_image, smooth_images

__all__ = [
    "ConvergenceWarning",
    "DifferenceOperator",
    "ISVSPath",
    "canonical_graph",
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

_moved.install()


def __getattr__(name: str):
    if name == "training":  # the training stack is imported on first use
        import importlib
        return importlib.import_module(".training", __name__)
    if f"{__name__}.{name}" in _moved.MOVED:  # isvs_graph.augment and the like
        import importlib
        return importlib.import_module(f".{name}", __name__)
    if name == "ImagePaths":  # deprecated: one path class
        import warnings
        warnings.warn("isvs_graph.ImagePaths is deprecated and will be removed in the next "
                      "release; use isvs_graph.ISVSPath", DeprecationWarning, stacklevel=2)
        return ISVSPath
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
