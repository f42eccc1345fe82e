"""Benchmarks of isvs_graph against its peers, measured in one run on the same images.

Run ``python benchmarks/run.py`` (``--quick`` for a smaller smoke run). Prints, with
the machine it ran on:

1. throughput of batches of CIFAR-size RGB images (32×32×3, 4-grid, joint mode) to
   sparsity 0.8 on five kinds of input (busy photo crops, smooth crops downsampled
   from larger windows, the same in uint8, a low-contrast copy, 0–255 float units),
   against scikit-image's ``denoise_tv_bregman`` (1 and 2 threads) on the same images,
   with the worst and median cost per image; then ``denoise_tv_chambolle`` and a 3×3
   box blur (the floor) on the photo crops; every ratio repeated, with its spread;
2. cached paths (``image_paths``) of four kinds of input: bytes per image against the
   raw uint8 image, reads at a level and at a random sparsity per image against the
   same peer, the worst read between levels against its stated bound, and ``path()``
   against ``image_paths`` on a 512² photo;
3. the damping κ: iterations, regions and agreement of partitions with κ = 10;
4. cost per edge per iteration from 64² to 1024² pixels (flat expected);
5. peak memory of a 1024×1024×3 solve to sparsity 0.8 (in a fresh process);
6. on a CUDA GPU when present: images/s of the torch iteration on 4,096 images;
7. which training scale means the same strength on every image: median PSNR at equal
   sparsity, sparsity counted over the edges that can enter, and time, on digits,
   Fashion-MNIST (when installed), photo crops, downsampled crops and objects on a flat
   background (4- and 8-neighbour), with floor hits and the share of total variation
   kept at the default training range;
8. first use in a fresh process (``--sections startup``): the first ``smooth_image`` of a
   uint8 photo, then a float64 one, an edge-list ``solve`` and a path read, with an empty
   numba cache (what compiling costs) and with the cache it left, and the imports with
   and without Python's bytecode cache;
9. single images (``--sections single``): RGB photos of 64² to 4096² and a noisy grey
   128³ volume, ISVS (``smooth_image``) on 1 and 2 threads against ``denoise_tv_bregman``
   and ``denoise_tv_chambolle`` (1 thread), with the steps per image; the cost per
   edge-channel per step by size against a batch of 32×32 crops; a floor under one
   thread's time (each photo's steps at the cost of their bare arithmetic in cache,
   ``bare_step.py``) against TV-Bregman's; the peak memory of the 4096²×3 solve (in a
   fresh process).

The images are made from the photos bundled with scikit-image (``inputs.py``): no
download. Speed figures are ratios against a peer measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

import isvs_graph
from inputs import downsampled_crops, input_kinds, on_flat_background, photo_crops
from isvs_graph._solver import ConvergenceWarning, run_split_lbi
from isvs_graph.graphs._grid import grid_canonical, grid_directions
from isvs_graph.images import images_to_signals
from isvs_graph._solve import prepare
from isvs_graph._threads import start_threads


def seconds_of(function) -> float:
    """Seconds of one run of ``function``."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def seconds_per_call(function, at_least: float = 0.2) -> float:
    """Seconds a call of ``function`` takes in a stream of calls: one call where it lasts
    ``at_least`` seconds, else the mean over enough back-to-back calls to last that
    long (as ``timeit`` ranges them), so that a call of a millisecond is not timed
    alone at the clock's and the caches' mercy."""
    first = seconds_of(function)
    if first >= at_least:
        return first
    calls = int(np.ceil(at_least / max(first, 1e-6)))
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def best_time(function, repeat: int) -> float:
    """The fastest of ``repeat`` runs, in seconds (after one warm-up run)."""
    function()
    return min(seconds_of(function) for _ in range(repeat))


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import numba
    return {"cpu": cpu, "cores": os.cpu_count(), "torch threads": torch.get_num_threads(),
            "numba threads": numba.get_num_threads(), "python": platform.python_version(),
            "torch": torch.__version__, "numpy": np.__version__, "numba": numba.__version__,
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else "none"}


