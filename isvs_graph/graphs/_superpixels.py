"""Superpixel graphs: an image's regions as nodes, touching regions joined by edges."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from .._validation import check_count, check_real
from ._canonical import undirected_edges

__all__ = ["superpixel_graph"]


def superpixel_graph(image: np.ndarray, n_segments: int = 200, compactness: float = 10.0,
                     *, segments: np.ndarray | None = None, **slic_options: Any) -> Data:
    """The region adjacency graph of an image's superpixels.

    Parameters
    ----------
    image : numpy.ndarray
        ``H × W`` or ``H × W × C``. Integer images are read as ``[0, 1]`` by their
        dtype's maximum (uint8 / 255), as scikit-image does.
    n_segments, compactness : optional
        Passed to :func:`skimage.segmentation.slic`, with ``**slic_options``.
    segments : numpy.ndarray, optional
        An ``H × W`` integer label map from any other segmenter, used instead of
        SLIC. Labels need not be contiguous; they are renumbered ``0 … n − 1`` in
        increasing order.

    Returns
    -------
    torch_geometric.data.Data
        ``x`` (n, C) float64: the mean colour of each superpixel; ``pos`` (n, 2): its
        centroid ``(row, column)``; ``edge_index`` (2, m) canonical: superpixels
        that share a boundary (4-neighbour pixel adjacency); ``edge_weight`` (m,): the
        shared boundary length in pixel sides divided by its mean over all edges
        (mean weight 1, so that the step size is not shrunk by long boundaries);
        ``boundary_length`` (m,): the raw lengths; ``segments`` (H, W) int64: the
        renumbered label map, so that ``signal[graph.segments]`` paints a node signal
        back onto the pixels.

    Raises
    ------
    ValueError
        An image of the wrong rank or with non-finite values, or a label map of
        another shape.

    Examples
    --------
    >>> import numpy as np
    >>> from isvs_graph import superpixel_graph
    >>> labels = np.array([[0, 0, 1], [0, 0, 1], [2, 2, 2]])
    >>> g = superpixel_graph(np.zeros((3, 3)), segments=labels)
    >>> g.edge_index.tolist(), g.boundary_length.tolist()
    ([[0, 0, 1], [1, 2, 2]], [2.0, 2.0, 1.0])
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy.ndarray, got {type(image).__name__}")
    if image.ndim not in (2, 3):
        raise ValueError(f"image must have shape (H, W) or (H, W, C), got {image.shape}")
    if image.dtype.kind in "iu":
        image = image / float(np.iinfo(image.dtype).max)
    elif image.dtype.kind != "f":
        raise TypeError(f"image must hold numbers, got dtype {image.dtype}")
    if not np.isfinite(image).all():
        raise ValueError("image contains NaN or infinite values")
    pixels = image if image.ndim == 3 else image[..., None]
    height, width, channels = pixels.shape

    if segments is None:
        from skimage.segmentation import slic
        check_count("n_segments", n_segments)
        check_real("compactness", compactness, positive=True)
        if image.ndim == 3 and image.shape[0] in (1, 3, 4) and image.shape[2] > 4:
            raise ValueError(f"image of shape {image.shape} looks like C × H × W; "
                             "superpixel_graph reads H × W × C: pass "
                             "image.transpose(1, 2, 0)")
        segments = slic(image, n_segments=n_segments, compactness=compactness,
                        channel_axis=-1 if image.ndim == 3 else None, start_label=0,
                        **slic_options)
    segments = np.asarray(segments)
    if segments.shape != (height, width):
        raise ValueError(f"segments must have the image's shape {(height, width)}, got "
                         f"{segments.shape}")
    if segments.dtype.kind not in "iu":
        raise ValueError(f"segments must hold integer labels, got dtype {segments.dtype}")
    _, segments = np.unique(segments, return_inverse=True)
    segments = segments.reshape(height, width).astype(np.int64)
    n = int(segments.max()) + 1

    flat = segments.reshape(-1)
    counts = np.bincount(flat, minlength=n).astype(np.float64)
    x = np.stack([np.bincount(flat, weights=pixels[..., c].reshape(-1), minlength=n)
                  for c in range(channels)], axis=1) / counts[:, None]
    rows, cols = np.indices((height, width))
    pos = np.stack([np.bincount(flat, weights=rows.reshape(-1), minlength=n),
                    np.bincount(flat, weights=cols.reshape(-1), minlength=n)],
                   axis=1) / counts[:, None]

    # Each pair of 4-adjacent pixels with different labels is one unit of boundary.
    a = np.concatenate([segments[:, :-1].reshape(-1), segments[:-1, :].reshape(-1)])
    b = np.concatenate([segments[:, 1:].reshape(-1), segments[1:, :].reshape(-1)])
    across = a != b
    edge_index, length = undirected_edges(np.stack([a[across], b[across]]), n,
                                          np.ones(int(across.sum())), reduce="sum")
    weight = length / length.mean() if len(length) else length
    return Data(x=torch.from_numpy(x), pos=torch.from_numpy(pos),
                edge_index=torch.from_numpy(edge_index), edge_weight=torch.from_numpy(weight),
                boundary_length=torch.from_numpy(length), num_nodes=n,
                segments=torch.from_numpy(segments))
