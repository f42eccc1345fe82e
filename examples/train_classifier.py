"""
Robust training with ISVS
=========================

Trains the same classifier six ways — on the images as they are (``vanilla``), with a
standard augmentation (``augment``: random rotation, shift and scale, from kornia), on
low-passed images (``lowpass``: an FFT mask removes high frequencies, with radii matched
to ISVS's PSNR and drawn per image like its scales), on ISVS-sparsified images
(``isvs``: each image at a time drawn from 12–24, the default recipe, read from a path
cache built once), on ISVS images then augmented (``isvs+augment``: ISVS added to a
standard pipeline) and on the paper's coarse-to-fine curriculum over the same range
(``isvs-curriculum``) — with the same seed and budget, then evaluates each on clean
images, the 15 corruption types × 5 severities, FGSM and PGD attacks, and low
resolution (×2, ×4), and prints the table side by side, with how much ISVS smoothed
(median PSNR at both ends of its range) and how many draws stopped at an image's floor.

``--sweep`` instead trains ISVS at several strengths on a validation split of the
training images (never the test set), evaluates each beside vanilla, and picks the range
with the best mean robustness at most 2 points of clean accuracy below vanilla
(``sweep.json``, ``sweep.md``, ``sweep.png``).

With no arguments it runs on scikit-learn's bundled handwritten digits (resized to
32×32, no download) with a small CNN. ``--dataset fashion-mnist`` reads Fashion-MNIST's
70,000 real photos of clothes from ``/usr/share/datasets/fashion-mnist`` (``apt-get
install dataset-fashion-mnist``) or ``--data-root DIR``, padded to 32×32, with the same
small CNN. ``--dataset cifar10 --data-root DIR`` reads the
CIFAR python batches, ``--dataset folder --data-root DIR`` an ImageFolder tree, with a
CIFAR ResNet-18 by default. ``torchrun --nproc_per_node N`` trains with
DistributedDataParallel (gloo on CPU, nccl on GPU).

Outputs in ``--out``: ``results.json``, ``results.md``, ``corruptions.png``,
``severity.png``, checkpoints (``--resume`` continues a killed run).

The output reads the same in a terminal and in a log file: progress bars only when stderr
is a terminal (``--quiet``: none), each kind of warning printed once as one line and
counted in the last line; ``--help`` answers before torch loads.
"""


from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
import warnings
from pathlib import Path

# Only the standard library above this point: --help and argument errors answer before
# numpy, torch and PyG load (seconds), and the imports follow the parse (see the end of
# this block).

METHODS = ("vanilla", "lowpass", "augment", "isvs", "isvs+augment", "isvs-curriculum")
#: The ranges ``--sweep`` tries by default: times (coarse, fine), each a factor 2 wide.
SWEEP_TIMES = ((4, 8), (6, 12), (8, 16), (12, 24), (16, 32), (24, 48), (32, 64))
# The library's values (isvs_graph.training's DEFAULT_TIMES, FASHION_MNIST_ROOT and
# MODELS), repeated here so that --help needs no torch; tests/training/
# test_train_classifier.py checks that they agree.
DEFAULT_TIMES = (12.0, 24.0)
FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"
MODEL_NAMES = ("small", "resnet18")


# ------------------------------------------------------------------------ the log
class WarningTally:
    """The job's warnings, one line each: the first warning of each kind (its category)
    is printed as ``warning: Category: message`` on one line, the rest are counted, and
    :meth:`summary` says how many of each kind occurred.

    A context manager for the job's ``main`` only: it changes how warnings are shown,
    not which are raised, so filters set before it (``-W error``, pytest's
    ``filterwarnings``) still decide first; warnings no filter handles, which Python
    would show once per place, are all counted. Everything is restored on exit.

    Parameters
    ----------
    stream : file-like, optional
        Where the one-line warnings go; default ``sys.stderr`` at the time of each
        warning (through ``tqdm.write``, which keeps a bar on a terminal intact).
    """

    def __init__(self, stream=None) -> None:
        self.stream = stream
        self.counts: dict[str, int] = {}
        self.first: dict[str, str] = {}
        self._catcher: warnings.catch_warnings | None = None

    def __enter__(self) -> WarningTally:
        if self._catcher is not None:
            raise RuntimeError("this WarningTally is already active")
        self._catcher = warnings.catch_warnings()
        self._catcher.__enter__()
        warnings.filterwarnings("always", append=True)
        warnings.showwarning = self._show
        return self

    def __exit__(self, *exc) -> None:
        catcher, self._catcher = self._catcher, None
        catcher.__exit__(*exc)

    def _show(self, message, category, filename, lineno, file=None, line=None) -> None:
        kind = category.__name__
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind in self.first:
            return
        self.first[kind] = " ".join(str(message).split())
        from tqdm.auto import tqdm
        tqdm.write(f"warning: {kind}: {self.first[kind]}",
                   file=self.stream if self.stream is not None else sys.stderr)

    def summary(self) -> str:
        """How many warnings of each kind occurred, with the first message of each:
        ``"3 warnings: 2 × ConvergenceWarning (…), 1 × UserWarning (…)"``, or
        ``"no warnings"``."""
        total = sum(self.counts.values())
        if not total:
            return "no warnings"
        kinds = sorted(self.counts, key=lambda kind: (-self.counts[kind], kind))
        return f"{total} warning{'s' if total > 1 else ''}: " + ", ".join(
            f"{self.counts[kind]} × {kind} ({self.first[kind]})" for kind in kinds)


