import networkx as nx
import numpy as np
import pytest
from scipy.spatial import ConvexHull

import isvs_graph
from reference import canonical_edges, split_lbi


def icosahedron():
    phi = (1 + 5 ** 0.5) / 2
    pos = np.array([[0, s1, s2 * phi] for s1 in (-1, 1) for s2 in (-1, 1)]
                   + [[s1, s2 * phi, 0] for s1 in (-1, 1) for s2 in (-1, 1)]
                   + [[s2 * phi, 0, s1] for s1 in (-1, 1) for s2 in (-1, 1)], dtype=float)
    return pos, ConvexHull(pos).simplices


def test_icosahedron_has_12_vertices_and_30_edges():
    pos, faces = icosahedron()
    g = isvs_graph.mesh_graph(pos, faces)
    assert g.num_nodes == 12 and g.num_edges == 30 and g.face.shape == (3, 20)
    expected = nx.Graph()
    for a, b, c in faces.tolist():
        expected.add_edges_from([(a, b), (b, c), (c, a)])
    assert set(zip(*g.edge_index.tolist())) == {(min(e), max(e)) for e in expected.edges}


@pytest.mark.parametrize("weights", [None, "inverse_length", "cotangent"])
def test_mesh_signal_solves_like_the_reference(weights):
    pos, faces = icosahedron()
    g = isvs_graph.mesh_graph(pos, faces, weights=weights)
    weight = None if weights is None else g.edge_weight.numpy()
    edges = canonical_edges(g.edge_index.numpy(), 12, weight)
    signal = np.where(pos[:, 2:] > 0, 1.0, 0.0) + 0.1 * np.sin(np.arange(12))[:, None]
    expected, _, _ = split_lbi(edges, 12, signal, t=2.0)
    np.testing.assert_allclose(isvs_graph.solve(g, signal, 2.0), expected, rtol=1e-10)


def test_weights_on_a_square():
    pos = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0], [2.0, 1.0]])
    faces = np.array([[0, 1, 2], [1, 3, 2]])
    g = isvs_graph.mesh_graph(pos, faces, weights="inverse_length")
    length = np.array([2.0, 1.0, 5 ** 0.5, 1.0, 2.0])  # (0,1) (0,2) (1,2) (1,3) (2,3)
    np.testing.assert_allclose(g.edge_weight, (1 / length) / (1 / length).mean())
    # Two right triangles: (cot α + cot β) / 2 = 1/4, 1, 0, 1, 1/4. The diagonal
    # (1, 2) faces two right angles, weight 0, raised to 1e-3 of the mean |w| = 1/2.
    raw = np.array([0.25, 1.0, 5e-4, 1.0, 0.25])
    # The warning quotes the raised weight as edge_weight holds it (mean 1).
    quoted = f"{5e-4 / raw.mean():.3g}"
    with pytest.warns(UserWarning, match=rf"1 cotangent weight\(s\) below .* {quoted} in "
                                         r"edge_weight \(scaled to mean 1\)"):
        cot = isvs_graph.mesh_graph(pos, faces, weights="cotangent")
    np.testing.assert_allclose(cot.edge_weight, raw / raw.mean(), rtol=1e-12)
    assert f"{cot.edge_weight[2].item():.3g}" == quoted


def test_read_mesh_from_off_obj_and_ply(tmp_path):
    pos, faces = icosahedron()
    off = tmp_path / "ico.off"
    off.write_text("OFF\n12 20 0\n" + "".join(f"{x} {y} {z}\n" for x, y, z in pos)
                   + "".join(f"3 {a} {b} {c}\n" for a, b, c in faces))
    obj = tmp_path / "ico.obj"
    obj.write_text("".join(f"v {x} {y} {z}\n" for x, y, z in pos)
                   + "".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in faces))
    ply = tmp_path / "ico.ply"
    ply.write_text("ply\nformat ascii 1.0\nelement vertex 12\nproperty float x\n"
                   "property float y\nproperty float z\nelement face 20\n"
                   "property list uchar int vertex_indices\nend_header\n"
                   + "".join(f"{x} {y} {z}\n" for x, y, z in pos)
                   + "".join(f"3 {a} {b} {c}\n" for a, b, c in faces))
    reference = isvs_graph.mesh_graph(pos, faces)
    for path in (off, obj, ply):
        g = isvs_graph.read_mesh(path)
        assert g.edge_index.tolist() == reference.edge_index.tolist(), path.suffix
        np.testing.assert_allclose(g.pos, pos, rtol=1e-6)
    with pytest.raises(FileNotFoundError, match="no mesh file"):
        isvs_graph.read_mesh(tmp_path / "missing.off")
    (tmp_path / "mesh.stl").write_text("solid")
    with pytest.raises(ValueError, match="cannot read '.stl'"):
        isvs_graph.read_mesh(tmp_path / "mesh.stl")


