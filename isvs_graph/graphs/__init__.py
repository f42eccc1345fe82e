"""Graph families: builders that return a :class:`torch_geometric.data.Data` any solver
takes as it is, and the canonical form they all end in.

============================  ===========================================================
:func:`grid_graph`            the pixel grid of an image (4 or 8 neighbours)
:func:`superpixel_graph`      an image's superpixels, joined where they touch
:func:`mesh_graph`            a triangle mesh (:func:`read_mesh` for OFF, OBJ, PLY files)
:func:`knn_graph`             a point cloud's k nearest neighbours (or :func:`radius_graph`)
:func:`from_networkx`         any networkx graph (or :func:`from_scipy` for a matrix)
:func:`canonical_graph`       any PyG graph in canonical form (:class:`CanonicalGraph`)
============================  ===========================================================

Every builder ends in the same private canonicaliser: each undirected edge once as
``(i, j)`` with ``i < j``, sorted, no self-loops, the weights of an edge's copies
merged by their mean.
"""

from ._canonical import CanonicalGraph, canonical_graph
from ._conversions import from_networkx, from_scipy
from ._grid import grid_graph
from ._meshes import mesh_graph, read_mesh
from ._point_clouds import knn_graph, radius_graph
from ._superpixels import superpixel_graph

__all__ = ["CanonicalGraph", "canonical_graph", "from_networkx", "from_scipy", "grid_graph",
           "knn_graph", "mesh_graph", "radius_graph", "read_mesh", "superpixel_graph"]
