"""``benchmarks/device.py --quick --device cpu`` runs end to end (torchrun included) and
prints every row with a positive, finite figure. CI has no GPU: the CPU is the device."""

import math
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

ROWS = [
    "CIFAR-size, smooth_images (numba)", "CIFAR-size, torch stencil", "CIFAR-size, torch gather",
    "CIFAR-size, stencil / gather", "photos, smooth_images (numba)", "photos, torch stencil",
    "photos, torch gather", "photos, stencil / gather", "one photo, 64²×3",
    "one volume, 16³ grey", "ResNet-18 step, plain",
    "ResNet-18 step, on-the-fly smoothing", "ResNet-18 step, cached reads",
    "ResNet-18 step, on-the-fly smoothing / plain", "ResNet-18 step, cached reads / plain",
    "path cache build (CachedISVSDataset)", "torchrun, 1 process", "torchrun, 2 processes",
    "torchrun, 2 processes / 1"]


def test_quick_cpu_run_prints_every_row():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "device.py"), "--quick",
                           "--device", "cpu"], capture_output=True, text=True, env=env,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("device: cpu") and lines[1].startswith("machine: ")
    figures = {}
    for line in lines:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("measure", "---"):
            figures[cells[0]] = float(cells[2])
    assert list(figures) == ROWS
    assert all(math.isfinite(v) and v > 0 for v in figures.values()), figures
