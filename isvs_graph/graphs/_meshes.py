"""Triangle meshes: vertices as nodes, triangle sides as edges."""

from __future__ import annotations

import os
import warnings

import numpy as np
import torch
from torch_geometric.data import Data

from ._canonical import undirected_edges

__all__ = ["mesh_graph", "read_mesh"]

WEIGHTS = (None, "inverse_length", "cotangent")


def _as_numpy(value, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray or torch.Tensor, got "
                        f"{type(value).__name__}")
    return value


def mesh_graph(pos: np.ndarray | torch.Tensor, faces: np.ndarray | torch.Tensor,
               weights: str | None = None) -> Data:
    """The edge graph of a triangle mesh.

    Parameters
    ----------
    pos : array of shape (n, d)
        Vertex coordinates (``d`` = 2 or 3).
    faces : integer array of shape (F, 3)
        Vertex indices of each triangle (PyG stores ``face`` as (3, F); pass
        ``data.face.T``).
    weights : {None, "inverse_length", "cotangent"}, optional
        ``None``: every edge weighs 1. ``"inverse_length"``: ``1 / |p_i − p_j|``
        divided by its mean (mean weight 1). ``"cotangent"``: the cotangent
        Laplacian weight ``(cot α + cot β) / 2`` of the angles opposite the edge
        (one angle on a boundary), divided by its mean; obtuse triangles make it
        non-positive, and such weights are raised to 1e-3 of the mean with a
        warning, since the solver needs positive weights.

    Returns
    -------
    torch_geometric.data.Data
        ``pos``, ``face`` (3, F) as PyG stores it, canonical ``edge_index`` (each
        triangle side once), ``edge_weight`` when weighted, ``num_nodes``.

    Raises
    ------
    ValueError
        Non-finite coordinates, faces that are not triangles, indices out of range
        and degenerate faces (a repeated vertex, or zero area).

    Examples
    --------
    >>> import numpy as np
    >>> from isvs_graph import mesh_graph
    >>> pos = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> mesh_graph(pos, np.array([[0, 1, 2], [1, 3, 2]])).edge_index.tolist()
    [[0, 0, 1, 1, 2], [1, 2, 2, 3, 3]]
    """
    pos = _as_numpy(pos, "pos").astype(np.float64)
    faces = _as_numpy(faces, "faces")
    if pos.ndim != 2 or pos.shape[1] not in (2, 3) or pos.shape[0] == 0:
        raise ValueError(f"pos must have shape (n, 2) or (n, 3), got {pos.shape}")
    if not np.isfinite(pos).all():
        raise ValueError("pos contains NaN or infinite coordinates")
    if faces.dtype.kind not in "iu":
        raise ValueError(f"faces must hold integer vertex indices, got dtype {faces.dtype}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces must have shape (F, 3) (triangles), got {faces.shape}")
    faces = faces.astype(np.int64)
    n = pos.shape[0]
    if faces.size and (faces.min() < 0 or faces.max() >= n):
        bad = faces.min() if faces.min() < 0 else faces.max()
        raise ValueError(f"faces refer to vertex {bad}, but there are {n} vertices "
                         f"(valid indices are 0 .. {n - 1})")
    repeated = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | \
        (faces[:, 0] == faces[:, 2])
    if repeated.any():
        raise ValueError(f"face {int(np.argmax(repeated))} is degenerate: it repeats a vertex "
                         f"({faces[repeated][0].tolist()})")
    corners = pos[faces]  # (F, 3, d)
    side_a, side_b = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    padded_a = np.pad(side_a, ((0, 0), (0, 3 - side_a.shape[1])))
    padded_b = np.pad(side_b, ((0, 0), (0, 3 - side_b.shape[1])))
    area = np.linalg.norm(np.cross(padded_a, padded_b), axis=1) / 2
    # Zero within rounding: against the face's own size (a sliver), and against what
    # its coordinates' rounding makes of an area (far from the origin): not against
    # where the mesh sits (a 0.1 triangle at 4e6 has the area 0.005).
    longest = np.linalg.norm(np.stack([side_a, side_b, side_b - side_a], axis=1),
                             axis=2).max(axis=1)
    scale = np.abs(pos).max() if pos.size else 1.0
    rounding = 64 * np.finfo(np.float64).eps * scale * longest
    flat = area <= np.maximum(1e-14 * longest ** 2, rounding)
    if flat.any():
        raise ValueError(f"face {int(np.argmax(flat))} is degenerate: its area is zero "
                         f"(vertices {faces[flat][0].tolist()})")
    if weights not in WEIGHTS:
        raise ValueError(f"Invalid weights: {weights!r}; use one of {WEIGHTS}")

    # The three sides of each triangle, and the corner opposite each.
    sides = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    opposite = np.concatenate([faces[:, 2], faces[:, 0], faces[:, 1]])
    cot = None
    if weights == "cotangent":  # (cot α + cot β) / 2: the halves of an edge's sides add up
        u, v = pos[sides[:, 0]] - pos[opposite], pos[sides[:, 1]] - pos[opposite]
        u3, v3 = np.pad(u, ((0, 0), (0, 3 - u.shape[1]))), np.pad(v, ((0, 0), (0, 3 - v.shape[1])))
        cot = (u * v).sum(axis=1) / np.linalg.norm(np.cross(u3, v3), axis=1) / 2
    edge_index, cot = undirected_edges(sides.T, n, cot, reduce="sum")
    data = Data(pos=torch.from_numpy(pos), face=torch.from_numpy(faces.T.copy()),
                edge_index=torch.from_numpy(edge_index), num_nodes=n)
    if weights == "inverse_length":
        src, dst = edge_index
        weight = 1.0 / np.linalg.norm(pos[src] - pos[dst], axis=1)
        data.edge_weight = torch.from_numpy(weight / weight.mean())
    elif weights == "cotangent":
        weight = cot
        mean = np.abs(weight).mean()
        floor = 1e-3 * mean
        low = weight < floor
        weight = np.maximum(weight, floor)
        if low.any():  # quoted in edge_weight's units (scaled to mean 1), as a user reads it
            warnings.warn(f"{int(low.sum())} cotangent weight(s) below 1e-3 of the mean |w| "
                          f"(obtuse triangles) raised to that floor: "
                          f"{floor / weight.mean():.3g} in edge_weight (scaled to mean 1)",
                          stacklevel=2)
        data.edge_weight = torch.from_numpy(weight / weight.mean())
    return data


