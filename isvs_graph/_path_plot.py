"""Drawing a recorded path: one signal from coarse to fine (matplotlib)."""

from __future__ import annotations

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
        if sparsities is None:
            sparsities = np.linspace(1.0, float(path.levels.min()), 6)
        scales = [("sparsity", float(v)) for v in sparsities]
    if shape is None and path.layout.form == "images":
        _, channels, height, width = path.layout.shape
        shape = (height, width, channels)
    if axes is None:
        fig, axes = plt.subplots(1, len(scales), figsize=(2.2 * len(scales), 2.6),
                                 squeeze=False)
        axes = axes[0]
    fig = axes[0].figure
    for ax, (kind, value) in zip(axes, scales):
        smoothed = one.at(**{kind: value})[0]
        if isinstance(smoothed, torch.Tensor):
            smoothed = smoothed.cpu().numpy()
        if path.layout.form == "images":
            smoothed = smoothed.transpose(1, 2, 0)  # (C, H, W) → (H, W, C)
        k = int(one.iterations(**{kind: value})[0])
        if shape is None:
            ax.plot(smoothed)
        else:
            image = np.asarray(smoothed, dtype=np.float64).reshape(shape)
            lo, hi = float(image.min()), float(image.max())
            if image.ndim == 3 and image.shape[2] == 3:
                ax.imshow(np.clip(image, 0, 1) if hi <= 1.0 and lo >= 0.0
                          else (image - lo) / max(hi - lo, 1e-12))
            else:
                ax.imshow(image.reshape(shape[:2]), cmap="gray")
            ax.set_axis_off()
        ax.set_title(f"t={k * path.alpha:.3g}\nsparsity={float(one.sparsity_at(k)[0]):.2f}",
                     fontsize=8)
    return fig
