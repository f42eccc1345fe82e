"""Compile the numba kernels into numba's on-disk cache ahead of use.

``python -m isvs_graph._warm`` (run by ``scripts/bootstrap.sh``) makes the calls of the
README's "Use" examples and of the main job (``examples/train_classifier.py`` on the
bundled digits) on small inputs, so that later processes load every kernel they need
from the cache instead of compiling it (seconds on each first use). The kernels
compile once per argument types: working dtype (float32 for uint8 and float32 inputs,
float64 for float64), one signal or a batch, a grid or an edge list, joint or per
channel, a step on one thread or split across threads (which a run compiles only when
long: here at once), the wavefront of a large grid (compiled by a run only for a very
large one: here at once), and the narrow integer types a path stores (which follow its
size). Inputs of other sizes may still compile a read kernel or two (about a second
each).
"""

from __future__ import annotations

import contextlib
import tempfile
import warnings

import numpy as np


def warm() -> dict[str, int]:
    """Run the calls; returns the number of compiled specialisations of each kernel
    (name → count, from numba's dispatchers, cached or compiled here)."""
    import torch
    from skimage import data

    import isvs_graph
    from isvs_graph._solver import ConvergenceWarning

    with warnings.catch_warnings(), _split_at_once():
        warnings.simplefilter("ignore", ConvergenceWarning)
        photo = data.astronaut()[:96, :96]  # 9,216 pixels: its steps split across threads
        # One image: uint8 (float32 inside), float64, at a sparsity and at a time.
        isvs_graph.smooth_image(photo, sparsity=0.8)
        isvs_graph.smooth_image(photo / 255.0, t=16)
        isvs_graph.smooth_image(photo[:32, :32], sparsity=0.8, mode="channel")
        # A large one: its steps up to each check run as one wavefront.
        large = data.astronaut()[:256, :256]
        isvs_graph.smooth_image(large, sparsity=0.8)
        isvs_graph.smooth_image(large / 255.0, t=16)
        isvs_graph.smooth_image(large, sparsity=0.8, mode="channel")
        # A large graph that is not a grid (its steps split too).
        isvs_graph.solve(_ring(9_000), np.random.default_rng(0).random((9_000, 3)),
                         sparsity=0.8)
        # Any graph, one signal or its path (float64 numpy signals).
        graph = isvs_graph.grid_graph(16, 16, connectivity=8)
        x = np.random.default_rng(0).random((16 * 16, 3))
        isvs_graph.solve(graph, x, t=5.0)
        isvs_graph.solve(graph, x, sparsity=0.8, mode="channel")
        path = isvs_graph.path(graph, x, sparsity_min=0.5)
        path.entry_times, path.labels(sparsity=0.8), path.at(t=3.0)
        # Batches (float32, float64) and their paths, read one by one and together.
        for dtype in (torch.float32, torch.float64):
            batch = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(0),
                               dtype=dtype)
            isvs_graph.smooth_images(batch, sparsity=0.8)
            isvs_graph.smooth_images(batch, t=torch.linspace(12, 24, 8, dtype=dtype))
            paths = isvs_graph.image_paths(batch)
            paths.at(sparsity=0.8), paths.at(sparsity=0.77), paths.bound(sparsity=0.77)
            paths.at(sparsity=0.77, signals=[0])
        # The main job: a path cache of uint8 digits, read in training batches.
        _digits_cache()
    return compiled()


@contextlib.contextmanager
def _split_at_once():
    """Large signals try the step split across threads at once, and large grids run
    their wavefront, so that both loops are compiled here (a run compiles them only
    when that pays: ``SPLIT_COMPILE_AFTER``, ``WAVEFRONT_COMPILE_NODES``)."""
    from isvs_graph._kept import Kept
    from isvs_graph._solver import numba_backend
    saved = (numba_backend.TRIAL_AFTER, numba_backend.SPLIT_COMPILE_AFTER,
             numba_backend.COMPILE_WAVEFRONT, numba_backend.WAVEFRONT_MIN_NODES,
             numba_backend._MEASURED)
    # Each large signal starts on one thread, then tries the split, whatever earlier
    # signals of its kind learnt: both loops are run.
    numba_backend._MEASURED = Kept(0, numba_backend.MEASURED_KINDS)
    numba_backend.TRIAL_AFTER = numba_backend.SPLIT_COMPILE_AFTER = 0.0
    numba_backend.COMPILE_WAVEFRONT = True
    numba_backend.WAVEFRONT_MIN_NODES = 1 << 16  # a 256² photo stands for a large one
    try:
        yield
    finally:
        (numba_backend.TRIAL_AFTER, numba_backend.SPLIT_COMPILE_AFTER,
         numba_backend.COMPILE_WAVEFRONT, numba_backend.WAVEFRONT_MIN_NODES,
         numba_backend._MEASURED) = saved


def _ring(nodes: int):
    """A ring of ``nodes`` nodes with chords: an edge-list graph."""
    import torch
    from torch_geometric.data import Data
    ring = torch.arange(nodes)
    src = torch.cat([ring, ring[::7]])
    dst = torch.cat([(ring + 1) % nodes, (ring[::7] + 100) % nodes])
    return Data(edge_index=torch.stack([src, dst]), num_nodes=nodes)


def _digits_cache() -> None:
    import torch

    import isvs_graph
    from isvs_graph.training import CachedISVSDataset, TimeRange, bundled_digits, corrupt

    (images, labels), _ = bundled_digits()
    with tempfile.TemporaryDirectory() as folder:
        dataset = CachedISVSDataset(images[:64], labels[:64], folder, seed=0,
                                    t=TimeRange(12.0, 24.0))
        dataset.build(progress=False)
        dataset.__getitems__(list(range(64)))
        dataset.__getitems__([0])
        # How much ISVS smooths (the job's report): a float32 batch at one time.
        isvs_graph.smooth_images(torch.from_numpy(images[:16]).float() / 255, t=12.0)
    # The job's glass-blur corruption (imagecorruptions' shuffle, cached by the package).
    corrupt(images[:1], "glass_blur", 1, seed=0)


def compiled() -> dict[str, int]:
    """Compiled (or cache-loaded) specialisations of every numba kernel of the package
    in this process: name → count. A kernel called only from other kernels counts
    where it was compiled here: one loaded from the cache comes inside its caller."""
    import numba

    from isvs_graph import _path_kernels, _projection, _union_find
    from isvs_graph._solver import numba_kernels

    counts = {}
    for module in (numba_kernels, _projection, _path_kernels, _union_find):
        for name, value in vars(module).items():
            if isinstance(value, numba.core.registry.CPUDispatcher):
                counts[f"{module.__name__.split('.')[-1]}.{name}"] = len(value.overloads)
    return counts


if __name__ == "__main__":
    warm()
