"""Image files read and written as they are: bit depth, float values, alpha and
orientation kept (the command line's I/O).

:func:`read_image` decodes a file whole with Pillow, applies its EXIF orientation and
returns the array by value: 8-bit files as uint8, 16-bit ones as uint16, float TIFFs as
float32 (no clipping, no scaling: the solve is scale-free). Alpha stays a channel of the
array (the last). :func:`write_image` writes an array back in the bit depth and mode the
:class:`ImageInfo` of its input names, where the output format can hold it, atomically
and with the user's umask (:func:`isvs_graph._io.atomic_write`); what a format cannot
hold is refused with an :class:`ImageFileError` naming the file, before anything is
computed when :func:`check_output` is called first.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from ._io import atomic_write

__all__ = ["EXTENSIONS", "ImageFileError", "ImageInfo", "check_output", "check_output_path",
           "join_alpha", "read_image", "split_alpha", "to_mode", "write_image"]

#: The modes an array from :func:`read_image` comes in, with its dtype and channels.
MODES = {"L": (np.uint8, 1), "LA": (np.uint8, 2), "RGB": (np.uint8, 3),
         "RGBA": (np.uint8, 4), "I;16": (np.uint16, 1), "I": (np.int32, 1),
         "F": (np.float32, 1)}

#: The output formats and the modes each holds as they are. Others are refused, except
#: 16-bit grey into an 8-bit format (written at 8 bits, see :func:`write_image`).
WRITES = {"PNG": {"L", "LA", "RGB", "RGBA", "I;16"},
          "TIFF": {"L", "LA", "RGB", "RGBA", "I;16", "I", "F"},
          "JPEG": {"L", "RGB"},
          "BMP": {"L", "RGB"},
          "PPM": {"L", "RGB", "I;16"},
          "WEBP": {"RGB", "RGBA"}}

#: The output extensions and the format each names.
EXTENSIONS = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".jpg": "JPEG",
              ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".webp": "WEBP",
              ".bmp": "BMP", ".ppm": "PPM", ".pgm": "PPM", ".pnm": "PPM"}
# The extension messages suggest for each format, in the order they list them.
_SUGGESTED = {"PNG": ".png", "TIFF": ".tif", "JPEG": ".jpg", "WEBP": ".webp", "BMP": ".bmp",
              "PPM": ".ppm"}

#: Keyword arguments for Pillow's writer, per format: JPEG at a quality that keeps the
#: flat regions of a smoothed image free of blocks, WebP lossless.
SAVE_OPTIONS = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True, "exact": True}}

# Modes that Pillow decodes but the solve does not take as they are, and what they become.
_CONVERT = {"1": "L", "La": "LA", "PA": "RGBA", "RGBa": "RGBA", "RGBX": "RGB",
            "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB"}
# Modes whose values are those of another colour space: an ICC profile does not carry over.
_NEW_COLOURS = {"CMYK", "YCbCr", "LAB", "HSV"}

#: What Pillow raises on a file it cannot decode (OSError for a truncated one, and more).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)


class ImageFileError(Exception):
    """An image file that cannot be read, or an array that cannot be written as asked;
    the message names the file and says what to do."""


@dataclass(frozen=True)
class ImageInfo:
    """What :func:`read_image` found in a file, and what :func:`write_image` keeps.

    ``mode`` is the array's Pillow mode, a key of :data:`MODES` (``"I;16"`` for 16-bit
    grey, ``"F"`` for float, ``"LA"``/``"RGBA"`` with alpha); ``file_mode`` the mode
    in the file (``"P"`` for a palette image read as ``"RGB"``, …); ``format`` Pillow's
    name of the file's format.
    """

    mode: str
    file_mode: str = ""
    format: str = ""
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None
    frames: int = 1
    """Pages of a TIFF stack (a volume, ``D × H × W [× C]``); 1 for an image."""

    @property
    def alpha(self) -> bool:
        """Whether the last channel of the array is alpha."""
        return self.mode in ("LA", "RGBA")

    @property
    def description(self) -> str:
        """``"8-bit RGBA"``, ``"16-bit grey"``, ``"float grey"`` …"""
        depth = {"I;16": "16-bit", "I": "32-bit integer", "F": "float"}.get(self.mode,
                                                                            "8-bit")
        colour = {"L": "grey", "LA": "grey with alpha", "RGB": "RGB", "RGBA": "RGBA"}
        return f"{depth} {colour.get(self.mode, 'grey')}"


def read_image(path: str | os.PathLike) -> tuple[np.ndarray, ImageInfo]:
    """Decode an image file whole, by value, upright.

    Returns ``(array, info)``: ``array`` is ``H × W`` (grey) or ``H × W × C`` with alpha
    as its last channel (a multi-page TIFF, a stack of ``D`` pages of one size and mode:
    ``D × H × W [× C]``, with ``info.frames = D``), of dtype uint8 (8-bit files), uint16 (16-bit grey PNG and
    TIFF), int32 (32-bit integer TIFF) or float32 (float TIFF, values as stored, not
    clipped); ``info`` is an :class:`ImageInfo`. The EXIF orientation is applied (a
    phone photo comes out as it is shown). Palette images come out RGB, or RGBA where
    they have transparency (so do grey and RGB files with a transparent colour); bilevel
    images come out 8-bit grey (0 and 255); CMYK, YCbCr and Lab come out RGB.

    Raises :class:`ImageFileError`, naming ``path``, for a missing or unreadable file, a
    folder, a file Pillow cannot decode (a truncated one included), an animation,
    16-bit colour, which Pillow would read at 8 bits, 16-bit grey with a transparent
    level, whose transparency Pillow cannot write, and a TIFF stack whose pages differ
    in size or mode.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = os.fspath(path)
    try:
        with Image.open(name) as image:
            _check_depth(image, name)
            frames = getattr(image, "n_frames", 1)
            if frames > 1 and image.format not in ("MPO", "TIFF"):
                # (An MPO is a phone JPEG with previews after the first frame, the photo.)
                raise ImageFileError(f"{name}: has {image.n_frames} frames; isvs-graph "
                                     "reads single images and TIFF stacks (extract a "
                                     "frame first)")
            frames = frames if image.format == "TIFF" else 1
            file_mode, format_ = image.mode, image.format or ""
            icc, dpi = image.info.get("icc_profile"), image.info.get("dpi")
            pages = []
            for page in range(frames):
                image.seek(page)
                image.load()  # decode all of it now: a truncated file fails here
                if (image.mode, image.size) != (file_mode, pages[0].shape[1::-1]
                                                if pages else image.size):
                    raise ImageFileError(
                        f"{name}: page {page + 1} of the TIFF stack is {image.mode} "
                        f"{image.size[0]}×{image.size[1]}, unlike page 1; a stack is read "
                        "as a volume, whose pages share one size and mode")
                upright = ImageOps.exif_transpose(image) if frames == 1 else image
                converted = _convert(upright)
                pages.append(np.array(converted))  # writable, unlike np.asarray
            image = converted
            array = pages[0] if frames == 1 else np.stack(pages)
    except ImageFileError:
        raise
    except FileNotFoundError:
        raise ImageFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageFileError(f"{name}: is a folder, not an image file") from None
    except PermissionError:
        raise ImageFileError(f"{name}: permission denied") from None
    except UnidentifiedImageError:
        if _is_tiff(name):
            raise ImageFileError(
                f"{name}: a TIFF Pillow cannot decode (float64 and float16 samples, say, "
                "are not among those it reads); save it as float32, 16-bit or 8-bit") \
                from None
        raise ImageFileError(f"{name}: not an image file Pillow can read") from None
    except Image.DecompressionBombError as error:
        raise ImageFileError(f"{name}: {error}") from None
    except DECODE_ERRORS as error:
        raise ImageFileError(f"{name}: cannot decode the image ({error})") from None
    mode = image.mode
    if mode.startswith("I;16"):  # big- or little-endian in the file: native here
        array, mode = array.astype(np.uint16), "I;16"
    if mode == "I" and format_ in ("PNG", "PPM"):
        array, mode = array.astype(np.uint16), "I;16"  # these hold at most 16 bits
    if mode not in MODES:
        raise ImageFileError(f"{name}: images of mode {mode!r} are not supported")
    if file_mode in _NEW_COLOURS:
        icc = None
    return np.ascontiguousarray(array), ImageInfo(mode, file_mode, format_, icc,
                                                  _plain_dpi(dpi), frames)


