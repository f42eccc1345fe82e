"""The isvs-graph command line: files come back in their bit depth, mode and orientation;
every error is one line naming the user's path, given before any solve; exit status 0
when done, 1 when a file cannot be read or written, 2 for a usage error."""

import os
import re
import stat
import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

import isvs_graph
from isvs_graph import smooth_image
from isvs_graph.cli import main


@pytest.fixture
def photo_file(tmp_path):
    from skimage import data
    image = data.astronaut()[120:168, 170:218]
    filename = tmp_path / "photo.png"
    Image.fromarray(image).save(filename)
    return filename, image


def run(argv, capsys):
    """``main(argv)``: its exit status, stdout and stderr."""
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def blocks(shape, values, noise, dtype, seed=0):
    """Four quadrants of ``values`` with uniform noise: contours for the solve to keep."""
    rng = np.random.default_rng(seed)
    height, width = shape[:2]
    image = np.empty(shape)
    quadrants = [(slice(0, height // 2), slice(0, width // 2)),
                 (slice(0, height // 2), slice(width // 2, None)),
                 (slice(height // 2, None), slice(0, width // 2)),
                 (slice(height // 2, None), slice(width // 2, None))]
    for value, (rows, cols) in zip(values, quadrants):
        image[rows, cols] = value
    image = image + rng.uniform(-noise, noise, shape)
    return image.astype(dtype)


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
    # Three scales and the input, 4 px apart, with a caption band below; a 48 px panel
    # is drawn twice as large, each pixel a 2 × 2 square, for its caption to fit.
    assert strip.shape[1] == 4 * 96 + 3 * 4 and strip.shape[0] > 96
    np.testing.assert_array_equal(strip[:96, -96:], np.kron(image, np.ones((2, 2, 1),
                                                                           np.uint8)))
    coarsest = strip[:96, :96].reshape(-1, 3)
    assert (coarsest == coarsest[0]).all()


def test_a_small_images_path_is_drawn_enlarged_so_its_captions_fit(tmp_path, capsys):
    # A CIFAR-size image: each panel three times as large, pixel for pixel, so that a
    # caption ("t=… s=…") fits under it instead of running into the next.
    from PIL import ImageDraw
    image = blocks((30, 32, 3), (0, 255, 50, 200), 30, np.uint8)
    Image.fromarray(image).save(tmp_path / "small.png")
    code, _, _ = run(["path", tmp_path / "small.png", tmp_path / "strip.png", "--sparsities",
                      "1", "0.8", "-q"], capsys)
    strip = np.asarray(Image.open(tmp_path / "strip.png"))
    assert code == 0 and strip.shape == (90 + 16, 3 * (96 + 4) - 4, 3)
    np.testing.assert_array_equal(strip[:90, -96:], np.kron(image, np.ones((3, 3, 1),
                                                                           np.uint8)))
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    assert draw.textlength("t=99.9 s=0.80") < 96


# Files in their depth, mode and orientation.

def test_8_bit_grey_stays_8_bit_grey(tmp_path, capsys):
    image = blocks((20, 24), (30, 200, 90, 140), 12, np.uint8)
    Image.fromarray(image).save(tmp_path / "grey.png")
    code, out, _ = run(["smooth", tmp_path / "grey.png", tmp_path / "out.png",
                        "--sparsity", "0.8", "-q"], capsys)
    written = Image.open(tmp_path / "out.png")
    assert code == 0 and written.mode == "L" and "8-bit grey" in out
    np.testing.assert_array_equal(np.asarray(written), smooth_image(image, sparsity=0.8))


def test_16_bit_png_stays_16_bit_with_its_range(tmp_path, capsys):
    image = blocks((20, 24), (1000, 60000, 20000, 40000), 800, np.uint16)
    Image.fromarray(image).save(tmp_path / "deep.png")
    code, out, _ = run(["smooth", tmp_path / "deep.png", tmp_path / "out.png",
                        "--sparsity", "0.8", "-q"], capsys)
    written = Image.open(tmp_path / "out.png")
    values = np.asarray(written)
    assert code == 0 and written.mode == "I;16" and "16-bit grey" in out
    np.testing.assert_array_equal(values, smooth_image(image, sparsity=0.8))
    # Not clipped at 255: the four blocks keep their levels.
    assert (values > 255).mean() > 0.99
    assert image.min() <= values.min() and values.max() <= image.max()
    assert np.abs(values[:10, 12:].astype(float).mean() - 60000) < 500


def test_16_bit_tiff_into_jpeg_is_written_at_8_bits(tmp_path, capsys):
    image = blocks((16, 16), (1000, 60000, 20000, 40000), 800, np.uint16)
    Image.fromarray(image).save(tmp_path / "deep.tif")
    code, out, _ = run(["smooth", tmp_path / "deep.tif", tmp_path / "out.jpg",
                        "--sparsity", "0.8", "-q"], capsys)
    written = Image.open(tmp_path / "out.jpg")
    assert code == 0 and written.mode == "L" and "written at 8 bits" in out
    expected = smooth_image(image, sparsity=0.8) / 257
    assert np.abs(np.asarray(written) - expected).mean() < 2


def test_float_tiff_keeps_negative_values_and_values_above_one(tmp_path, capsys):
    image = blocks((20, 24), (-3.0, 5.0, 0.5, 2.0), 0.3, np.float32)
    Image.fromarray(image).save(tmp_path / "float.tif")
    code, out, _ = run(["smooth", tmp_path / "float.tif", tmp_path / "out.tif",
                        "--sparsity", "0.8", "-q"], capsys)
    written = Image.open(tmp_path / "out.tif")
    values = np.asarray(written)
    assert code == 0 and written.mode == "F" and "float grey" in out
    np.testing.assert_array_equal(values, smooth_image(image, sparsity=0.8))
    assert values.min() < -2.5 and values.max() > 4.5


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_passed_through_unchanged(tmp_path, capsys, mode):
    colour = blocks((20, 24, 3 if mode == "RGBA" else 1), (20, 220, 90, 160), 10, np.uint8)
    alpha = np.tile(np.linspace(0, 255, 24).astype(np.uint8), (20, 1))
    image = np.concatenate([colour, alpha[..., None]], axis=2)
    Image.fromarray(image).save(tmp_path / "alpha.png")
    code, out, _ = run(["smooth", tmp_path / "alpha.png", tmp_path / "out.png",
                        "--sparsity", "0.8", "-q"], capsys)
    written = Image.open(tmp_path / "out.png")
    values = np.asarray(written)
    assert code == 0 and written.mode == mode and "alpha passed through" in out
    np.testing.assert_array_equal(values[..., -1], alpha)
    expected = smooth_image(colour if mode == "RGBA" else colour[..., 0], sparsity=0.8)
    np.testing.assert_array_equal(values[..., :-1].squeeze(-1) if mode == "LA"
                                  else values[..., :-1], expected)


def test_palette_images_are_smoothed_as_rgb(tmp_path, capsys):
    rgb = blocks((20, 24, 3), (20, 220, 90, 160), 10, np.uint8)
    palette = Image.fromarray(rgb).quantize(12)
    palette.save(tmp_path / "palette.png")
    code, _, _ = run(["smooth", tmp_path / "palette.png", tmp_path / "out.png",
                      "--sparsity", "0.8", "-q"], capsys)
    written = Image.open(tmp_path / "out.png")
    assert code == 0 and written.mode == "RGB"
    expected = smooth_image(np.asarray(palette.convert("RGB")), sparsity=0.8)
    np.testing.assert_array_equal(np.asarray(written), expected)


def test_exif_rotated_jpeg_comes_out_upright(tmp_path, capsys):
    # Orientation 6: the stored pixels are shown turned 90° clockwise.
    # Top-left of the stored pixels bright: top-right once shown.
    stored = blocks((24, 40, 3), (235, 20, 20, 20), 8, np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    code, _, _ = run(["smooth", tmp_path / "phone.jpg", tmp_path / "out.jpg",
                      "--sparsity", "0.9", "-q"], capsys)
    written = Image.open(tmp_path / "out.jpg")
    values = np.asarray(written).astype(float)
    assert code == 0 and written.size == (24, 40) and values.shape == (40, 24, 3)
    assert written.getexif().get(0x0112) is None  # upright: no viewer turns it again
    assert values[:16, -8:].mean() > 200 and values[-16:, :8].mean() < 50


def test_path_of_a_16_bit_image_is_drawn_at_8_bits(tmp_path, capsys):
    image = blocks((16, 16), (1000, 60000, 20000, 40000), 800, np.uint16)
    Image.fromarray(image).save(tmp_path / "deep.png")
    code, _, _ = run(["path", tmp_path / "deep.png", tmp_path / "path.png",
                      "--sparsities", "1", "0.8", "-q"], capsys)
    strip = np.asarray(Image.open(tmp_path / "path.png"))
    assert code == 0 and strip.dtype == np.uint8
    # (a 16 px panel is drawn 6 times as large: see the test of small images)
    np.testing.assert_array_equal(strip[:96:6, -96::6, 0], np.rint(image / 257))


def test_files_follow_the_umask_and_a_replaced_file_keeps_its_mode(tmp_path, capsys):
    Image.fromarray(blocks((8, 8), (0, 255, 50, 200), 5, np.uint8)).save(tmp_path / "a.png")
    old = os.umask(0o022)
    try:
        run(["smooth", tmp_path / "a.png", tmp_path / "new.png", "--t", "1", "-q"], capsys)
        assert stat.S_IMODE(os.stat(tmp_path / "new.png").st_mode) == 0o644
        os.chmod(tmp_path / "new.png", 0o640)
        run(["smooth", tmp_path / "a.png", tmp_path / "new.png", "--t", "2", "-q"], capsys)
        assert stat.S_IMODE(os.stat(tmp_path / "new.png").st_mode) == 0o640
    finally:
        os.umask(old)
    assert sorted(os.listdir(tmp_path)) == ["a.png", "new.png"]


# Errors: one line naming the user's path, before any solve.

@pytest.fixture
def no_solve(monkeypatch):
    """Fail the test if anything is smoothed."""
    def solved(*args, **kwargs):
        raise AssertionError("the command solved before refusing")
    monkeypatch.setattr("isvs_graph.images.smooth_image", solved)
    monkeypatch.setattr("isvs_graph.images.smooth_images", solved)
    monkeypatch.setattr("isvs_graph.images.image_to_signal", solved)
    monkeypatch.setattr("isvs_graph._paths.path", solved)


def unwritable_folder(tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):  # root writes anywhere: say the folder is locked
        access = os.access
        monkeypatch.setattr(os, "access", lambda path, how: False if os.fspath(path) ==
                            str(folder) else access(path, how))
    return folder / "out.png"


def truncated_png(tmp_path):
    Image.fromarray(blocks((64, 64, 3), (0, 255, 50, 200), 40, np.uint8)).save(
        tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[:len(data) // 2])
    return tmp_path / "cut.png"


def nan_tiff(tmp_path):
    image = np.zeros((4, 4), dtype=np.float32)
    image[1, 2] = np.nan
    Image.fromarray(image).save(tmp_path / "nan.tif")
    return tmp_path / "nan.tif"


def sixteen_bit_rgb_tiff(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    tifffile.imwrite(tmp_path / "rgb16.tif", np.zeros((4, 4, 3), dtype=np.uint16))
    return tmp_path / "rgb16.tif"


def text_file(path):
    path.write_text("hello")
    return path


def make_folder(path):
    path.mkdir()
    return path


# (input, output) from tmp_path (and monkeypatch), the path the message names, and what
# it says.
FILE_ERRORS = {
    "missing input": (lambda d, m: (d / "missing.png", d / "out.png"), 0, "no such file"),
    "folder as input": (lambda d, m: (make_folder(d / "folder.png"), d / "out.png"), 0,
                        "is a folder, not an image file"),
    "truncated input": (lambda d, m: (truncated_png(d), d / "out.png"), 0,
                        "cannot decode the image"),
    "not an image": (lambda d, m: (text_file(d / "text.png"), d / "out.png"), 0,
                     "not an image file"),
    "NaN in the input": (lambda d, m: (nan_tiff(d), d / "out.tif"), 0, "NaN or infinite"),
    "16-bit colour": (lambda d, m: (sixteen_bit_rgb_tiff(d), d / "out.tif"), 0,
                      "16-bit colour"),
    "missing output folder": (lambda d, m: (truncated_png(d), d / "no" / "out.png"), 1,
                              "the folder .*no does not exist"),
    "file as output folder": (lambda d, m: (truncated_png(d), d / "cut.png" / "out.png"), 1,
                              "cut.png is not a folder"),
    "folder as output": (lambda d, m: (truncated_png(d), make_folder(d / "out.png")), 1,
                         "is a folder; name a file"),
    "unknown extension": (lambda d, m: (truncated_png(d), d / "out.xyz"), 1,
                          r"unknown image extension '\.xyz'"),
    "no extension": (lambda d, m: (truncated_png(d), d / "out"), 1,
                     "no extension to name the format"),
    "unwritable folder": (lambda d, m: (truncated_png(d), unwritable_folder(d, m)), 1,
                          "cannot write in the folder .*locked"),
}


@pytest.mark.parametrize("command", [["smooth", "--t", "1"], ["path"]])
@pytest.mark.parametrize("case", FILE_ERRORS)
def test_file_errors_are_one_line_naming_the_path_before_any_solve(
        tmp_path, monkeypatch, capsys, no_solve, command, case):
    files, named, says = FILE_ERRORS[case]
    paths = files(tmp_path, monkeypatch)
    before = sorted(os.listdir(tmp_path))
    code, out, err = run([command[0], *paths, *command[1:], "-q"], capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"isvs-graph: error: {paths[named]}: ")
    assert re.search(says, err)
    assert "Traceback" not in err and ".isvs-tmp" not in err
    assert sorted(os.listdir(tmp_path)) == before  # nothing written


@pytest.mark.parametrize("name, output, says", [
    ("float.tif", "out.png", "PNG cannot hold float grey values; write .tif"),
    ("alpha.png", "out.jpg", "JPEG has no alpha channel, and the input has one"),
    ("float.tif", "out.jpg", "JPEG cannot hold float grey values"),
])
def test_what_the_output_format_cannot_hold_is_refused_before_any_solve(
        tmp_path, capsys, no_solve, name, output, says):
    Image.fromarray(np.zeros((4, 4), np.float32)).save(tmp_path / "float.tif")
    Image.fromarray(np.zeros((4, 4, 4), np.uint8)).save(tmp_path / "alpha.png")
    code, _, err = run(["smooth", tmp_path / name, tmp_path / output, "--t", "1"], capsys)
    assert code == 1 and err.startswith(f"isvs-graph: error: {tmp_path / output}: ")
    assert says in err and err.count("\n") == 1
    assert not (tmp_path / output).exists()


def test_a_failed_write_names_the_users_file_not_a_temporary(tmp_path, monkeypatch, capsys):
    import isvs_graph._image_files as image_files
    Image.fromarray(blocks((8, 8), (0, 255, 50, 200), 5, np.uint8)).save(tmp_path / "a.png")

    def refuse(path):
        raise PermissionError(13, "Permission denied", f"{path}.isvs-tmp-host-1-ab")
    monkeypatch.setattr(image_files, "atomic_write", refuse)
    code, out, err = run(["smooth", tmp_path / "a.png", tmp_path / "b.png", "--t", "1",
                          "-q"], capsys)
    assert code == 1 and out == ""
    assert err == (f"isvs-graph: error: {tmp_path / 'b.png'}: cannot write (Permission "
                   "denied)\n")


@pytest.mark.parametrize("arguments, says", [
    (["--sparsity", "1.5"], "sparsity must lie in [0, 1], got 1.5"),
    (["--sparsity", "-0.1"], "sparsity must lie in [0, 1], got -0.1"),
    (["--sparsity", "lots"], "sparsity must be a number, got 'lots'"),
    (["--t", "-1"], "t must be a finite number >= 0, got -1"),
    (["--t", "nan"], "t must be a finite number >= 0, got nan"),
    (["--t", "1e400"], "t must be a finite number >= 0, got 1e400"),
    (["--t", "1", "--kappa", "0"], "kappa must be a finite number > 0, got 0"),
    (["--t", "1", "--nu", "-2"], "nu must be a finite number > 0, got -2"),
    (["--t", "1", "--tol", "1"], "tol must lie in (0, 1)"),
    (["--t", "1", "--max-iter", "-1"], "argument --max-iter: max-iter must be >= 1, got -1"),
    (["--t", "1", "--max-iter", "0"], "argument --max-iter: max-iter must be >= 1, got 0"),
    (["--t", "1", "--max-iter", "2.5"], "max-iter must be a whole number, got '2.5'"),
    (["--t", "1", "--connectivity", "5"], "invalid choice: 5"),
    (["--t", "1", "--mode", "both"], "invalid choice: 'both'"),
    (["--t", "1", "--sparsity", "0.5"], "not allowed with argument"),
    ([], "one of the arguments --t --sparsity is required"),
    (["--t", "1", "--colour"], "unrecognized arguments: --colour"),
])
def test_usage_errors_exit_2_before_any_work(photo_file, tmp_path, capsys, no_solve,
                                             arguments, says):
    filename, _ = photo_file
    code, out, err = run(["smooth", filename, tmp_path / "x.png", *arguments], capsys)
    assert code == 2 and out == ""
    assert re.match(r"isvs-graph( smooth)?: error: ", err.splitlines()[-1])
    assert says in err and "Traceback" not in err and "np." not in err
    assert not (tmp_path / "x.png").exists()


def test_usage_errors_of_path_and_of_the_command_exit_2(photo_file, tmp_path, capsys,
                                                        no_solve):
    filename, _ = photo_file
    code, _, err = run(["path", filename, tmp_path / "x.png", "--sparsities", "0.9", "1.2"],
                       capsys)
    assert code == 2 and "sparsity must lie in [0, 1], got 1.2" in err
    code, _, err = run(["path", filename], capsys)
    assert code == 2 and "required: output" in err
    code, _, err = run(["blur", filename], capsys)
    assert code == 2 and "invalid choice: 'blur'" in err
    assert run([], capsys)[0] == 2


def test_values_the_solver_refuses_exit_2_in_one_line(photo_file, tmp_path, capsys):
    filename, _ = photo_file
    code, out, err = run(["smooth", filename, tmp_path / "x.png", "--t", "1", "--nu",
                          "1e-12", "-q"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("isvs-graph: error: this problem is stiff")
    assert "np.float64" not in err and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_path_refuses_to_overwrite_its_input(photo_file, capsys, no_solve):
    filename, _ = photo_file
    before = filename.read_bytes()
    for output in (filename, filename.parent / "." / filename.name):
        code, out, err = run(["path", filename, output, "-q"], capsys)
        assert code == 2 and out == ""
        assert err.endswith(f"error: {output}: would overwrite its input; name another "
                            "OUTPUT\n")
    assert filename.read_bytes() == before


@pytest.mark.parametrize("command", [["smooth", "--t", "1"],
                                     ["path", "--sparsities", "1", "0.9"]])
@pytest.mark.parametrize("output, side", [("wide.webp", 16383), ("wide.jpg", 65500)])
def test_a_format_too_small_for_the_image_is_refused_before_any_solve(
        tmp_path, capsys, no_solve, command, output, side):
    # WebP and JPEG hold images of at most 16,383 and 65,500 pixels a side; `path`
    # draws its scales side by side, so a narrower input is already too wide for it.
    width = side + 1 if command[0] == "smooth" else side // 3
    Image.fromarray(np.zeros((2, width, 3), np.uint8)).save(tmp_path / "wide.png")
    code, out, err = run([command[0], tmp_path / "wide.png", tmp_path / output,
                          *command[1:], "-q"], capsys)
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith(f"isvs-graph: error: {tmp_path / output}: ")
    assert f"holds at most {side:,} pixels a side" in err and "write .png" in err
    assert not (tmp_path / output).exists()


def test_an_encoders_refusal_is_a_file_error_naming_the_path(tmp_path, monkeypatch,
                                                              capsys):
    from PIL import Image as PILImage
    Image.fromarray(blocks((8, 8, 3), (0, 255, 50, 200), 5, np.uint8)).save(tmp_path / "a.png")

    def refuse(*args, **kwargs):
        raise ValueError("encoding error 5")
    monkeypatch.setattr(PILImage.Image, "save", refuse)
    code, out, err = run(["smooth", tmp_path / "a.png", tmp_path / "b.webp", "--t", "1",
                          "-q"], capsys)
    assert code == 1 and out == ""
    assert err == f"isvs-graph: error: {tmp_path / 'b.webp'}: cannot write (encoding " \
        "error 5)\n"
    assert os.listdir(tmp_path) == ["a.png"]


@pytest.mark.parametrize("inputs", ["one", "many"])
def test_a_reader_that_quits_early_leaves_every_file_written(many, tmp_path, inputs):
    # `isvs-graph smooth … | true`: the pipe is closed before the first line is written.
    folder, images = many
    names = ["a.png"] if inputs == "one" else sorted(images)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    targets = [str(out_dir / "a.png")] if inputs == "one" else ["-o", str(out_dir)]
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "isvs_graph", "smooth", *(str(folder / n) for n in names),
             *targets, "--t", "1", "-q"], stdout=write, stderr=subprocess.PIPE, text=True,
            cwd=os.path.dirname(os.path.dirname(isvs_graph.__file__)), timeout=300)
    finally:
        os.close(write)
    assert done.returncode == 0 and done.stderr == ""
    assert sorted(os.listdir(out_dir)) == names


def test_help_exits_0(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and "Exit status: 0 done, 1" in out
    code, out, _ = run(["smooth", "--help"], capsys)
    assert code == 0 and "--sparsity" in out and "alpha" in out


def test_warnings_are_one_line(tmp_path, capsys):
    Image.new("L", (6, 6), 90).save(tmp_path / "flat.png")  # a flat image cannot split
    with warnings.catch_warnings():
        warnings.simplefilter("always", isvs_graph.ConvergenceWarning)
        code, out, err = run(["smooth", tmp_path / "flat.png", tmp_path / "out.png",
                              "--sparsity", "0.5", "-q"], capsys)
    assert code == 0 and out.startswith("wrote")
    assert err.startswith("isvs-graph: warning: ") and err.count("\n") == 1
    assert np.asarray(Image.open(tmp_path / "out.png")).tolist() == [[90] * 6] * 6


def test_a_short_image_is_read_as_the_file_lays_it_out_without_a_word(tmp_path, capsys):
    image = blocks((3, 40, 3), (20, 220, 90, 160), 10, np.uint8)  # 3 × W × 3: no doubt
    Image.fromarray(image).save(tmp_path / "strip.png")
    code, _, err = run(["smooth", tmp_path / "strip.png", tmp_path / "out.png", "--t", "2",
                        "-q"], capsys)
    assert code == 0 and err == ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the API may say the array could be C × H × W
        expected = smooth_image(image, t=2.0)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out.png")), expected)


# Every output created where it is to be written before any solve; an existing one kept.

def test_an_output_that_cannot_be_created_is_refused_before_any_solve(
        photo_file, tmp_path, monkeypatch, capsys, no_solve):
    filename, _ = photo_file
    out = tmp_path / "out.png"
    real_open = os.open

    def refuse(path, flags, *args):
        if os.fspath(path) == str(out):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, flags, *args)
    monkeypatch.setattr(os, "open", refuse)
    before = sorted(os.listdir(tmp_path))
    code, out_text, err = run(["smooth", filename, out, "--sparsity", "0.8"], capsys)
    assert code == 1 and out_text == ""
    assert err == f"isvs-graph: error: {out}: cannot write (Permission denied)\n"
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs Linux's /sys")
def test_sys_is_refused_at_once_naming_the_path(photo_file, capsys, no_solve):
    code, _, err = run(["smooth", photo_file[0], "/sys/o.png", "--sparsity", "0.8"], capsys)
    assert code == 1 and err.startswith("isvs-graph: error: /sys/o.png: cannot write")
    assert not os.path.exists("/sys/o.png")


def chattr(flag, path):
    """``chattr flag path``; skips the test where the flags cannot be set."""
    try:
        done = subprocess.run(["chattr", flag, str(path)], capture_output=True)
    except FileNotFoundError:
        pytest.skip("no chattr")
    if done.returncode:
        pytest.skip(f"chattr {flag} refused: {done.stderr.decode().strip()}")


@pytest.mark.parametrize("flag, says", [("+i", "the file is immutable"),
                                        ("+a", "the file is append-only")])
def test_an_existing_file_that_cannot_be_replaced_is_refused_before_any_solve(
        photo_file, tmp_path, capsys, no_solve, flag, says):
    filename, _ = photo_file
    out = tmp_path / "kept.png"
    out.write_bytes(b"old content")
    chattr(flag, out)
    try:
        code, _, err = run(["smooth", filename, out, "--sparsity", "0.8"], capsys)
    finally:
        chattr(flag.replace("+", "-"), out)
    assert code == 1 and err.startswith(f"isvs-graph: error: {out}: cannot be replaced")
    assert says in err and err.count("\n") == 1
    assert out.read_bytes() == b"old content"


@pytest.mark.parametrize("flag, says", [("+a", "it is append-only")])
def test_a_folder_that_lets_no_file_be_renamed_in_is_refused_leaving_nothing(
        photo_file, tmp_path, capsys, no_solve, flag, says):
    # An append-only folder takes a new file but never lets it go again: checked first,
    # before the test file the check would create (and could not remove) is made. (An
    # immutable one takes no file: refused as not writable, before.)
    filename, _ = photo_file
    folder = tmp_path / "held"
    folder.mkdir()
    chattr(flag, folder)
    try:
        code, _, err = run(["smooth", filename, folder / "out.png", "--t", "1"], capsys)
        left = os.listdir(folder)
    finally:
        chattr(flag.replace("+", "-"), folder)
    assert code == 1 and err.startswith(f"isvs-graph: error: {folder / 'out.png'}: cannot "
                                        f"write in the folder {folder}: {says}")
    assert err.count("\n") == 1 and left == []


def test_checking_an_existing_output_leaves_it_as_it_was(photo_file, tmp_path, capsys,
                                                         no_solve):
    filename, _ = photo_file
    folder = tmp_path / "out"
    folder.mkdir()
    kept = folder / "photo.png"
    kept.write_bytes(b"old content")
    os.utime(kept, (1_000_000_000, 1_000_000_000))
    before = os.stat(kept)
    # The second input fails its check after the first output was checked.
    code, _, err = run(["smooth", filename, truncated_png(tmp_path), "--out-dir", folder,
                        "--t", "1"], capsys)
    assert code == 1 and "cut.png: cannot decode the image" in err
    after = os.stat(kept)
    assert kept.read_bytes() == b"old content"
    assert (after.st_ino, after.st_mtime, after.st_mode) == \
        (before.st_ino, before.st_mtime, before.st_mode)
    assert os.listdir(folder) == ["photo.png"]  # no temporary left


# Many inputs in one process: --out-dir.

@pytest.fixture
def many(tmp_path):
    """Five inputs of three sizes and modes: 8-bit RGB (two sizes), grey, RGBA."""
    folder = tmp_path / "in"
    folder.mkdir()
    images = {"a.png": blocks((24, 20, 3), (0, 255, 50, 200), 30, np.uint8, seed=1),
              "b.png": blocks((24, 20, 3), (90, 10, 250, 120), 30, np.uint8, seed=2),
              "c.png": blocks((16, 30, 3), (0, 255, 50, 200), 30, np.uint8, seed=3),
              "grey.png": blocks((18, 18), (0, 255, 50, 200), 30, np.uint8, seed=4),
              "alpha.png": np.dstack([blocks((24, 20, 3), (20, 80, 140, 200), 30, np.uint8,
                                             seed=5), np.full((24, 20), 77, np.uint8)])}
    for name, image in images.items():
        Image.fromarray(image).save(folder / name)
    return folder, images


def test_many_inputs_and_globs_are_written_to_the_out_dir(many, tmp_path, capsys):
    folder, images = many
    out = tmp_path / "new" / "out"  # made, parents too
    code, text, err = run(["smooth", folder / "[ab].png", folder / "c.png",
                           str(folder / "*.png"), "--out-dir", out, "--sparsity", "0.8",
                           "-q"], capsys)
    assert code == 0 and err == ""
    assert sorted(os.listdir(out)) == sorted(images)  # each input once
    assert text.count("wrote ") == len(images)
    for name, image in images.items():
        written = np.asarray(Image.open(out / name))
        colour = image[..., :3] if name == "alpha.png" else image
        expected = smooth_image(colour, sparsity=0.8)  # as one by one, to the bit
        if name == "alpha.png":
            np.testing.assert_array_equal(written[..., 3], image[..., 3])
            written = written[..., :3]
        np.testing.assert_array_equal(written, expected)


def test_many_inputs_show_one_progress_bar_over_the_files(many, tmp_path, capsys,
                                                          monkeypatch):
    folder, images = many
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal
    code, _, err = run(["smooth", *sorted(folder.iterdir()), "--out-dir", tmp_path / "o",
                        "--t", "2"], capsys)
    assert code == 0
    counts = re.findall(r"(\d+)/(\d+) \[", err)
    assert counts and {total for _, total in counts} == {str(len(images))}
    assert f"{len(images)}/{len(images)}" in err


def test_no_progress_bar_goes_into_a_redirected_log(many, photo_file, tmp_path, capsys):
    """stderr is no terminal (a file, a pipe): the bars would fill it with redraws."""
    folder, _ = many
    code, _, err = run(["smooth", *sorted(folder.iterdir()), "--out-dir", tmp_path / "o",
                        "--t", "2"], capsys)
    code_one, _, err_one = run(["smooth", photo_file[0], tmp_path / "one.png", "--t", "2"],
                               capsys)
    assert code == code_one == 0
    assert "\r" not in err + err_one and "Split LBI" not in err_one and "/" not in err


def test_ext_names_the_format_of_every_output(many, tmp_path, capsys):
    folder, images = many
    code, _, _ = run(["smooth", folder / "a.png", folder / "grey.png", "-o", tmp_path / "o",
                      "--ext", "tif", "--t", "1", "-q"], capsys)
    assert code == 0 and sorted(os.listdir(tmp_path / "o")) == ["a.tif", "grey.tif"]
    assert Image.open(tmp_path / "o" / "a.tif").format == "TIFF"


def test_a_batch_warning_names_its_files(tmp_path, capsys):
    for name in ("flat1.png", "flat2.png"):
        Image.new("L", (6, 6), 90).save(tmp_path / name)
    with warnings.catch_warnings():
        warnings.simplefilter("always", isvs_graph.ConvergenceWarning)
        code, _, err = run(["smooth", tmp_path / "flat1.png", tmp_path / "flat2.png",
                            "--out-dir", tmp_path / "o", "--sparsity", "0.5", "-q"], capsys)
    assert code == 0 and err.count("\n") == 1
    assert err.startswith(f"isvs-graph: warning: {tmp_path / 'flat1.png'}, "
                          f"{tmp_path / 'flat2.png'}: 2 of 2 signal(s) cannot reach")


def test_a_batch_warning_names_only_the_files_it_is_about(tmp_path, capsys):
    rng = np.random.default_rng(3)
    names = [f"{i}.png" for i in range(7)]
    for i, name in enumerate(names):  # 1, 2, 4, 5 and 6 are flat: at the floor
        values = rng.integers(0, 256, (6, 6)) if i in (0, 3) else np.full((6, 6), 90)
        Image.fromarray(values.astype(np.uint8)).save(tmp_path / name)
    with warnings.catch_warnings():
        warnings.simplefilter("always", isvs_graph.ConvergenceWarning)
        code, _, err = run(["smooth", *(tmp_path / name for name in names),
                            "--out-dir", tmp_path / "o", "--sparsity", "0.5", "-q"], capsys)
    assert code == 0 and err.count("\n") == 1
    shown = ", ".join(str(tmp_path / f"{i}.png") for i in (1, 2, 4))
    assert err.startswith(f"isvs-graph: warning: {shown} and 2 more: 5 of 7 signal(s) "
                          "cannot reach")


def test_every_file_at_the_floor_is_named_stacks_and_lone_images_too(tmp_path, capsys):
    pages = [Image.new("L", (5, 4), 90) for _ in range(3)]
    for name in ("sA.tif", "sB.tif"):  # flat stacks: volumes, smoothed one by one
        pages[0].save(tmp_path / name, save_all=True, append_images=pages[1:])
    Image.new("L", (6, 6), 90).save(tmp_path / "lone.png")  # the only 2-D input
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        code, _, err = run(["smooth", *(tmp_path / n for n in ("sA.tif", "sB.tif", "lone.png")),
                            "--out-dir", tmp_path / "o", "--sparsity", "0.5", "-q"], capsys)
    assert code == 0
    lines = err.splitlines()
    assert [line.split(": 1 of 1 signal(s) cannot reach")[0] for line in lines] == [
        f"isvs-graph: warning: {tmp_path / name}" for name in ("sA.tif", "sB.tif", "lone.png")]


@pytest.mark.parametrize("arguments, says", [
    (["a.png"], "give INPUT OUTPUT, or the inputs and --out-dir DIR; got one path"),
    (["a.png", "b.png", "c.png"], "give INPUT OUTPUT, or the inputs and --out-dir DIR; "
                                  "got 3 paths"),
    (["a.png", "b.png", "--ext", ".tif"], "--ext needs --out-dir DIR"),
    (["a.png", "-o", "OUT", "--ext", "xyz"], "--ext: unknown image extension '.xyz'"),
    (["a.png", "sub/a.png", "-o", "OUT"], "a.png and sub/a.png would both be written to "
                                          "OUT/a.png"),
    (["a.png", "-o", "."], "./a.png: would overwrite its input; choose another --out-dir"),
    (["a.png", "./a.png"], "./a.png: would overwrite its input; name another OUTPUT"),
    (["a.png", "-o", "OUT", "--max-iter", "0"], "max-iter must be >= 1, got 0"),
    (["a.png", "-o", ""], "--out-dir: an empty name names no folder"),
])
def test_usage_errors_of_many_inputs_exit_2_before_any_work(
        many, tmp_path, monkeypatch, capsys, no_solve, arguments, says):
    folder, _ = many
    (folder / "sub").mkdir()
    Image.open(folder / "a.png").save(folder / "sub" / "a.png")
    monkeypatch.chdir(folder)
    before = sorted(os.listdir(folder))
    code, out, err = run(["smooth", *arguments, "--t", "1"], capsys)
    assert code == 2 and out == ""
    last = err.splitlines()[-1]
    assert last.startswith("isvs-graph smooth: error: ") and says in last
    assert sorted(os.listdir(folder)) == before


def test_a_pattern_that_matches_nothing_is_a_file_error(tmp_path, capsys, no_solve):
    code, _, err = run(["smooth", tmp_path / "*.tif", "-o", tmp_path / "o", "--t", "1"],
                       capsys)
    assert code == 1 and err == f"isvs-graph: error: {tmp_path / '*.tif'}: no file matches\n"
    assert not (tmp_path / "o").exists()


def test_every_output_is_checked_before_any_solve_and_a_made_folder_removed(
        many, tmp_path, monkeypatch, capsys, no_solve):
    folder, _ = many
    out = tmp_path / "made" / "out"
    real_open = os.open

    def refuse(path, flags, *args):  # the last output cannot be created
        if os.fspath(path) == str(out / "grey.png"):
            raise OSError(28, "No space left on device", os.fspath(path))
        return real_open(path, flags, *args)
    monkeypatch.setattr(os, "open", refuse)
    code, _, err = run(["smooth", folder / "a.png", folder / "c.png", folder / "grey.png",
                        "-o", out, "--t", "1"], capsys)
    assert code == 1
    assert err == (f"isvs-graph: error: {out / 'grey.png'}: cannot write (No space left on "
                   "device)\n")
    assert not (tmp_path / "made").exists()  # the folders it made are gone again


def test_an_out_dir_that_is_a_file_is_refused(many, tmp_path, capsys, no_solve):
    folder, _ = many
    (tmp_path / "o").write_text("x")
    code, _, err = run(["smooth", folder / "a.png", "-o", tmp_path / "o", "--t", "1"],
                       capsys)
    assert code == 1 and err.startswith(f"isvs-graph: error: {tmp_path / 'o'}: ")


# Starting fast.

def test_the_help_defaults_are_the_solvers():
    from isvs_graph import _solver, cli
    assert cli.DEFAULT_KAPPA == _solver.DEFAULT_KAPPA
    assert cli.DEFAULT_TOL == _solver.DEFAULT_TOL
    assert cli.DEFAULT_MAX_ITER == _solver.DEFAULT_MAX_ITER


def loaded_after(code):
    heavy = ("torch", "torch_geometric", "numba")
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\n"
         f"print(sorted(m for m in {heavy!r} if m in sys.modules))"],
        capture_output=True, text=True, check=True)
    return result.stdout.strip().splitlines()[-1]


def test_help_imports_neither_torch_nor_numba():
    if loaded_after("import isvs_graph") != "[]":
        pytest.xfail("import isvs_graph itself still imports torch (issue 15: the lazy "
                     "package import)")
    code = ("import contextlib, io\nfrom isvs_graph.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert [main(['--help']), main(['smooth', '--help']),\n"
            "            main(['path', '--help'])] == [0, 0, 0]")
    assert loaded_after(code) == "[]"


@pytest.mark.parametrize("module", ["isvs_graph", "isvs_graph.cli"])
def test_module_entry_points_run(module, tmp_path):
    result = subprocess.run([sys.executable, "-m", module, "--help"],
                            capture_output=True, text=True, check=True)
    assert "smooth" in result.stdout and "path" in result.stdout
    result = subprocess.run([sys.executable, "-m", module, "smooth", "missing.png",
                             "out.png", "--t", "1"], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "isvs-graph: error: missing.png: no such file\n"


# ---------------------------------------------------------------- TIFF stacks (volumes)

def stack_file(path, volume):
    """A multi-page TIFF of ``volume`` (``D × H × W`` or ``D × H × W × C``)."""
    pages = [Image.fromarray(page) for page in volume]
    pages[0].save(path, save_all=True, append_images=pages[1:])
    return path


def noisy_blobs(dtype=np.uint8, channels=None):
    from skimage import data
    blobs = data.binary_blobs(length=16, n_dim=3, volume_fraction=0.3, rng=1)
    rng = np.random.default_rng(2)
    volume = 40 + 150 * blobs + 10 * rng.random(blobs.shape)
    if channels:
        volume = np.stack([volume, 255 - volume, volume / 2][:channels], axis=-1)
    return volume.round().astype(dtype)


@pytest.mark.parametrize("dtype,channels", [(np.uint8, None), (np.uint16, None),
                                            (np.float32, None), (np.uint8, 3)])
def test_a_tiff_stack_is_smoothed_as_a_volume_and_written_as_one(tmp_path, capsys, dtype,
                                                                   channels):
    volume = noisy_blobs(dtype, channels)
    source = stack_file(tmp_path / "stack.tif", volume)
    code, out, _ = run(["smooth", source, tmp_path / "out.tif", "--t", "8", "-q"], capsys)
    assert code == 0 and "16×16×16 (16 pages)" in out
    from isvs_graph._image_files import read_image
    got, info = read_image(tmp_path / "out.tif")
    assert info.frames == 16 and got.dtype == volume.dtype and got.shape == volume.shape
    expected = smooth_image(volume, t=8.0, channel_axis=None if channels is None else -1)
    np.testing.assert_array_equal(got, expected)
    assert np.abs(got.astype(float) - volume).mean() > 5  # smoothed, not copied


def test_an_image_refuses_a_volume_connectivity(photo_file, tmp_path, capsys):
    code, _, err = run(["smooth", photo_file[0], tmp_path / "out.png", "--t", "1",
                        "--connectivity", "6"], capsys)
    assert code == 2 and "is an image; --connectivity must be 4 or 8 for it" in err
    # The same refusal from the solver, on `path`: the same status.
    code, _, err = run(["path", photo_file[0], tmp_path / "strip.png", "--connectivity",
                        "6"], capsys)
    assert code == 2 and err.count("\n") == 1


def test_a_stack_takes_a_volume_connectivity_and_a_tiff_output(tmp_path, capsys):
    source = stack_file(tmp_path / "stack.tif", noisy_blobs())
    code, _, err = run(["smooth", source, tmp_path / "out.tif", "--t", "8",
                        "--connectivity", "8"], capsys)
    assert code == 2 and "--connectivity must be 6, 18 or 26 for it" in err
    code, _, err = run(["smooth", source, tmp_path / "out.png", "--t", "8"], capsys)
    assert code == 1 and "stack of 16 pages (a volume), which PNG cannot hold" in err
    code, _, err = run(["path", source, tmp_path / "strip.png"], capsys)
    assert code == 1 and "is a stack of 16 pages" in err
    assert not (tmp_path / "out.tif").exists() and not (tmp_path / "strip.png").exists()
    code, _, _ = run(["smooth", source, tmp_path / "out.tif", "--t", "8",
                      "--connectivity", "26", "-q"], capsys)
    assert code == 0


def test_a_stack_whose_pages_differ_is_refused(tmp_path, capsys):
    pages = [Image.new("L", (8, 8), 0), Image.new("L", (8, 6), 0)]
    pages[0].save(tmp_path / "odd.tif", save_all=True, append_images=pages[1:])
    code, _, err = run(["smooth", tmp_path / "odd.tif", tmp_path / "out.tif", "--t", "1"],
                       capsys)
    assert code == 1 and "page 2 of the TIFF stack is L 8×6, unlike page 1" in err


@pytest.mark.parametrize("channels", [1, 3])
def test_a_stack_with_alpha_passes_the_alpha_through(tmp_path, capsys, channels):
    # Grey + alpha and RGBA stacks: the colour is smoothed as a volume, the alpha kept.
    colour = noisy_blobs(np.uint8, None if channels == 1 else channels)
    alpha = np.broadcast_to(np.linspace(0, 255, 16).astype(np.uint8), (16, 16, 16))
    grey = colour if channels == 1 else None
    layers = [colour[..., None] if grey is not None else colour, alpha[..., None]]
    source = stack_file(tmp_path / "alpha.tif", np.concatenate(layers, axis=-1))
    code, out, _ = run(["smooth", source, tmp_path / "out.tif", "--t", "8"], capsys)
    assert code == 0 and "alpha passed through" in out
    from isvs_graph._image_files import read_image
    got, info = read_image(tmp_path / "out.tif")
    assert info.frames == 16 and info.alpha and got.shape == (16, 16, 16, channels + 1)
    np.testing.assert_array_equal(got[..., -1], alpha)
    expected = smooth_image(colour, t=8.0, channel_axis=None if channels == 1 else -1)
    np.testing.assert_array_equal(got[..., :-1].reshape(expected.shape), expected)
