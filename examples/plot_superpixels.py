"""
ISVS on superpixels
===================

The same solver on a much smaller graph: SLIC superpixels of a photo become nodes
(mean colour), touching superpixels are joined with their shared boundary length as
weight. The smoothed node signal is painted back onto the pixels with
``signal[graph.segments]``.

Run ``python examples/plot_superpixels.py [--out DIR] [--small]``.
"""

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from skimage import data  # noqa: E402
from skimage.segmentation import mark_boundaries  # noqa: E402

import isvs_graph  # noqa: E402

parser = argparse.ArgumentParser(description="ISVS on superpixels")
parser.add_argument("--out", type=Path, default=Path("out"), help="output folder")
parser.add_argument("--small", action="store_true", help="a small, fast run")
args = parser.parse_args()

image = data.coffee()[::4, ::4] if args.small else data.coffee()
segments = 150 if args.small else 1500
start = time.perf_counter()
graph = isvs_graph.superpixel_graph(image, n_segments=segments, compactness=20)
sparsities = [0.7, 0.5, 0.3]
smoothed = [isvs_graph.solve(graph, sparsity=s).numpy() for s in sparsities]
elapsed = time.perf_counter() - start

fig, axes = plt.subplots(1, len(sparsities) + 1, figsize=(3.2 * (len(sparsities) + 1), 2.8))
segmented = mark_boundaries(image, graph.segments.numpy())
axes[0].imshow(segmented)
axes[0].set_title(f"{graph.num_nodes} superpixels", fontsize=9)
for ax, s, signal in zip(axes[1:], sparsities, smoothed):
    ax.imshow(signal[graph.segments.numpy()].clip(0, 1))
    ax.set_title(f"sparsity {s}", fontsize=9)
for ax in axes:
    ax.set_axis_off()
fig.tight_layout()
args.out.mkdir(parents=True, exist_ok=True)
fig.savefig(args.out / "superpixels.png", dpi=100)
print(f"{graph.num_nodes} superpixels, {graph.num_edges} edges; graph and three scales in "
      f"{elapsed:.1f} s; figure: {args.out / 'superpixels.png'}")
