"""The ``isvs-graph`` command line: smooth an image file, or draw its path.

Examples::

    isvs-graph smooth photo.png smooth.png --sparsity 0.8
    isvs-graph smooth photo.png smooth.png --t 20 --mode channel
    isvs-graph path photo.png path.png --sparsities 1 0.9 0.8 0.7
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import numpy as np

from ._io import atomic_write
from ._paths import path
from .graphs import grid_graph
from .images import image_to_signal, smooth_image
from ._solver import DEFAULT_KAPPA, DEFAULT_TOL

__all__ = ["build_parser", "main", "subcommands"]

DEFAULT_PATH_SPARSITIES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)


def read_image(filename: str) -> np.ndarray:
    """An image file as an ``H × W`` (grey) or ``H × W × 3`` uint8 array."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(filename) as image:
            grey = image.mode in ("1", "L", "I", "I;16", "F")
            return np.asarray(image.convert("L" if grey else "RGB"))
    except FileNotFoundError:
        raise SystemExit(f"isvs-graph: error: no such file: {filename!r}") from None
    except UnidentifiedImageError:
        raise SystemExit(f"isvs-graph: error: not an image Pillow can read: {filename!r}"
                         ) from None


def write_image(filename: str, array: np.ndarray) -> None:
    """Write atomically (see :func:`isvs_graph._io.atomic_write`), in the format the
    file's extension names (PNG when it has none)."""
    from PIL import Image
    extension = os.path.splitext(filename)[1].lower()
    image_format = Image.registered_extensions().get(extension, "PNG") if extension \
        else "PNG"
    with atomic_write(filename) as handle:
        Image.fromarray(array).save(handle, format=image_format)


def _solver_options(args: argparse.Namespace) -> dict:
    return {"kappa": args.kappa, "nu": args.nu, "mode": args.mode, "tol": args.tol,
            "max_iter": args.max_iter, "connectivity": args.connectivity}


def _smooth(args: argparse.Namespace) -> None:
    image = read_image(args.input)
    out = smooth_image(image, t=args.t, sparsity=args.sparsity, progress=not args.quiet,
                       **_solver_options(args))
    write_image(args.output, out)
    scale = f"t = {args.t:g}" if args.t is not None else f"sparsity {args.sparsity:g}"
    print(f"wrote {args.output} ({image.shape[1]}×{image.shape[0]}, asked for {scale})")


def _path_strip(panels: Sequence[np.ndarray], labels: Sequence[str]) -> np.ndarray:
    """Panels side by side with a caption under each."""
    from PIL import Image, ImageDraw
    height, width = panels[0].shape[:2]
    gap, caption = 4, 16
    strip = Image.new("RGB", (len(panels) * (width + gap) - gap, height + caption), "white")
    draw = ImageDraw.Draw(strip)
    for n, (panel, label) in enumerate(zip(panels, labels)):
        strip.paste(Image.fromarray(panel).convert("RGB"), (n * (width + gap), 0))
        draw.text((n * (width + gap) + 2, height + 2), label, fill="black")
    return np.asarray(strip)


def _path(args: argparse.Namespace) -> None:
    image = read_image(args.input)
    signal, height, width, restore = image_to_signal(image)
    levels = sorted(set(args.sparsities), reverse=True)
    options = _solver_options(args)
    graph = grid_graph(height, width, options.pop("connectivity"))
    result = path(graph, signal, sparsity_min=levels[-1], levels=levels,
                  progress=not args.quiet, **options)
    panels, labels = [], []
    for level in levels:
        k = result.iterations(sparsity=level)
        panels.append(restore(result.at(sparsity=level)))
        labels.append(f"t={k * result.alpha:.3g} s={result.sparsity_at(k):.2f}")
    panels.append(image)
    labels.append("input")
    write_image(args.output, _path_strip(panels, labels))
    print(f"wrote {args.output}: {len(levels)} scales from sparsity {levels[0]:g} to "
          f"{levels[-1]:g}, {result.n_iter} iterations")


def build_parser() -> argparse.ArgumentParser:
    """The ``isvs-graph`` argument parser (the docs print its help)."""
    return _build()[0]


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """The parser of each subcommand, by name, in the order ``--help`` lists them."""
    return _build()[1]


def _build() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="isvs-graph",
        description="Inverse-scale-space (Split LBI) smoothing of images on pixel graphs.")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("input", help="image file to read (PNG, JPEG, …)")
        sub.add_argument("output", help="image file to write")
        sub.add_argument("--kappa", type=float, default=DEFAULT_KAPPA,
                         help="damping κ (default %(default)s)")
        sub.add_argument("--nu", type=float, default=1.0, help="coupling ν (default 1)")
        sub.add_argument("--mode", choices=("joint", "channel"), default="joint",
                         help="one support per pixel edge for all channels (joint, "
                              "default) or one per channel")
        sub.add_argument("--connectivity", type=int, choices=(4, 8), default=4,
                         help="pixel neighbourhood (default 4)")
        sub.add_argument("--tol", type=float, default=DEFAULT_TOL,
                         help="the floor, a fraction of the image's range: edges below it "
                              "count as flat (default %(default)s)")
        sub.add_argument("--max-iter", type=int, default=None,
                         help="the most steps computed (default 100,000)")
        sub.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    smooth = commands.add_parser("smooth", help="smooth an image at one scale")
    common(smooth)
    scale = smooth.add_mutually_exclusive_group(required=True)
    scale.add_argument("--t", type=float, help="time t >= 0 (0 is the coarsest scale)")
    scale.add_argument("--sparsity", type=float,
                       help="fraction of pixel edges not yet split, in [0, 1] "
                            "(1 is the coarsest scale; 0.8 keeps strong contours)")
    smooth.set_defaults(run=_smooth)

    draw = commands.add_parser("path", help="draw the path of an image at several scales")
    common(draw)
    draw.add_argument("--sparsities", type=float, nargs="+",
                      default=list(DEFAULT_PATH_SPARSITIES),
                      help="the scales to draw (default: %(default)s)")
    draw.set_defaults(run=_path)
    return parser, {"smooth": smooth, "path": draw}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``isvs-graph`` with ``argv`` (default ``sys.argv[1:]``); returns the exit
    status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except ValueError as error:
        parser.exit(2, f"isvs-graph: error: {error}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
