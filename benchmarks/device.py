"""isvs_graph on one device: smoothing throughput, training overhead, two processes.

Run ``python benchmarks/device.py`` (``--device cpu``, ``cuda`` or ``cuda:0``; default
CUDA when present, else the CPU; ``--quick`` for small sizes, under two minutes on two CPU
cores). Prints a markdown table with the device and the machine:

1. images/s of :func:`isvs_graph.smooth_images` (sparsity 0.8, float32 on the device) on
   4,096 CIFAR-size photo crops (32×32×3) and on 16 photos resized to 224²×3, with the
   backend it picks (numba for CPU tensors, the torch stencil on a GPU), and the torch
   backend's stencil against its gather/scatter over the edge list on the same batch;
   on a GPU, the numba kernels on the host's CPU (all its cores) are measured beside it;
2. seconds for one large photo (1024², 2048², 4096² × 3) and one noisy 128³ grey volume
   (6-grid), each alone, with the backend :func:`isvs_graph.smooth_images` picks;
3. a ResNet-18 training step (SGD, batch 128) on plain batches, with on-the-fly smoothing
   (:class:`~isvs_graph.training.SmoothImages`) and with reads from a path cache
   (:class:`~isvs_graph.training.CachedISVSDataset`, built beforehand in a temporary
   folder): step times, and each as a ratio to the plain step;
4. ``torchrun --nproc_per_node 2`` (gloo on the CPU, nccl on CUDA with a GPU per
   process — ``--device cuda`` and two GPUs — else gloo): the CIFAR-size smoothing
   split over two processes, aggregate images/s against one process.

``--profile`` prints instead where the torch backend's time goes on the CIFAR-size batch
(a short check for a lent GPU): the steps the batch runs against the steps an image
needs, how many of them had few images left, the operations (and on a GPU the kernel
launches) a step, and on a GPU how busy it was against the wall time (torch's profiler).

The device is synchronised around every timing. The images are made from the photos
bundled with scikit-image (``inputs.py``): no download.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inputs import photo_crops, resized_photos  # noqa: E402

import isvs_graph  # noqa: E402
from isvs_graph._solver import torch_backend  # noqa: E402

#: Sizes of a full run and of ``--quick``.
FULL = dict(crops=4096, photos=16, photo_size=224, single_sides=(1024, 2048, 4096),
            volume_side=128, train_batch=128, train_steps=5, cache_images=512,
            dist_images=4096, repeats=3)
QUICK = dict(crops=32, photos=2, photo_size=48, single_sides=(64,), volume_side=16,
             train_batch=8, train_steps=2, cache_images=16, dist_images=64, repeats=1)
SPARSITY = 0.8


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds(device: torch.device, work, repeats: int = 1) -> float:
    """The median wall time of ``work()`` over ``repeats`` runs, the device synchronised."""
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        work()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contextlib.contextmanager
def operator(stencil: bool):
    """The torch backend's grids stepped by the stencil, or by gather/scatter."""
    previous, torch_backend._STENCIL = torch_backend._STENCIL, stencil
    try:
        yield
    finally:
        torch_backend._STENCIL = previous


def smooth(images: torch.Tensor, **options) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # images that stop at their floor
        return isvs_graph.smooth_images(images, sparsity=SPARSITY, **options)