def _is_tiff(name: str) -> bool:
    """Whether the file starts as a TIFF does (little- or big-endian, classic or big)."""
    try:
        with open(name, "rb") as file:
            return file.read(4) in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
    except OSError:
        return False


def _check_depth(image, name: str) -> None:
    """Refuse colour samples deeper than 8 bits, which Pillow decodes at 8 bits only."""
    deep = False
    if image.format == "PNG":
        # IHDR, first after the signature: width, height, bit depth, colour type.
        with open(name, "rb") as file:
            header = file.read(26)
        deep = len(header) == 26 and header[24] == 16 and header[25] in (2, 4, 6)
    elif image.format == "TIFF":
        bits = image.tag_v2.get(258, 8)  # BitsPerSample
        bits = bits if isinstance(bits, tuple) else (bits,)
        deep = len(bits) > 1 and max(bits) > 8
    if deep:
        raise ImageFileError(
            f"{name}: 16-bit colour (or grey with alpha) is read by Pillow at 8 bits only; "
            "convert it to 16-bit grey, or to 8 bits, to smooth it")
    if image.mode.startswith("I") and "transparency" in image.info:
        raise ImageFileError(
            f"{name}: 16-bit grey with a transparent grey level "
            f"({image.info['transparency']!r}), which Pillow cannot write back at 16 bits "
            "(its transparency would be lost); remove the transparency, or convert it to "
            "8 bits, whose transparent level is kept as alpha")
    if image.format == "TIFF":
        _check_tiff_values(image, name)
        samples = image.tag_v2.get(277, 1)  # SamplesPerPixel
        bands = len(image.getbands())
        if isinstance(samples, int) and samples > bands:
            raise ImageFileError(
                f"{name}: has {samples} samples a pixel, of which Pillow reads {bands} (as "
                f"{image.mode}); save it as grey, grey with alpha, RGB or RGBA, or read it "
                "with tifffile and smooth it with isvs_graph.smooth_image")


