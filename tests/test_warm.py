"""The cache warm-up that scripts/bootstrap.sh runs (isvs_graph._warm)."""

import numba

from isvs_graph._solver import numba_kernels
from isvs_graph._warm import compiled, warm


def _dtypes(dispatcher, at: int) -> set[str]:
    """The working dtypes of a solver kernel's compiled specialisations (from its
    argument ``at``, the signals ``x``)."""
    return {str(signature[at].dtype) for signature in dispatcher.signatures}


def test_warm_compiles_what_the_examples_and_the_main_job_use():
    counts = warm()
    assert counts == compiled()
    assert all(isinstance(count, int) for count in counts.values())
    # One signal and batches, in both dtypes.
    assert _dtypes(numba_kernels.run_signal, 4) == {"float32", "float64"}
    assert _dtypes(numba_kernels._run_parallel, 4) == {"float32", "float64"}
    # Entry points (called from Python; what they call is compiled into them).
    for name in ("_projection._project_groups", "_projection._project_groups_serial",
                 "_path_kernels.compress", "_path_kernels.read", "_path_kernels.read_serial",
                 "_path_kernels.labels", "_path_kernels.first_iterations"):
        assert counts[name] >= 1, name


def test_warm_compiles_the_loop_of_each_step_a_dtype_may_run():
    # Called from Python: on one thread and split across threads, on a grid and on an
    # edge list, in both dtypes, joint and per channel (the batch loops' own come
    # inside them).
    warm()
    kinds = set()
    for signature in numba_kernels.run_signal.signatures:
        fronts = not isinstance(signature[15], numba.types.NoneType)  # (split, no logs)
        split = fronts or not isinstance(signature[8], numba.types.NoneType)
        grid = not isinstance(signature[10], numba.types.NoneType)
        joint = not isinstance(signature[12], numba.types.NoneType)
        front = fronts or not isinstance(signature[14], numba.types.NoneType)
        kinds.add((split, grid, joint, front, str(signature[4].dtype)))
    expected = {(False, True, True, False, "float32"), (False, True, True, False, "float64"),
                (False, False, True, False, "float64"), (False, True, False, False, "float32"),
                (False, True, False, False, "float64"),
                # a large grid's wavefront
                (False, True, True, True, "float32"), (False, True, True, True, "float64"),
                (False, True, False, True, "float32")}
    if numba.get_num_threads() > 1:  # one thread never splits a step (a grid's, split,
        # runs wavefronts: one loop whatever the size)
        expected |= {(True, True, True, True, "float32"), (True, True, True, True, "float64"),
                     (True, False, True, False, "float64")}
    assert expected <= kinds


_FIRST_USE = """
import json, sys
import numba
from skimage import data
import isvs_graph
from isvs_graph._solver import numba_backend, numba_kernels as k

def kinds():  # [split, grid, joint, wavefront] of each compiled loop
    given = lambda s, at: not isinstance(s[at], numba.types.NoneType)  # noqa: E731
    return sorted([given(s, 8) or given(s, 15), given(s, 10), given(s, 12),
                   given(s, 14) or given(s, 15)] for s in k.run_signal.signatures)

numba_backend.TRIAL_AFTER = 0.0  # a large signal tries the split at once if it may
photo = data.astronaut()
out = {}
if sys.argv[1] == "cold":
    isvs_graph.smooth_image(photo[:64, :64], sparsity=0.8)  # small: one thread
    out["small"] = kinds()
    numba_backend.WIDE_MIN_NODES = 10 ** 9
    isvs_graph.smooth_image(photo[:256, :256], sparsity=0.8)  # no wavefront compiled
    numba_backend.WIDE_MIN_NODES = 8_192
    out["no wavefront"] = kinds()
    out["split_steps"] = len(k._grid_blocks.signatures) + len(k._list_blocks.signatures)
    isvs_graph.smooth_image(photo[:96, :96], sparsity=0.8)  # large, but not cached
    out["large"] = kinds()
    numba_backend.SPLIT_COMPILE_AFTER = 0.0
isvs_graph.smooth_image(photo[:96, :96], sparsity=0.8)
out["then"] = kinds()
out["compiled"] = sum(k.run_signal.stats.cache_misses.values())
print(json.dumps(out))
"""


def test_a_first_call_compiles_only_the_step_it_runs(tmp_path):
    # An empty numba cache: a small photo compiles the grid's loop on one thread, joint,
    # not the edge list's step, nor the split one, nor per channel, nor the wavefront (a
    # 256² photo runs plain steps rather than compile it); a large photo does
    # not compile the split (seconds) for a short run, unless told to; a later process
    # loads it from the cache and splits from the first trial, compiling nothing.
    import json
    import subprocess
    import sys
    if numba.get_num_threads() < 2:
        import pytest
        pytest.skip("needs two numba threads to split a step across")
    env = {**__import__("os").environ, "NUMBA_CACHE_DIR": str(tmp_path)}

    def first_use(stage):
        done = subprocess.run([sys.executable, "-c", _FIRST_USE, stage], env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    cold = first_use("cold")
    assert cold["small"] == [[False, True, True, False]]
    assert cold["no wavefront"] == [[False, True, True, False]]  # a 256² photo: seconds
    assert cold["split_steps"] == 0
    assert cold["large"] == [[False, True, True, False]]
    assert cold["then"] == [[False, True, True, False], [True, True, True, True]]
    warm_cache = first_use("warm")
    assert warm_cache["then"] == [[False, True, True, False], [True, True, True, True]]
    assert warm_cache["compiled"] == 0



_PATH_READ = """
import json
import numpy as np
import isvs_graph
from isvs_graph import _path_kernels
images = np.random.default_rng(0).random((2, 3, 12, 12))
paths = isvs_graph.image_paths(images)
paths.at(sparsity=0.7), paths.at(sparsity=0.9, signals=[1])
print(json.dumps(sorted({str(s[1]) for s in _path_kernels._support_at.signatures})))
"""


def test_a_path_read_compiles_its_support_kernel_for_one_iteration_type(tmp_path):
    # The snapshot iterations are stored in the narrowest integer type; read as they
    # are, they compiled the support kernel (and searchsorted) once more per type. An
    # empty cache, so that the kernels called inside others are compiled, not loaded.
    import json
    import os
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", _PATH_READ], capture_output=True, text=True,
                          env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}, timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == ["int64"]