def crops(count: int, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(photo_crops(count).astype(np.float32) / 255).to(device)


def throughput_rows(name: str, images: torch.Tensor, device: torch.device,
                    repeats: int) -> list[tuple]:
    """images/s with the default backend, the torch stencil and torch gather."""
    size = f"{len(images)} × {'×'.join(map(str, images.shape[2:]))}×{images.shape[1]}"
    runs = [("torch stencil", dict(backend="torch"), True, images),
            ("torch gather", dict(backend="torch"), False, images)]
    # smooth_images takes the numba kernels for CPU tensors: on a GPU's machine, its
    # CPU (all cores) is the peer.
    host = "smooth_images (numba)" if device.type == "cpu" else "numba on the host CPU"
    runs.insert(0, (host, {}, True, images.cpu()))
    rates = {}
    for label, options, stencil, batch in runs:
        with operator(stencil):
            smooth(batch[:2], **options)  # compiled and warm
            rates[label] = len(batch) / seconds(device, lambda: smooth(batch, **options),
                                                repeats)
    rows = [(f"{name}, {label}", size, rate, "images/s") for label, rate in rates.items()]
    rows.append((f"{name}, stencil / gather", size,
                 rates["torch stencil"] / rates["torch gather"], "×"))
    if device.type != "cpu":
        rows.append((f"{name}, torch stencil / host numba", size,
                     rates["torch stencil"] / rates[host], "×"))
    return rows


def single_rows(sizes: dict, device: torch.device, repeats: int) -> list[tuple]:
    """Seconds for one photo and one volume at a time, with the default backend."""
    from inputs import noisy_blobs, photo
    images = [(f"one photo, {side}²×3", photo("astronaut", side).transpose(2, 0, 1))
              for side in sizes["single_sides"]]
    side = sizes["volume_side"]
    images.append((f"one volume, {side}³ grey", noisy_blobs(side)[None]))
    smooth(torch.from_numpy(images[0][1][None, :, :16, :16]).to(device))  # compiled
    smooth(torch.from_numpy(images[-1][1][None, :, :8, :8, :8]).to(device))
    rows = []
    for label, image in images:
        batch = torch.from_numpy(np.ascontiguousarray(image[None])).to(device)
        rows.append((label, "×".join(map(str, batch.shape[1:])),
                     seconds(device, lambda: smooth(batch), repeats), "s"))
    return rows


def profile_rows(images: torch.Tensor, device: torch.device) -> list[tuple]:
    """Where the torch backend's time goes on a batch: its steps, and the profile."""
    from torch.profiler import ProfilerActivity, profile

    from isvs_graph._solve import prepare
    from isvs_graph._solver import run_split_lbi
    batch, channels, height, width = images.shape
    problem = prepare(isvs_graph.grid_graph(height, width),
                      images.permute(0, 2, 3, 1).reshape(batch, -1, channels))

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # images that stop at their floor
            return run_split_lbi(problem.graph, problem.x, problem.initial(),
                                 problem.options, backend="torch", sparsity=SPARSITY)

    run()  # warm
    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        sync(device)
        start = time.perf_counter()
        steps = run().steps
        sync(device)
        wall = time.perf_counter() - start
    total = int(steps.max())
    running = np.bincount(np.minimum(steps, total), minlength=total + 1)[::-1].cumsum()[::-1]
    events = prof.events()
    calls = sum(e.cpu_parent is None and e.name.startswith("aten::") for e in events)
    size = f"{batch} × {height}×{width}×{channels}"
    rows = [("profile: steps the batch ran", size, total, "steps"),
            ("profile: steps an image needs, mean", size, float(steps.mean()), "steps"),
            ("profile: steps with 64 or fewer images left", size,
             int((running[1:total + 1] <= 64).sum()), "steps"),
            ("profile: torch operations a step", size, calls / total, "calls"),
            ("profile: wall time, profiled", size, wall, "s")]
    if cuda:
        launches = sum(e.name in ("cudaLaunchKernel", "cuLaunchKernel") for e in events)
        # The kernels' time: the device's own events, as torch's profiler table sums it.
        busy = sum(e.self_device_time_total for e in prof.key_averages()
                   if e.device_type == torch.autograd.DeviceType.CUDA)
        rows += [("profile: kernel launches a step", size, launches / total, "launches"),
                 ("profile: GPU busy / wall", size, busy / 1e6 / wall, "×")]
    return rows


def training_rows(sizes: dict, device: torch.device, repeats: int) -> list[tuple]:
    """ResNet-18 step time: plain batches, smoothed on the fly, read from a path cache."""
    from isvs_graph.training import CachedISVSDataset, ResNet18, SmoothImages
    batch, steps = sizes["train_batch"], sizes["train_steps"]
    count = max(sizes["cache_images"], batch)
    images = torch.from_numpy(photo_crops(count, seed=1))  # uint8, as datasets store them
    labels = torch.from_numpy(np.random.default_rng(0).integers(0, 10, count))
    batches = [torch.from_numpy(np.random.default_rng(s).choice(count, batch, replace=False))
               for s in range(steps + 1)]
    torch.manual_seed(0)
    model = ResNet18(10).to(device)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    transform = SmoothImages(seed=0)

    def step(inputs: torch.Tensor, targets: torch.Tensor) -> None:
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(inputs), targets.to(device)).backward()
        optimiser.step()

    def plain(index):
        step(images[index].to(device).float() / 255, labels[index])

    def smoothed(index):
        step(transform(images[index].to(device).float() / 255), labels[index])

    with tempfile.TemporaryDirectory() as folder:
        cached = CachedISVSDataset(images, labels, folder, seed=0)
        build = seconds(device, lambda: cached.build(progress=False))
        cached.load()

        def read(index):
            items = cached.__getitems__(index.tolist())
            step(torch.stack([image for image, _ in items]).to(device),
                 torch.stack([label for _, label in items]))

        times = {}
        for label, work in (("plain", plain), ("on-the-fly smoothing", smoothed),
                            ("cached reads", read)):
            work(batches[0])  # warm
            times[label] = seconds(device, lambda: [work(b) for b in batches[1:]],
                                   repeats) / steps
    size = f"batch {batch}"
    rows = [(f"ResNet-18 step, {label}", size, 1e3 * t, "ms") for label, t in times.items()]
    rows += [(f"ResNet-18 step, {label} / plain", size, times[label] / times["plain"], "×")
             for label in ("on-the-fly smoothing", "cached reads")]
    rows.append(("path cache build (CachedISVSDataset)", f"{count} × 32×32×3",
                 count / build, "images/s"))
    return rows