def _check_tiff_values(image, name: str) -> None:
    """Refuse the TIFFs Pillow decodes to other values than the file holds: signed 8-bit
    samples (read as unsigned), unsigned 32-bit ones (read as signed, so values from
    2³¹ wrap), and uncompressed pages turned by an orientation of 5–8 (the turns that
    swap width and height: decoded with the sides swapped, scrambled)."""
    fmt = image.tag_v2.get(339, 1)  # SampleFormat: 1 unsigned, 2 signed, 3 float
    fmt = fmt[0] if isinstance(fmt, tuple) else fmt
    bits = image.tag_v2.get(258, 8)  # BitsPerSample
    bits = bits[0] if isinstance(bits, tuple) else bits
    fix = "; save it in another sample type, or read it with tifffile and smooth it " \
          "with isvs_graph.smooth_image"
    if (fmt, bits) == (2, 8):
        raise ImageFileError(f"{name}: has signed 8-bit samples, which Pillow reads as "
                             f"unsigned (−1 as 255){fix}")
    if (fmt, bits) == (1, 32):
        raise ImageFileError(f"{name}: has unsigned 32-bit samples, which Pillow reads as "
                             f"signed (values from 2³¹ wrap to negative){fix}")
    turned = image.tag_v2.get(274, 1) in (5, 6, 7, 8)  # Orientation
    if turned and any(tile[0] == "raw" for tile in image.tile):
        raise ImageFileError(f"{name}: is an uncompressed TIFF whose orientation tag turns "
                             "it by a quarter (5–8), which Pillow decodes scrambled; save "
                             "it upright or compressed (LZW, deflate), or read it with "
                             "tifffile and smooth it with isvs_graph.smooth_image")


def _convert(image):
    if image.mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("L", "RGB") and "transparency" in image.info:
        return image.convert(image.mode + "A")
    if image.mode in _CONVERT:
        return image.convert(_CONVERT[image.mode])
    return image


def _plain_dpi(dpi) -> tuple[float, float] | None:
    if not dpi:
        return None
    try:
        return float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError, IndexError):
        return None


