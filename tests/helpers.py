"""Helpers shared by the tests: the devices to run on, a messy random graph, and the
temporary files killed writers leave."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from reference import canonical_edges

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU; none is present"))]


def random_graph(seed, num_nodes=30, num_edges=60, weighted=True):
    """A messy graph: random direction, duplicates, self-loops, isolated nodes."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, num_nodes - 3, num_edges)  # the last 3 nodes stay isolated
    dst = rng.integers(0, num_nodes - 3, num_edges)
    edge_index = np.stack([src, dst])
    edge_index = np.concatenate([edge_index, edge_index[::-1, :5]], axis=1)  # duplicates
    data = Data(edge_index=torch.from_numpy(edge_index), num_nodes=num_nodes)
    weight = None
    if weighted:
        weight = np.exp(rng.normal(0, 0.7, edge_index.shape[1]))
        weight[-5:] = weight[:5]  # a reversed copy carries the same weight
        data.edge_weight = torch.from_numpy(weight)
    return data, canonical_edges(edge_index, num_nodes, weight)


def writers_leftovers(folder):
    """Temporary files as writers leave them: ``(orphan, alive, elsewhere)`` — a dead
    writer's on this host, a live one's (this process), and one from another host."""
    from isvs_graph._io import _host
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    files = (folder / f".a.npz.isvs-tmp-{_host()}-{dead}-0a1b",
             folder / f".a.npz.isvs-tmp-{_host()}-{os.getpid()}-0a1b",
             folder / f".a.npz.isvs-tmp-otherhost-{dead}-0a1b")
    for file in files:
        file.write_bytes(b"half written")
    return files
