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
    # One signal (runtime wide: large and small graphs) and batches, in both dtypes.
    assert _dtypes(numba_kernels.run_signal, 5) == {"float32", "float64"}
    assert _dtypes(numba_kernels._run_parallel, 4) == {"float32", "float64"}
    # Entry points (called from Python; what they call is compiled into them).
    for name in ("_projection._project_groups", "_projection._project_groups_serial",
                 "_path_kernels.compress", "_path_kernels.read", "_path_kernels.read_serial",
                 "_path_kernels.labels", "_path_kernels.first_iterations"):
        assert counts[name] >= 1, name


def test_one_run_signal_a_dtype_serves_wide_and_one_signal_runs():
    # Called from Python with a runtime wide: one specialisation per dtype, whether the
    # graph was large (wide) or small. (The batch loops' own, with no wide step, come
    # inside them.)
    warm()
    direct = [signature for signature in numba_kernels.run_signal.signatures
              if isinstance(signature[1], numba.types.Boolean)
              and not isinstance(signature[1], numba.types.Literal)]
    assert sorted(str(signature[5].dtype) for signature in direct) == ["float32", "float64"]
