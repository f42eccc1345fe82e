"""``benchmarks/device.py --quick --device cpu`` runs end to end (torchrun included) and
prints every row with a positive, finite figure; ``--profile`` prints its rows. CI has
no GPU: the CPU is the device."""

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


def quick_cpu_run(*options: str) -> dict[str, float]:
    """The table's figures by measure, from ``device.py --quick --device cpu``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "device.py"), "--quick",
                           "--device", "cpu", *options], capture_output=True, text=True,
                          env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("device: cpu") and lines[1].startswith("machine: ")
    figures = {}
    for line in lines:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("measure", "---"):
            figures[cells[0]] = float(cells[2])
    return figures


def test_quick_cpu_run_prints_every_row():
    figures = quick_cpu_run()
    assert list(figures) == ROWS
    assert all(math.isfinite(v) and v > 0 for v in figures.values()), figures


def test_the_profile_shows_the_batch_s_steps_and_its_tail():
    figures = quick_cpu_run("--profile")
    assert list(figures) == [
        "profile: steps the batch ran", "profile: steps an image needs, mean",
        "profile: steps with 64 or fewer images left", "profile: torch operations a step",
        "profile: wall time, profiled"]  # (a GPU adds launches and its busy time)
    ran = figures["profile: steps the batch ran"]
    assert 0 < figures["profile: steps an image needs, mean"] <= ran
    assert figures["profile: steps with 64 or fewer images left"] == ran  # 32 images
    assert 20 < figures["profile: torch operations a step"] < 200
