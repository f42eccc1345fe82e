"""Drawing a recorded path: one signal from coarse to fine (matplotlib)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from ._validation import check_at_most_one, check_real

__all__ = ["plot_path"]


def plot_path(path, shape: tuple[int, ...] | None = None, *, signal: int = 0,
              sparsities: Sequence[float] | None = None,
              times: Sequence[float] | None = None, axes=None):
    """Draw one signal of ``path`` at several scales: :meth:`ISVSPath.plot
    <isvs_graph.ISVSPath.plot>` documents the arguments."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError("plotting a path needs matplotlib: pip install matplotlib"
                          ) from error
    check_at_most_one(sparsities=sparsities, times=times)
    one = path.select([signal])
    if times is not None:
        scales = [("t", check_real("t", v, nonnegative=True)) for v in times]
    else:
        if sparsities is None:  # down to the finest level the signal's path reaches
            reached = float(np.atleast_1d(one.sparsity_at(one.n_iter))[0])
            sparsities = np.linspace(1.0, max(float(path.levels.min()), reached), 6)
        scales = [("sparsity", float(v)) for v in sparsities]
    if not scales:
        raise ValueError("no scale to draw: give at least one sparsity or time")
    images = path.layout.form == "images"
    if shape is None and images:
        _, channels, *spatial = path.layout.shape
        shape = (*spatial, channels)
    elif shape is not None:
        values = math.prod(one.at(**dict([scales[0]]))[0].shape)  # (on any device)
        shape = _checked_shape(shape, path.graph.num_nodes,
                               values // max(path.graph.num_nodes, 1), signal)
    if axes is None:
        fig, axes = plt.subplots(1, len(scales), figsize=(2.2 * len(scales), 2.6),
                                 squeeze=False)
        axes = axes[0]
    elif len(axes) < len(scales):
        raise ValueError(f"{len(axes)} axes for {len(scales)} scales: give one a scale")
    fig = axes[0].figure
    for ax, (kind, value) in zip(axes, scales):
        smoothed = one.at(**{kind: value})[0]
        if isinstance(smoothed, torch.Tensor):
            smoothed = smoothed.detach().cpu()
            if smoothed.dtype == torch.bfloat16:  # (numpy has no bfloat16)
                smoothed = smoothed.float()
            smoothed = smoothed.numpy()
        if images:
            smoothed = np.moveaxis(smoothed, 0, -1)  # (C, [D,] H, W) → ([D,] H, W, C)
        k = int(one.iterations(**{kind: value})[0])
        title = f"t={k * path.alpha:.3g}\nsparsity={float(one.sparsity_at(k)[0]):.2f}"
        if shape is None:
            ax.plot(smoothed)
        else:
            image = np.asarray(smoothed, dtype=np.float64).reshape(shape)
            drawn, cmap, said = _drawable(image)
            ax.imshow(drawn, cmap=cmap)
            ax.set_axis_off()
            title += said
        ax.set_title(title, fontsize=8)
    return fig


def _checked_shape(shape: tuple[int, ...], nodes: int, channels: int,
                   signal: int) -> tuple[int, ...]:
    """``shape`` to draw a signal of ``nodes`` × ``channels`` values as an image: as
    given where it holds them all, with the channels added to an ``(H, W)`` of the
    nodes; refused otherwise."""
    shape = tuple(int(side) for side in shape)
    if math.prod(shape) == nodes * channels:
        return shape
    if math.prod(shape) == nodes:
        return (*shape, channels)
    raise ValueError(f"shape {shape} holds {math.prod(shape)} values, but signal {signal} "
                     f"has {nodes} nodes × {channels} channel(s); give (H, W) with "
                     f"H × W = {nodes}, or (H, W, {channels})")


def _drawable(image: np.ndarray) -> tuple[np.ndarray, str | None, str]:
    """What ``imshow`` draws of ``image`` — ``(H, W)`` grey, ``(H, W, C)`` or a volume
    ``(D, H, W, C)`` — with its colour map and what the title should add: 3 or 4 channels
    in colour (RGB, RGBA), any other number its first channel in grey, a volume its
    middle plane."""
    said = []
    if image.ndim == 4:
        said.append(f"plane {image.shape[0] // 2} of {image.shape[0]}")
        image = image[image.shape[0] // 2]
    if image.ndim == 3 and image.shape[2] in (3, 4):
        lo, hi = float(image.min()), float(image.max())
        drawn = np.clip(image, 0, 1) if hi <= 1.0 and lo >= 0.0 else \
            (image - lo) / max(hi - lo, 1e-12)
        return drawn, None, "\n" + ", ".join(said) if said else ""
    if image.ndim == 3:
        if image.shape[2] > 1:
            said.append(f"channel 0 of {image.shape[2]}")
        image = image[..., 0]
    return image, "gray", "\n" + ", ".join(said) if said else ""
