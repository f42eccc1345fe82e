"""Image files read and written as they are (isvs_graph._image_files): bit depth, float
values, alpha, palettes, EXIF orientation, file modes; and what is refused."""

import os
import stat
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from isvs_graph._image_files import (ImageFileError, ImageInfo, check_output, join_alpha,
                                     read_image, split_alpha, to_mode, write_image)


def ramp(shape, high, dtype):
    values = np.linspace(0, high, int(np.prod(shape)))
    return np.rint(values).astype(dtype).reshape(shape)


def png_bytes(width, height, bit_depth, colour_type, samples):
    """A PNG written by hand, for what Pillow cannot write (16-bit colour)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = samples.astype(">u2" if bit_depth == 16 else "u1").reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)  # filter 0 on every row
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("name, array, mode", [
    ("grey.png", ramp((5, 7), 255, np.uint8), "L"),
    ("rgb.png", ramp((5, 7, 3), 255, np.uint8), "RGB"),
    ("grey16.png", ramp((5, 7), 65535, np.uint16), "I;16"),
    ("grey16.tif", ramp((5, 7), 65535, np.uint16), "I;16"),
    ("rgba.png", ramp((5, 7, 4), 255, np.uint8), "RGBA"),
    ("la.png", ramp((5, 7, 2), 255, np.uint8), "LA"),
    ("la.tif", ramp((5, 7, 2), 255, np.uint8), "LA"),
    ("rgb.tif", ramp((5, 7, 3), 255, np.uint8), "RGB"),
    ("int32.tif", ramp((5, 7), 2 ** 20, np.int32) - 2 ** 19, "I"),
])
def test_files_round_trip_by_value(tmp_path, name, array, mode):
    Image.fromarray(array).save(tmp_path / name)
    read, info = read_image(tmp_path / name)
    assert info.mode == mode and read.dtype == array.dtype
    np.testing.assert_array_equal(read, array)
    write_image(tmp_path / f"out_{name}", read, info)
    again, again_info = read_image(tmp_path / f"out_{name}")
    assert again_info.mode == mode
    np.testing.assert_array_equal(again, array)


def test_sixteen_bits_keep_values_above_255(tmp_path):
    array = np.array([[0, 300, 1000], [40000, 65535, 7]], dtype=np.uint16)
    Image.fromarray(array).save(tmp_path / "a.png")
    read, info = read_image(tmp_path / "a.png")
    assert info.description == "16-bit grey"
    assert read.tolist() == array.tolist()


def test_float_tiffs_keep_negative_values_and_values_above_one(tmp_path):
    array = np.array([[-2.5, 0.0, 0.25], [1.0, 3.75, 1e6]], dtype=np.float32)
    Image.fromarray(array).save(tmp_path / "f.tif")
    read, info = read_image(tmp_path / "f.tif")
    assert info.mode == "F" and read.dtype == np.float32
    assert read.tolist() == array.tolist()
    # Float arrays of another precision are written as float32, not clipped.
    write_image(tmp_path / "g.tif", read.astype(np.float64) * 2, info)
    assert read_image(tmp_path / "g.tif")[0].tolist() == (2 * array).tolist()


def test_big_endian_sixteen_bits_come_out_native(tmp_path):
    array = ramp((4, 6), 65535, np.uint16)
    Image.fromarray(array).save(tmp_path / "a.tif")  # Pillow writes little-endian
    big = Image.frombytes("I;16B", (6, 4), array.astype(">u2").tobytes())
    big.save(tmp_path / "b.tif")
    for name in ("a.tif", "b.tif"):
        read, info = read_image(tmp_path / name)
        assert info.mode == "I;16" and read.dtype == np.dtype(np.uint16)
        assert read.tolist() == array.tolist()


def test_palette_images_come_out_rgb_or_rgba_with_their_transparency(tmp_path):
    rgb = ramp((6, 8, 3), 255, np.uint8)
    palette = Image.fromarray(rgb).quantize(16)
    palette.save(tmp_path / "p.png")
    read, info = read_image(tmp_path / "p.png")
    assert (info.file_mode, info.mode, read.shape) == ("P", "RGB", (6, 8, 3))
    np.testing.assert_array_equal(read, np.asarray(palette.convert("RGB")))
    palette.info["transparency"] = 0
    palette.save(tmp_path / "pt.png", transparency=0)
    read, info = read_image(tmp_path / "pt.png")
    assert info.mode == "RGBA" and read.shape == (6, 8, 4)
    index = np.asarray(palette)
    assert ((read[..., 3] == 0) == (index == 0)).all()


def test_grey_and_rgb_with_a_transparent_colour_get_alpha(tmp_path):
    grey = ramp((4, 4), 255, np.uint8)
    Image.fromarray(grey).save(tmp_path / "g.png", transparency=int(grey[0, 0]))
    read, info = read_image(tmp_path / "g.png")
    assert info.mode == "LA" and read[0, 0, 1] == 0 and read[1, 1, 1] == 255


def test_bilevel_images_come_out_8_bit_grey(tmp_path):
    Image.fromarray(np.eye(4, dtype=bool)).save(tmp_path / "b.png")
    read, info = read_image(tmp_path / "b.png")
    assert info.mode == "L" and read.tolist() == (255 * np.eye(4, dtype=int)).tolist()


def test_exif_orientation_is_applied(tmp_path):
    # Orientation 6: the stored pixels are shown turned 90° clockwise.
    stored = np.zeros((40, 64, 3), dtype=np.uint8)
    stored[:20, :32] = 255  # top-left quadrant white
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    read, info = read_image(tmp_path / "phone.jpg")
    assert read.shape == (64, 40, 3)
    shown = np.rot90(stored, k=-1)  # clockwise: top-left goes top-right
    assert np.abs(read.astype(int) - shown).mean() < 3
    assert read[:28, -16:].mean() > 240 and read[-28:, :16].mean() < 15
    write_image(tmp_path / "out.jpg", read, info)
    out = Image.open(tmp_path / "out.jpg")
    assert out.size == (40, 64) and out.getexif().get(0x0112) is None


def test_a_quarter_turned_tiff_is_read_upright_or_refused(tmp_path):
    # Pillow decodes an uncompressed TIFF whose orientation swaps width and height with
    # the sides swapped (scrambled): refused. Compressed, it comes out upright; a half
    # turn (3) keeps the sides and is read upright too.
    stored = ramp((12, 8), 255, np.uint8)
    for tag, compression, shown in ((6, "tiff_lzw", np.rot90(stored, k=-1)),
                                    (8, "tiff_adobe_deflate", np.rot90(stored)),
                                    (3, None, stored[::-1, ::-1]), (6, None, None),
                                    (5, None, None)):
        exif = Image.Exif()
        exif[0x0112] = tag
        name = tmp_path / f"turned{tag}{compression}.tif"
        Image.fromarray(stored).save(name, exif=exif, compression=compression)
        if shown is None:
            with pytest.raises(ImageFileError, match=f"{name.name}: is an uncompressed TIFF "
                                                     "whose orientation tag turns it"):
                read_image(name)
        else:
            np.testing.assert_array_equal(read_image(name)[0], shown)


def test_icc_profiles_and_resolution_are_kept(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(ramp((4, 4, 3), 255, np.uint8)).save(tmp_path / "a.png",
                                                          icc_profile=icc, dpi=(300, 300))
    read, info = read_image(tmp_path / "a.png")
    assert info.icc_profile == icc
    write_image(tmp_path / "b.tif", read, info)
    written = Image.open(tmp_path / "b.tif")
    assert written.info["icc_profile"] == icc
    assert tuple(round(v) for v in written.info["dpi"]) == (300, 300)


def test_alpha_splits_off_and_joins_back():
    rgba = ramp((3, 4, 4), 255, np.uint8)
    colour, alpha = split_alpha(rgba, ImageInfo("RGBA"))
    assert colour.shape == (3, 4, 3) and alpha.tolist() == rgba[..., 3].tolist()
    assert join_alpha(colour, alpha).tolist() == rgba.tolist()
    la = rgba[..., :2]
    grey, alpha = split_alpha(la, ImageInfo("LA"))
    assert grey.shape == (3, 4)
    assert join_alpha(grey, alpha).tolist() == la.tolist()
    rgb = rgba[..., :3]
    colour, alpha = split_alpha(rgb, ImageInfo("RGB"))
    assert colour is rgb and alpha is None and join_alpha(colour, None) is rgb


def test_values_are_rounded_and_clipped_to_the_dtype_on_write(tmp_path):
    values = np.array([[-3.6, 0.4, 1.5], [254.6, 255.4, 1e9]])
    assert to_mode(values, "L").tolist() == [[0, 0, 2], [255, 255, 255]]
    assert to_mode(values * 300, "I;16").tolist() == [[0, 120, 450], [65535, 65535, 65535]]
    write_image(tmp_path / "a.png", values, ImageInfo("L"))
    assert np.asarray(Image.open(tmp_path / "a.png")).tolist() == \
        [[0, 0, 2], [255, 255, 255]]


def test_sixteen_bits_into_jpeg_are_scaled_to_8_bits(tmp_path):
    array = np.array([[0, 257 * 100], [65535, 257 * 200]], dtype=np.uint16)
    info = ImageInfo("I;16")
    assert check_output(tmp_path / "a.jpg", info) == ("JPEG", "L")
    assert check_output(tmp_path / "a.png", info) == ("PNG", "I;16")
    assert write_image(tmp_path / "a.bmp", array, info) == "L"
    assert np.asarray(Image.open(tmp_path / "a.bmp")).tolist() == [[0, 100], [255, 200]]


@pytest.mark.parametrize("name, info, message", [
    ("out.png", ImageInfo("F"), r"PNG cannot hold float grey values; write \.tif"),
    ("out.jpg", ImageInfo("RGBA"), r"JPEG has no alpha channel.*; write \.png, \.tif"),
    ("out.jpg", ImageInfo("LA"), "JPEG has no alpha channel"),
    ("out.png", ImageInfo("I"), "PNG cannot hold 32-bit integer grey values"),
    ("out.xyz", ImageInfo("L"), r"unknown image extension '\.xyz'; use one of .*\.png"),
    ("out", ImageInfo("L"), "no extension to name the format"),
    ("out.gif", ImageInfo("L"), "unknown image extension '.gif'"),
    ("missing/out.png", ImageInfo("L"), "the folder .*missing does not exist"),
])
def test_what_a_format_or_folder_cannot_take_is_refused_naming_the_file(tmp_path, name,
                                                                      info, message):
    target = tmp_path / name
    with pytest.raises(ImageFileError, match=message) as error:
        write_image(target, np.zeros((2, 2)), info)  # refused before the array is used
    assert str(error.value).startswith(f"{target}: ")
    assert os.listdir(tmp_path) == []


def test_a_folder_or_a_file_in_place_of_the_folder_is_refused(tmp_path):
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(ImageFileError, match="is a folder; name a file"):
        write_image(tmp_path / "dir.png", np.zeros((2, 2)), ImageInfo("L"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ImageFileError, match="the folder .*file is not a folder"):
        write_image(tmp_path / "file" / "a.png", np.zeros((2, 2)), ImageInfo("L"))


def test_a_failed_write_names_the_users_file_not_a_temporary(tmp_path, monkeypatch):
    import isvs_graph._image_files as image_files

    def refuse(path):
        raise PermissionError(13, "Permission denied", f"{path}.isvs-tmp-host-1-ab")
    monkeypatch.setattr(image_files, "atomic_write", refuse)
    with pytest.raises(ImageFileError) as error:
        write_image(tmp_path / "a.png", np.zeros((2, 2)), ImageInfo("L"))
    assert str(error.value) == f"{tmp_path / 'a.png'}: cannot write (Permission denied)"


def test_files_follow_the_umask_and_a_replaced_file_keeps_its_mode(tmp_path):
    old = os.umask(0o022)
    try:
        write_image(tmp_path / "new.png", np.zeros((2, 2)), ImageInfo("L"))
        assert mode_of(tmp_path / "new.png") == 0o644
        Image.new("L", (2, 2)).save(tmp_path / "kept.png")
        os.chmod(tmp_path / "kept.png", 0o640)
        write_image(tmp_path / "kept.png", np.full((3, 3), 9), ImageInfo("L"))
        assert mode_of(tmp_path / "kept.png") == 0o640
        assert np.asarray(Image.open(tmp_path / "kept.png")).shape == (3, 3)
    finally:
        os.umask(old)
    assert sorted(os.listdir(tmp_path)) == ["kept.png", "new.png"]


def test_unreadable_files_are_refused_naming_the_file(tmp_path):
    with pytest.raises(ImageFileError, match="missing.png: no such file"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ImageFileError, match="is a folder, not an image file"):
        read_image(tmp_path)
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ImageFileError, match="text.png: not an image file Pillow can read"):
        read_image(tmp_path / "text.png")
    Image.fromarray(ramp((64, 64, 3), 255, np.uint8)).save(tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[:len(data) // 2])
    with pytest.raises(ImageFileError, match=r"cut.png: cannot decode the image \("):
        read_image(tmp_path / "cut.png")


def test_sixteen_bit_colour_which_pillow_reads_at_8_bits_is_refused(tmp_path):
    samples = ramp((2, 3, 3), 65535, np.uint16)
    (tmp_path / "rgb16.png").write_bytes(png_bytes(3, 2, 16, 2, samples))
    with pytest.raises(ImageFileError, match="rgb16.png: 16-bit colour"):
        read_image(tmp_path / "rgb16.png")
    # The same writer at 16-bit grey is read by value: the hand-made PNG is sound.
    grey = ramp((2, 3), 65535, np.uint16)
    (tmp_path / "grey16.png").write_bytes(png_bytes(3, 2, 16, 0, grey))
    assert read_image(tmp_path / "grey16.png")[0].tolist() == grey.tolist()
    tifffile = pytest.importorskip("tifffile")
    tifffile.imwrite(tmp_path / "rgb16.tif", samples)
    with pytest.raises(ImageFileError, match="rgb16.tif: 16-bit colour"):
        read_image(tmp_path / "rgb16.tif")


def test_sixteen_bit_grey_with_a_transparent_level_is_refused_not_made_opaque(tmp_path):
    grey = ramp((5, 6), 65535, np.uint16)
    Image.fromarray(grey).save(tmp_path / "key.png", transparency=0)
    with pytest.raises(ImageFileError, match=r"key.png: 16-bit grey with a transparent grey "
                                             r"level \(0\).*convert it to 8 bits"):
        read_image(tmp_path / "key.png")
    Image.fromarray(grey).save(tmp_path / "opaque.png")  # the same, opaque: read by value
    assert read_image(tmp_path / "opaque.png")[0].tolist() == grey.tolist()
    eight = (grey // 257).astype(np.uint8)  # at 8 bits its transparency becomes alpha
    Image.fromarray(eight).save(tmp_path / "key8.png", transparency=0)
    array, info = read_image(tmp_path / "key8.png")
    assert info.mode == "LA" and array[..., 1].tolist() == np.where(eight == 0, 0, 255).tolist()


def test_animations_are_refused(tmp_path):
    frames = [Image.new("L", (4, 4), v) for v in (0, 128)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(ImageFileError, match="a.gif: has 2 frames"):
        read_image(tmp_path / "a.gif")


def test_tiff_samples_pillow_would_drop_or_cannot_read_are_refused(tmp_path):
    tifffile = pytest.importorskip("tifffile", reason="needs tifffile (scikit-image's) "
                                   "to write TIFFs Pillow cannot")
    grey = ramp((6, 5), 255, np.uint8)
    # Two grey samples, no alpha: Pillow reads the first as L and drops the second.
    tifffile.imwrite(tmp_path / "two.tif", np.dstack([grey, 255 - grey]),
                     photometric="minisblack", planarconfig="contig")
    with pytest.raises(ImageFileError, match="two.tif: has 2 samples a pixel, of which "
                                             r"Pillow reads 1 \(as L\)"):
        read_image(tmp_path / "two.tif")
    # float64 samples: Pillow does not know the file; the message says what it is.
    tifffile.imwrite(tmp_path / "f64.tif", grey / 255.0)
    with pytest.raises(ImageFileError,
                       match="f64.tif: a TIFF Pillow cannot decode.*float32"):
        read_image(tmp_path / "f64.tif")
    # Samples Pillow decodes to other values: signed 8-bit (read as unsigned) and
    # unsigned 32-bit (read as signed); signed 16-bit it reads by value.
    tifffile.imwrite(tmp_path / "int8.tif", (grey.astype(np.int16) - 128).astype(np.int8))
    with pytest.raises(ImageFileError, match=r"int8.tif: has signed 8-bit samples, which "
                                             r"Pillow reads as unsigned \(−1 as 255\)"):
        read_image(tmp_path / "int8.tif")
    tifffile.imwrite(tmp_path / "uint32.tif", grey.astype(np.uint32) << 24)
    with pytest.raises(ImageFileError, match="uint32.tif: has unsigned 32-bit samples"):
        read_image(tmp_path / "uint32.tif")
    signed = (grey.astype(np.int16) - 128) * 100
    tifffile.imwrite(tmp_path / "int16.tif", signed)
    np.testing.assert_array_equal(read_image(tmp_path / "int16.tif")[0], signed)
    # Grey with alpha and RGB as tifffile writes them are read whole.
    tifffile.imwrite(tmp_path / "la.tif", np.dstack([grey, 255 - grey]),
                     photometric="minisblack", planarconfig="contig",
                     extrasamples=["unassalpha"])
    tifffile.imwrite(tmp_path / "rgb.tif", np.dstack([grey] * 3), photometric="rgb")
    for name, channels in (("la.tif", 2), ("rgb.tif", 3)):
        array, _ = read_image(tmp_path / name)
        assert array.shape == (6, 5, channels)
        np.testing.assert_array_equal(array[..., 0], grey)


def test_a_read_only_file_system_is_named_as_such(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from isvs_graph._image_files import check_output_path
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    for flag, reason in ((os.ST_RDONLY, "read-only file system"), (0, "permission denied")):
        monkeypatch.setattr(os, "statvfs", lambda path: SimpleNamespace(f_flag=flag))
        with pytest.raises(ImageFileError, match=f"out.png: cannot write in the folder "
                                                 rf".* \({reason}\)"):
            check_output_path(tmp_path / "out.png")


def test_lossless_webp_keeps_every_value_under_transparent_pixels(tmp_path):
    # libwebp drops the colour of fully transparent pixels unless told to keep it
    # ("exact"): the output would then differ from what the solve gave.
    from PIL import features
    if not features.check("webp"):
        pytest.skip("needs Pillow built with libwebp")
    rgba = ramp((6, 5, 4), 255, np.uint8)
    rgba[:3, :, 3] = 0  # the top half fully transparent, its colour kept
    _, info = read_image_of(tmp_path, rgba)
    write_image(tmp_path / "out.webp", rgba, info)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out.webp")), rgba)


def read_image_of(tmp_path, array):
    Image.fromarray(array).save(tmp_path / "in.png")
    return read_image(tmp_path / "in.png")