def rand_index(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of node pairs on which two partitions agree (same / different)."""
    n = len(a)
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a, b), 1)
    pairs = n * (n - 1) / 2
    both = (table * (table - 1) / 2).sum()
    in_a = (table.sum(1) * (table.sum(1) - 1) / 2).sum()
    in_b = (table.sum(0) * (table.sum(0) - 1) / 2).sum()
    return float((pairs + 2 * both - in_a - in_b) / pairs)


def _bregman_rates(images_hwc, repeat: int) -> tuple[float, float]:
    """Seconds for ``denoise_tv_bregman`` on every image: 1 thread, 2 threads."""
    from skimage.restoration import denoise_tv_bregman

    def bregman(image):
        return denoise_tv_bregman(image, channel_axis=-1)

    one = best_time(lambda: [bregman(image) for image in images_hwc], repeat)
    with ThreadPoolExecutor(2) as pool:
        two = best_time(lambda: list(pool.map(bregman, images_hwc)), repeat)
    return one, two


def solve_counts(batch):
    """The solver's result for a B×C×H×W batch (or B×C×D×H×W of volumes) to sparsity
    0.8, as ``smooth_images`` runs it: ``steps`` computed per image (the work it costs)
    and ``iterations`` (idle stretches jumped included)."""
    signals, shape, _ = images_to_signals(batch)
    problem = prepare(grid_canonical(*shape), signals)
    return run_split_lbi(problem.graph, problem.x, problem.initial(), problem.options,
                         sparsity=0.8)


def image_costs(batch: torch.Tensor) -> np.ndarray:
    """Steps computed per image to sparsity 0.8, and whether it stopped at the floor."""
    result = solve_counts(batch)
    return result.steps, result.converged


def throughput(args, results: dict) -> None:
    from scipy.ndimage import uniform_filter
    from skimage.restoration import denoise_tv_chambolle

    kinds = input_kinds(args.batch)
    n = args.batch
    print(f"\n## 1. Throughput: {n} images 32x32x3 to sparsity 0.8, 4-grid, joint mode\n")
    print(f"Each ratio is measured {args.rounds} times (ISVS and its peer back to back); "
          "the table shows the median and the range.\n")
    print("| input | isvs images/s | × tv_bregman (1 thread) | × tv_bregman (2 threads) "
          "| worst / median image | at the floor |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    rows = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, images in kinds.items():
            batch = torch.from_numpy(images)
            # The peer sees the images as the user has them, in H×W×C.
            hwc = [image.transpose(1, 2, 0) for image in images]
            ratios_1, ratios_2, rates = [], [], []
            for _ in range(args.rounds):
                isvs = best_time(lambda: isvs_graph.smooth_images(batch, sparsity=0.8),
                                 args.repeat)
                one, two = _bregman_rates(hwc, 1)
                rates.append(n / isvs)
                ratios_1.append(one / isvs)
                ratios_2.append(two / isvs)
            steps, floor = image_costs(batch)
            worst = steps.max() / np.median(steps)
            rows[name] = {"images/s": rates, "x tv_bregman 1 thread": ratios_1,
                          "x tv_bregman 2 threads": ratios_2,
                          "steps median": float(np.median(steps)),
                          "steps mean": float(steps.mean()), "steps max": int(steps.max()),
                          "worst/median": float(worst), "at the floor": int(floor.sum())}
            print(f"| {name} | {np.median(rates):,.0f} | {_spread(ratios_1)} | "
                  f"{_spread(ratios_2)} | {worst:.1f} ({steps.max()} / "
                  f"{np.median(steps):.0f} steps) | {int(floor.sum())} |", flush=True)
    results["throughput"] = rows

    images = kinds["photo crops (float32)"]
    batch = torch.from_numpy(images)
    hwc = [image.transpose(1, 2, 0) for image in images]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        isvs = best_time(lambda: isvs_graph.smooth_images(batch, sparsity=0.8), args.repeat)
    one, _ = _bregman_rates(hwc, args.repeat)
    peers = {
        "tv_chambolle (1 thread)": best_time(
            lambda: [denoise_tv_chambolle(image, channel_axis=-1) for image in hwc], 1),
        "box blur 3x3 (batch)": best_time(
            lambda: uniform_filter(images, size=(1, 1, 3, 3)), args.repeat),
    }
    print("\nOther peers on the photo crops (images/s; × tv_bregman, 1 thread):\n")
    print("| method | images/s | × tv_bregman (1 thread) |")
    print("| --- | ---: | ---: |")
    for label, seconds in {"isvs smooth_images, sparsity 0.8": isvs,
                           "tv_bregman (1 thread)": one, **peers}.items():
        print(f"| {label} | {n / seconds:,.0f} | {one / seconds:.2f} |")
        results.setdefault("peers", {})[label] = n / seconds


def _spread(values) -> str:
    return f"{np.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def cached_reads(args, results: dict) -> None:
    """Paths of four kinds of input (default levels 1, 0.95, …, 0.5): size against the
    raw uint8 images, reads against tv_bregman (1 thread) on the same images, and how
    far reads between levels are from smooth_images next to their bound."""
    kinds = input_kinds(args.batch)
    chosen = ("photo crops (float32)", "downsampled crops (float32)", "downsampled, uint8",
              "low contrast (0.45 + 0.1 x)")
    n = args.batch
    sparsities = np.random.default_rng(1).uniform(0.5, 1.0, n)
    print(f"\n## 2. Cached paths: {n} images 32x32x3 per kind, levels 1, 0.95, …, 0.5\n")
    print("| input | bytes / image | × raw uint8 | build images/s | read at 0.8: × "
          "tv_bregman | read at random sparsity: × tv_bregman | worst error between "
          "levels / its bound (median bound) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = {}
    for name in chosen:
        images = kinds[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            isvs_graph.image_paths(images[:4])  # compile outside the timing
            start = time.perf_counter()
            paths = isvs_graph.image_paths(images)
            build = time.perf_counter() - start
        raw = images[0].size  # bytes of one uint8 image of this shape
        hwc = [image.transpose(1, 2, 0) for image in images]  # as in section 1
        level, random_read = [], []
        for _ in range(args.rounds):
            one, _ = _bregman_rates(hwc, 1)
            level.append(one / best_time(lambda: paths.at(sparsity=0.8), args.repeat))
            random_read.append(one / best_time(lambda: paths.at(sparsity=sparsities),
                                               args.repeat))
        # Between levels: the largest error seen, against the bound the path states.
        worst, bound_median = 0.0, []
        for s in (0.975, 0.925, 0.825, 0.725, 0.625, 0.525):
            got = paths.at(sparsity=s).astype(np.float64)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                exact = isvs_graph.smooth_images(images, sparsity=s).astype(np.float64)
            error = np.abs(got - exact).reshape(n, -1).max(axis=1)
            bound = paths.bound(sparsity=s)
            assert (error <= bound).all(), "a read between levels broke its bound"
            worst = max(worst, float((error / np.maximum(bound, 1e-300)).max()))
            bound_median.append(float(np.median(bound)) / float(np.ptp(images)))
        per_image = paths.nbytes / n
        print(f"| {name} | {per_image:,.0f} | {per_image / raw:.2f} | {n / build:,.0f} | "
              f"{_spread(level)} | {_spread(random_read)} | {worst:.2f} "
              f"({np.median(bound_median):.3f} of the range) |")
        rows[name] = {"bytes per image": per_image, "x raw uint8": per_image / raw,
                      "build": n / build, "at 0.8 x bregman": level,
                      "random x bregman": random_read, "worst error / bound": worst}
    results["cached"] = rows
    # One photo: path() on any graph costs what image_paths does on the pixel grid.
    from skimage import data
    photo = data.astronaut()
    signal, (height, width), _ = isvs_graph.images.image_to_signal(photo)
    graph = isvs_graph.grid_graph(height, width)
    ratios = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        isvs_graph.path(graph, signal, sparsity_min=0.5)
        middle = time.perf_counter()
        isvs_graph.image_paths(photo.transpose(2, 0, 1)[None])
        ratios.append((middle - start) / (time.perf_counter() - middle))
    print(f"\npath() on the {height}x{width} astronaut to sparsity 0.5, against "
          f"image_paths on it: {_spread(ratios)}× the time")
    results["path vs image_paths"] = ratios


def training_reads(args, results: dict) -> None:
    """The ISVS training data path: a batch of 64 cached digits at random sparsities
    (CachedISVSDataset.__getitems__, what the DataLoader calls), against the SmallCNN
    training step on that batch measured in the same loop, and against 64 item reads."""
    import tempfile

    from isvs_graph.training import CachedISVSDataset, SmallCNN, SparsityRange, bundled_digits
    (images, labels), _ = bundled_digits()
    images, labels = images[:args.batch * 4], labels[:args.batch * 4]
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dataset = CachedISVSDataset(images, labels, folder, sparsity=SparsityRange(0.6, 0.8),
                                    levels=[0.9, 0.8, 0.7, 0.6])
        dataset.build(progress=False)
        dataset.load()
        model = SmallCNN(10)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        rng = np.random.default_rng(0)
        shares, item_ratios = [], []
        for _ in range(args.rounds):
            reads, steps, items = [], [], []
            for _ in range(10 if args.quick else 30):
                order = rng.permutation(len(dataset))[:64].tolist()
                start = time.perf_counter()
                batch = dataset.__getitems__(order)
                reads.append(time.perf_counter() - start)
                x = torch.stack([image for image, _ in batch])
                y = torch.stack([label for _, label in batch])
                start = time.perf_counter()
                loss = torch.nn.functional.cross_entropy(model(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                steps.append(time.perf_counter() - start)
            for _ in range(3):
                order = rng.permutation(len(dataset))[:64].tolist()
                start = time.perf_counter()
                [dataset[i] for i in order]
                items.append(time.perf_counter() - start)
            shares.append(100 * np.median(reads) / np.median(steps))
            item_ratios.append(np.median(items) / np.median(reads))
    print("\n## 3. Training data path: 64 cached digits per batch, random sparsity "
          "0.6–0.8\n")
    print(f"- batch read: {_spread(shares)} % of a SmallCNN training step on the batch")
    print(f"- 64 item reads: {_spread(item_ratios)}× the time of one batch read")
    results["training reads"] = {"% of a step": shares, "items x batch": item_ratios}


def kappa_table(args, results: dict) -> None:
    images = photo_crops(args.kappa_images, seed=2).astype(np.float64) / 255
    partitions = {}
    print(f"\n## 4. Damping κ: {len(images)} crops 32x32x3 at sparsity 0.8\n")
    print("| κ | median iterations | mean regions | Rand index vs κ = 10 | seconds |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    rows = {}
    for kappa in (10.0, 2.0, 1.0, 0.5, 0.25):
        start = time.perf_counter()
        paths = isvs_graph.image_paths(images, levels=[0.8], kappa=kappa)
        seconds = time.perf_counter() - start
        k = paths.iterations(sparsity=0.8)
        labels = list(paths.labels(sparsity=0.8))
        partitions[kappa] = labels
        agreement = np.mean([rand_index(a, b) for a, b in zip(labels, partitions[10.0])])
        regions = np.mean([lab.max() + 1 for lab in labels])
        rows[kappa] = {"median iterations": float(np.median(k)), "regions": regions,
                       "rand index vs 10": agreement, "seconds": seconds}
        print(f"| {kappa:g} | {np.median(k):.0f} | {regions:.1f} | {agreement:.4f} | "
              f"{seconds:.2f} |")
    results["kappa"] = rows

    # A whole photo, where a large contour (the astronaut's head) closes at a scale
    # that moves with κ: the mean absolute difference to κ = 50.
    from skimage import data, transform
    side = 64 if args.quick else 128
    photo = transform.resize(data.astronaut(), (side, side), anti_aliasing=True)
    print(f"\nmean |difference| to κ = 50 on the astronaut photo ({side}x{side}, values in "
          "[0, 1]):\n")
    levels = (0.8, 0.75, 0.7)
    print("| κ | " + " | ".join(f"sparsity {s}" for s in levels) + " |")
    print("| ---: |" + " ---: |" * len(levels))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = {s: isvs_graph.smooth_image(photo, sparsity=s, kappa=50.0) for s in levels}
        photo_rows = {}
        for kappa in (10.0, 1.0, 0.5, 0.25):
            diffs = [float(np.abs(isvs_graph.smooth_image(photo, sparsity=s, kappa=kappa)
                                  - reference[s]).mean()) for s in levels]
            photo_rows[kappa] = diffs
            print(f"| {kappa:g} | " + " | ".join(f"{d:.4f}" for d in diffs) + " |")
    results["kappa photo"] = photo_rows


def growth(args, results: dict) -> None:
    """Cost of one step against size: the difference of two runs (2k and k steps),
    so that setting up (graph, normalisation, projection) does not count."""
    from skimage import data, transform
    photo = data.astronaut() / 255.0
    print("\n## 5. Cost per step against image size (RGB, 4-grid, joint, one image)\n")
    print("| pixels | edges | threads | ms / step | ns / edge / step |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    rows = {}
    import numba
    from isvs_graph._solver.numba_backend import WIDE_MIN_NODES
    for side in args.sizes:
        image = transform.resize(photo, (side, side), anti_aliasing=False).astype(np.float32)
        graph = isvs_graph.grid_graph(side, side)
        # A tiny floor and no jumps: every step is computed, none ends the run early.
        problem = prepare(graph, image.reshape(-1, 3), tol=1e-9, jumps=False)
        steps = max(10, int(2e7 // (side * side * 3)))
        u0 = problem.initial()

        def run(count):
            return best_time(lambda: run_split_lbi(
                problem.graph, problem.x, u0, problem.options,
                t=count * problem.options.alpha), args.repeat)

        seconds = (run(2 * steps) - run(steps)) / steps
        edges = graph.num_edges
        threads = numba.get_num_threads() if side * side >= WIDE_MIN_NODES else 1
        rows[side] = {"ms per step": seconds * 1e3, "ns per edge": seconds / edges * 1e9,
                      "threads": threads}
        print(f"| {side}² | {edges:,} | {threads} | {seconds * 1e3:.3f} | "
              f"{seconds / edges * 1e9:.2f} |", flush=True)
    results["growth"] = rows


MEMORY_CHILD = """
import sys, threading, time, warnings, numpy as np
import isvs_graph
from skimage import data, transform

def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

side = int(sys.argv[1])
image = transform.resize(data.astronaut(), (side, side)).astype(np.float32)
isvs_graph.smooth_image(image[:8, :8], sparsity=0.8)  # compile the kernels first
before = peak = rss_mb()
done = False
def sample():
    global peak
    while not done:
        peak = max(peak, rss_mb())
        time.sleep(0.002)
sampler = threading.Thread(target=sample)
sampler.start()
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    out = isvs_graph.smooth_image(image, sparsity=0.8)
seconds = time.perf_counter() - start
done = True
sampler.join()
print(before, max(peak, rss_mb()), seconds)
"""


def peak_memory(side: int) -> dict:
    """Resident memory (MB) of a fresh process before and at the peak of one
    ``side``×``side``×3 float32 solve to sparsity 0.8, and its seconds."""
    output = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(side)],
                            capture_output=True, text=True, check=True).stdout.split()
    before, peak, seconds = (float(v) for v in output)
    return {"side": side, "before MB": before, "peak MB": peak, "added MB": peak - before,
            "image MB": side * side * 3 * 4 / 2**20, "seconds": seconds}


def memory(args, results: dict) -> None:
    side = args.memory_side
    row = results["memory"] = peak_memory(side)
    print(f"\n## 6. Memory: one {side}x{side}x3 float32 image to sparsity 0.8\n")
    print(f"resident memory {row['before MB']:.0f} MB before the solve (Python, torch, PyG, "
          f"numba and the image), peak {row['peak MB']:.0f} MB during it: "
          f"{row['added MB']:.0f} MB added by the solve; {row['seconds']:.1f} s")


def gpu(args, results: dict) -> None:
    print("\n## 7. GPU\n")
    if not torch.cuda.is_available():
        print("no CUDA device here: skipped")
        return
    images = torch.from_numpy(photo_crops(args.gpu_batch)).cuda()
    batch = images.float() / 255
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        isvs_graph.smooth_images(batch[:64], sparsity=0.8)
        torch.cuda.synchronize()
        start = time.perf_counter()
        isvs_graph.smooth_images(batch, sparsity=0.8)
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    print(f"{len(batch)} images 32x32x3 to sparsity 0.8 on {torch.cuda.get_device_name()}: "
          f"{len(batch) / seconds:,.0f} images/s")
    results["gpu"] = {"images/s": len(batch) / seconds}


def scale_sets(count: int) -> dict[str, np.ndarray]:
    """uint8 B×3×32×32 images of every kind a training set brings (Fashion-MNIST only
    where Debian's dataset-fashion-mnist is installed)."""
    from isvs_graph.training import bundled_digits, read_fashion_mnist
    sets = {"digits": bundled_digits()[0][0][:count]}
    try:
        sets["Fashion-MNIST"] = read_fashion_mnist(split="test")[0][:count]
    except FileNotFoundError:
        print("(Fashion-MNIST not installed: apt-get install dataset-fashion-mnist)")
    sets["photo crops"] = photo_crops(count)
    sets["downsampled crops"] = np.round(downsampled_crops(count) * 255).astype(np.uint8)
    sets["flat background"] = on_flat_background(count)
    return sets


def _flat_share(images: np.ndarray, connectivity: int, tol: float = 3e-3) -> np.ndarray:
    """Per image, the share of its grid edges across which it is flat (joint norm of
    the difference below ``tol`` of its range, as the solver's floor counts them)."""
    graph = isvs_graph.grid_graph(*images.shape[2:], connectivity=connectivity)
    src, dst = graph.edge_index.numpy()
    weight = graph.edge_weight.numpy() if graph.edge_weight is not None else 1.0
    x = images.reshape(len(images), images.shape[1], -1).astype(np.float64)
    span = np.ptp(x.reshape(len(x), -1), axis=1)
    x = x / np.where(span > 0, span, 1)[:, None, None]
    keep = src < dst
    norms = np.sqrt((((x[:, :, src] - x[:, :, dst]) * weight) ** 2).sum(1))[:, keep]
    return (norms <= tol).mean(1)


def _tv(images) -> np.ndarray:
    a = np.asarray(images, dtype=np.float64)
    return np.abs(np.diff(a, axis=-1)).sum((1, 2, 3)) + np.abs(np.diff(a, axis=-2)).sum((1, 2, 3))


def scales(args, results: dict) -> None:
    from isvs_graph.training import DEFAULT_TIMES

    def psnr(a, b):
        error = ((np.asarray(a, np.float64) - b) / 255) ** 2
        return 10 * np.log10(1 / np.maximum(error.reshape(len(b), -1).mean(1), 1e-20))

    count = args.scale_images
    sets = scale_sets(count)
    sparsities, relative, times = (0.8, 0.7, 0.6), (0.9, 0.8, 0.7), (8.0, 12.0, 16.0, 24.0)
    print(f"\n## 7. A scale that transfers: median PSNR (dB) to the input, {count} images "
          "32x32x3 per set\n")
    header = (["flat edges"] + [f"sparsity {s}" for s in sparsities]
              + [f"rel. sparsity {s}" for s in relative] + [f"t = {t:g}" for t in times])
    rows = {}
    for connectivity in (4, 8):
        print(f"\n{connectivity}-neighbour grid:\n")
        print("| set | " + " | ".join(header) + " |")
        print("| --- |" + " ---: |" * len(header))
        for name, images in sets.items():
            reference = images.astype(np.float64)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                paths = isvs_graph.image_paths(images, levels=[1.0, *sparsities],
                                               sparsity_min=0.0, record_times=times,
                                               connectivity=connectivity)
            flat = _flat_share(images, connectivity)
            row = {"flat edges": float(np.median(flat))}
            for s in sparsities:
                row[f"sparsity {s}"] = float(np.median(psnr(paths.at(sparsity=s), reference)))
            for s in relative:  # s of the edges that can enter, plus the flat ones
                at = paths.at(sparsity=flat + s * (1 - flat))
                row[f"rel. sparsity {s}"] = float(np.median(psnr(at, reference)))
            for t in times:
                row[f"t = {t:g}"] = float(np.median(psnr(paths.at(t=t), reference)))
            floor_t = np.where(paths.converged, paths.n_iter * paths.alpha, np.inf)
            row["floor hits at the default"] = float((floor_t < DEFAULT_TIMES[1]).mean())
            row["TV kept at the default (max over images)"] = [
                float((_tv(paths.at(t=t)) / _tv(reference)).max()) for t in DEFAULT_TIMES]
            rows[f"{name}, {connectivity}-neighbour"] = row
            print(f"| {name} | {row['flat edges']:.0%} | " + " | ".join(
                f"{row[h]:.1f}" for h in header[1:]) + " |")
        spread = {h: max(rows[f"{n}, {connectivity}-neighbour"][h] for n in sets)
                  - min(rows[f"{n}, {connectivity}-neighbour"][h] for n in sets)
                  for h in header[1:]}
        print("| spread | | " + " | ".join(f"{spread[h]:.1f}" for h in header[1:]) + " |")
        print(f"\nAt the default range t = {DEFAULT_TIMES[0]:g}–{DEFAULT_TIMES[1]:g}: floor "
              "hits " + ", ".join(f"{n} {rows[f'{n}, {connectivity}-neighbour']['floor hits at the default']:.0%}"
                                  for n in sets)
              + "; largest share of total variation kept at the coarse / fine end: "
              + ", ".join(f"{n} " + " / ".join(
                  f"{v:.2f}" for v in rows[f'{n}, {connectivity}-neighbour']
                  ['TV kept at the default (max over images)']) for n in sets))
    results["scales"] = rows


STARTUP_CHILD = """
import json, sys, time
start = time.perf_counter()
import numpy as np
import isvs_graph
from skimage import data
out = {"imports": time.perf_counter() - start}
if sys.argv[1] == "imports":
    # What a first call imports besides (isvs_graph imports them lazily).
    import torch, torch_geometric, scipy.sparse, numba
    out["imports"] = time.perf_counter() - start
else:
    import networkx as nx
    from numba.core import event
    compiling = []

    class Compiles(event.Listener):  # seconds in numba's outermost compiles
        depth = 0

        def on_start(self, e):
            if not self.depth:
                self.began = time.perf_counter()
            self.depth += 1

        def on_end(self, e):
            self.depth -= 1
            if not self.depth:
                compiling.append(time.perf_counter() - self.began)

    event.register("numba:compile", Compiles())
    photo = data.astronaut()
    karate = isvs_graph.from_networkx(nx.karate_club_graph())
    signal = np.random.default_rng(0).random(34)
    batch = photo.transpose(2, 0, 1)[None, :, :64, :64]
    steps = {"smooth_image, uint8 photo": lambda: isvs_graph.smooth_image(photo, sparsity=0.8),
             "the same, float64": lambda: isvs_graph.smooth_image(photo / 255.0, sparsity=0.8),
             "solve, edge list (karate)": lambda: isvs_graph.solve(karate, signal,
                                                                   sparsity=0.7),
             "path read (image_paths 64²)": lambda: isvs_graph.image_paths(batch).at(
                 sparsity=0.7)}
    for name, step in steps.items():
        times = []
        for _ in range(2):
            compiling.clear()
            begin = time.perf_counter()
            step()
            times.append(time.perf_counter() - begin)
            if len(times) == 1:
                times.append(sum(compiling))
        out[name] = times  # first call, its numba compiles, second call
print(json.dumps(out))
"""


def _startup_child(what: str, env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", STARTUP_CHILD, what], env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def startup(args, results: dict) -> None:
    """First use in a fresh process: with an empty numba cache (every kernel compiles)
    and with a warm one (the cache the cold run left), step by step."""
    import tempfile
    print("\n## 10. First use in a fresh process (seconds)\n")
    print(f"Each process runs the steps in this order, each twice (the second call is "
          f"the steady cost); {args.rounds} fresh processes per column, median and range. "
          "Compile: the seconds of the cold first call spent in numba's compiles; the "
          "rest of a first call beyond the second is mostly lazy imports (torch, PyG).\n")
    base = dict(os.environ)
    cold, warm = [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as cache:
            env = {**base, "NUMBA_CACHE_DIR": cache}
            cold.append(_startup_child("steps", env))
            warm.append(_startup_child("steps", env))
    names = [key for key in cold[0] if key != "imports"]
    print("| step | cold first call | compile | warm-cache first call | second call |")
    print("| --- | ---: | ---: | ---: | ---: |")
    rows = {}
    for name in names:
        first = [run[name][0] for run in cold]
        compile_ = [run[name][1] for run in cold]
        cached = [run[name][0] for run in warm]
        steady = [run[name][2] for run in cold + warm]
        rows[name] = {"cold": first, "compile": compile_, "warm cache": cached,
                      "second": steady}
        print(f"| {name} | {_spread(first)} | {_spread(compile_)} | {_spread(cached)} | "
              f"{_spread(steady)} |")
    # Imports: PYTHONDONTWRITEBYTECODE=1 (no .pyc written, every module compiled from
    # source each time) against a bytecode cache written by a first process.
    with tempfile.TemporaryDirectory() as prefix:
        no_pyc = {**base, "PYTHONDONTWRITEBYTECODE": "1"}
        pyc = {key: value for key, value in base.items() if key != "PYTHONDONTWRITEBYTECODE"}
        pyc["PYTHONPYCACHEPREFIX"] = prefix
        _startup_child("imports", pyc)  # writes the bytecode
        plain = [_startup_child("imports", no_pyc)["imports"] for _ in range(args.rounds)]
        cached = [_startup_child("imports", pyc)["imports"] for _ in range(args.rounds)]
    imports = {"imports, no bytecode cache": plain, "imports, bytecode cached": cached,
               "imports in the cold runs": [run["imports"] for run in cold]}
    print("\n| imports (numpy, isvs_graph, skimage.data; torch, PyG, scipy, numba but in the "
          "cold runs) | seconds |")
    print("| --- | ---: |")
    for label, values in imports.items():
        print(f"| {label} | {_spread(values)} |")
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.2f} "
          f"({os.cpu_count()} cores).", flush=True)
    results["startup"] = {**rows, **imports, "load": os.getloadavg()[0]}


def _grid_edges(shape: tuple) -> int:
    """Edges of the 4-grid (6-grid of a volume) on ``shape``."""
    return sum(int(valid.sum()) for _, valid in grid_directions(shape, 2 * len(shape)))


def _single_row(image, axis, threads, peers, repeats: int) -> dict:
    """One image: seconds per call of ``smooth_image`` to sparsity 0.8 on each thread
    count, then of each peer on one thread, back to back, ``repeats`` times (a call
    under 0.2 s timed in a stream of calls: :func:`seconds_per_call`); the steps the
    solve computes (the same on any thread count) and their cost per edge-channel in
    ns."""
    import numba
    from threadpoolctl import threadpool_limits
    times = {key: [] for key in [f"isvs {n}" for n in threads] + list(peers)}
    default_threads = numba.get_num_threads()
    try:
        for _ in range(repeats):
            for n in threads:
                numba.set_num_threads(n)
                times[f"isvs {n}"].append(seconds_per_call(lambda: isvs_graph.smooth_image(
                    image, sparsity=0.8, channel_axis=axis)))
            with threadpool_limits(1):
                for name, peer in peers.items():
                    times[name].append(seconds_per_call(
                        lambda: peer(image, channel_axis=axis)))
    finally:
        numba.set_num_threads(default_threads)
    batch = image[None, None] if axis is None else np.moveaxis(image, -1, 0)[None]
    result = solve_counts(batch)
    steps = int(result.steps[0])
    work = steps * _grid_edges(batch.shape[2:]) * batch.shape[1]
    return {"seconds": times, "steps": steps, "iterations": int(result.iterations[0]),
            "ns": {n: [t / work * 1e9 for t in times[f"isvs {n}"]] for n in threads},
            "ratios": {f"{n} × {name}": [peer / own for peer, own in
                                         zip(times[name], times[f"isvs {n}"])]
                       for name in peers for n in threads}}


def _bare_floor(rows: dict, images: list) -> dict:
    """Print and return, for each photo, a floor under the solver's time on one thread:
    its steps × edge-channels × the bare step's cost in cache (``bare_step.py``: the
    step's arithmetic alone, compiled by numba as the kernels are), against
    TV-Bregman's time (> 1: no tuning of the kernels can match it)."""
    from bare_step import bare_floor_ns
    ns = bare_floor_ns()
    print(f"\nThe bare arithmetic of a step (joint, 4-grid, RGB, float32; no stop rule, "
          f"checks or records), in cache on 1 thread: {ns:.3f} ns per edge-channel step "
          "(best over 32², 64² and 128² grids). Times the steps each photo needs, it is "
          "a floor under the solver's time on one thread here (the kernels compute this "
          "and more, with numba), against TV-Bregman's (> 1: no tuning of the kernels "
          "lets one thread match TV-Bregman).\n")
    print("| image | steps | edge-channels | floor s | tv_bregman s | floor ÷ tv_bregman |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    out = {"ns": ns, "images": {}}
    for label, _, image, axis, peers, _ in images:
        if axis is None or "tv_bregman" not in peers:
            continue
        row = rows[label]
        work = _grid_edges(image.shape[:2]) * image.shape[2]
        least = row["steps"] * work * ns * 1e-9
        bregman = float(np.median(row["seconds"]["tv_bregman"]))
        out["images"][label] = {"floor s": least, "tv_bregman s": bregman}
        print(f"| {label} | {row['steps']} | {work:,} | {least:.3g} | {bregman:.3g} | "
              f"{least / bregman:.2f} |")
    return out


def single_image(args, results: dict) -> None:
    """One image at a time: RGB photos and a noisy grey volume, ISVS on 1 and 2 threads
    against scikit-image's TV denoisers (1 thread); the cost per edge-channel per step
    against a batch of 32×32 crops; the peak memory of the largest photo's solve."""
    import numba
    from skimage.restoration import denoise_tv_bregman, denoise_tv_chambolle

    from inputs import noisy_blobs, photo
    threads = (1, 2) if numba.config.NUMBA_NUM_THREADS >= 2 else (1,)
    default_threads = numba.get_num_threads()
    tv = {"tv_bregman": denoise_tv_bregman, "tv_chambolle": denoise_tv_chambolle}
    images = []  # (label, size, image, channel axis, peers, repeats)
    for side in args.single_sides:
        names = ("astronaut", "coffee") if side <= 1024 else ("astronaut",)
        repeats = min(args.rounds, {2048: 2, 4096: 1}.get(side, args.rounds))
        images += [(f"{name} {side}²×3", f"{side}²", photo(name, side), -1, tv, repeats)
                   for name in names]
    side = args.volume_side
    # denoise_tv_bregman is 2-D: on a grey volume it would take the last axis for
    # channels, so the volume has only the n-D chambolle.
    images.append((f"blobs {side}³ + noise", f"{side}³", noisy_blobs(side), None,
                   {"tv_chambolle": denoise_tv_chambolle}, args.rounds))
    load = [os.getloadavg()[0]]
    print("\n## 11. Single images: RGB photos and a grey volume, to sparsity 0.8\n")
    print("Photos: the centre square of a bundled photo resized with anti-aliasing "
          "(float32; larger than 512² it is interpolated); the volume: 3-D binary blobs "
          "+ Gaussian noise σ 0.3 (float32, 6-grid). Each repeat runs ISVS "
          "(`smooth_image`) on 1 and on 2 threads and the TV peers at their default "
          "weights on 1 thread, back to back, each timed per call in a stream of calls "
          "lasting 0.2 s (one call where it lasts that long); ratios are throughput, "
          "ISVS against the peer (> 1: ISVS faster), median (range) over the repeats. "
          "Images of ≥ 8,192 pixels may go wide on 2 threads (each step split across "
          "them where that measures cheaper).\n")
    print("| image | steps (iterations) | isvs 1 thread s | isvs 2 threads s | "
          "tv_bregman s | tv_chambolle s | 1 thread × bregman | 2 threads × bregman | "
          "1 thread × chambolle | 2 threads × chambolle | repeats |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows, costs = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for n in threads:  # compile the kernels, the wide ones too
            numba.set_num_threads(n)
            isvs_graph.smooth_image(photo("astronaut", 128), sparsity=0.8)
            isvs_graph.smooth_image(noisy_blobs(32), sparsity=0.8, channel_axis=None)
        numba.set_num_threads(default_threads)
        for label, size, image, axis, peers, repeats in images:
            row = rows[label] = _single_row(image, axis, threads, peers, repeats)
            for n in threads:
                costs.setdefault((size, n), []).extend(row["ns"][n])
            seconds = " | ".join(f"{np.median(row['seconds'][key]):.3g}"
                                 if key in row["seconds"] else "–"
                                 for key in ("isvs 1", "isvs 2", *tv))
            ratios = " | ".join(_spread(row["ratios"][f"{n} × {name}"])
                                if f"{n} × {name}" in row["ratios"] else "–"
                                for name in tv for n in (1, 2))
            print(f"| {label} | {row['steps']} ({row['iterations']}) | {seconds} | "
                  f"{ratios} | {repeats} |", flush=True)
        # The batch figure: 32×32 crops in one batch, one thread, median of the rounds.
        crops = photo_crops(args.batch).astype(np.float32) / 255

        def smooth():
            return isvs_graph.smooth_images(crops, sparsity=0.8)

        numba.set_num_threads(1)
        try:
            smooth()
            batch_seconds = np.median([seconds_of(smooth) for _ in range(args.rounds)])
        finally:
            numba.set_num_threads(default_threads)
        steps = image_costs(crops)[0].sum()
    batch_ns = batch_seconds / (steps * _grid_edges((32, 32)) * 3) * 1e9
    print(f"\nCost per edge-channel per step (ns: wall time / (steps × edges × channels), "
          f"median over the images and repeats of a size), against {args.batch} photo "
          f"crops 32×32×3 in one batch on 1 thread: {batch_ns:.2f} ns.\n")
    print("| size | " + " | ".join(f"{n} thread{'s' * (n > 1)} ns | ÷ batch" for n in threads)
          + " |")
    print("| --- |" + " ---: | ---: |" * len(threads))
    for size in dict.fromkeys(size for size, _ in costs):
        cells = [np.median(costs[size, n]) for n in threads]
        print(f"| {size} | " + " | ".join(f"{c:.2f} | {c / batch_ns:.2f}" for c in cells)
              + " |")
    floor = _bare_floor(rows, images)
    side = args.single_sides[-1]
    memory = peak_memory(side)
    load.append(os.getloadavg()[0])
    print(f"\nPeak memory of one {side}²×3 float32 solve to sparsity 0.8 (fresh process, "
          f"{default_threads} threads): {memory['added MB']:.0f} MB added by the solve, "
          f"{memory['added MB'] / memory['image MB']:.1f}× the image "
          f"({memory['image MB']:.0f} MB); {memory['seconds']:.1f} s.")
    print(f"\nLoad average at the start and end: {load[0]:.2f}, {load[1]:.2f} "
          f"({os.cpu_count()} cores).", flush=True)
    results["single"] = {"images": rows, "batch ns": batch_ns, "memory": memory,
                         "bare step": floor,
                         "ns per edge-channel step": {f"{size}, {n} threads": costs[size, n]
                                                      for size, n in costs},
                         "load": load}


SECTIONS = {"throughput": throughput, "cached": cached_reads, "training": training_reads,
            "kappa": kappa_table, "growth": growth, "memory": memory, "gpu": gpu,
            "scales": scales, "startup": startup, "single": single_image}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--sections", nargs="+", choices=tuple(SECTIONS),
                        default=list(SECTIONS), help="run only these sections")
    args = parser.parse_args()
    args.batch = 64 if args.quick else 256
    args.repeat = 1 if args.quick else 3
    args.rounds = 1 if args.quick else 3
    args.kappa_images = 4 if args.quick else 32
    args.sizes = (64, 128) if args.quick else (64, 128, 256, 512, 1024)
    args.memory_side = 128 if args.quick else 1024
    args.gpu_batch = 1024 if args.quick else 4096
    args.scale_images = 32 if args.quick else 256
    args.single_sides = (256, 512) if args.quick else (64, 128, 256, 512, 1024, 2048, 4096)
    args.volume_side = 32 if args.quick else 128
    # numba's thread pool as isvs_graph starts it (OpenMP threads that sleep between
    # parallel loops), before machine() or a section's numba.set_num_threads launches it
    # with spinning threads, which starve a wide step (on the 2-core VM a 512² photo took
    # 1.9 s on 2 threads against 0.39 s on 1, and 0.29 s with sleeping threads).
    start_threads()
    results = {"machine": machine()}
    print("# isvs_graph benchmarks\n")
    for key, value in results["machine"].items():
        print(f"- {key}: {value}")
    for name in args.sections:
        SECTIONS[name](args, results)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2, default=float)


if __name__ == "__main__":
    main()
