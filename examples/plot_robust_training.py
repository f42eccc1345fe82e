"""
Robust training in brief
========================

The training example on a small budget (800 bundled digits, 6 epochs): vanilla, FFT
low-pass and ISVS training side by side, evaluated on clean, corrupted (15 types × 5
severities), FGSM, PGD and low-resolution images. ``examples/train_classifier.py`` with
no arguments runs the full version and writes its table and plots to ``out/train``.

Run ``python examples/plot_robust_training.py [--out DIR] [--small]``.
"""

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

parser = argparse.ArgumentParser(description="Robust training in brief")
parser.add_argument("--out", type=Path, default=Path("out"), help="output folder")
parser.add_argument("--small", action="store_true", help="a smaller, faster run")
args = parser.parse_args()

try:
    here = Path(__file__).resolve().parent
except NameError:  # executed by sphinx-gallery from the docs folder
    here = Path("../examples").resolve()
sys.path.insert(0, str(here))
from train_classifier import main  # noqa: E402

out = args.out / "robust_training"
# Even the small run must learn something, or its table says nothing.
budget = ["--limit", "800", "--epochs", "6"] if args.small else ["--limit", "1500", "--epochs", "8"]
main([*budget, "--out", str(out), "--quiet", "--pgd-steps", "5"])

summary = json.loads((out / "results.json").read_text())
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw={"width_ratios": [2.4, 1]})
for ax, name in zip(axes, ("corruptions.png", "severity.png")):
    ax.imshow(Image.open(out / name))
    ax.set_axis_off()
fig.tight_layout()
fig.savefig(args.out / "robust_training.png", dpi=100)
print(json.dumps({m: {k: round(v, 3) for k, v in r.items() if isinstance(v, float)}
                  for m, r in summary["results"].items()}, indent=1))
print(f"figure: {args.out / 'robust_training.png'}")
