"""The benchmark script's single-image section runs (``--quick``) and reports every row."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_single_image_section_quick(tmp_path):
    pytest.importorskip("skimage")
    pytest.importorskip("threadpoolctl")
    out = tmp_path / "single.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--sections",
         "single", "--json", str(out)], capture_output=True, text=True, cwd=ROOT,
        timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Single images" in done.stdout
    single = json.loads(out.read_text())["single"]
    assert list(single["images"]) == ["astronaut 256²×3", "coffee 256²×3",
                                      "astronaut 512²×3", "coffee 512²×3",
                                      "blobs 32³ + noise"]
    for label, row in single["images"].items():
        assert row["steps"] > 0 and row["iterations"] >= row["steps"], label
        assert all(value > 0 for values in row["ratios"].values() for value in values)
    assert "1 × tv_bregman" not in single["images"]["blobs 32³ + noise"]["ratios"]
    assert single["batch ns"] > 0
    assert single["memory"]["side"] == 512 and single["memory"]["added MB"] > 0
    floor = single["bare step"]
    assert 0 < floor["ns"] < 100
    assert list(floor["images"]) == ["astronaut 256²×3", "coffee 256²×3",
                                     "astronaut 512²×3", "coffee 512²×3"]
    for label, row in floor["images"].items():
        assert row["floor s"] > 0 and row["tv_bregman s"] > 0, label


def test_bare_step_is_the_solvers_arithmetic():
    """The floor times the solver's own steps: the bare loop's iterate after k steps is
    the solver's (``project=False``, no jumps), from the same start."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bare_step import _steps, bare_step_ns
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    import numpy as np

    import isvs_graph
    from isvs_graph._solver.options import default_alpha

    side, k = 12, 9
    rng = np.random.default_rng(3)
    image = rng.random((side, side, 3)).astype(np.float32)
    image[:, :6] += 2.0  # an edge that enters within the k steps
    kappa, nu = 0.5, 1.0
    alpha = default_alpha(kappa, nu, 8.0)
    ours = isvs_graph.smooth_image(image, t=k * alpha, project=False, jumps=False)

    low, scale = float(image.min()), float(image.max() - image.min())
    x = np.ascontiguousarray(((image - low) / scale).transpose(2, 0, 1).reshape(3, -1))
    u = np.repeat(x.astype(np.float64).mean(axis=1, keepdims=True), x.shape[1], axis=1)
    u = u.astype(np.float32)
    p, pad = side * side, side
    length = pad + p
    z, r = np.zeros((3, 2 * length), np.float32), np.zeros((3, 2 * length), np.float32)
    f = np.zeros(2 * length, np.float32)
    mask = np.zeros(2 * length, np.float32)
    mask[pad:length] = (np.arange(p) % side) != side - 1
    mask[length + pad:length + pad + p - side] = 1.0
    constants = (np.float32(kappa), np.float32(alpha / nu), np.float32(kappa * alpha),
                 np.float32(1 / nu))
    _steps(u, x, z, f, r, mask, np.array([1, side], dtype=np.int64), pad, k, *constants,
           np.zeros(p, np.float32), np.zeros(p, np.float32))
    bare = u.reshape(3, side, side).transpose(1, 2, 0) * scale + low
    assert (f > 0).any()  # the support grew: the shrink ran
    np.testing.assert_allclose(bare, ours, rtol=0, atol=1e-5 * scale)
    assert not np.allclose(bare, x.reshape(3, side, side).transpose(1, 2, 0) * scale + low,
                           atol=1e-3)
    assert 0 < bare_step_ns(8, steps=2, repeat=1) < 1e6
