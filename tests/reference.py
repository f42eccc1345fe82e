"""An independent float64 implementation of DESIGN §2 for the tests.

Dense numpy matrices and networkx components: slow, simple and sharing no code with
the package, so that agreement means something.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np


def canonical_edges(edge_index, num_nodes, edge_weight=None):
    """{(i, j): weight} with i < j, self-loops dropped, duplicates averaged."""
    edge_index = np.asarray(edge_index)
    weights = np.ones(edge_index.shape[1]) if edge_weight is None else np.asarray(
        edge_weight, dtype=float)
    copies: dict[tuple[int, int], list[float]] = {}
    for (a, b), w in zip(edge_index.T.tolist(), weights.tolist()):
        if a != b:
            copies.setdefault((min(a, b), max(a, b)), []).append(w)
    return {e: sum(ws) / len(ws) for e, ws in sorted(copies.items())}


def dense_operator(edges, num_nodes):
    D = np.zeros((len(edges), num_nodes))
    for row, ((i, j), w) in enumerate(edges.items()):
        D[row, i], D[row, j] = w, -w
    return D


def component_means(edges, num_nodes, x, removed=()):
    """Mean of x (p, C) over the components of the graph minus ``removed``."""
    g = nx.Graph()
    g.add_nodes_from(range(num_nodes))
    g.add_edges_from(e for e in edges if e not in set(removed))
    out = np.empty_like(x, dtype=float)
    for component in nx.connected_components(g):
        nodes = sorted(component)
        out[nodes] = x[nodes].mean(axis=0)
    return out


def default_alpha(edges, num_nodes, kappa=0.5, nu=1.0):  # the package defaults
    degree = np.zeros(num_nodes)
    for (i, j), w in edges.items():
        degree[i] += w * w
        degree[j] += w * w
    bound = max((degree[i] + degree[j] for i, j in edges), default=0.0)
    return 1.9 * nu / (kappa * (nu + 1 + bound))


def split_lbi(edges, num_nodes, x, *, kappa=0.5, nu=1.0, alpha=None, mode="joint",
              iterations=None, t=None, sparsity=None, project=True):
    """Run Split LBI on x of shape (p, C) and return (result, k, support).

    Scale-free as DESIGN §2 defines it: the iteration runs on x / σ, σ = max(x) − min(x)
    (1 for a constant x), and the result is multiplied back by σ.
    """
    x = np.asarray(x, dtype=float)
    sigma = float(x.max() - x.min()) if x.size else 0.0
    sigma = sigma if sigma > 0 else 1.0
    result, k, support = _split_lbi(edges, num_nodes, x / sigma, kappa=kappa, nu=nu,
                                    alpha=alpha, mode=mode, iterations=iterations, t=t,
                                    sparsity=sparsity, project=project)
    return result * sigma, k, support


def _split_lbi(edges, num_nodes, x, *, kappa, nu, alpha, mode, iterations, t, sparsity,
               project):
    D = dense_operator(edges, num_nodes)
    alpha = default_alpha(edges, num_nodes, kappa, nu) if alpha is None else alpha
    if t is not None:
        iterations = math.ceil(t * (1 - 1e-9) / alpha)
    u = component_means(edges, num_nodes, x)
    z = np.zeros((len(edges), x.shape[1]))
    gamma = np.zeros_like(z)
    k = 0
    while True:
        support = (np.linalg.norm(gamma, axis=1) > 0) if mode == "joint" else gamma != 0
        zeros = (~support).sum()
        current = zeros / support.size if support.size else 0.0
        if iterations is not None and k >= iterations:
            break
        if sparsity is not None and current <= sparsity:
            break
        r = D @ u - gamma
        u = u - kappa * alpha * ((u - x) + D.T @ r / nu)
        z = z + alpha * r / nu
        if mode == "joint":
            norms = np.linalg.norm(z, axis=1, keepdims=True)
            with np.errstate(divide="ignore"):
                gamma = kappa * z * np.maximum(0.0, 1.0 - 1.0 / norms)
        else:
            gamma = kappa * np.sign(z) * np.maximum(0.0, np.abs(z) - 1.0)
        k += 1
    if not project:
        return u, k, support
    keys = list(edges)
    if mode == "joint":
        removed = [keys[e] for e in np.nonzero(support)[0]]
        return component_means(edges, num_nodes, u, removed), k, support
    out = np.empty_like(u)
    for c in range(u.shape[1]):
        removed = [keys[e] for e in np.nonzero(support[:, c])[0]]
        out[:, c] = component_means(edges, num_nodes, u[:, [c]], removed)[:, 0]
    return out, k, support
