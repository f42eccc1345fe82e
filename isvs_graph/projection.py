"""The variational sparsification: project a signal onto the partition that a
support leaves.

Removing the support edges ``S`` from the graph leaves connected components
``V_1 … V_c``; the orthogonal projection of ``u`` onto ``{u : (D u)_e = 0, e ∉ S}``
replaces ``u`` by its mean over each component. Components come from
:func:`scipy.sparse.csgraph.connected_components` on the CPU (only the boolean
support crosses from a GPU, never the signal); the means are formed where the signal
lives. Both steps cost ``O(p + m)``.

Several *groups* (signals of a batch, or channels in channel mode) are labelled in
one call on a block-diagonal graph: group ``g`` owns nodes ``g p … (g + 1) p - 1``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import torch
from scipy.sparse.csgraph import connected_components

from .graphs import CanonicalGraph

__all__ = ["component_labels", "component_means", "project"]


def component_labels(graph: CanonicalGraph, keep: np.ndarray | torch.Tensor | None = None,
                     ) -> tuple[np.ndarray, int]:
    """Label the connected components of ``(V, kept edges)``, per group.

    Parameters
    ----------
    graph : CanonicalGraph
    keep : bool array of shape ``(m,)`` or ``(m, G)``, optional
        Which edges stay (``True``) in each group ``g``; ``None`` keeps all edges
        in one group.

    Returns
    -------
    labels : ndarray of shape ``(G, p)``, int64
        Component id of every node. Ids are global and contiguous per group: those
        of group ``g`` are ``offsets[g] … offsets[g + 1] - 1``, numbered in the
        order of each component's smallest node.
    n_components : int
        Total number of components over all groups.
    """
    p, m = graph.num_nodes, graph.num_edges
    if keep is None:
        keep = np.ones((m, 1), dtype=bool)
    if isinstance(keep, torch.Tensor):
        keep = keep.cpu().numpy()
    if keep.ndim == 1:
        keep = keep[:, None]
    groups = keep.shape[1]
    # Group-major order makes the rows of the block-diagonal adjacency sorted (canonical
    # edges are sorted by source), so its CSR arrays are built directly, with no COO
    # conversion. csgraph works in int32 indices.
    index = np.int32 if groups * p < 2**31 - 1 else np.int64
    offsets = (np.arange(groups, dtype=index) * p)[:, None]
    kept = np.flatnonzero(keep.T)
    rows = (graph.edge_index[0].numpy().astype(index) + offsets).ravel()[kept]
    cols = (graph.edge_index[1].numpy().astype(index) + offsets).ravel()[kept]
    indptr = np.zeros(groups * p + 1, dtype=index)
    np.cumsum(np.bincount(rows, minlength=groups * p), out=indptr[1:])
    adjacency = scipy.sparse.csr_array((np.ones(len(kept), dtype=np.int8), cols, indptr),
                                       shape=(groups * p, groups * p))
    n_components, labels = connected_components(adjacency, directed=False)
    return labels.astype(np.int64).reshape(groups, p), int(n_components)


def component_means(u: torch.Tensor, labels: np.ndarray, n_components: int) -> torch.Tensor:
    """Replace ``u`` by its mean over each component.

    Parameters
    ----------
    u : Tensor of shape ``(p, G, K)``
        ``G`` groups of ``K`` channels that share one partition per group.
    labels : ndarray of shape ``(G, p)``
        From :func:`component_labels`.
    n_components : int

    Returns
    -------
    Tensor of the shape, dtype and device of ``u``. Sums are accumulated in float64
    so that the mean of a component is correct to the last digit of ``u``'s dtype.
    """
    p, groups, channels = u.shape
    index = torch.from_numpy(labels.reshape(-1)).to(u.device)
    flat = u.permute(1, 0, 2).reshape(groups * p, channels).double()
    sums = flat.new_zeros((n_components, channels)).index_add_(0, index, flat)
    counts = torch.bincount(index, minlength=n_components).to(sums.dtype)
    means = (sums / counts[:, None])[index]
    return means.to(u.dtype).view(groups, p, channels).permute(1, 0, 2)


def project(graph: CanonicalGraph, u: torch.Tensor, support: torch.Tensor | None,
            ) -> torch.Tensor:
    """Average ``u`` over the components that ``support`` leaves.

    Parameters
    ----------
    graph : CanonicalGraph
    u : Tensor of shape ``(p, B, C)``
    support : bool Tensor of shape ``(m, B)`` (joint: one partition per signal,
        shared by its channels) or ``(m, B, C)`` (channel: one per channel), or
        ``None`` for the empty support (components of the whole graph).

    Returns
    -------
    Tensor like ``u``.
    """
    p, batch, channels = u.shape
    if support is None:
        labels, n = component_labels(graph)
        flat = u.reshape(p, 1, batch * channels)
        return component_means(flat, labels, n).reshape(p, batch, channels)
    if support.ndim == 2:
        labels, n = component_labels(graph, ~support)
        return component_means(u, labels, n)
    labels, n = component_labels(graph, ~support.reshape(graph.num_edges, batch * channels))
    flat = u.reshape(p, batch * channels, 1)
    return component_means(flat, labels, n).reshape(p, batch, channels)
