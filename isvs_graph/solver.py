"""Former home of the Split LBI engine, now :mod:`isvs_graph._solver`; these names are
kept so that code importing them keeps working."""

from ._solver import (ConvergenceWarning, DEFAULT_KAPPA, SolverOptions, SolverResult,
                      iterations_for_time, run_split_lbi, solver_options)

__all__ = ["ConvergenceWarning", "DEFAULT_KAPPA", "SolverOptions", "SolverResult",
           "iterations_for_time", "run_split_lbi", "solver_options"]