def distributed_rows(sizes: dict, device_name: str) -> list[tuple]:
    """torchrun with 2 processes against 1, each process its share of the crops."""
    rates = {}
    for processes in (1, 2):
        threads = str(max(1, (os.cpu_count() or 1) // processes))
        env = {**os.environ, "OMP_NUM_THREADS": threads, "NUMBA_NUM_THREADS": threads}
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   "--nproc_per_node", str(processes), os.path.abspath(__file__), "--worker",
                   "--device", device_name, "--count", str(sizes["dist_images"])]
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith("WORKERS ")]
        if done.returncode or not lines:
            raise RuntimeError(f"torchrun failed ({done.returncode}):\n{done.stderr[-3000:]}")
        result = json.loads(lines[-1].removeprefix("WORKERS "))
        rates[processes] = result["images"] / result["seconds"]
    size = f"{sizes['dist_images']} × 32×32×3"
    return [("torchrun, 1 process", size, rates[1], "images/s"),
            ("torchrun, 2 processes", size, rates[2], "images/s"),
            ("torchrun, 2 processes / 1", size, rates[2] / rates[1], "×")]


def worker(device_name: str, count: int) -> None:
    """One process of ``torchrun``: smooth this rank's share, report the slowest time."""
    import torch.distributed as dist
    cuda = device_name.startswith("cuda")
    # nccl wants a GPU per process: with "cuda" and as many GPUs as processes each rank
    # takes its own; processes sharing one GPU ("cuda:0", or too few) talk through gloo.
    nccl = cuda and ":" not in device_name and \
        torch.cuda.device_count() >= int(os.environ.get("WORLD_SIZE", 1))
    if nccl:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)  # before the group: nccl's barrier uses it
    else:
        device = torch.device(device_name)
    dist.init_process_group("nccl" if nccl else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    images = crops(count, device)[rank::world]
    smooth(images)  # compiled and warm
    if nccl:
        dist.barrier(device_ids=[device.index])
    else:
        dist.barrier()
    elapsed = seconds(device, lambda: smooth(images), repeats=3)
    slowest = torch.tensor([elapsed], dtype=torch.float64, device=device if nccl else "cpu")
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    if rank == 0:
        print("WORKERS " + json.dumps({"world": world, "images": count,
                                       "seconds": float(slowest.item())}), flush=True)
    dist.destroy_process_group()


def describe(device: torch.device) -> tuple[str, str]:
    """The device's name and the machine's."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info
                        if line.startswith("model name")), cpu)
    machine = (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
               f"Python {platform.python_version()}, torch {torch.__version__}, "
               f"isvs_graph {isvs_graph.__version__}")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({cpu})"
    return name, machine


def header(device: torch.device, quick: bool) -> str:
    name, machine = describe(device)
    return "\n".join([f"device: {device} — {name}", f"machine: {machine}",
                      f"sizes: {'--quick' if quick else 'full'}", "",
                      "| measure | size | figure | unit |", "| --- | --- | ---: | --- |"])


def print_rows(rows: list[tuple]) -> None:
    """The table's rows, printed as each section ends (a long run shows its progress)."""
    for measure, size, value, unit in rows:
        print(f"| {measure} | {size} | {value:.4g} | {unit} |", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="cpu, cuda or cuda:N (default: cuda when present, else cpu)")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--profile", action="store_true",
                        help="only where the torch backend's time goes on the CIFAR-size batch")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.device, args.count)
        return
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available here")
    sizes = QUICK if args.quick else FULL
    repeats = sizes["repeats"]
    print(header(device, args.quick), flush=True)
    if args.profile:
        print_rows(profile_rows(crops(sizes["crops"], device), device))
        return
    print_rows(throughput_rows("CIFAR-size", crops(sizes["crops"], device), device, repeats))
    photos = torch.from_numpy(resized_photos(sizes["photos"], sizes["photo_size"])).to(device)
    print_rows(throughput_rows("photos", photos, device, repeats))
    print_rows(single_rows(sizes, device, repeats))
    print_rows(training_rows(sizes, device, repeats))
    print_rows(distributed_rows(sizes, args.device))


if __name__ == "__main__":
    main()
