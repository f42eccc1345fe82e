"""isvs_graph: inverse-scale-space (Split LBI) smoothing of signals on graphs."""

from . import augment, datasets, transforms
from .conversions import from_networkx, from_scipy
from .graphs import canonical_graph, grid_graph
from .image_paths import ImagePaths, image_paths, load_paths
from .images import smooth_image, smooth_images
from .meshes import mesh_graph, read_mesh
from .operator import difference_operator
from .path import ISVSPath, path
from .point_clouds import knn_graph, radius_graph
from .smoothing import solve
from ._warnings import ConvergenceWarning
from .superpixels import superpixel_graph

__all__ = [
    "ConvergenceWarning",
    "ISVSPath",
    "ImagePaths",
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
