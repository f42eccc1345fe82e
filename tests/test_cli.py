import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from isvs_graph import smooth_image
from isvs_graph.cli import main


@pytest.fixture
def photo_file(tmp_path):
    from skimage import data
    image = data.astronaut()[120:168, 170:218]
    filename = tmp_path / "photo.png"
    Image.fromarray(image).save(filename)
    return filename, image


def test_smooth_writes_the_smoothed_image(photo_file, tmp_path, capsys):
    filename, image = photo_file
    out = tmp_path / "smooth.png"
    assert main(["smooth", str(filename), str(out), "--sparsity", "0.8", "-q"]) == 0
    written = np.asarray(Image.open(out))
    np.testing.assert_array_equal(written, smooth_image(image, sparsity=0.8))
    assert "wrote" in capsys.readouterr().out


def test_smooth_at_time_with_options(photo_file, tmp_path):
    filename, image = photo_file
    out = tmp_path / "smooth.png"
    main(["smooth", str(filename), str(out), "--t", "4", "--mode", "channel", "--kappa",
          "2", "--connectivity", "8", "-q"])
    expected = smooth_image(image, t=4.0, mode="channel", kappa=2.0, connectivity=8)
    np.testing.assert_array_equal(np.asarray(Image.open(out)), expected)


def test_path_writes_a_strip_of_scales(photo_file, tmp_path):
    filename, image = photo_file
    out = tmp_path / "path.png"
    main(["path", str(filename), str(out), "--sparsities", "1", "0.8", "0.6", "-q"])
    strip = np.asarray(Image.open(out))
    # Three scales and the input, 4 px apart, with a caption band below.
    assert strip.shape[1] == 4 * 48 + 3 * 4 and strip.shape[0] > 48
    np.testing.assert_array_equal(strip[:48, -48:], image)
    coarsest = strip[:48, :48].reshape(-1, 3)
    assert (coarsest == coarsest[0]).all()


def test_bad_arguments_exit_with_a_message(photo_file, tmp_path, capsys):
    filename, _ = photo_file
    with pytest.raises(SystemExit) as exit_info:
        main(["smooth", str(filename), str(tmp_path / "x.png"), "--sparsity", "1.5"])
    assert exit_info.value.code == 2
    assert "sparsity must lie in [0, 1]" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="no such file"):
        main(["smooth", str(tmp_path / "missing.png"), str(tmp_path / "x.png"), "--t", "1"])
    with pytest.raises(SystemExit):
        main(["smooth", str(filename), str(tmp_path / "x.png")])  # no scale given


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "isvs_graph", "--help"],
                            capture_output=True, text=True, check=True)
    assert "smooth" in result.stdout and "path" in result.stdout