@pytest.mark.parametrize("pos,faces,match", [
    (np.zeros((3, 3)) + np.eye(3), np.array([[0, 1, 3]]), "refer to vertex 3"),
    (np.eye(3), np.array([[0, -1, 2]]), "refer to vertex -1"),
    (np.eye(3), np.array([[0, 1, 1]]), "degenerate: it repeats a vertex"),
    (np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]]), np.array([[0, 1, 2]]),
     "degenerate: its area is zero"),
    (np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]]) + 4e6, np.array([[0, 1, 2]]),
     "degenerate: its area is zero"),
    (np.array([[0.0, 0, 0], [1, 0, 0], [2, 1e-15, 0]]), np.array([[0, 1, 2]]),
     "degenerate: its area is zero"),  # a sliver within rounding of its own size
    (np.array([[np.nan, 0, 0], [1, 0, 0], [0, 1, 0]]), np.array([[0, 1, 2]]), "NaN"),
    (np.eye(3), np.array([[0, 1, 2, 0]]), "triangles"),
    (np.eye(3), np.array([[0.0, 1.0, 2.0]]), "integer vertex indices"),
    (np.eye(3), np.array([[0, 1, 2]]), None),
])
def test_bad_meshes(pos, faces, match):
    if match is None:
        with pytest.raises(ValueError, match="Invalid weights"):
            isvs_graph.mesh_graph(pos, faces, weights="area")
        return
    with pytest.raises(ValueError, match=match):
        isvs_graph.mesh_graph(pos, faces)


@pytest.mark.parametrize("offset", [0.0, 1e3, 4e6, 1e8])
def test_a_small_triangle_far_from_the_origin_is_not_degenerate(offset):
    # (UTM-like coordinates: the area test once scaled with the distance from 0.)
    triangle = np.array([[0.0, 0, 0], [0.1, 0, 0], [0, 0.1, 0]]) + [offset, offset, 100.0]
    graph = isvs_graph.mesh_graph(triangle, np.array([[0, 1, 2]]))
    assert graph.edge_index.shape[1] == 3


PLY_HEAD = "ply\nformat ascii 1.0\nelement vertex 3\n{props}element face {faces}\n" \
    "property list uchar int vertex_indices\nend_header\n"


@pytest.mark.parametrize("name, text, says", [
    ("points.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n", "holds no triangle faces"),
    ("empty.obj", "", "holds no triangle faces"),
    ("points.off", "OFF\n3 0 0\n0 0 0\n1 0 0\n0 1 0\n", "holds no triangle faces"),
    ("noface.ply", PLY_HEAD.format(props="property float x\nproperty float y\n"
                                   "property float z\n", faces=0) + "0 0 0\n1 0 0\n0 1 0\n",
     "holds no triangle faces"),
    ("ab.ply", PLY_HEAD.format(props="property float a\nproperty float b\n", faces=1)
     + "0 0\n1 0\n0 1\n3 0 1 2\n", r"its vertices have the properties \['a', 'b'\]"),
])
def test_mesh_files_without_faces_or_coordinates_are_refused_alike(tmp_path, name, text,
                                                                   says):
    # (An OBJ without faces raised an AttributeError, a PLY without z plyfile's bare
    # error, and a PLY with no faces was taken as a graph without edges.)
    (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=f"{name}'?:? .*{says}|{says}"):
        isvs_graph.read_mesh(tmp_path / name)


def test_a_ply_mesh_in_the_plane_has_x_and_y_only(tmp_path):
    text = PLY_HEAD.format(props="property float x\nproperty float y\n", faces=1) + \
        "0 0\n1 0\n0 1\n3 0 1 2\n"
    (tmp_path / "flat.ply").write_text(text)
    graph = isvs_graph.read_mesh(tmp_path / "flat.ply")
    assert graph.pos.shape == (3, 2) and graph.edge_index.shape[1] == 3
