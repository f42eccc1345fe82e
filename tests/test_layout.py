"""The package's layout: one public surface, all of it documented; imports that flow one
way; old import paths that keep working or say where things went; one canonical form
from every builder; one validator rule for integer arguments."""

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse

import isvs_graph
from isvs_graph import _moved

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "isvs_graph"

# Each top-level part of the package and its place in the flow; a module may import only
# from parts at its own place or before it.
RANKS = {"_validation": 0, "_signals": 0, "_io": 0, "_image_files": 0, "_warnings": 0,
         "_progress": 0, "_union_find": 0, "_path_kernels": 0, "_moved": 0, "_threads": 0,
         "_kept": 0,
         "graphs": 1, "_operator": 2, "_projection": 3,
         "_solver": 4, "_solve": 5, "_paths": 6, "_path_plot": 6, "images": 7,
         "transforms": 7, "cli": 8, "training": 9, "__init__": 10, "__main__": 10}


def public_surfaces():
    yield isvs_graph
    for name in ("graphs", "transforms", "training"):
        yield importlib.import_module(f"isvs_graph.{name}")


def test_every_public_name_exists_and_is_in_the_api_reference():
    api = (ROOT / "docs" / "api.rst").read_text()
    documented = set(re.findall(r"^   ([A-Za-z_][A-Za-z_0-9]*)$", api, re.MULTILINE))
    documented |= set(re.findall(r"^\.\. data:: (\w+)$", api, re.MULTILINE))
    submodules = {"graphs", "transforms", "training"}
    for module in public_surfaces():
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name} is in __all__ only"
            if module is isvs_graph and name in submodules:
                continue
            if module is isvs_graph and name in isvs_graph.graphs.__all__:
                continue  # documented under isvs_graph.graphs, re-exported at the top
            assert name in documented, f"{module.__name__}.{name} is not in docs/api.rst"


def test_imports_flow_one_way():
    for file in PACKAGE.rglob("*.py"):
        part = file.relative_to(PACKAGE).parts[0].removesuffix(".py")
        package = ".".join(("isvs_graph", *file.relative_to(PACKAGE).parts[:-1]))
        for node in ast.walk(ast.parse(file.read_text())):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            base = package.split(".")[:len(package.split(".")) - node.level + 1]
            target = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            parts = target.split(".")[1:] or [node.names[0].name]
            imported = parts[0]
            assert RANKS[imported] <= RANKS[part], (
                f"{file.relative_to(ROOT)} imports {target}, later in the flow")


def test_import_isvs_graph_does_not_load_the_training_stack():
    code = ("import sys, isvs_graph; print(sorted(m for m in sys.modules if m in "
            "('isvs_graph.training', 'matplotlib', 'sklearn')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
    assert isvs_graph.training.SmoothImages  # and it is there on first use


@pytest.mark.parametrize("old", sorted(_moved.MOVED))
def test_old_module_paths_warn_and_work(old):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=re.escape(_moved.MOVED[old][1])):
        module = importlib.import_module(old)
    target = importlib.import_module(_moved.MOVED[old][0])
    name = sorted(getattr(target, "__all__", None) or
                  [n for n in vars(target) if not n.startswith("_")])[0]
    assert getattr(module, name) is getattr(target, name)


@pytest.mark.parametrize("old", sorted(_moved.GONE))
def test_old_modules_that_are_now_functions_say_so(old):
    function = getattr(isvs_graph, old.rpartition(".")[2])
    with pytest.raises(ImportError, match="is the function"):
        importlib.import_module(old)
    assert getattr(isvs_graph, old.rpartition(".")[2]) is function  # still the function


def canonical(edge_index):
    src, dst = edge_index.numpy()
    keys = src * (max(src.max(initial=0), dst.max(initial=0)) + 1) + dst
    return bool((src < dst).all() and (np.diff(keys) > 0).all())


def test_every_builder_returns_canonical_edges():
    rng = np.random.default_rng(0)
    points = rng.random((40, 3))
    labels = np.repeat(np.repeat(np.arange(9).reshape(3, 3), 4, axis=0), 4, axis=1)
    faces = np.array([[0, 1, 2], [1, 3, 2], [2, 3, 4]])
    pos = np.array([[0.0, 0], [1, 0], [0, 1], [1, 1], [0.5, 2]])
    directed = nx.gnp_random_graph(15, 0.3, seed=1, directed=True)
    graphs = [isvs_graph.grid_graph(5, 4, connectivity=8),
              isvs_graph.superpixel_graph(rng.random((12, 12)), segments=labels),
              isvs_graph.mesh_graph(pos, faces, weights="inverse_length"),
              isvs_graph.knn_graph(points, k=4), isvs_graph.radius_graph(points, 0.4),
              isvs_graph.from_networkx(directed), isvs_graph.from_networkx(
                  nx.karate_club_graph()),
              isvs_graph.from_scipy(scipy.sparse.random(20, 20, density=0.3, random_state=2))]
    for graph in graphs:
        assert canonical(graph.edge_index)
        weight = graph.get("edge_weight")
        assert weight is None or len(weight) == graph.edge_index.shape[1]


def test_directed_graphs_merge_both_directions_by_their_mean_everywhere():
    directed = nx.DiGraph()
    directed.add_edge("a", "b", weight=1.0)
    directed.add_edge("b", "a", weight=3.0)
    directed.add_edge("b", "c", weight=5.0)
    from_nx = isvs_graph.from_networkx(directed)
    matrix = nx.to_scipy_sparse_array(directed, nodelist=["a", "b", "c"])
    from_sp = isvs_graph.from_scipy(matrix)
    assert from_nx.edge_index.tolist() == from_sp.edge_index.tolist() == [[0, 1], [1, 2]]
    assert from_nx.edge_weight.tolist() == from_sp.edge_weight.tolist() == [2.0, 5.0]
    from torch_geometric.data import Data
    canonical_graph = isvs_graph.canonical_graph(Data(
        edge_index=from_nx.edge_index.new_tensor([[0, 1, 1], [1, 0, 2]]),
        edge_weight=from_nx.edge_weight.new_tensor([1.0, 3.0, 5.0]), num_nodes=3))
    assert canonical_graph.edge_weight.tolist() == [2.0, 5.0]


@pytest.mark.parametrize("call", [
    lambda: isvs_graph.grid_graph(2.0, 3),
    lambda: isvs_graph.grid_graph(3, True),
    lambda: isvs_graph.knn_graph(np.random.default_rng(0).random((6, 2)), k=1.5),
    lambda: isvs_graph.training.CoarseToFine(0.9, 0.5, epochs=2.0),
])
def test_integer_arguments_of_the_wrong_type_raise_type_error(call):
    with pytest.raises(TypeError, match="must be an int"):
        call()


def test_the_public_modules_name_no_private_module_in_their_docs():
    for module in public_surfaces():
        for name in module.__all__:
            doc = getattr(getattr(module, name), "__doc__", "") or ""
            assert not re.search(r"isvs_graph\._\w", doc), f"{name} links a private module"
