"""isvs_graph: inverse-scale-space (Split LBI) smoothing of signals on graphs."""

from . import augment, datasets, transforms
from .conversions import from_networkx, from_scipy
from .graphs import canonical_graph, grid_graph
from .image_paths import image_paths
from .images import smooth_image, smooth_images
from .meshes import mesh_graph, read_mesh
from .operator import difference_operator
from .path import ISVSPath, load_paths, path
from .point_clouds import knn_graph, radius_graph
from .smoothing import solve
from ._warnings import ConvergenceWarning
from .superpixels import superpixel_graph

__all__ = [
    "ConvergenceWarning",
    "ISVSPath",
    "augment",
    "canonical_graph",
    "datasets",
    "difference_operator",
    "from_networkx",
    "from_scipy",
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
    "transforms",
]


def __getattr__(name: str):
    if name == "ImagePaths":  # deprecated: one path class
        import warnings
        warnings.warn("isvs_graph.ImagePaths is deprecated and will be removed in the next "
                      "release; use isvs_graph.ISVSPath", DeprecationWarning, stacklevel=2)
        return ISVSPath
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