def split_alpha(array: np.ndarray, info: ImageInfo) -> tuple[np.ndarray, np.ndarray | None]:
    """``(colour, alpha)``: the colour channels (``H × W`` for grey; ``D × H × W`` for a
    grey stack) and the alpha channel (``H × W``, ``D × H × W``), or ``None`` without
    alpha."""
    if not info.alpha:
        return array, None
    colour = array[..., :-1]
    return (colour[..., 0] if colour.shape[-1] == 1 else colour), array[..., -1]


def join_alpha(colour: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """The inverse of :func:`split_alpha` (on images and stacks alike: grey colour has
    the alpha's shape)."""
    if alpha is None:
        return colour
    colour = colour[..., None] if colour.shape == alpha.shape else colour
    return np.concatenate([colour, alpha[..., None].astype(colour.dtype)], axis=-1)


def check_output_path(path: str | os.PathLike) -> str:
    """Check that ``path`` can be written in a format Pillow knows, before any work.

    Returns the format's name (``"PNG"``, ``"TIFF"`` …, a key of :data:`WRITES`).
    Raises :class:`ImageFileError`, naming ``path``, for an existing folder at
    ``path``, an extension that names no format written here (see
    :data:`EXTENSIONS`), and a folder that is missing or not writable.
    """
    name = os.fspath(path)
    if os.path.isdir(name):
        raise ImageFileError(f"{name}: is a folder; name a file to write")
    extension = os.path.splitext(name)[1].lower()
    format_ = EXTENSIONS.get(extension)
    if format_ is None or not _can_write(format_):
        said = f"unknown image extension {extension!r}" if extension else \
            "no extension to name the format"
        known = [e for e, f in EXTENSIONS.items() if _can_write(f)]
        raise ImageFileError(f"{name}: {said}; use one of {', '.join(known)}")
    folder = os.path.dirname(name) or "."
    if not os.path.isdir(folder):
        what = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise ImageFileError(f"{name}: cannot write: the folder {folder} {what}")
    if not os.access(folder, os.W_OK | os.X_OK):
        try:
            read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        except (OSError, AttributeError):  # (no statvfs: not a POSIX system)
            read_only = False
        reason = "read-only file system" if read_only else "permission denied"
        raise ImageFileError(f"{name}: cannot write in the folder {folder} ({reason})")
    return format_


#: The largest side each format can hold, in pixels (libwebp's and libjpeg's limits).
MAX_SIDE = {"WEBP": 16383, "JPEG": 65500}


def check_size(path: str | os.PathLike, width: int, height: int) -> None:
    """Check, before any work, that the format ``path``'s extension names can hold an
    image of ``width × height`` pixels; raises :class:`ImageFileError` naming ``path``
    (WebP holds at most 16,383 pixels a side, JPEG 65,500)."""
    format_ = EXTENSIONS.get(os.path.splitext(os.fspath(path))[1].lower())
    most = MAX_SIDE.get(format_)
    if most is not None and max(width, height) > most:
        can = [f for f in WRITES if f not in MAX_SIDE]
        raise ImageFileError(f"{os.fspath(path)}: {format_} holds at most {most:,} pixels "
                             f"a side, and the image is {width}×{height}; write "
                             f"{_names(can)}")


def _can_write(format_: str) -> bool:
    if format_ != "WEBP":
        return True
    from PIL import features
    return bool(features.check("webp"))  # Pillow built without libwebp cannot


def check_output(path: str | os.PathLike, info: ImageInfo) -> tuple[str, str]:
    """Check that an image of ``info``'s mode can be written to ``path`` as it is.

    Returns ``(format, mode)``: the format (see :func:`check_output_path`) and the mode
    written, ``info.mode`` or, for 16-bit grey into an 8-bit-only format (JPEG, BMP),
    ``"L"``. Raises :class:`ImageFileError`, naming ``path``, otherwise: alpha into
    JPEG, BMP or PPM, grey into WebP (which has none), float or 32-bit integers or a
    stack of pages into anything but TIFF.
    """
    format_ = check_output_path(path)
    if info.frames > 1 and format_ != "TIFF":
        raise ImageFileError(f"{os.fspath(path)}: the input is a stack of {info.frames} "
                             f"pages (a volume), which {format_} cannot hold; write .tif")
    held = WRITES[format_]
    if info.mode in held:
        return format_, info.mode
    if info.mode == "I;16" and "L" in held:
        return format_, "L"
    name = os.fspath(path)
    if info.alpha:
        can = [f for f, modes in WRITES.items() if info.mode in modes]
        raise ImageFileError(f"{name}: {format_} has no alpha channel, and the input has "
                             f"one; write {_names(can)}")
    can = [f for f, modes in WRITES.items() if info.mode in modes]
    raise ImageFileError(f"{name}: {format_} cannot hold {info.description} values; "
                         f"write {_names(can)}")


def _names(formats: list[str]) -> str:
    extensions = [e for f, e in _SUGGESTED.items() if f in formats and _can_write(f)]
    return ", ".join(extensions[:-1]) + " or " + extensions[-1] if len(extensions) > 1 \
        else extensions[0]


def write_image(path: str | os.PathLike, array: np.ndarray, info: ImageInfo) -> str:
    """Write ``array`` to ``path`` in the mode ``info`` names, atomically.

    The format is the one ``path``'s extension names (see :data:`WRITES`). Values are
    rounded and clipped to the range of the mode's dtype (a float array into a uint8
    mode: ``rint``, then ``[0, 255]``); 16-bit grey into an 8-bit-only format is scaled
    by ``255 / 65535``, the only case where values change scale. The ICC profile and
    resolution of the input are kept; EXIF is not written (the pixels are upright
    already). The file appears whole or not at all, with the user's umask (or the mode
    of the file it replaces). Returns the mode written. Raises :class:`ImageFileError`,
    naming ``path``, for what cannot be written (see :func:`check_output`) and for a
    failed write.
    """
    from PIL import Image

    format_, mode = check_output(path, info)
    values = np.asarray(array)
    if mode == "L" and info.mode == "I;16":
        values = np.asarray(values, dtype=np.float64) * (255.0 / 65535.0)
    pages = [to_mode(page, mode) for page in values] if info.frames > 1 else \
        [to_mode(values, mode)]
    image = Image.fromarray(pages[0])
    options = dict(SAVE_OPTIONS.get(format_, {}))
    if len(pages) > 1:
        options.update(save_all=True, append_images=[Image.fromarray(p) for p in pages[1:]])
    if info.icc_profile and format_ != "PPM":
        options["icc_profile"] = info.icc_profile
    if info.dpi and format_ in ("PNG", "TIFF", "JPEG", "BMP"):
        options["dpi"] = info.dpi
    name = os.fspath(path)
    try:
        with atomic_write(name) as handle:
            if len(pages) > 1:  # Pillow appends pages by reading back: a file in memory
                buffer = io.BytesIO()
                image.save(buffer, format=format_, **options)
                handle.write(buffer.getvalue())
            else:
                image.save(handle, format=format_, **options)
    except (OSError, ValueError) as error:  # (an encoder's refusal is a ValueError too)
        reason = getattr(error, "strerror", None) or str(error)
        raise ImageFileError(f"{name}: cannot write ({reason})") from None
    return mode


def to_mode(array: np.ndarray, mode: str) -> np.ndarray:
    """``array`` in the dtype of ``mode`` (see :data:`MODES`): integers rounded and
    clipped to the dtype's range, floats as float32."""
    dtype, channels = MODES[mode]
    if channels == 1 and array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != (2 if channels == 1 else 3) or \
            (channels > 1 and array.shape[-1] != channels):
        raise ValueError(f"an image of mode {mode} needs shape "
                         f"{'(H, W)' if channels == 1 else f'(H, W, {channels})'}, "
                         f"got {array.shape}")
    if array.dtype == dtype:
        return np.ascontiguousarray(array)
    if np.dtype(dtype).kind == "f":
        return np.ascontiguousarray(array, dtype=dtype)
    limits = np.iinfo(dtype)
    if array.dtype.kind == "f":
        array = np.rint(array)
    return np.ascontiguousarray(np.clip(array, limits.min, limits.max).astype(dtype))
