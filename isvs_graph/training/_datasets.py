"""Image data for training: bundled digits, CIFAR and ImageFolder readers, and a dataset
that serves each image at any ISVS scale from a path cache built once."""

from __future__ import annotations

from typing import Any

import hashlib
import os
import pickle  # noqa: S403 - CIFAR's own format; read only from a path the user gives
import tarfile
from collections.abc import Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .._io import remove_orphans
from .._paths import ISVSPath, load_paths
from ..images import image_paths
from .._validation import check_count
from .._progress import show_progress
from .._warnings import signals_moved
from ._schedules import SparsityRule, make_rule, rule_scale

__all__ = ["CachedISVSDataset", "FASHION_MNIST_CLASSES", "FASHION_MNIST_ROOT", "bundled_digits",
           "read_cifar", "read_fashion_mnist", "read_idx", "read_image_folder"]


Split = tuple[np.ndarray, np.ndarray]


def bundled_digits(size: int = 32, *, test_fraction: float = 0.2,
                   seed: int = 0) -> tuple[Split, Split]:
    """scikit-learn's handwritten digits (1,797 images, 10 classes; shipped inside
    scikit-learn, no download), resized to ``size × size`` RGB uint8.

    Returns ``(train_images, train_labels), (test_images, test_labels)``: images
    ``N × 3 × size × size`` uint8, labels int64; a fixed stratified split.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError("the bundled digits need scikit-learn: pip install scikit-learn"
                          ) from error
    from skimage.transform import resize
    digits = load_digits()
    images = np.stack([resize(image / 16.0, (size, size), order=1, anti_aliasing=False)
                       for image in digits.images])
    images = np.round(np.clip(images, 0, 1) * 255).astype(np.uint8)
    images = np.repeat(images[:, None], 3, axis=1)
    labels = digits.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = rng.permutation(np.nonzero(labels == label)[0])
        test[members[:int(round(test_fraction * len(members)))]] = True
    return (images[~test], labels[~test]), (images[test], labels[test])


def read_cifar(root: str | os.PathLike, split: str = "train") -> Split:
    """CIFAR-10 or CIFAR-100 from the standard python batches under ``root``.

    ``root`` holds ``cifar-10-batches-py/`` or ``cifar-100-python/`` (or the archive
    ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz``, unpacked next to it).
    Returns ``(images N × 3 × 32 × 32 uint8, labels int64)``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = os.fspath(root)
    for archive in ("cifar-10-python.tar.gz", "cifar-100-python.tar.gz"):
        folder = "cifar-10-batches-py" if "10-" in archive else "cifar-100-python"
        if os.path.exists(os.path.join(root, archive)) and \
                not os.path.isdir(os.path.join(root, folder)):
            with tarfile.open(os.path.join(root, archive)) as tar:
                tar.extractall(root, filter="data")
    ten, hundred = os.path.join(root, "cifar-10-batches-py"), os.path.join(root, "cifar-100-python")
    if os.path.isdir(ten):
        names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
        files, key = [os.path.join(ten, name) for name in names], b"labels"
    elif os.path.isdir(hundred):
        files, key = [os.path.join(hundred, split)], b"fine_labels"
    else:
        raise FileNotFoundError(
            f"no CIFAR data under {root!r}: expected cifar-10-batches-py/ or "
            "cifar-100-python/ (the python version from the CIFAR website)")
    images, labels = [], []
    for file in files:
        if not os.path.exists(file):
            raise FileNotFoundError(f"CIFAR batch missing: {file!r}")
        with open(file, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")  # noqa: S301 - user's own data
        images.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch[key], dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


#: Where Debian's ``dataset-fashion-mnist`` package puts Fashion-MNIST.
FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"

#: Fashion-MNIST's ten classes, in label order.
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")


def read_idx(file: str | os.PathLike) -> np.ndarray:
    """An array from an IDX file (the MNIST format), plain or gzipped.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not an IDX file of unsigned bytes, or truncated (the header promises more data
        than the file holds).
    """
    import gzip
    file = os.fspath(file)
    if not os.path.exists(file):
        raise FileNotFoundError(f"no IDX file at {file!r}")
    with open(file, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open(file, "rb") if gzipped else open(file, "rb")) as handle:
            raw = handle.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{file!r} is damaged and cannot be read ({error})") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise ValueError(f"{file!r} is not an IDX file of unsigned bytes (magic "
                         f"{raw[:4].hex()}, expected 000008 and 1–4 dimensions)")
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    start, count = 4 + 4 * dims, int(np.prod(shape))
    if len(raw) != start + count:
        raise ValueError(f"{file!r} is truncated or damaged: its header says {shape} "
                         f"({count} bytes of data), the file holds {len(raw) - start}")
    return np.frombuffer(raw, dtype=np.uint8, offset=start).reshape(shape).copy()


def read_fashion_mnist(root: str | os.PathLike | None = None, split: str = "train", *,
                       size: int = 32) -> Split:
    """Fashion-MNIST (Xiao et al., 2017): 70,000 real 28 × 28 grey photos of clothes, in
    ten classes (:data:`FASHION_MNIST_CLASSES`), read from its IDX files, never
    downloaded.

    Parameters
    ----------
    root : path, optional
        The folder of ``train-images-idx3-ubyte(.gz)`` and the other three files;
        default :data:`FASHION_MNIST_ROOT`, where ``apt-get install
        dataset-fashion-mnist`` puts them on Debian and Ubuntu.
    split : {"train", "test"}
        60,000 or 10,000 images.
    size : int, default 32
        Side of the returned images, ``>= 28``: the photos are centred on a black
        border of that size (the models here take 32 × 32).

    Returns
    -------
    images, labels
        ``N × 3 × size × size`` uint8 (the grey photo in all three channels) and int64
        labels 0–9.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    size = check_count("size", size, minimum=28)
    root = os.fspath(FASHION_MNIST_ROOT if root is None else root)
    prefix = "train" if split == "train" else "t10k"
    arrays = []
    for kind in ("images-idx3", "labels-idx1"):
        names = [f"{prefix}-{kind}-ubyte{suffix}" for suffix in (".gz", "")]
        found = [os.path.join(root, name) for name in names
                 if os.path.exists(os.path.join(root, name))]
        if not found:
            raise FileNotFoundError(
                f"no Fashion-MNIST under {root!r}: expected {names[0]} (or unpacked). "
                "Install it with `apt-get install dataset-fashion-mnist` (Debian, Ubuntu) "
                "or give the folder of its IDX files")
        arrays.append(read_idx(found[0]))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"Fashion-MNIST files under {root!r} do not match: images "
                         f"{images.shape}, labels {labels.shape}")
    before = (size - images.shape[1]) // 2
    after = size - images.shape[1] - before
    images = np.pad(images, ((0, 0), (before, after), (before, after)))
    return np.repeat(images[:, None], 3, axis=1), labels.astype(np.int64)


def read_image_folder(root: str | os.PathLike,
                      size: int = 32) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """An ImageFolder tree (``root/<class>/<image>``) resized to ``size × size`` RGB.

    Returns ``(images N × 3 × size × size uint8, labels int64, class_names)``.
    """
    from PIL import Image
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"no image folder at {root!r}")
    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"{root!r} has no class folders (root/<class>/<image>)")
    images, labels = [], []
    for label, name in enumerate(classes):
        for entry in sorted(os.scandir(os.path.join(root, name)), key=lambda e: e.name):
            if not entry.is_file():
                continue
            try:
                with Image.open(entry.path) as image:
                    image = image.convert("RGB").resize((size, size), Image.BILINEAR)
            except OSError:
                continue  # not an image
            images.append(np.asarray(image).transpose(2, 0, 1))
            labels.append(label)
    if not images:
        raise FileNotFoundError(f"no readable images under {root!r}")
    return np.stack(images), np.asarray(labels, dtype=np.int64), classes


class CachedISVSDataset(torch.utils.data.Dataset):
    """Images served at an ISVS scale read from a path cache, in ``O(p)`` per image.

    The cache is built once (:meth:`build`), in shards of ``shard_size`` images, each
    written atomically: a killed build resumes where it stopped, and ranks of a
    distributed run build disjoint shards. Items are ``(image, label)`` with
    ``image`` a float32 ``C × H × W`` tensor in ``[0, 1]``.

    Parameters
    ----------
    images : uint8 array or tensor ``N × C × H × W``
    labels : array of N ints
    cache_dir : path
        Where the shards live.
    sparsity : float, (low, high), SparsityRule or callable, optional
        The scale of each item as a sparsity: fixed, drawn per item and epoch
        (:class:`SparsityRange`), or by epoch (:class:`CoarseToFine`); see
        :func:`as_rule`. A rule that draws ``None`` serves the original images.
    t : float, (low, high), SparsityRule or callable, optional
        Instead of ``sparsity``: the scale as a time (:class:`TimeRange`,
        ``CoarseToFine(scale="t")`` …). Neither: :class:`TimeRange` ``()``, the
        recipe's default, as for :class:`SmoothImages`.
    levels : sequence of float, optional
        Recorded sparsities (exact reads there). For a sparsity rule the paths run
        down to ``min(levels)``, which must not exceed the smallest sparsity the rule
        can ask for; default 1, 0.9, …, 0.5. For a time rule default 1 (the paths run
        to the rule's largest time).
    record_times : sequence of float, optional
        Recorded times (exact reads there); for a time rule default eight times evenly
        spaced up to its largest.
    seed : int
        Makes the per-item draws reproducible: item ``i`` in epoch ``e`` always gets
        the same scale.
    **solver_options
        For :func:`isvs_graph.image_paths`.
    """

    def __init__(self, images: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
                 cache_dir: str | os.PathLike, *,
                 sparsity: float | SparsityRule | Callable[[int], object] | None = None,
                 t: float | SparsityRule | Callable[[int], object] | None = None,
                 levels: Sequence[float] | None = None,
                 record_times: Sequence[float] | None = None,
                 shard_size: int = 512, seed: int = 0, **solver_options: Any) -> None:
        self.images = torch.as_tensor(np.asarray(images))
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError("images must be uint8 of shape (N, C, H, W), got "
                             f"{self.images.dtype} {tuple(self.images.shape)}")
        self.labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
        if len(self.labels) != len(self.images):
            raise ValueError(f"{len(self.labels)} labels for {len(self.images)} images")
        self.cache_dir = os.fspath(cache_dir)
        self.rule = make_rule(sparsity, t)
        self.scale, finest = rule_scale(self.rule)
        if self.scale == "t":
            if finest is None:
                raise ValueError(f"the path cache must know the largest time {self.rule!r} "
                                 "can draw (where its paths stop): give a rule with a range, "
                                 "such as TimeRange(low, high) or CoarseToFine(scale='t')")
            self.t_max = float(finest)
            levels = (1.0,) if levels is None else levels
            if record_times is None:
                record_times = np.linspace(0.0, self.t_max, 9)[1:]
        else:
            self.t_max = None
            levels = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5) if levels is None else levels
        self.levels = sorted((float(v) for v in levels), reverse=True)
        self.record_times = sorted(float(v) for v in (() if record_times is None else
                                                      record_times))
        if self.scale == "sparsity" and finest is not None and finest < self.levels[-1]:
            raise ValueError(f"sparsity can reach {finest!r}, below the finest cached level "
                             f"{self.levels[-1]!r}: add a lower level")
        self.shard_size = shard_size
        self.seed = seed
        self.solver_options = solver_options
        # The epoch in shared memory: DataLoader workers, persistent ones included, see
        # every set_epoch (their copy of the dataset shares this tensor's memory).
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()
        self._shards: list[ISVSPath] | None = None
        self._key: dict | None = None

    def __len__(self) -> int:
        return len(self.images)

    @property
    def epoch(self) -> int:
        """The epoch items are drawn for (see :meth:`set_epoch`)."""
        return int(self._epoch)

    @epoch.setter
    def epoch(self, epoch: int) -> None:
        self._epoch.fill_(int(epoch))

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch the next items are drawn for (each epoch draws anew). DataLoader
        workers see it too, ``persistent_workers`` included: the epoch is held in shared
        memory."""
        self.epoch = epoch

    @property
    def n_shards(self) -> int:
        """How many shard files the cache has."""
        return -(-len(self.images) // self.shard_size)

    def _shard_file(self, shard: int) -> str:
        # The name carries a digest of the shard's images: other data, other file.
        digest = hashlib.sha256(self.images[self._rows(shard)].numpy().tobytes()).hexdigest()
        return os.path.join(self.cache_dir, f"paths-{shard:05d}-{digest[:12]}.npz")

    def _expected(self) -> dict:
        """Everything that defines the cached paths, as their files record it: every
        solver option (defaults and the step size resolved), the levels and where the
        paths stop. A shard made with anything else is rebuilt, never read."""
        if self._key is None:
            probe = image_paths(self.images[:1], levels=self.levels, t_max=0.0,
                                record_times=self.record_times, **self.solver_options)
            self._key = {**probe.options, **self._stop()}
        return self._key

    def _stop(self) -> dict:
        """Where the cached paths stop: the rule's largest time, or the finest level."""
        if self.scale == "t":
            return {"t_max": self.t_max, "sparsity_min": None}
        return {"t_max": None, "sparsity_min": self.levels[-1]}

    def _valid(self, shard: int) -> bool:
        try:
            paths = load_paths(self._shard_file(shard), **self._expected())
        except (FileNotFoundError, ValueError):
            return False
        rows = self._rows(shard)
        return len(paths) == rows.stop - rows.start

    def _rows(self, shard: int) -> slice:
        return slice(shard * self.shard_size, min((shard + 1) * self.shard_size,
                                                  len(self.images)))

    def build(self, *, rank: int = 0, world_size: int = 1, progress: bool = True) -> int:
        """Build the shards of this rank (``shard % world_size == rank``) that are
        missing or invalid. Returns how many were built. ``progress``: a bar over the
        shards, drawn only on a terminal (:func:`show_progress`)."""
        os.makedirs(self.cache_dir, exist_ok=True)
        remove_orphans(self.cache_dir)
        mine = [s for s in range(self.n_shards) if s % world_size == rank]
        todo = [s for s in mine if not self._valid(s)]
        for shard in tqdm(todo, desc=f"ISVS path cache (rank {rank})", unit="shard",
                          disable=not todo or not show_progress(progress)):
            rows = self._rows(shard)
            with signals_moved(rows.start, f"shard {shard} (images {rows.start}–"
                                           f"{rows.stop - 1})"):
                paths = image_paths(self.images[rows], levels=self.levels,
                                    record_times=self.record_times, **self._stop(),
                                    **self.solver_options)
            paths.save(self._shard_file(shard))
        return len(todo)

    def load(self) -> None:
        """Read every shard (after all ranks have built theirs)."""
        shards = []
        for shard in range(self.n_shards):
            file = self._shard_file(shard)
            if not os.path.exists(file):
                raise FileNotFoundError(f"path cache shard {file!r} is missing: run build()")
            shards.append(load_paths(file, **self._expected()))
        self._shards = shards

    def scale_of(self, index: int, epoch: int | None = None) -> float | None:
        """The scale (in the rule's scale, ``self.scale``) item ``index`` gets in ``epoch``
        (default the current one); ``None``: the original image."""
        epoch = self.epoch if epoch is None else epoch
        generator = torch.Generator().manual_seed(
            (self.seed * 1_000_003 + epoch) * 1_000_003 + index)
        level = self.rule.draw(1, epoch=epoch, generator=generator)
        if level is None:
            return None
        value = float(level[0])
        if self.scale == "sparsity" and value < self.levels[-1]:
            raise ValueError(f"the sparsity rule drew {value} in epoch {epoch}, below the "
                             f"finest cached level {self.levels[-1]}: add a lower level")
        if self.scale == "t" and value > self.t_max:
            raise ValueError(f"the time rule drew {value} in epoch {epoch}, beyond the "
                             f"cached paths' end t = {self.t_max}")
        return value

    def sparsity_of(self, index: int) -> float | None:
        """The scale item ``index`` gets in the current epoch (the name predates time
        rules: a time for those); see :meth:`scale_of`."""
        return self.scale_of(index)

    def floor_hits(self, epochs: Sequence[int] | range) -> float:
        """The fraction of the draws of ``epochs`` (every item, each epoch) at a scale
        finer than where the item's path stopped at the floor: draws served the finest
        scale the image has, not the one asked for (for a sparsity rule: images whose
        flat edges never let them reach it)."""
        if self._shards is None:
            self.load()
        floor = np.full(len(self), np.inf if self.scale == "t" else -np.inf)
        for shard, paths in enumerate(self._shards):
            rows = self._rows(shard)
            converged = np.atleast_1d(paths.converged)
            last = np.atleast_1d(paths.n_iter)
            if self.scale == "t":
                ends = last * paths.alpha
                floor[rows] = np.where(converged, ends, np.inf)
            else:
                ends = np.atleast_1d(paths.sparsity_at(last))
                floor[rows] = np.where(converged, ends, -np.inf)
        hits = draws = 0
        for epoch in epochs:
            for index in range(len(self)):
                value = self.scale_of(index, epoch)
                if value is None:
                    continue
                draws += 1
                hits += value > floor[index] if self.scale == "t" else value < floor[index]
        return hits / draws if draws else 0.0

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Items ``indices`` at once (the DataLoader asks for whole batches this way):
        one read per shard for all of the batch's images in it."""
        if self._shards is None:
            self.load()
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        count = len(self)
        outside = (indices < -count) | (indices >= count)
        if outside.any():
            raise IndexError(f"index {int(indices[outside][0])} is out of range for "
                             f"{count} items")
        indices = indices % count if count else indices  # negative ones from the end
        images = self.images[torch.from_numpy(indices)]  # indexing copies
        levels = [self.scale_of(int(i)) for i in indices]
        smoothed = np.array([level is not None for level in levels])
        shards, rows = np.divmod(indices, self.shard_size)
        for shard in np.unique(shards[smoothed]):
            members = np.flatnonzero(smoothed & (shards == shard))
            read = self._shards[shard].at(**{self.scale: [levels[m] for m in members]},
                                          signals=rows[members])
            images[torch.from_numpy(members)] = torch.as_tensor(read)
        images = images.float() / 255.0
        labels = self.labels[torch.from_numpy(indices)]
        return list(zip(images, labels))