# ---------------------------------------------------------------------- arguments
class DefaultsOnceFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's ``(default: …)`` after each option whose default is a value, and
    nothing after one whose default is None (its help says what happens then) or a
    flag's False: every default stated exactly once. Lists read as typed (``1 2``)."""

    def _get_help_string(self, action):
        help = action.help or ""
        if action.default is None or action.default is False or \
                action.default is argparse.SUPPRESS or "%(default)" in help:
            return help
        if isinstance(action.default, (list, tuple)):
            value = " ".join(f"{v:g}" if isinstance(v, float) else str(v)
                             for v in action.default)
            return f"{help} (default: {value.replace('%', '%%')})"
        return f"{help} (default: %(default)s)"


def positive_int(text: str, low: int = 1) -> int:
    """An argparse type: an integer >= 1 (``low``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    """An argparse type: an integer >= 0."""
    return positive_int(text, low=0)


def real(low: float = -math.inf, high: float = math.inf, *, above: bool = False):
    """An argparse type: a finite number in ``[low, high]`` (``(low, high]`` when
    ``above``)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        inside = math.isfinite(value) and (value > low if above else value >= low) and \
            value <= high
        if not inside:
            bounds = [f"{'>' if above else '>='} {low:g}"] if low > -math.inf else []
            bounds += [f"<= {high:g}"] if high < math.inf else []
            raise argparse.ArgumentTypeError(
                f"expected a finite number{' ' + ' and '.join(bounds) if bounds else ''}, "
                f"got {text}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The job's options, each with its default stated once in ``--help``."""
    parser = argparse.ArgumentParser(description="Robust training with ISVS",
                                     formatter_class=DefaultsOnceFormatter)
    parser.add_argument("--dataset", choices=("digits", "fashion-mnist", "cifar10", "cifar100",
                                              "folder"),
                        default="digits", help="the data set")
    parser.add_argument("--data-root", help="folder of Fashion-MNIST's IDX files, of CIFAR "
                        "batches or of an ImageFolder tree (default: "
                        f"{FASHION_MNIST_ROOT} for fashion-mnist; the others need it)")
    parser.add_argument("--cifar10c", help="folder of CIFAR-10-C .npy files (default: "
                        "generate the corruptions)")
    parser.add_argument("--image-size", type=positive_int, default=32,
                        help="image side for --dataset folder")
    parser.add_argument("--model", choices=MODEL_NAMES,
                        help="the classifier (default: small for digits and "
                             "fashion-mnist, resnet18 otherwise)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS),
                        help="the methods to train")
    parser.add_argument("--epochs", type=positive_int, default=15,
                        help="training epochs of each method")
    parser.add_argument("--batch-size", type=positive_int, default=64,
                        help="images per batch and process")
    parser.add_argument("--lr", type=real(0.0, above=True), default=0.05,
                        help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="the seed of a one-seed run")
    parser.add_argument("--seeds", type=nonnegative_int, nargs="+",
                        help="train every method once per seed and report mean ± std and "
                             "the paired difference to vanilla (default: --seed only)")
    parser.add_argument("--device", help="torch device (default: cuda if available, "
                        "else cpu)")
    parser.add_argument("--amp", action="store_true", help="mixed precision (CUDA)")
    parser.add_argument("--out", type=Path, default=Path("out/train"),
                        help="folder of the results, plots, checkpoints and path cache")
    parser.add_argument("--resume", action="store_true", help="continue from checkpoints")
    parser.add_argument("--num-workers", type=nonnegative_int, default=0,
                        help="data-loading worker processes (0: load in the main one)")
    parser.add_argument("--isvs-schedule", choices=("fixed", "random", "curriculum"),
                        default="random", help="how the isvs method draws its scales")
    parser.add_argument("--isvs-scale", choices=("t", "sparsity"), default="t",
                        help="the scale of --isvs-range and --isvs-value: the dimensionless "
                             "time (the same strength on every data set) or the sparsity")
    parser.add_argument("--isvs-range", type=real(0.0), nargs=2, metavar=("LOW", "HIGH"),
                        help="the range drawn from (and the curriculum's) (default: "
                             f"{DEFAULT_TIMES[0]:g} {DEFAULT_TIMES[1]:g} in t, 0.6 0.8 in "
                             "sparsity)")
    parser.add_argument("--isvs-value", type=real(0.0),
                        help="fixed schedule, and the test-time scale (default: the middle "
                             "of the range)")
    parser.add_argument("--isvs-levels", type=real(0.0, 1.0), nargs="+",
                        default=[0.9, 0.8, 0.7, 0.6],
                        help="recorded sparsities of the cache (sparsity scale)")
    parser.add_argument("--isvs-test", action="store_true",
                        help="also smooth test inputs of the isvs models (attacks then go "
                             "through the smoothing straight-through, BPDA)")
    parser.add_argument("--lowpass-radius", type=real(0.0, above=True),
                        help="a fixed low-pass radius, 1 = Nyquist (default: radii "
                             "matched to ISVS's PSNR, drawn per image like its scales)")
    parser.add_argument("--lowpass-test", action="store_true",
                        help="also low-pass test inputs of the lowpass model")
    parser.add_argument("--eps", type=real(0.0), default=4.0, help="attack radius, in /255")
    parser.add_argument("--pgd-steps", type=positive_int, default=20,
                        help="PGD steps per restart")
    parser.add_argument("--pgd-restarts", type=positive_int, default=1,
                        help="PGD random restarts (each image keeps its worst)")
    parser.add_argument("--limit", type=positive_int, help="use only this many training and "
                        "test images, for quick runs (default: all)")
    parser.add_argument("--test-limit", type=positive_int, help="evaluate on only this many "
                        "test images (default: --limit, else all)")
    parser.add_argument("--no-eval", action="store_true", help="train only (no evaluation)")
    parser.add_argument("--sweep", action="store_true",
                        help="train isvs at each --sweep-ranges range on a validation split "
                             "of the training images, beside vanilla, and pick a range")
    parser.add_argument("--sweep-ranges", type=real(0.0), nargs="+", metavar="LOW HIGH",
                        help="flat list of ranges in --isvs-scale (default: the times "
                             + " ".join(f"{a:g} {b:g}" for a, b in SWEEP_TIMES) + ")")
    parser.add_argument("--val-fraction", type=float, default=0.2,
                        help="the validation split of --sweep (a fraction of the training "
                             "images, stratified by class)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bars (without it, bars only on a terminal)")
    return parser


def parse(argv=None) -> argparse.Namespace:
    """The job's options, checked (argparse's exit status 2 on a bad one), with the
    defaults that depend on other options filled in; needs no torch."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.isvs_range is None:
        args.isvs_range = DEFAULT_TIMES if args.isvs_scale == "t" else (0.6, 0.8)
    args.isvs_range = tuple(sorted(args.isvs_range))
    check_range = (0.0, float("inf")) if args.isvs_scale == "t" else (0.0, 1.0)
    if not check_range[0] <= args.isvs_range[0] or args.isvs_range[1] > check_range[1]:
        parser.error(f"--isvs-range {args.isvs_range[0]:g} {args.isvs_range[1]:g} is out of "
                     f"range for --isvs-scale {args.isvs_scale}")
    if args.isvs_value is None:
        args.isvs_value = (args.isvs_range[0] + args.isvs_range[1]) / 2
    elif args.isvs_scale == "sparsity" and args.isvs_value > 1.0:
        parser.error(f"--isvs-value {args.isvs_value:g} is not a sparsity (in [0, 1]); "
                     "with --isvs-scale sparsity give one")
    if args.seeds is not None and len(set(args.seeds)) < len(args.seeds):
        parser.error(f"--seeds {' '.join(map(str, args.seeds))} repeats a seed: each run "
                     "is one seed, counted once")
    if args.sweep_ranges is not None and len(args.sweep_ranges) % 2:
        parser.error("--sweep-ranges takes pairs LOW HIGH")
    if args.sweep and args.isvs_scale == "sparsity" and args.sweep_ranges is None:
        parser.error("--sweep with --isvs-scale sparsity needs --sweep-ranges (the default "
                     "ranges are times)")
    if not 0.0 < args.val_fraction < 1.0:
        parser.error(f"--val-fraction must lie in (0, 1), got {args.val_fraction:g}")
    args.seeds = args.seeds or [args.seed]
    args.model = args.model or ("small" if args.dataset in ("digits", "fashion-mnist")
                                else "resnet18")
    return args


if __name__ == "__main__":
    ARGS = parse()  # --help and bad options end here, before the imports below

import numpy as np  # noqa: E402 (after the parse: see above)
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from isvs_graph import ConvergenceWarning, smooth_images  # noqa: E402
from isvs_graph.training import (COLUMNS, CORRUPTIONS, MODELS, CachedISVSDataset,  # noqa: E402
                                 CoarseToFine, Fixed, SparsityRange, TimeRange,
                                 bundled_digits, corrupted_sets, corruption_table, evaluate,
                                 load_checkpoint, lowpass, matched_radii, psnr, read_cifar,
                                 read_fashion_mnist, read_image_folder, save_checkpoint,
                                 show_progress, summarize, summary_table, write_results)


# ------------------------------------------------------------------------------- data
def load_data(args):
    if args.dataset == "digits":
        (train_x, train_y), (test_x, test_y) = bundled_digits()
        return train_x, train_y, test_x, test_y, 10
    if args.dataset == "fashion-mnist":  # Debian's dataset-fashion-mnist by default
        train_x, train_y = read_fashion_mnist(args.data_root, "train")
        test_x, test_y = read_fashion_mnist(args.data_root, "test")
        return train_x, train_y, test_x, test_y, 10
    if args.data_root is None:
        raise SystemExit(f"--dataset {args.dataset} needs --data-root DIR")
    if args.dataset in ("cifar10", "cifar100"):
        train_x, train_y = read_cifar(args.data_root, "train")
        test_x, test_y = read_cifar(args.data_root, "test")
        return train_x, train_y, test_x, test_y, int(max(train_y.max(), test_y.max())) + 1
    images, labels, classes = read_image_folder(args.data_root, size=args.image_size)
    order = np.random.default_rng(args.seed).permutation(len(images))
    test = order[:max(1, len(images) // 5)]
    train = order[len(test):]
    return images[train], labels[train], images[test], labels[test], len(classes)


def coarse_fine(args) -> tuple[float, float]:
    """The ISVS range as (coarse end, fine end): small to large times, high to low
    sparsities."""
    low, high = sorted(args.isvs_range)
    return (low, high) if args.isvs_scale == "t" else (high, low)


def isvs_rule(args, method: str = "isvs"):
    """The scale rule of an ISVS method: the random draw from the range (default), a
    fixed scale, or the coarse-to-fine curriculum over the same range."""
    schedule = "curriculum" if method == "isvs-curriculum" else args.isvs_schedule
    if schedule == "fixed":
        return Fixed(args.isvs_value, scale=args.isvs_scale)
    if schedule == "random":
        low, high = sorted(args.isvs_range)
        return TimeRange(low, high) if args.isvs_scale == "t" else SparsityRange(low, high)
    # Coarse to fine over the first 3/4 of the epochs, then the full images (the paper's).
    coarse, fine = coarse_fine(args)
    return CoarseToFine(coarse, fine, epochs=max(1, (3 * args.epochs) // 4),
                        scale=args.isvs_scale)


class TensorImages(torch.utils.data.Dataset):
    def __init__(self, images, labels) -> None:
        self.images, self.labels = torch.from_numpy(images), torch.from_numpy(labels)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index].float() / 255.0, self.labels[index]


# ----------------------------------------------------------------------- training
def setup_distributed(device_name: str):
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        backend = "nccl" if device_name.startswith("cuda") else "gloo"
        dist.init_process_group(backend)
        if device_name.startswith("cuda"):
            device_name = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return rank, world, torch.device(device_name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train_method(method: str, args, data, classes: int, rank: int, world: int,
                 device: torch.device) -> tuple[nn.Module, list[float], float | None]:
    train_x, train_y = data
    config = {"method": method, "dataset": args.dataset, "model": args.model,
              "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
              "seed": args.seed, "world": world, "isvs": [args.isvs_schedule,
                                                           args.isvs_scale, args.isvs_value,
                                                           list(args.isvs_range)],
              "lowpass": args.lowpass_match, "limit": args.limit}
    seed_everything(args.seed)
    model = MODELS[args.model](classes).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9,
                                weight_decay=5e-4, nesterov=True)
    steps = args.epochs * -(-len(train_x) // (args.batch_size * world))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=steps)
    if method.startswith("isvs"):
        dataset = isvs_dataset(args, method, train_x, train_y)
        dataset.build(rank=rank, world_size=world, progress=rank == 0 and not args.quiet)
        if world > 1:
            dist.barrier()
        dataset.load()
    else:
        dataset = TensorImages(train_x, train_y)
    sampler = torch.utils.data.distributed.DistributedSampler(
        dataset, num_replicas=world, rank=rank, shuffle=True, seed=args.seed) \
        if world > 1 else None

    suffix = f"-seed{args.seed}" if len(args.seeds) > 1 else ""
    checkpoint_path = args.out / f"checkpoint-{method}{suffix}.pt"
    start = 0
    if args.resume:
        payload = load_checkpoint(checkpoint_path, config)
        if payload is not None:
            model.load_state_dict(payload["model"])
            optimizer.load_state_dict(payload["optimizer"])
            scheduler.load_state_dict(payload["scheduler"])
            start = payload["epoch"] + 1
            if rank == 0:
                print(f"{method}: resuming after epoch {start}")
    augment = augmentation().to(device) if method in ("augment", "isvs+augment") else None
    net = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    scaler = torch.amp.GradScaler(device.type, enabled=args.amp and device.type == "cuda")
    epoch_seconds = []
    for epoch in range(start, args.epochs):
        began = time.perf_counter()
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
        # The order of an epoch depends only on (seed, epoch): a resumed run repeats it.
        order = torch.Generator().manual_seed(args.seed * 1000 + epoch)
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=args.batch_size, sampler=sampler, shuffle=sampler is None,
            generator=order, num_workers=args.num_workers, drop_last=False)
        draws = torch.Generator().manual_seed(args.seed * 1000 + epoch + 1)  # low-pass radii
        net.train()
        total, correct, loss_sum = 0, 0, 0.0
        bar = tqdm(loader, desc=f"{method} epoch {epoch + 1}/{args.epochs}", leave=False,
                   disable=rank != 0 or not show_progress(not args.quiet))
        for images, labels in bar:
            images, labels = images.to(device), labels.to(device)
            if augment is not None:
                images = augment(images)
            if method == "lowpass":
                radii = lowpass_radii(args, len(images), epoch, draws)
                if radii is not None:
                    images = lowpass(images, radii)
            with torch.autocast(device.type, enabled=args.amp):
                logits = net(images)
                loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            total += len(labels)
            correct += (logits.argmax(1) == labels).sum().item()
            loss_sum += loss.item() * len(labels)
        epoch_seconds.append(time.perf_counter() - began)
        if rank == 0:
            print(f"{method}: epoch {epoch + 1}/{args.epochs} loss {loss_sum / total:.3f} "
                  f"train accuracy {correct / total:.3f}")
            save_checkpoint(checkpoint_path, {
                "epoch": epoch, "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
                config)
        if world > 1:
            dist.barrier()
    # The share of this run's draws served at an image's floor (None: no ISVS).
    hits = dataset.floor_hits(range(args.epochs)) if method.startswith("isvs") else None
    return model, epoch_seconds, hits


def isvs_dataset(args, method: str, train_x, train_y) -> CachedISVSDataset:
    """The path-cache dataset of an ISVS method (one cache for all of them: they share
    the range, so their paths stop at the same scale)."""
    rule = isvs_rule(args, method)
    keyword = {"t": rule} if args.isvs_scale == "t" else {
        "sparsity": rule, "levels": sorted({1.0, *args.isvs_levels, *args.isvs_range},
                                           reverse=True)}
    return CachedISVSDataset(train_x, train_y, args.out / "path-cache", seed=args.seed,
                             **keyword)


def smoothing_report(args, train_x) -> dict:
    """How much ISVS smooths the training images: the median PSNR (dB) to the clean
    images at the coarse and the fine end of its range, on up to 512 of them."""
    sample = torch.from_numpy(train_x[:512]).float() / 255
    coarse, fine = coarse_fine(args)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, level in (("coarse", coarse), ("fine", fine)):
            smoothed = smooth_images(sample, **{args.isvs_scale: level})
            out[name] = round(float(psnr(smoothed, sample).median()), 2)
    return out


def _mean_results(runs: dict, summary: dict) -> dict:
    """Per method, the metrics' means (from ``summary``) and the per-corruption accuracy
    averaged over the seeds, for the table and the plots."""
    seeds = list(runs)
    out = {}
    for method in runs[seeds[0]]:
        out[method] = {key: summary[method][key]["mean"] for key in COLUMNS}
        out[method]["corruption_detail"] = {
            name: np.mean([runs[s][method]["corruption_detail"][name] for s in seeds],
                          axis=0).tolist()
            for name in runs[seeds[0]][method]["corruption_detail"]}
    return out


def augmentation() -> nn.Module:
    """The standard augmentation baseline, from kornia: each image rotated by up to 10°,
    shifted by up to 10 % and scaled by 0.9–1.1 at random (label-preserving for digits,
    clothes and objects alike)."""
    try:
        import kornia.augmentation as K
    except ImportError as error:  # pragma: no cover - depends on the install
        raise SystemExit("the augment baseline needs kornia: pip install kornia") from error
    return K.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1), p=1.0)


def match_lowpass(args, train_x) -> dict:
    """The low-pass baseline's strength: ``--lowpass-radius`` (fixed), or by default
    radii matched to ISVS's mean PSNR at the scales ISVS trains with (in its scale, on
    256 training images), drawn per image as ISVS draws its scales."""
    if args.lowpass_radius is not None:
        return {"radius": args.lowpass_radius}
    low, high = min(args.isvs_range), max(args.isvs_range)
    levels = sorted({*np.linspace(low, high, 5).tolist(), args.isvs_value})
    sample = torch.from_numpy(train_x[:256]).float() / 255
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        radii = matched_radii(sample, levels, scale=args.isvs_scale)
    return {"scale": args.isvs_scale, "levels": levels, "radii": radii.tolist()}


def lowpass_radii(args, count: int, epoch: int, generator: torch.Generator):
    """The radius of each of ``count`` training images in ``epoch`` (None: originals)."""
    match = args.lowpass_match
    if "radius" in match:
        return match["radius"]
    levels = isvs_rule(args).draw(count, epoch=epoch, generator=generator)
    if levels is None:
        return None
    return np.interp(levels, match["levels"], match["radii"])


def test_transform(method: str, args):
    """The transform applied to test inputs of ``method`` (``--isvs-test``,
    ``--lowpass-test``), or None."""
    if method.startswith("isvs") and args.isvs_test:
        def smooth(batch):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                return smooth_images(batch, **{args.isvs_scale: args.isvs_value})
        return smooth
    if method == "lowpass" and args.lowpass_test:
        match = args.lowpass_match
        radius = match.get("radius") or float(np.interp(args.isvs_value, match["levels"],
                                                        match["radii"]))
        return lambda batch: lowpass(batch, radius)
    return None


def validation_split(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A mask of the validation images: ``fraction`` of each class, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        held[members[:max(1, int(round(fraction * len(members))))]] = True
    return held


def sweep(args, train_x, train_y, classes, rank, world, device) -> int:
    """Train vanilla and ISVS at each range of ``--sweep-ranges`` on the training images
    less a validation split, evaluate on that split, and pick the range with the best
    mean robustness (corruption, FGSM, PGD, low resolution) at most 2 points of clean
    accuracy below vanilla. The test set is never read."""
    held = validation_split(train_y, args.val_fraction, seed=12345)
    fit_x, fit_y, val_x, val_y = train_x[~held], train_y[~held], train_x[held], train_y[held]
    flat = args.sweep_ranges or [v for pair in SWEEP_TIMES for v in pair]
    ranges = [tuple(sorted(flat[i:i + 2])) for i in range(0, len(flat), 2)]
    print(f"sweep: {len(fit_x):,} training and {len(val_x):,} validation images (the test "
          f"set is not read); ranges of {args.isvs_scale}: "
          + ", ".join(f"{a:g}-{b:g}" for a, b in ranges))
    corrupted = corrupted_sets(val_x, val_y, seed=args.seed, progress=not args.quiet)
    args.lowpass_match = {}
    rows = {}

    def run(name, method):
        model, _, hits = train_method(method, args, (fit_x, fit_y), classes, rank, world,
                                      device)
        row = evaluate(model, val_x, val_y, corrupted, eps=args.eps / 255,
                       pgd_steps=args.pgd_steps, pgd_restarts=args.pgd_restarts,
                       progress=not args.quiet, name=name)
        row["robustness"] = float(np.mean([row[k] for k in ("corruption", "fgsm", "pgd",
                                                            "lowres")]))
        row["floor_hits"] = hits
        print(f"{name}: " + ", ".join(f"{k} {row[k]:.3f}" for k in (*COLUMNS, "robustness")))
        return row

    rows["vanilla"] = run("vanilla", "vanilla")
    args.methods, args.isvs_schedule = ["isvs"], "random"
    for low, high in ranges:
        args.isvs_range, args.isvs_value = (low, high), (low + high) / 2
        name = f"isvs {low:g}-{high:g}"
        rows[name] = run(name, "isvs")
        rows[name].update(range=[low, high], psnr=smoothing_report(args, fit_x))
    floor = rows["vanilla"]["clean"] - 0.02
    eligible = {name: row for name, row in rows.items()
                if name != "vanilla" and row["clean"] >= floor}
    chosen = max(eligible, key=lambda name: eligible[name]["robustness"]) if eligible else None
    lines = ["| run | PSNR coarse–fine (dB) | floor hits | " + " | ".join(COLUMNS)
             + " | robustness |", "| --- | ---: | ---: |" + " ---: |" * (len(COLUMNS) + 1)]
    for name, row in rows.items():
        quality = f"{row['psnr']['coarse']:.1f}–{row['psnr']['fine']:.1f}" if "psnr" in row \
            else "–"
        hits = "–" if row["floor_hits"] is None else f"{row['floor_hits']:.1%}"
        mark = " (chosen)" if name == chosen else ""
        lines.append(f"| {name}{mark} | {quality} | {hits} | " + " | ".join(
            f"{row[c]:.3f}" for c in (*COLUMNS, "robustness")) + " |")
    markdown = "\n".join(lines)
    result = {"dataset": args.dataset, "scale": args.isvs_scale, "seed": args.seed,
              "epochs": args.epochs, "train_images": len(fit_x),
              "validation_images": len(val_x),
              "criterion": "best mean of corruption, fgsm, pgd, lowres accuracy with clean "
                           "accuracy at most 0.02 below vanilla, on the validation split",
              "chosen": None if chosen is None else rows[chosen]["range"], "runs": rows}
    # Beside, never over, the results.json of a training run in the same folder.
    write_results(args.out, {**result, "results": {}}, markdown, stem="sweep")
    sweep_plot(rows, args.out / "sweep.png", args)
    print("\n" + markdown)
    print(f"\nchosen: {args.isvs_scale} {rows[chosen]['range']}" if chosen else
          "\nno range keeps clean accuracy within 2 points of vanilla")
    print(f"sweep results in {args.out}/sweep.json, sweep.md and sweep.png")
    return 0


def sweep_plot(rows: dict, file: Path, args) -> None:
    """Accuracy under each threat against the strength of smoothing (the middle of each
    range), vanilla as dashed lines."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    runs = [row for name, row in rows.items() if name != "vanilla"]
    middle = [np.mean(row["range"]) for row in runs]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, key in enumerate((*COLUMNS, "robustness")):
        colour = f"C{i}"
        ax.plot(middle, [row[key] for row in runs], marker="o", color=colour, label=key)
        ax.axhline(rows["vanilla"][key], color=colour, linestyle="--", linewidth=0.8)
    ax.set_xscale("log" if args.isvs_scale == "t" else "linear")
    ax.set_xticks(middle, [f"{a:g}-{b:g}" for a, b in (row["range"] for row in runs)],
                  rotation=30)
    ax.minorticks_off()
    ax.set_xlabel(f"ISVS training range ({args.isvs_scale}); dashed: vanilla")
    ax.set_ylabel("validation accuracy")
    ax.set_title(f"{args.dataset}: accuracy against the strength of smoothing")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    fig.savefig(file, dpi=100)
    plt.close(fig)


