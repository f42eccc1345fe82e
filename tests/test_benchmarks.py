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
