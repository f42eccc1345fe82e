"""The kernels in DataLoader workers and forked processes: no threads there (GNU OpenMP
cannot be used after a fork once the parent started it), the same results."""

import multiprocessing
import os

import numpy as np
import torch

import isvs_graph
from isvs_graph._threads import parallel_allowed
from isvs_graph.training import CachedISVSDataset, SparsityRange


class _Work(torch.utils.data.Dataset):
    """Each item: a batch solve, a projection of many signals and a many-signal path
    read, as a worker computes them, and whether threads were allowed there."""

    def __init__(self, images, paths):
        self.images, self.paths = images, paths

    def __len__(self):
        return 2

    def __getitem__(self, index):
        solved = isvs_graph.smooth_images(self.images, sparsity=0.7)
        read = self.paths.at(sparsity=np.linspace(0.65, 0.95, len(self.paths)))
        labels = self.paths.labels(sparsity=0.8)
        return solved, torch.as_tensor(read), torch.as_tensor(labels), parallel_allowed()


def test_forked_workers_after_a_parallel_solve_in_the_parent(tmp_path):
    images = torch.rand(12, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    # The parent starts the threading layer first: solves, projections, path reads.
    expected = isvs_graph.smooth_images(images, sparsity=0.7)
    paths = isvs_graph.image_paths(images, levels=[0.9, 0.8, 0.6])
    expected_read = paths.at(sparsity=np.linspace(0.65, 0.95, len(paths)))
    assert parallel_allowed()
    context = multiprocessing.get_context("fork")
    loader = torch.utils.data.DataLoader(_Work(images, paths), batch_size=None,
                                         num_workers=2, multiprocessing_context=context)
    for solved, read, labels, allowed in loader:
        assert not allowed
        assert torch.equal(solved, expected)
        assert torch.equal(read, expected_read)
        np.testing.assert_array_equal(labels, paths.labels(sparsity=0.8))

    uint8 = (images * 255).to(torch.uint8)
    dataset = CachedISVSDataset(uint8, torch.arange(12) % 3, tmp_path,
                                sparsity=SparsityRange(0.6, 0.9), levels=[0.9, 0.6])
    dataset.build(progress=False)
    batches = torch.utils.data.DataLoader(dataset, batch_size=12, num_workers=2,
                                          multiprocessing_context=context)
    served, _ = next(iter(batches))
    assert torch.equal(served, torch.stack([dataset[i][0] for i in range(12)]))


def test_threads_are_not_allowed_in_a_forked_child():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports and leaves at once
        os.write(write, b"1" if parallel_allowed() else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"0" and parallel_allowed()


def test_the_pool_starts_with_passive_threads_and_leaves_the_environment_as_it_was():
    """numba's pool is started with OMP_WAIT_POLICY=PASSIVE (spinning threads starve a
    busy machine), set only while it starts; a policy the user set is kept."""
    import json
    import os
    import subprocess
    import sys
    code = """if True:
        import json, os
        import numpy as np
        import isvs_graph
        from isvs_graph import _threads
        before = _threads._STARTED
        isvs_graph.smooth_image(np.random.default_rng(0).random((128, 96, 3)), t=5.0)
        import numba
        print(json.dumps({"before": before, "after": _threads._STARTED,
                          "policy": os.environ.get("OMP_WAIT_POLICY"),
                          "layer": numba.threading_layer()}))
    """
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    for given in (None, "ACTIVE"):
        if given:
            env["OMP_WAIT_POLICY"] = given
        result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                text=True, env=env, check=True)
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        assert seen["before"] is False and seen["after"] is True
        assert seen["policy"] == given  # restored (unset), or the user's kept
        assert seen["layer"]  # the pool was started
