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

Each builder is imported on first use, so a pixel grid does not load networkx or scipy's
k-d tree.
"""

import lazy_loader as lazy

__all__ = ["CanonicalGraph", "canonical_graph", "from_networkx", "from_scipy", "grid_graph",
           "knn_graph", "mesh_graph", "radius_graph", "read_mesh", "superpixel_graph"]

__getattr__, __dir__, _names = lazy.attach(__name__, submod_attrs={
    "_canonical": ["CanonicalGraph", "canonical_graph"],
    "_conversions": ["from_networkx", "from_scipy"],
    "_grid": ["grid_graph"],
    "_meshes": ["mesh_graph", "read_mesh"],
    "_point_clouds": ["knn_graph", "radius_graph"],
    "_superpixels": ["superpixel_graph"],
})
assert _names == sorted(__all__), "the lazy map and __all__ name the same things"
