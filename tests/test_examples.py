"""The gallery scripts run, on small inputs, and write their figures."""

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("script,arguments,figure", [
    ("plot_image_path.py", ["--size", "48"], "astronaut_path.png"),
    ("plot_superpixels.py", ["--small"], "superpixels.png"),
    ("plot_mesh.py", ["--small"], "mesh.png"),
    ("plot_point_cloud.py", ["--small"], "point_cloud_and_karate.png"),
    ("plot_isvs_vs_lowpass.py", ["--small"], "isvs_vs_lowpass.png"),
    ("plot_parameters.py", ["--small"], "parameters.png"),
])
def test_example_runs_and_draws(tmp_path, script, arguments, figure):
    result = subprocess.run([sys.executable, str(EXAMPLES / script), "--out", str(tmp_path),
                             *arguments], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    with Image.open(tmp_path / figure) as image:
        assert image.width > 300 and image.height > 150
    assert "figure" in result.stdout