def plots(results: dict, out: Path) -> None:
    """``corruptions.png`` (accuracy per corruption, a bar per method) and
    ``severity.png`` (accuracy against severity, a line per method) in ``out``; the
    legends sit outside the axes, clear of every bar and line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    methods = list(results)
    fig, ax = plt.subplots(figsize=(12, 3.5))
    width = 0.8 / len(methods)
    for i, method in enumerate(methods):
        detail = results[method]["corruption_detail"]
        ax.bar(np.arange(len(CORRUPTIONS)) + i * width,
               [np.mean(detail[name]) for name in CORRUPTIONS], width, label=method)
    ax.set_xticks(np.arange(len(CORRUPTIONS)) + 0.4 - width / 2)
    ax.set_xticklabels(CORRUPTIONS, rotation=40, ha="right", fontsize=8)
    ax.set_xlim(-2 * width, len(CORRUPTIONS) - 0.2 + width)
    ax.set_ylabel("accuracy (mean over severities)")
    # One row above the axes: inside them it covered the last corruptions' bars.
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(methods),
              frameon=False, fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "corruptions.png", dpi=100)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for method in methods:
        detail = results[method]["corruption_detail"]
        ax.plot(range(1, 6), np.mean([detail[name] for name in CORRUPTIONS], axis=0),
                marker="o", label=method)
    ax.set_xticks(range(1, 6))
    ax.set_xlabel("severity")
    ax.set_ylabel("accuracy (mean over corruptions)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "severity.png", dpi=100)
    plt.close("all")




def main(argv=None) -> int:
    """Run the job: ``argv`` are its options (default ``sys.argv[1:]``), or a namespace
    :func:`parse` returned. Warnings raised during the job print as one line each and
    are counted (:class:`WarningTally`), here only: imported as a library, the
    functions above leave warnings to the caller."""
    if isinstance(argv, str):
        raise TypeError("main() takes a list of options, not one string: main(text.split())")
    args = argv if isinstance(argv, argparse.Namespace) else parse(argv)
    with WarningTally() as tally:
        status = run_job(args)
    if tally.counts:
        print(f"\n{tally.summary()}")
    return status


def run_job(args: argparse.Namespace) -> int:
    """Train and evaluate as the parsed ``args`` say (the body of :func:`main`)."""
    device_name = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    rank, world, device = setup_distributed(device_name)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        train_x, train_y, test_x, test_y, classes = load_data(args)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.limit:
        train_x, train_y = train_x[:args.limit], train_y[:args.limit]
    test_limit = args.test_limit or args.limit
    if test_limit:
        test_x, test_y = test_x[:test_limit], test_y[:test_limit]
    if rank == 0:
        print(f"{args.dataset}: {len(train_x):,} training and {len(test_x):,} test images, "
              f"{classes} classes; model {args.model}; {world} process(es) on {device}")
    if args.sweep:
        return sweep(args, train_x, train_y, classes, rank, world, device)
    args.lowpass_match = match_lowpass(args, train_x) if "lowpass" in args.methods else {}
    if rank == 0 and "radii" in args.lowpass_match:
        print("low-pass radii matched to ISVS's PSNR: " + ", ".join(
            f"{r:.3f} at {args.isvs_scale} {v:g}" for v, r in zip(args.lowpass_match["levels"],
                                                                 args.lowpass_match["radii"])))
    smoothing = smoothing_report(args, train_x) if any(
        m.startswith("isvs") for m in args.methods) else None
    if rank == 0 and smoothing:
        coarse, fine = coarse_fine(args)
        print(f"ISVS smooths the training images to a median PSNR of {smoothing['coarse']:.1f} "
              f"dB at {args.isvs_scale} {coarse:g} (coarse) and {smoothing['fine']:.1f} dB at "
              f"{args.isvs_scale} {fine:g} (fine)")
    floor_hits = {}
    evaluating = rank == 0 and not args.no_eval
    corrupted = corrupted_sets(test_x, test_y, seed=args.seeds[0], cifar10c=args.cifar10c,
                               progress=not args.quiet) if evaluating else None
    runs = {}
    for seed in args.seeds:
        args.seed = seed
        results = runs[seed] = {}
        for method in args.methods:
            start = time.perf_counter()
            model, epoch_seconds, hits = train_method(method, args, (train_x, train_y),
                                                      classes, rank, world, device)
            trained = time.perf_counter() - start
            if hits is not None:
                floor_hits.setdefault(method, []).append(hits)
            if evaluating:
                results[method] = evaluate(model, test_x, test_y, corrupted,
                                           eps=args.eps / 255, pgd_steps=args.pgd_steps,
                                           pgd_restarts=args.pgd_restarts,
                                           transform=test_transform(method, args),
                                           progress=not args.quiet, name=method)
                results[method].update(train_seconds=trained, epoch_seconds=epoch_seconds)
                print(f"seed {seed}, {method}: " + ", ".join(
                    f"{k} {results[method][k]:.3f}" for k in COLUMNS))
            if world > 1:
                dist.barrier()
    if evaluating:
        summary = {"dataset": args.dataset, "model": args.model, "epochs": args.epochs,
                   "seeds": args.seeds, "eps": args.eps, "lowpass": args.lowpass_match,
                   "isvs": {"scale": args.isvs_scale, "range": list(args.isvs_range),
                            "schedule": args.isvs_schedule, "value": args.isvs_value,
                            "test_time": args.isvs_test},
                   "isvs_psnr": smoothing,
                   "floor_hits": {m: float(np.mean(v)) for m, v in floor_hits.items()},
                   "train_images": len(train_x), "test_images": len(test_x),
                   "corruptions": ("CIFAR-10-C files" if args.cifar10c else
                                   corruption_table(*test_x.shape[2:]) + " strengths"),
                   "runs": {str(seed): results for seed, results in runs.items()}}
        if len(args.seeds) == 1:
            summary["results"] = results = runs[args.seeds[0]]
            markdown = write_results(args.out, summary)
        else:
            compare = ("augment",) if "augment" in args.methods else ()
            summary["summary"] = summarize(runs, compare=compare)
            summary["results"] = results = _mean_results(runs, summary["summary"])
            markdown = write_results(args.out, summary, summary_table(summary["summary"],
                                                                      compare=compare))
        plots(results, args.out)
        print("\n" + markdown)
        if smoothing:
            print(f"\nISVS training images: median PSNR {smoothing['coarse']:.1f} dB (coarse "
                  f"end) to {smoothing['fine']:.1f} dB (fine end); draws at an image's floor: "
                  + ", ".join(f"{m} {v:.1%}" for m, v in summary["floor_hits"].items()))
        print(f"\nresults, plots and checkpoints in {args.out}/")
    if world > 1:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main(ARGS))
