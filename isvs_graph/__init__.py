"""isvs_graph: inverse-scale-space (Split LBI) smoothing of signals on graphs."""

from .graphs import canonical_graph, grid_graph
from .image_paths import ImagePaths, image_paths, load_paths
from .images import smooth_image, smooth_images
from .operator import difference_operator
from .path import ISVSPath, path
from .smoothing import solve
from .solver import ConvergenceWarning

__all__ = [
    "ConvergenceWarning",
    "ISVSPath",
    "ImagePaths",
    "canonical_graph",
    "difference_operator",
    "grid_graph",
    "image_paths",
    "load_paths",
    "path",
    "smooth_image",
    "smooth_images",
    "solve",
]
