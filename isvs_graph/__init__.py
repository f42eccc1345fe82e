"""isvs_graph: inverse-scale-space (Split LBI) smoothing of signals on graphs."""

from .graphs import canonical_graph, grid_graph
from .images import smooth_image, smooth_images
from .operator import difference_operator
from .path import ISVSPath, path
from .smoothing import solve
from .solver import ConvergenceWarning

__all__ = [
    "ConvergenceWarning",
    "ISVSPath",
    "canonical_graph",
    "difference_operator",
    "grid_graph",
    "path",
    "smooth_image",
    "smooth_images",
    "solve",
]
