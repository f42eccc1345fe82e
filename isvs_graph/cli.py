"""The ``isvs-graph`` command line: smooth image files, or draw an image's path.

Examples::

    isvs-graph smooth photo.png smooth.png --sparsity 0.8
    isvs-graph smooth photo.png smooth.png --t 20 --mode channel
    isvs-graph smooth scans/*.png more.tif --out-dir smoothed --sparsity 0.8
    isvs-graph path photo.png path.png --sparsities 1 0.9 0.8 0.7

Every check that needs no computing comes first: the options (exit status 2, as
argparse does), each output's format and folder, each input decoded whole, and each
output created (and removed again) where it is to be written (exit status 1); only then
are the solver and its stack (torch, numba) imported. ``--help`` imports none of them.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import math
import os
import secrets
import stat
import sys
import warnings
from collections.abc import Callable, Sequence

__all__ = ["build_parser", "main", "subcommands"]

DEFAULT_PATH_SPARSITIES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
# The solver's defaults, here so that --help needs no import of the solver (torch,
# numba); tests/test_cli.py checks that they are the solver's.
DEFAULT_KAPPA = 0.5
DEFAULT_TOL = 3e-3
DEFAULT_MAX_ITER = 100_000
#: The most images ``smooth`` solves in one batch (images of one size, dtype and mode
#: are solved together), and the most pixel values (H·W·C·B) in one.
BATCH_IMAGES = 16
BATCH_VALUES = 2 ** 23

_PROG = "isvs-graph"


# Option values, checked as argparse parses them (a bad one exits 2 before any work).

def _number(name: str, check: Callable[[float], bool], allowed: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}"
                                             ) from None
        if not (math.isfinite(value) and check(value)):
            raise argparse.ArgumentTypeError(f"{name} must {allowed}, got {text}")
        return value
    return parse


def _count(name: str, minimum: int = 0):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}"
                                             ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{name} must be >= {minimum}, got {value}")
        return value
    return parse


_positive = {name: _number(name, lambda v: v > 0, "be a finite number > 0")
             for name in ("kappa", "nu")}
_time = _number("t", lambda v: v >= 0, "be a finite number >= 0")
_sparsity = _number("sparsity", lambda v: 0 <= v <= 1, "lie in [0, 1]")
_tol = _number("tol", lambda v: 0 < v < 1, "lie in (0, 1) (a fraction of the range)")


def build_parser() -> argparse.ArgumentParser:
    """The ``isvs-graph`` argument parser (the docs print its help)."""
    return _build()[0]


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """The parser of each subcommand, by name, in the order ``--help`` lists them."""
    return _build()[1]


def _build() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Inverse-scale-space (Split LBI) smoothing of images on pixel graphs.",
        epilog="Exit status: 0 done, 1 a file could not be read or written, 2 a usage "
               "error (an option or value refused).")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser, many: bool = False) -> None:
        read = ("(PNG, TIFF, JPEG, …; 8- or 16-bit, float TIFF; alpha and EXIF orientation "
                "kept)")
        write = "its extension names the format (.png, .tif, .jpg, …)"
        if many:
            sub.add_argument(
                "files", nargs="+", metavar="FILE",
                help=f"INPUT OUTPUT: the image file to read {read} and the one to write "
                     f"({write}); with --out-dir, every FILE is an input: a file or a glob "
                     "pattern ('scans/*.png')")
            sub.add_argument(
                "-o", "--out-dir", metavar="DIR",
                help="write each input to DIR under its own name (DIR is made if "
                     "missing); all are solved in one process, with one progress bar")
            sub.add_argument(
                "--ext", metavar="EXT",
                help="with --out-dir: write every output with this extension (.png, "
                     ".tif, …; default: each input's own)")
        else:
            sub.add_argument("input", help=f"image file to read {read}")
            sub.add_argument("output", help=f"image file to write; {write}")
        sub.add_argument("--kappa", type=_positive["kappa"], default=DEFAULT_KAPPA,
                         help="damping κ (default %(default)s)")
        sub.add_argument("--nu", type=_positive["nu"], default=1.0,
                         help="coupling ν (default 1)")
        sub.add_argument("--mode", choices=("joint", "channel"), default="joint",
                         help="one support per pixel edge for all channels (joint, "
                              "default) or one per channel")
        sub.add_argument("--connectivity", type=int, choices=(4, 8, 6, 18, 26),
                         default=None,
                         help="neighbourhood: 4 or 8 for an image (default 4), 6, 18 or 26 "
                              "for a TIFF stack, smoothed as a volume (default 6)")
        sub.add_argument("--tol", type=_tol, default=DEFAULT_TOL,
                         help="the floor, a fraction of the image's range: edges below it "
                              "count as flat (default %(default)s)")
        sub.add_argument("--max-iter", type=_count("max-iter", minimum=1), default=None,
                         help=f"the most steps computed (default {DEFAULT_MAX_ITER:,})")
        sub.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    smooth = commands.add_parser(
        "smooth", help="smooth images at one scale",
        description="Smooth an image (or, with --out-dir, many) at one scale and write "
                    "it in the input's bit depth and mode (alpha passed through "
                    "unchanged).")
    common(smooth, many=True)
    scale = smooth.add_mutually_exclusive_group(required=True)
    scale.add_argument("--t", type=_time,
                       help="dimensionless time t >= 0 (0 is the coarsest scale): by then, "
                            "structure whose contrast exceeds roughly 2.5/t of the image's "
                            "range has split (grey; colour counts a contrast over its "
                            "channels and splits sooner); the same t smooths images with "
                            "the same channels about equally")
    scale.add_argument("--sparsity", type=_sparsity,
                       help="fraction of pixel edges not yet split, in [0, 1] "
                            "(1 is the coarsest scale; 0.8 keeps strong contours)")
    smooth.set_defaults(run=_smooth, parser=smooth)

    draw = commands.add_parser(
        "path", help="draw the path of an image at several scales",
        description="Draw the image at several scales side by side, with the input, as "
                    "an 8-bit RGB picture.")
    common(draw)
    draw.add_argument("--sparsities", type=_sparsity, nargs="+",
                      default=list(DEFAULT_PATH_SPARSITIES),
                      help="the scales to draw, each in [0, 1] (default: %(default)s)")
    draw.set_defaults(run=_path, parser=draw)
    return parser, {"smooth": smooth, "path": draw}


def _bars(args: argparse.Namespace) -> bool:
    """Progress bars only on a terminal, never into a redirected log, and never with
    ``--quiet`` (the package's one rule, :func:`~isvs_graph.training.show_progress`)."""
    from ._progress import show_progress
    return show_progress(not args.quiet)


def _solver_options(args: argparse.Namespace) -> dict:
    return {"kappa": args.kappa, "nu": args.nu, "mode": args.mode, "tol": args.tol,
            "max_iter": args.max_iter, "connectivity": args.connectivity}


def _read_checked(input_: str, output: str, written=None):
    """The input decoded and the output checked, all before any computing: returns
    ``(image, info, written)``, ``written`` the :class:`ImageInfo` the output gets
    (default the input's)."""
    import numpy as np

    from ._image_files import (ImageFileError, check_output, check_output_path, check_size,
                               read_image)
    check_output_path(output)  # extension and folder: nothing to decode for these
    image, info = read_image(input_)
    if written is None:  # (the path's picture is checked by its caller)
        rows, cols = (image.shape[1:] if info.frames > 1 else image.shape)[:2]
        check_size(output, cols, rows)
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ImageFileError(f"{input_}: holds NaN or infinite values; the solve "
                             "needs finite values")
    written = info if written is None else written(info)
    check_output(output, written)
    check_writable(output)
    return image, info, written


def check_writable(path: str) -> None:
    """Check that a file can be written at ``path`` as the image writer writes it (a
    temporary file beside it, renamed over it), by doing so with an empty file.

    A new file is created and removed again. An existing file is never opened for
    writing and keeps its content: a temporary file is created beside it and removed,
    and the file is checked for the flags that forbid replacing it (immutable or
    append-only, ``chattr``) and for a sticky folder that is not the user's.

    Raises
    ------
    isvs_graph._image_files.ImageFileError
        Naming ``path`` and the reason the operating system gave.
    """
    from ._image_files import ImageFileError
    from ._io import _MARK, _host

    def refused(error: OSError, what: str = "cannot write") -> ImageFileError:
        return ImageFileError(f"{path}: {what} ({error.strerror or error})")

    folder, name = os.path.split(os.path.abspath(path))
    held = _held(_file_flags(folder))  # a folder that lets files in but none out
    if held:
        raise ImageFileError(f"{path}: cannot write in the folder {folder}: it is {held}, "
                             "so no file can be renamed into it")
    if not os.path.lexists(path):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            pass  # made by someone else meanwhile: checked as an existing file below
        except OSError as error:
            raise refused(error) from None
        else:
            os.close(fd)
            try:
                os.unlink(path)
            except OSError as error:
                raise refused(error, "created, but cannot be removed again") from None
            return
    # An existing file: the writer renames a temporary file over it.
    temporary = os.path.join(
        folder, f".{name}{_MARK}{_host()}-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as error:
        raise refused(error, f"cannot write in the folder {folder}") from None
    with contextlib.suppress(OSError):
        os.unlink(temporary)
    held = _held(_file_flags(path))
    if held:
        raise ImageFileError(f"{path}: cannot be replaced: the file is {held}")
    there, own = os.stat(folder), os.stat(path, follow_symlinks=False)
    user = os.geteuid() if hasattr(os, "geteuid") else None
    if there.st_mode & stat.S_ISVTX and user not in (None, 0, there.st_uid, own.st_uid):
        raise ImageFileError(f"{path}: cannot be replaced: it belongs to another user in "
                             f"a folder where only owners replace files ({folder})")


_IMMUTABLE, _APPEND_ONLY = 0x10, 0x20  # FS_IMMUTABLE_FL, FS_APPEND_FL (linux/fs.h)


def _held(flags: int) -> str:
    """What inode ``flags`` forbid replacing, with the command that lifts it ("" for
    nothing)."""
    if flags & _IMMUTABLE:
        return "immutable (see lsattr; chattr -i lifts it)"
    if flags & _APPEND_ONLY:
        return "append-only (see lsattr; chattr -a lifts it)"
    return ""


def _file_flags(path: str) -> int:
    """The file's inode flags (Linux ``FS_IOC_GETFLAGS``); 0 where they cannot be read."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        import fcntl
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return 0
    try:
        buffer = bytearray(8)
        fcntl.ioctl(fd, 0x80086601, buffer)  # FS_IOC_GETFLAGS
        return int.from_bytes(buffer[:4], sys.byteorder)
    except OSError:
        return 0
    finally:
        os.close(fd)


class _Job:
    """One input of ``smooth`` and what its checks found."""

    def __init__(self, input_: str, output: str) -> None:
        self.input, self.output = input_, output
        self.image = self.info = self.key = None


def _smooth_jobs(args: argparse.Namespace) -> list[_Job]:
    """The ``(input, output)`` pairs of ``smooth``, inputs' glob patterns expanded, each
    input once; a usage error exits 2, a pattern that matches nothing is a file error."""
    from ._image_files import EXTENSIONS, ImageFileError
    files, error = args.files, args.parser.error
    if args.out_dir is None:
        if args.ext is not None:
            error("--ext needs --out-dir DIR (a single OUTPUT names its own format)")
        if len(files) != 2:
            got = "one path" if len(files) == 1 else f"{len(files)} paths"
            error(f"give INPUT OUTPUT, or the inputs and --out-dir DIR; got {got}")
        if os.path.realpath(files[1]) == os.path.realpath(files[0]):
            error(f"{files[1]}: would overwrite its input; name another OUTPUT")
        return [_Job(*files)]
    if not args.out_dir:
        error("--out-dir: an empty name names no folder; give one (. for this one)")
    ext = args.ext
    if ext is not None:
        ext = ext if ext.startswith(".") else f".{ext}"
        if ext.lower() not in EXTENSIONS:
            error(f"--ext: unknown image extension {ext!r}; use one of "
                  f"{', '.join(EXTENSIONS)}")
    inputs = []
    for pattern in files:
        if any(c in pattern for c in "*?[") and not os.path.lexists(pattern):
            found = sorted(f for f in glob.glob(pattern, recursive=True)
                           if not os.path.isdir(f))
            if not found:
                raise ImageFileError(f"{pattern}: no file matches")
            inputs += found
        else:
            inputs.append(pattern)
    unique = {}  # each file once, in the order given
    for name in inputs:
        unique.setdefault(os.path.realpath(name), name)
    jobs, taken = [], {}
    for real, name in unique.items():
        base = os.path.basename(name)
        if ext is not None:
            base = os.path.splitext(base)[0] + ext
        output = os.path.join(args.out_dir, base)
        if os.path.realpath(output) == real:
            error(f"{output}: would overwrite its input; choose another --out-dir")
        if output in taken:
            error(f"{taken[output]} and {name} would both be written to {output}; smooth "
                  "them into separate folders")
        taken[output] = name
        jobs.append(_Job(name, output))
    return jobs


@contextlib.contextmanager
def _output_folder(folder: str | None):
    """Make ``folder`` (and its missing parents) for the body's checks; what was made
    is removed again if they fail."""
    from ._image_files import ImageFileError
    if folder is None:
        yield
        return
    made, above = [], os.path.abspath(folder)
    while not os.path.lexists(above):
        made.append(above)
        above = os.path.dirname(above)
    if not os.path.isdir(above):
        raise ImageFileError(f"{folder}: cannot make the output folder: {above} is not a "
                             "folder")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise ImageFileError(f"{folder}: cannot make the output folder "
                             f"({error.strerror or error})") from None
    try:
        yield
    except BaseException:
        for path in made:  # innermost first
            with contextlib.suppress(OSError):
                os.rmdir(path)
        raise


def _smooth(args: argparse.Namespace) -> None:
    from ._image_files import split_alpha
    jobs = _smooth_jobs(args)
    with _output_folder(args.out_dir):
        for job in jobs:  # every input read and every output checked before any solve
            image, job.info, _ = _read_checked(job.input, job.output)
            colour = split_alpha(image, job.info)[0]
            job.key = (colour.shape, colour.dtype.str)
            if len(jobs) == 1 or job.info.frames > 1:
                job.image = image
            _check_connectivity(args, job)
    stacks = [job for job in jobs if job.info.frames > 1]  # volumes: one by one
    for job in stacks:
        _smooth_one(args, job)
    images = [job for job in jobs if job.info.frames == 1]
    if len(jobs) == 1 and images:  # (an image kept from its check: not read again)
        _smooth_one(args, images[0])
    elif images:
        _smooth_many(args, images)


def _check_connectivity(args: argparse.Namespace, job: _Job) -> None:
    """A connectivity the input's grid has (an image's or, for a stack, a volume's); a
    usage error (exit 2) otherwise, as the solver's refusals are."""
    stack = job.info.frames > 1
    allowed = (6, 18, 26) if stack else (4, 8)
    if args.connectivity is not None and args.connectivity not in allowed:
        what = f"a stack of {job.info.frames} pages, smoothed as a volume" if stack else \
            "an image"
        raise ValueError(f"{job.input}: is {what}; --connectivity must be "
                         f"{', '.join(map(str, allowed[:-1]))} or {allowed[-1]} for it")


def _smooth_one(args: argparse.Namespace, job: _Job) -> None:
    from ._image_files import join_alpha, split_alpha
    colour, alpha = split_alpha(job.image, job.info)
    from .images import smooth_image  # the solver's stack: only now
    axes = {}
    if job.info.frames > 1:  # a volume: grey D × H × W, or D × H × W × C
        axes["channel_axis"] = None if colour.ndim == 3 else -1
    with _naming([job], args.out_dir is not None):  # (one of several inputs: named)
        out = smooth_image(colour, t=args.t, sparsity=args.sparsity, progress=_bars(args),
                           **axes, **_solver_options(args))
    _say(_write(args, job, join_alpha(out, alpha)))


@contextlib.contextmanager
def _naming(batch: list[_Job], named: bool = True):
    """Warnings of the solve inside, each again after it, led by the input files it is
    about (:func:`_named`) when ``named``."""
    with warnings.catch_warnings(record=True) as caught:
        yield
    for warning in caught:
        message = f"{_named(batch, warning.message)}: {warning.message}" if named else \
            warning.message
        warnings.warn_explicit(message, warning.category, warning.filename, warning.lineno)


def _write(args: argparse.Namespace, job: _Job, image) -> str:
    """Write ``image`` for ``job``; returns the line that says so."""
    from ._image_files import write_image
    info = job.info
    mode = write_image(job.output, image, info)
    scale = f"t = {args.t:g}" if args.t is not None else f"sparsity {args.sparsity:g}"
    depth = info.description if mode == info.mode else \
        f"{info.description}, written at 8 bits"
    kept = ", alpha passed through" if info.alpha else ""
    size = f"{image.shape[1]}×{image.shape[0]}" if info.frames == 1 else \
        f"{image.shape[2]}×{image.shape[1]}×{image.shape[0]} ({info.frames} pages)"
    return f"wrote {job.output} ({size} {depth}{kept}, asked for {scale})"


def _batches(jobs: list[_Job]) -> list[list[_Job]]:
    """The jobs in batches of one size and dtype once alpha is split off (solved
    together), each at most :data:`BATCH_IMAGES` images and :data:`BATCH_VALUES`
    values."""
    groups: dict = {}
    for job in jobs:
        groups.setdefault(job.key, []).append(job)
    batches = []
    for key, group in groups.items():
        size = math.prod(key[0])
        step = max(1, min(BATCH_IMAGES, BATCH_VALUES // max(size, 1)))
        batches += [group[i:i + step] for i in range(0, len(group), step)]
    return batches


def _smooth_many(args: argparse.Namespace, jobs: list[_Job]) -> None:
    import numpy as np
    from tqdm.auto import tqdm

    from ._image_files import ImageFileError, join_alpha, read_image, split_alpha
    from .images import smooth_images  # the solver's stack: only now
    options = _solver_options(args)
    with tqdm(total=len(jobs), unit="image", disable=not _bars(args),
              desc=_PROG) as bar:
        for batch in _batches(jobs):
            colours, alphas = [], []
            for job in batch:  # read again: a folder of images need not fit in memory
                image, _ = read_image(job.input)
                colour, alpha = split_alpha(image, job.info)
                if (colour.shape, colour.dtype.str) != job.key:
                    raise ImageFileError(f"{job.input}: changed while the command ran")
                colours.append(colour if colour.ndim == 3 else colour[..., None])
                alphas.append(alpha)
            stack = np.stack(colours).transpose(0, 3, 1, 2)  # B × C × H × W
            with _naming(batch):  # a warning of a batch names its files
                out = smooth_images(stack, t=args.t, sparsity=args.sparsity,
                                    progress=False, **options).transpose(0, 2, 3, 1)
            grey = len(batch[0].key[0]) == 2  # H × W: the channel axis was added
            for job, smoothed, alpha in zip(batch, out, alphas):
                smoothed = smoothed[..., 0] if grey else smoothed
                line = _write(args, job, join_alpha(smoothed, alpha))
                if bar.disable:
                    _say(line)
                else:
                    with bar.external_write_mode():
                        _say(line)
                bar.update()


def _named(batch: list[_Job], message: Warning, shown: int = 3) -> str:
    """The input files a warning from a batch's solve is about: those its ``signals``
    name (a :class:`~isvs_graph.ConvergenceWarning`), else every file of the batch; the
    first ``shown``, and how many more."""
    signals = getattr(message, "signals", None)
    files = [batch[i].input for i in signals] if signals is not None and len(signals) \
        else [job.input for job in batch]
    more = len(files) - shown
    return ", ".join(files[:shown]) + (f" and {more} more" if more > 0 else "")


def _display(panel, info, low: float, high: float):
    """A panel as 8 bits for the path's picture: 8-bit values as they are, 16-bit ones
    divided by 257, floats and 32-bit integers stretched from the input's ``low`` to
    its ``high``."""
    import numpy as np

    from ._image_files import to_mode
    mode = "RGB" if panel.ndim == 3 else "L"
    if info.mode in ("I;16", "I", "F"):
        low, scale = (0.0, 255 / 65535) if info.mode == "I;16" else \
            (low, 255 / (high - low) if high > low else 0.0)
        panel = (np.asarray(panel, dtype=np.float64) - low) * scale
    return to_mode(panel, mode)


_GAP, _CAPTION = 4, 16  # pixels between the path's panels, and under them
#: Panels narrower than a caption (``t=12.3 s=0.80``, about 80 px) are enlarged, each
#: pixel a square of pixels, to at least this width, and to at most 1024 px in height.
_PANEL_WIDTH = 96


def _panel_scale(shape: tuple[int, int]) -> int:
    """How many times the path's picture enlarges panels of ``shape`` (``H, W``)."""
    height, width = shape
    return max(1, min(-(-_PANEL_WIDTH // max(width, 1)), 1024 // max(height, 1)))


def _strip_size(shape: tuple[int, int], panels: int) -> tuple[int, int]:
    """``(width, height)`` of the path's picture of ``panels`` panels of ``shape``."""
    scale = _panel_scale(shape)
    return panels * (scale * shape[1] + _GAP) - _GAP, scale * shape[0] + _CAPTION


def _path_strip(panels: Sequence, labels: Sequence[str]):
    """Panels side by side with a caption under each (small ones enlarged: see
    :data:`_PANEL_WIDTH`)."""
    import numpy as np
    from PIL import Image, ImageDraw
    shape = panels[0].shape[:2]
    strip = Image.new("RGB", _strip_size(shape, len(panels)), "white")
    scale = _panel_scale(shape)
    panels = [np.repeat(np.repeat(panel, scale, axis=0), scale, axis=1) for panel in panels]
    height, width = panels[0].shape[:2]
    draw = ImageDraw.Draw(strip)
    for n, (panel, label) in enumerate(zip(panels, labels)):
        strip.paste(Image.fromarray(panel).convert("RGB"), (n * (width + _GAP), 0))
        draw.text((n * (width + _GAP) + 2, height + 2), label, fill="black")
    return np.asarray(strip)


def _strip_info(info):
    from dataclasses import replace
    return replace(info, mode="RGB", frames=1,
                   icc_profile=info.icc_profile if info.mode in ("RGB", "RGBA") else None)


def _path(args: argparse.Namespace) -> None:
    from ._image_files import check_size, split_alpha, write_image
    if os.path.realpath(args.output) == os.path.realpath(args.input):
        args.parser.error(f"{args.output}: would overwrite its input; name another OUTPUT")
    image, info, written = _read_checked(args.input, args.output, _strip_info)
    if info.frames > 1:
        from ._image_files import ImageFileError
        raise ImageFileError(f"{args.input}: is a stack of {info.frames} pages; `path` "
                             "draws an image's path: smooth the stack as a volume with "
                             "`isvs-graph smooth`, or draw one page")
    colour, _ = split_alpha(image, info)
    levels = sorted(set(args.sparsities), reverse=True)
    check_size(args.output, *_strip_size(colour.shape[:2], len(levels) + 1))
    # The solver's stack: only now.
    from ._paths import path
    from .graphs._grid import grid_canonical
    from .images import image_to_signal
    signal, shape, restore = image_to_signal(colour)
    options = _solver_options(args)
    graph = grid_canonical(*shape, connectivity=options.pop("connectivity"))
    result = path(graph, signal, sparsity_min=levels[-1], levels=levels,
                  progress=_bars(args), **options)
    low, high = float(colour.min()), float(colour.max())
    panels, labels = [], []
    for level in levels:
        k = result.iterations(sparsity=level)
        panels.append(_display(restore(result.at(sparsity=level)), info, low, high))
        labels.append(f"t={k * result.alpha:.3g} s={float(result.sparsity_at(k)):.2f}")
    panels.append(_display(colour, info, low, high))
    labels.append("input")
    write_image(args.output, _path_strip(panels, labels), written)
    _say(f"wrote {args.output}: {len(levels)} scales from sparsity {levels[0]:g} to "
         f"{levels[-1]:g}, {int(result.n_iter)} iterations")


def _say(line: str) -> None:
    """Print a line of the command's output. Where its reader has gone (``| head``,
    ``| true``), the rest of the output goes nowhere and the work goes on: every file
    asked for is still written."""
    try:
        print(line, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # (also for the flush at exit)
        os.close(devnull)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{_PROG}: warning: {message}", file=sys.stderr)


def _fail(status: int, message: object) -> int:
    print(f"{_PROG}: error: {message}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``isvs-graph`` with ``argv`` (default ``sys.argv[1:]``); returns the exit
    status, never raises :class:`SystemExit`: 0 when done (``--help`` included), 1 when
    a file cannot be read or written (or memory runs out), 2 for a usage error (an
    option or value refused, by argparse or by the solver). Errors are one line on
    stderr naming the user's path; warnings are one line each too."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2)
        return exit_.code if isinstance(exit_.code, int) else 2
    from ._image_files import ImageFileError
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        # A file's layout is certain (H × W × C): no hint that a short image may be
        # C × H × W.
        warnings.filterwarnings(
            "ignore", message="the numpy images? of shape .* (is|are) ambiguous")
        try:
            args.run(args)
        except SystemExit as exit_:  # a usage error found after parsing (2)
            return exit_.code if isinstance(exit_.code, int) else 2
        except ImageFileError as error:
            return _fail(1, error)
        except ValueError as error:  # the solver refused the options it was given
            return _fail(2, error)
        except MemoryError:
            named = args.input if args.command == "path" else args.files[0]
            return _fail(1, f"{named}: out of memory (try a smaller image)" if
                         args.command == "path" or args.out_dir is None else
                         "out of memory (try smaller images)")
        except KeyboardInterrupt:
            return _fail(130, "interrupted")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
