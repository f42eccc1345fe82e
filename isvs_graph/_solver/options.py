"""Solver parameters: validation, the step size, the stability and stiffness bounds,
and how times map to iterations.

Every parameter here is dimensionless: the iteration runs on the signal normalised by
its range ``σ = max(x) − min(x)`` (DESIGN §2, scale-free solving), so ``κ``, ``ν``,
``α``, ``t`` and ``tol`` mean the same for a photo in [0, 1], in 0–255 or in any other
units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import check_max_iter, check_mode, check_real, shown

#: Default damping κ. Iterations to a given sparsity grow linearly with κ while the
#: partitions barely move (benchmarks/README.md, "The damping κ").
DEFAULT_KAPPA = 0.5
#: Default floor tolerance, relative to the signal's range: edges whose weighted
#: difference stays below it count as flat, and a run stationary within it with only
#: flat edges left outside the support stops (benchmarks/README.md, "Bounded cost").
DEFAULT_TOL = 3e-3
#: At the floor every region left by the support varies by at most this many ``tol`` in
#: ``x``: single edges below the floor can add up along a chain (a smooth gradient),
#: and the answer at the floor — the mean of ``x`` over each region — is then within
#: ``REGION_TOL · tol`` of ``x`` at every node (benchmarks/README.md, "Bounded cost").
REGION_TOL = 5.0
#: Default bound on the iteration steps computed per signal (jumped idle stretches
#: are not computed and do not count).
DEFAULT_MAX_ITER = 100_000
#: Time targets are met by the first ``k`` with ``k α >= t (1 − TIME_RTOL)``.
TIME_RTOL = 1e-9
#: The stationarity, floor and jump tests run every this many steps.
CHECK_EVERY = 8
#: A jump over an idle stretch is taken when the iterate is stationary within this
#: fraction of the weighted difference of the next edge to enter (so that the jump
#: moves that edge's entry by far less than one iteration).
KICK_RTOL = 1e-6


@dataclass(frozen=True)
class SolverOptions:
    """Validated solver parameters (see :func:`solver_options`).

    ``relaxation`` estimates how many steps the iteration needs to relax by a factor
    e with a fixed support (see :func:`relaxation_steps`); ``max_iter`` is the bound
    on computed steps per signal; ``jumps`` enables jumping over idle stretches.
    """

    kappa: float
    nu: float
    alpha: float
    mode: str
    tol: float
    max_iter: int
    jumps: bool
    norm_bound: float
    relaxation: float


#: ``Λ / max(ν, 1)`` beyond which a stiff problem is blamed on heavy edge weights.
HEAVY_WEIGHTS = 1e3


def default_alpha(kappa: float, nu: float, norm_bound: float) -> float:
    """The default step ``1.9ν / (κ (ν + 1 + Λ))``, 0.95 of :func:`stability_bound`,
    written so that every implementation rounds it alike (DESIGN §2)."""
    return 1.9 * nu / (kappa * (nu + 1.0 + norm_bound))


def stability_bound(kappa: float, nu: float, norm_bound: float) -> float:
    """``2ν / (κ (ν + 1 + Λ))``: every ``α`` below it is stable (DESIGN §2)."""
    return 2.0 * nu / (kappa * (nu + 1.0 + norm_bound))


def relaxation_steps(kappa: float, nu: float, alpha: float) -> float:
    """Steps the iteration needs to relax by a factor e, with the support fixed.

    ``u`` relaxes towards ``x`` at the rate ``κα`` per step and ``γ`` towards ``D u``
    at ``κα/ν``, so the slower of the two takes ``max(1, ν) / (κα)`` steps. With the
    default step ``κα = 1.9ν / (ν + 1 + Λ)`` this is large for small ``ν`` (``u``
    barely moves), large ``ν`` (``γ`` barely moves) and heavy weights (large ``Λ``):
    the problem is stiff.
    """
    return max(1.0, nu) / (kappa * alpha)


def solver_options(norm_bound: float, *, kappa: float = DEFAULT_KAPPA, nu: float = 1.0,
                   alpha: float | None = None, mode: str = "joint",
                   tol: float = DEFAULT_TOL, max_iter: int | None = None,
                   jumps: bool = True) -> SolverOptions:
    """Validate solver parameters for a graph whose ``‖D‖² <= norm_bound``.

    ``alpha=None`` picks ``1.9 ν / (κ (ν + 1 + Λ))``, 0.95 times the stability
    bound; a given ``alpha`` at or above the bound is refused. ``max_iter=None``
    takes :data:`DEFAULT_MAX_ITER`. A problem so stiff that the iteration cannot
    relax once within that many steps (or ``max_iter``, if larger; see
    :func:`relaxation_steps`) is refused with a message that names the cause (``ν``
    or the edge weights) and the fix.
    """
    kappa = check_real("kappa", kappa, positive=True)
    nu = check_real("nu", nu, positive=True)
    mode = check_mode(mode)
    tol = check_real("tol", tol, positive=True)
    if tol >= 1.0:
        raise ValueError(f"tol must lie in (0, 1) (a fraction of the signal's range), "
                         f"got {tol!r}")
    max_iter = check_max_iter(max_iter)
    max_iter = DEFAULT_MAX_ITER if max_iter is None else max_iter
    if not isinstance(jumps, (bool, np.bool_)):
        raise TypeError(f"jumps must be True or False, got {shown(jumps)}")
    jumps = bool(jumps)
    bound = stability_bound(kappa, nu, norm_bound)
    if alpha is None:
        alpha = default_alpha(kappa, nu, norm_bound)
        # z grows by about α/ν a step and an edge enters once it reaches 1: beyond 2**62
        # steps (κ of about 1e18 and up; κ near float32's limit would overflow, and
        # near float64's, α would be 0) no run could ever leave the coarsest scale.
        wait = nu / alpha if alpha > 0 else math.inf
        if not wait < 2**62:
            # The weights are the cause where the default κ would fail on them too.
            default = default_alpha(DEFAULT_KAPPA, nu, norm_bound)
            if not (default > 0 and nu / default < 2**62):
                raise ValueError("this problem is stiff: " + stiffness_cause(
                    kappa, nu, alpha, tol, norm_bound,
                    relaxation_steps(kappa, nu, alpha) if alpha > 0 else math.inf))
            raise ValueError(
                f"kappa = {kappa:g} is far too large: the steps needed grow linearly with "
                f"κ, and even the first edge would wait about ν/α = {wait:.3g} steps to "
                f"enter; κ = {DEFAULT_KAPPA:g} is the default")
    else:
        alpha = check_real("alpha", alpha, positive=True)
        if alpha >= bound:
            raise ValueError(
                f"alpha = {alpha:g} is unstable for kappa = {kappa:g}, nu = {nu:g} on this "
                f"graph (norm bound Λ = {norm_bound:g}): it must be < 2ν / (κ (ν + 1 + Λ)) "
                f"= {bound:g}; leave alpha=None for the default "
                f"{default_alpha(kappa, nu, norm_bound):g}")
    relaxation = relaxation_steps(kappa, nu, alpha)
    if relaxation > max(max_iter, DEFAULT_MAX_ITER):
        raise ValueError("this problem is stiff: " + stiffness_cause(
            kappa, nu, alpha, tol, norm_bound, relaxation))
    return SolverOptions(kappa, nu, alpha, mode, tol, max_iter, jumps, norm_bound,
                         relaxation)


def step_constants(options: SolverOptions, dtype) -> tuple:
    """``(κ, 1/ν, κα, α/ν)`` rounded to the working ``dtype`` (numpy scalars), as every
    backend steps with them: ``1/ν`` divided in the dtype, the products and ratio of
    the options rounded once. (``α · (1/ν)`` in double, say, may round to the next
    number: a step then moves ``z`` by a different last bit, and an entry that falls on
    a step's boundary enters a step away.)"""
    dtype = np.dtype(dtype)
    one = dtype.type(1)
    return (dtype.type(options.kappa), one / dtype.type(options.nu),
            dtype.type(options.kappa * options.alpha),
            dtype.type(options.alpha / options.nu))


def floor_wait_steps(kappa: float, nu: float, alpha: float, tol: float) -> float:
    """Steps an edge at the floor (weighted difference ``tol``) waits to enter: the
    longest idle stretch the iteration may have to cross, ``ν / (α tol)``."""
    return nu / (alpha * tol)


def stiffness_cause(kappa: float, nu: float, alpha: float, tol: float,
                    norm_bound: float, relaxation: float) -> str:
    """Which parameter makes a run slow, and what to change (for errors and warnings).

    Relaxation takes ``max(1, ν)/(κα)`` steps, the last waits ``ν/(α tol)``; with the
    default step ``α = 1.9ν/(κ(ν + 1 + Λ))`` the culprit is heavy weights (``Λ``), an
    extreme ``ν``, a large ``κ`` or a small ``tol``; a given ``α`` below the default is
    named as such.
    """
    usual = default_alpha(kappa, nu, norm_bound)
    wait = floor_wait_steps(kappa, nu, alpha, tol) if alpha > 0 else math.inf
    if alpha < 0.1 * usual:
        return (f"alpha = {alpha:g} is far below the default step {usual:.3g}, so "
                f"one relaxation takes about {relaxation:.3g} steps; leave alpha=None")
    if norm_bound > HEAVY_WEIGHTS * max(nu, 1.0):
        steps = f"about {relaxation:.3g} steps" if relaxation < 2**62 else \
            "more steps than any run can take"
        return (f"the edge weights are heavy (‖D‖² ≤ Λ = {norm_bound:.3g} against "
                f"ν = {nu:g}), so one relaxation of the iteration takes {steps}; "
                "rescale edge_weight (e.g. divide it by its mean)")
    if not 0.1 <= nu <= 10:
        what = ("one relaxation of the iteration take about "
                f"{relaxation:.3g} steps" if relaxation >= wait else
                f"low-contrast edges wait up to ν/(α·tol) = {wait:.3g} steps to enter")
        return f"nu = {nu:g} makes {what}; ν between 0.1 and 10 works best"
    if kappa > 4:
        return (f"kappa = {kappa:g} is large: the iterations grow linearly with κ "
                f"(waits of up to {wait:.3g} steps) while the partitions barely change; "
                "κ = 0.5 is the default")
    return (f"tol = {tol:g} is small: low-contrast edges wait up to ν/(α·tol) = "
            f"{wait:.3g} steps to enter; raise tol")


def is_slow(options) -> bool:
    """Whether the problem itself (not a small ``max_iter``) needs very many steps."""
    wait = floor_wait_steps(options.kappa, options.nu, options.alpha, options.tol)
    return 100 * options.relaxation > DEFAULT_MAX_ITER or wait > DEFAULT_MAX_ITER / 10


def entries_for_sparsity(entries: int, sparsity: np.ndarray) -> np.ndarray:
    """Per value, the fewest support entries ``c`` whose sparsity ``(entries − c) /
    entries``, in the numba kernels' float64 division, is at most ``sparsity`` (in
    [0, 1]): a stop at a sparsity is then a test on integers, ``count ≥ c``, which no
    device's rounding can move (a GPU's division by a scalar multiplies by its
    reciprocal and can miss a target met exactly). 0 where there are no entries."""
    sparsity = np.asarray(sparsity, dtype=np.float64)
    if not entries:  # the sparsity is 0: any target is met at once
        return np.zeros(sparsity.shape, dtype=np.int64)
    count = np.clip(np.ceil(entries * (1.0 - sparsity)), 0, entries).astype(np.int64)
    for _ in range(4):  # the product's rounding: a step or two either way
        count -= (count > 0) & ((entries - (count - 1)) / entries <= sparsity)
    for _ in range(4):
        count += (count < entries) & ~((entries - count) / entries <= sparsity)
    return count


def iterations_for_time(t: float, alpha: float) -> int:
    """The first ``k`` with ``k α >= t``, up to a relative tolerance of 1e-9.

    Times beyond what an int64 iteration count can hold are clipped to it (such a run
    ends by convergence long before).
    """
    k = t * (1.0 - TIME_RTOL) / alpha
    return max(0, min(math.ceil(k), 2**62)) if math.isfinite(k) else 2**62
