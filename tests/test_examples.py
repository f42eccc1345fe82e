"""The gallery scripts run as plain scripts, print their key result and draw figures
large enough to read."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# Runs a script as ``python script.py`` does (as __main__, from the working
# directory), then reports the open figures: their size in pixels and the largest
# image side drawn in each.
DRIVER = """
import json, runpy, sys
import matplotlib.pyplot as plt
runpy.run_path(sys.argv[1], run_name="__main__")
figures = []
for number in plt.get_fignums():
    fig = plt.figure(number)
    width, height = fig.get_size_inches() * fig.dpi
    sides = [max(image.get_array().shape[:2]) for ax in fig.axes for image in ax.get_images()]
    figures.append({"width": float(width), "height": float(height),
                    "image": max(sides, default=0)})
print("FIGURES " + json.dumps(figures))
"""


@pytest.mark.parametrize("script, key_line, figures, image_side", [
    ("plot_image_path.py", "Split LBI iterations in", 3, 192),
    ("plot_superpixels.py", " superpixels, ", 2, 600),
    ("plot_mesh.py", "mean |error|: noisy", 2, 0),
    ("plot_point_cloud.py", "karate club: mean |error|", 2, 0),
    ("plot_isvs_vs_lowpass.py", "ISVS, sparsity 0.6", 2, 288),
    ("plot_parameters.py", "nu = 4.0", 4, 128),
    ("plot_robust_training.py", "| isvs |", 3, 32),
])
def test_gallery_script(tmp_path, script, key_line, figures, image_side):
    result = subprocess.run([sys.executable, "-c", DRIVER, str(EXAMPLES / script)],
                            cwd=tmp_path, env={**os.environ, "MPLBACKEND": "Agg"},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    output, _, report = result.stdout.rpartition("FIGURES ")
    assert key_line in output, output[-2000:]
    drawn = json.loads(report)
    assert len(drawn) == figures, drawn
    assert all(f["width"] >= 600 and f["height"] >= 250 for f in drawn), drawn
    assert max(f["image"] for f in drawn) >= image_side, drawn
    assert list(tmp_path.iterdir()) == []  # a gallery script writes no files
