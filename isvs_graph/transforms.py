"""A PyTorch Geometric transform: replace ``data.x`` by its ISVS-smoothed version."""

from __future__ import annotations

from typing import Any

from torch_geometric.data import Batch, Data
from torch_geometric.transforms import BaseTransform

from ._validation import check_scale
from ._warnings import signals_moved
from ._solve import check_solver_options, solve

__all__ = ["ISVSSmooth"]

#: The keyword options of :func:`~isvs_graph.solve` a transform passes on.
SOLVER_OPTIONS = frozenset({"kappa", "nu", "alpha", "mode", "project", "tol", "max_iter",
                            "jumps", "backend"})


class ISVSSmooth(BaseTransform):
    r"""Smooth a node signal by inverse scale space (:func:`isvs_graph.solve`).

    Parameters
    ----------
    t, sparsity : float
        The scale, exactly one (see :func:`isvs_graph.solve`).
    key : str, default "x"
        The node attribute to smooth.
    keep : str, optional
        Store the original signal under this attribute before replacing it.
    **solver_options
        ``kappa``, ``nu``, ``alpha``, ``mode``, ``project``, ``tol``, ``max_iter``,
        ``jumps``, ``backend`` of :func:`isvs_graph.solve`.

    Notes
    -----
    Works on one :class:`~torch_geometric.data.Data` and on a
    :class:`~torch_geometric.data.Batch`, whose graphs are each solved on their own:
    every graph's signal is normalised by its own range (the solve is scale-free), and a
    sparsity is a fraction of each graph's edges. The options are checked when the
    transform is built, names and values, so a misspelt one (``kapa=1``) or a value no
    graph accepts (``kappa=-1``) fails there, not in a DataLoader worker; only a given
    ``alpha`` is checked against each graph's stability bound when it is solved.

    The smoothed signal is detached from autograd (smoothing has no gradient), and a
    signal that requires grad gets a warning; its dtype follows :func:`isvs_graph.solve`
    (integers come back as floats). Weights are read from ``edge_weight``; a graph with
    ``edge_attr`` but no ``edge_weight`` is refused (see :func:`isvs_graph.solve`).

    Examples
    --------
    >>> import torch
    >>> from torch_geometric.transforms import Compose, ToUndirected
    >>> from isvs_graph import grid_graph
    >>> from isvs_graph.transforms import ISVSSmooth
    >>> data = grid_graph(1, 4)
    >>> data.x = torch.tensor([[0.0], [0.0], [1.0], [1.0]])
    >>> transform = Compose([ToUndirected(), ISVSSmooth(t=0.0, keep="x_raw")])
    >>> out = transform(data)
    >>> out.x.flatten().tolist(), out.x_raw.flatten().tolist()
    ([0.5, 0.5, 0.5, 0.5], [0.0, 0.0, 1.0, 1.0])
    >>> transform.transforms[1]
    ISVSSmooth(t=0.0, key='x', keep='x_raw')
    """

    def __init__(self, t: float | None = None, *, sparsity: float | None = None,
                 key: str = "x", keep: str | None = None, **solver_options: Any) -> None:
        self.t, self.sparsity = check_scale(t, sparsity)
        self.key, self.keep = key, keep
        check_solver_options(type(self).__name__, solver_options, SOLVER_OPTIONS)
        self.solver_options = solver_options

    def forward(self, data: Data) -> Data:
        signal = data.get(self.key)
        if signal is None:
            raise ValueError(f"data has no attribute {self.key!r} to smooth")
        if isinstance(data, Batch):
            # Each graph on its own: the solve is scale-free per signal (its own range),
            # and a sparsity is a fraction of each graph's edges.
            graphs = []
            for i, graph in enumerate(data.to_data_list()):
                with signals_moved(i, f"graph {i} of the batch"):  # (signals: graphs)
                    graphs.append(self.forward(graph))
            return Batch.from_data_list(graphs)
        smoothed = solve(data, signal, self.t, sparsity=self.sparsity, **self.solver_options)
        if self.keep is not None:
            data[self.keep] = signal
        data[self.key] = smoothed
        return data

    def __repr__(self) -> str:
        scale = f"t={self.t!r}" if self.t is not None else f"sparsity={self.sparsity!r}"
        options = "".join(f", {name}={value!r}" for name, value in self.solver_options.items())
        keep = f", keep={self.keep!r}" if self.keep is not None else ""
        return f"{self.__class__.__name__}({scale}, key={self.key!r}{keep}{options})"
