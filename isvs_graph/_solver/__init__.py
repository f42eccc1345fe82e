"""The Split LBI engine: the contract (:mod:`.run`, :mod:`.options`) and its backends
(:mod:`.numba_kernels` driven by :mod:`.numba_backend` on the CPU, :mod:`.torch_backend`
on any device)."""

from .._warnings import ConvergenceWarning
from .numba_kernels import FLOOR, MAX_ITER, REACHED
from .options import (CHECK_EVERY, DEFAULT_KAPPA, DEFAULT_MAX_ITER, DEFAULT_TOL,
                      SolverOptions, entries_for_sparsity, iterations_for_time,
                      solver_options, stability_bound)
from .run import SolverResult, normalise, run_split_lbi

__all__ = ["CHECK_EVERY", "ConvergenceWarning", "DEFAULT_KAPPA", "DEFAULT_MAX_ITER",
           "DEFAULT_TOL", "FLOOR", "MAX_ITER", "REACHED", "SolverOptions",
           "SolverResult", "entries_for_sparsity", "iterations_for_time", "normalise",
           "run_split_lbi", "solver_options", "stability_bound"]