def read_mesh(path: str | os.PathLike, weights: str | None = None) -> Data:
    """Read a triangle mesh from an OFF, OBJ or PLY file into :func:`mesh_graph`.

    OFF and OBJ are read by PyG (``torch_geometric.io``), PLY (ASCII or binary) by
    the ``plyfile`` package.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no mesh file at {path!r}")
    extension = os.path.splitext(path)[1].lower()
    if extension == ".ply":
        pos, faces = _read_ply(path)
        return mesh_graph(pos, faces, weights=weights)
    from torch_geometric import io
    readers = {".off": io.read_off, ".obj": io.read_obj}
    if extension not in readers:
        raise ValueError(f"cannot read {extension!r} meshes; use one of "
                         f"{sorted([*readers, '.ply'])}")
    try:
        mesh = readers[extension](path)
    except Exception as error:  # PyG's readers parse as they go: any error is the file's
        raise ValueError(f"{path!r} cannot be read as an {extension[1:].upper()} mesh "
                         f"({type(error).__name__}: {error})") from None
    if mesh is None or mesh.get("face") is None or not mesh.face.numel():
        raise ValueError(f"{path!r} holds no triangle faces")
    return mesh_graph(mesh.pos, mesh.face.T, weights=weights)


def _read_ply(path: str) -> tuple[np.ndarray, np.ndarray]:
    from plyfile import PlyData
    ply = PlyData.read(path)
    names = [element.name for element in ply.elements]
    if "vertex" not in names or "face" not in names:
        raise ValueError(f"{path!r} needs 'vertex' and 'face' elements, has {names}")
    vertex = ply["vertex"]
    axes = [axis for axis in ("x", "y", "z") if axis in vertex.data.dtype.names]
    if axes[:2] != ["x", "y"]:
        raise ValueError(f"{path!r}: its vertices have the properties "
                         f"{list(vertex.data.dtype.names)}; a mesh's have x, y and z (or x "
                         "and y)")
    pos = np.stack([vertex[axis] for axis in axes], axis=1)
    face = ply["face"].data
    if not len(face):
        raise ValueError(f"{path!r} holds no triangle faces")
    field = "vertex_indices" if "vertex_indices" in face.dtype.names else face.dtype.names[0]
    polygons = list(face[field])
    if any(len(polygon) != 3 for polygon in polygons):
        raise ValueError(f"{path!r} has faces that are not triangles")
    return pos, np.asarray(polygons, dtype=np.int64).reshape(-1, 3)
