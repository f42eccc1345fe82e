"""The ``isvs-graph`` command line: smooth an image file, or draw its path.

Examples::

    isvs-graph smooth photo.png smooth.png --sparsity 0.8
    isvs-graph smooth photo.png smooth.png --t 20 --mode channel
    isvs-graph path photo.png path.png --sparsities 1 0.9 0.8 0.7

Every check that needs no computing comes first: the options (exit status 2, as
argparse does), the output's format and folder, the input decoded whole (exit status 1);
only then are the solver and its stack (torch, numba) imported. ``--help`` imports none
of them.
"""

from __future__ import annotations

import argparse
import math
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


def _count(name: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}"
                                             ) from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"{name} must be >= 0, got {value}")
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

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("input", help="image file to read (PNG, TIFF, JPEG, …; 8- or "
                                       "16-bit, float TIFF; alpha and EXIF orientation "
                                       "kept)")
        sub.add_argument("output", help="image file to write; its extension names the "
                                        "format (.png, .tif, .jpg, …)")
        sub.add_argument("--kappa", type=_positive["kappa"], default=DEFAULT_KAPPA,
                         help="damping κ (default %(default)s)")
        sub.add_argument("--nu", type=_positive["nu"], default=1.0,
                         help="coupling ν (default 1)")
        sub.add_argument("--mode", choices=("joint", "channel"), default="joint",
                         help="one support per pixel edge for all channels (joint, "
                              "default) or one per channel")
        sub.add_argument("--connectivity", type=int, choices=(4, 8), default=4,
                         help="pixel neighbourhood (default 4)")
        sub.add_argument("--tol", type=_tol, default=DEFAULT_TOL,
                         help="the floor, a fraction of the image's range: edges below it "
                              "count as flat (default %(default)s)")
        sub.add_argument("--max-iter", type=_count("max-iter"), default=None,
                         help=f"the most steps computed (default {DEFAULT_MAX_ITER:,})")
        sub.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    smooth = commands.add_parser(
        "smooth", help="smooth an image at one scale",
        description="Smooth an image at one scale and write it in the input's bit depth "
                    "and mode (alpha passed through unchanged).")
    common(smooth)
    scale = smooth.add_mutually_exclusive_group(required=True)
    scale.add_argument("--t", type=_time, help="time t >= 0 (0 is the coarsest scale)")
    scale.add_argument("--sparsity", type=_sparsity,
                       help="fraction of pixel edges not yet split, in [0, 1] "
                            "(1 is the coarsest scale; 0.8 keeps strong contours)")
    smooth.set_defaults(run=_smooth)

    draw = commands.add_parser(
        "path", help="draw the path of an image at several scales",
        description="Draw the image at several scales side by side, with the input, as "
                    "an 8-bit RGB picture.")
    common(draw)
    draw.add_argument("--sparsities", type=_sparsity, nargs="+",
                      default=list(DEFAULT_PATH_SPARSITIES),
                      help="the scales to draw, each in [0, 1] (default: %(default)s)")
    draw.set_defaults(run=_path)
    return parser, {"smooth": smooth, "path": draw}


def _solver_options(args: argparse.Namespace) -> dict:
    return {"kappa": args.kappa, "nu": args.nu, "mode": args.mode, "tol": args.tol,
            "max_iter": args.max_iter, "connectivity": args.connectivity}


def _read_checked(args: argparse.Namespace, written=None):
    """The input decoded and the output checked, all before any computing: returns
    ``(image, info, written)``, ``written`` the :class:`ImageInfo` the output gets
    (default the input's)."""
    import numpy as np

    from ._image_files import ImageFileError, check_output, check_output_path, read_image
    check_output_path(args.output)  # extension and folder: nothing to decode for these
    image, info = read_image(args.input)
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ImageFileError(f"{args.input}: holds NaN or infinite values; the solve "
                             "needs finite values")
    written = info if written is None else written(info)
    check_output(args.output, written)
    return image, info, written


def _smooth(args: argparse.Namespace) -> None:
    from ._image_files import join_alpha, split_alpha, write_image
    image, info, _ = _read_checked(args)
    colour, alpha = split_alpha(image, info)
    from .images import smooth_image  # the solver's stack: only now
    out = smooth_image(colour, t=args.t, sparsity=args.sparsity, progress=not args.quiet,
                       **_solver_options(args))
    mode = write_image(args.output, join_alpha(out, alpha), info)
    scale = f"t = {args.t:g}" if args.t is not None else f"sparsity {args.sparsity:g}"
    depth = info.description if mode == info.mode else \
        f"{info.description}, written at 8 bits"
    kept = ", alpha passed through" if alpha is not None else ""
    print(f"wrote {args.output} ({image.shape[1]}×{image.shape[0]} {depth}{kept}, "
          f"asked for {scale})")


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


def _path_strip(panels: Sequence, labels: Sequence[str]):
    """Panels side by side with a caption under each."""
    import numpy as np
    from PIL import Image, ImageDraw
    height, width = panels[0].shape[:2]
    gap, caption = 4, 16
    strip = Image.new("RGB", (len(panels) * (width + gap) - gap, height + caption), "white")
    draw = ImageDraw.Draw(strip)
    for n, (panel, label) in enumerate(zip(panels, labels)):
        strip.paste(Image.fromarray(panel).convert("RGB"), (n * (width + gap), 0))
        draw.text((n * (width + gap) + 2, height + 2), label, fill="black")
    return np.asarray(strip)


def _strip_info(info):
    from dataclasses import replace
    return replace(info, mode="RGB",
                   icc_profile=info.icc_profile if info.mode in ("RGB", "RGBA") else None)


def _path(args: argparse.Namespace) -> None:
    from ._image_files import split_alpha, write_image
    image, info, written = _read_checked(args, _strip_info)
    colour, _ = split_alpha(image, info)
    # The solver's stack: only now.
    from ._paths import path
    from .graphs import grid_graph
    from .images import image_to_signal
    signal, height, width, restore = image_to_signal(colour)
    levels = sorted(set(args.sparsities), reverse=True)
    options = _solver_options(args)
    graph = grid_graph(height, width, options.pop("connectivity"))
    result = path(graph, signal, sparsity_min=levels[-1], levels=levels,
                  progress=not args.quiet, **options)
    low, high = float(colour.min()), float(colour.max())
    panels, labels = [], []
    for level in levels:
        k = result.iterations(sparsity=level)
        panels.append(_display(restore(result.at(sparsity=level)), info, low, high))
        labels.append(f"t={k * result.alpha:.3g} s={float(result.sparsity_at(k)):.2f}")
    panels.append(_display(colour, info, low, high))
    labels.append("input")
    write_image(args.output, _path_strip(panels, labels), written)
    print(f"wrote {args.output}: {len(levels)} scales from sparsity {levels[0]:g} to "
          f"{levels[-1]:g}, {int(result.n_iter)} iterations")


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
        warnings.filterwarnings("ignore",
                                message="the numpy image of shape .* is ambiguous")
        try:
            args.run(args)
        except ImageFileError as error:
            return _fail(1, error)
        except ValueError as error:  # the solver refused the options it was given
            return _fail(2, error)
        except MemoryError:
            return _fail(1, f"{args.input}: out of memory (try a smaller image)")
        except KeyboardInterrupt:
            return _fail(130, "interrupted")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
