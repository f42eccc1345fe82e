"""Image data for training: bundled digits, CIFAR and ImageFolder readers, and a dataset
that serves each image at any ISVS scale from a path cache built once."""

from __future__ import annotations

from typing import Any

import hashlib
import math
import numbers
import os
import pickle  # noqa: S403 - CIFAR's own format; read only from a path the user gives
import tarfile
import zlib
from collections.abc import Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .._image_files import DECODE_ERRORS
from .._io import remove_orphans
from .._paths import ISVSPath, check_levels, load_paths
from ..images import image_paths
from .._validation import check_count, check_real, shown
from .._progress import show_progress
from .._warnings import signals_moved, warn_user
from ._schedules import SparsityRule, make_rule, rule_scale

__all__ = ["CachedISVSDataset", "FASHION_MNIST_CLASSES", "FASHION_MNIST_ROOT", "bundled_digits",
           "read_cifar", "read_fashion_mnist", "read_idx", "read_image_folder"]


Split = tuple[np.ndarray, np.ndarray]


def bundled_digits(size: int = 32, *, test_fraction: float = 0.2,
                   seed: int = 0) -> tuple[Split, Split]:
    """scikit-learn's handwritten digits (1,797 images, 10 classes; shipped inside
    scikit-learn, no download), resized to ``size × size`` RGB uint8.

    Returns ``(train_images, train_labels), (test_images, test_labels)``: images
    ``N × 3 × size × size`` uint8, labels int64; a fixed stratified split, with
    ``test_fraction`` (in [0, 1)) of each class in the test set: none for 0.

    Raises
    ------
    TypeError
        ``size`` is not an int.
    ValueError
        ``size`` is below 1, or ``test_fraction`` is outside [0, 1), above 0 but too
        small to hold out any digit, or so large that no digit is left to train on.
    """
    size = check_count("size", size)
    fraction = check_real("test_fraction", test_fraction)
    if not 0.0 <= fraction < 1.0:
        raise ValueError("test_fraction must lie in [0, 1) (the share of each class held "
                         f"out for testing), got {shown(test_fraction)}")
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
        test[members[:int(round(fraction * len(members)))]] = True
    if test.all() or (fraction > 0 and not test.any()):
        side = "training" if test.all() else "test"
        raise ValueError(f"test_fraction={shown(test_fraction)} leaves no {side} images "
                         "(it is rounded per class of about 180 digits); give one between "
                         "0.01 and 0.99, or 0 for no test set")
    return (images[~test], labels[~test]), (images[test], labels[test])


def read_cifar(root: str | os.PathLike, split: str = "train") -> Split:
    """CIFAR-10 or CIFAR-100 from the standard python batches under ``root``.

    ``root`` holds ``cifar-10-batches-py/`` or ``cifar-100-python/`` (or the archive
    ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz``, unpacked next to it).
    Returns ``(images N × 3 × 32 × 32 uint8, labels int64)``.

    Raises
    ------
    FileNotFoundError
        No CIFAR data under ``root``, or a batch file missing.
    ValueError
        A damaged archive (nothing of it is left unpacked) or a batch file that is not
        a CIFAR batch: not a pickle, rows other than 3072 bytes, as many labels as
        images, labels outside 0–9 (0–99 for CIFAR-100); the message names the file.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = os.fspath(root)
    for archive in ("cifar-10-python.tar.gz", "cifar-100-python.tar.gz"):
        folder = "cifar-10-batches-py" if "10-" in archive else "cifar-100-python"
        if os.path.exists(os.path.join(root, archive)) and \
                not os.path.isdir(os.path.join(root, folder)):
            _unpack(os.path.join(root, archive), root, folder)
    ten, hundred = os.path.join(root, "cifar-10-batches-py"), os.path.join(root, "cifar-100-python")
    if os.path.isdir(ten):
        names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
        files, key, classes = [os.path.join(ten, name) for name in names], b"labels", 10
    elif os.path.isdir(hundred):
        files, key, classes = [os.path.join(hundred, split)], b"fine_labels", 100
    else:
        raise FileNotFoundError(
            f"no CIFAR data under {root!r}: expected cifar-10-batches-py/ or "
            "cifar-100-python/ (the python version from the CIFAR website)")
    images, labels = [], []
    for file in files:
        if not os.path.exists(file):
            raise FileNotFoundError(f"CIFAR batch missing: {file!r}")
        with open(file, "rb") as handle:
            try:
                batch = pickle.load(handle, encoding="bytes")  # noqa: S301 - user's own data
            except Exception as error:  # a truncated or foreign file: any unpickling error
                raise ValueError(f"{file!r} is not a CIFAR batch: it cannot be unpickled "
                                 f"({type(error).__name__}: {error}); download the python "
                                 "version of CIFAR again") from None
        data, batch_labels = _cifar_batch(file, batch, key, classes)
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(batch_labels)
    return np.concatenate(images), np.concatenate(labels)


def _unpack(archive: str, root: str, folder: str) -> None:
    """Unpack ``folder`` from the CIFAR ``archive`` into ``root``, whole or not at all: it
    is unpacked into a hidden temporary folder first, so that a damaged archive leaves
    no half of it behind to be read as the data set."""
    import gzip
    import shutil
    import tempfile
    temporary = tempfile.mkdtemp(prefix=".unpacking-", dir=root)
    try:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(temporary, filter="data")
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise ValueError(f"{archive!r} is damaged and cannot be unpacked ({error}); "
                             "download it again") from None
        unpacked = os.path.join(temporary, folder)
        if not os.path.isdir(unpacked):
            raise ValueError(f"{archive!r} holds no {folder}/ folder: it is not the python "
                             "version of CIFAR")
        try:
            os.rename(unpacked, os.path.join(root, folder))
        except OSError:
            if not os.path.isdir(os.path.join(root, folder)):  # (unpacked by another process)
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _cifar_batch(file: str, batch: Any, key: bytes, classes: int,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The images (``N × 3072`` uint8) and labels (int64) of the unpickled CIFAR batch
    ``file``, or a ValueError naming it."""
    if not isinstance(batch, dict) or b"data" not in batch or key not in batch:
        held = sorted(batch, key=repr) if isinstance(batch, dict) else type(batch).__name__
        raise ValueError(f"{file!r} is not a CIFAR batch: expected a dict with keys "
                         f"b'data' and {key!r}, got {held!r}")
    try:
        data, labels = np.asarray(batch[b"data"]), np.asarray(batch[key])
    except ValueError:  # numpy's "inhomogeneous shape": rows of different lengths
        raise ValueError(f"{file!r} holds rows or labels of different lengths; a CIFAR "
                         "batch holds one row of 3072 bytes (3 × 32 × 32) an image") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{file!r} holds data of shape {data.shape}; a CIFAR batch holds "
                         "one row of 3072 bytes (3 × 32 × 32) an image")
    if data.dtype != np.uint8 and (data.dtype.kind not in "iu" or data.size and (
            data.min() < 0 or data.max() > 255)):
        raise ValueError(f"{file!r} holds data of dtype {data.dtype} that are not bytes "
                         "(integers 0–255)")
    if labels.ndim != 1 or len(labels) != len(data):
        raise ValueError(f"{file!r} holds {len(data)} images but labels of shape "
                         f"{labels.shape}: one label an image")
    if labels.size and labels.dtype.kind not in "iu":
        raise ValueError(f"{file!r} holds labels of dtype {labels.dtype}; CIFAR-{classes}'s "
                         f"are integers 0–{classes - 1}")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{file!r} holds labels {shown(labels.min())}–{shown(labels.max())}"
                         f"; CIFAR-{classes}'s are integers 0–{classes - 1}")
    return data.astype(np.uint8), labels.astype(np.int64)


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
        Not an IDX file of unsigned bytes, or truncated (the header is cut short, or
        promises more data than the file holds) or damaged (the header's sizes do not
        match the data).
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
    dims, start = raw[3], 4 + 4 * raw[3]
    if len(raw) < start:
        raise ValueError(f"{file!r} is truncated: its header names {dims} dimension(s), "
                         f"whose sizes take {start} bytes, but the file holds {len(raw)}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    count = math.prod(shape)  # in Python ints: (65536,) * 4 is 2**64, not 0
    if len(raw) - start != count:
        raise ValueError(f"{file!r} is truncated or damaged: its header says shape {shape} "
                         f"({count:,} bytes of data), the file holds {len(raw) - start:,} "
                         "bytes after its header")
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

    Raises
    ------
    FileNotFoundError
        The images or labels of ``split`` are not under ``root``.
    ValueError
        A damaged IDX file (:func:`read_idx`), images of other than 28 × 28 pixels,
        labels outside 0–9, or other than one label an image; the message names the file.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    size = check_count("size", size, minimum=28)
    root = os.fspath(FASHION_MNIST_ROOT if root is None else root)
    prefix = "train" if split == "train" else "t10k"
    arrays, files = [], []
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
        files.append(found[0])
    (images, labels), (image_file, label_file) = arrays, files
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{image_file!r} holds an array of shape {images.shape}; "
                         "Fashion-MNIST's images are N × 28 × 28")
    if labels.ndim != 1:
        raise ValueError(f"{label_file!r} holds an array of shape {labels.shape}; "
                         "Fashion-MNIST's labels are one list of N")
    if len(images) != len(labels):
        raise ValueError(f"{image_file!r} holds {len(images)} images but {label_file!r} "
                         f"holds {len(labels)} labels: one label an image")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{label_file!r} holds label {int(labels.max())}; Fashion-MNIST's "
                         "labels are 0–9")
    before = (size - images.shape[1]) // 2
    after = size - images.shape[1] - before
    images = np.pad(images, ((0, 0), (before, after), (before, after)))
    return np.repeat(images[:, None], 3, axis=1), labels.astype(np.int64)


def read_image_folder(root: str | os.PathLike,
                      size: int = 32) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """An ImageFolder tree (``root/<class>/<image>``) resized to ``size × size`` RGB.

    Returns ``(images N × 3 × size × size uint8, labels int64, class_names)``. The
    classes are the folders of ``root`` in sorted order, hidden ones (``.name``) left
    out. 8-bit images (grey, palette, RGBA …) are converted to RGB as Pillow converts
    them; 16-bit grey ones are brought to 8 bits by value (``value / 257``, rounded).
    Files that are not images (a ``README.txt``) are skipped; images that cannot be
    read or decoded (truncated, damaged) are skipped with one warning, which names them.

    Raises
    ------
    FileNotFoundError
        No folder ``root``, no class folders in it, or a class folder without a
        readable image (a class with no images would change the number of classes).
    ValueError
        A 32-bit integer or float image, which has no 8-bit reading to go by; the
        message names the file.
    """
    from PIL import Image, UnidentifiedImageError
    size = check_count("size", size)
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"no image folder at {root!r}")
    with os.scandir(root) as entries:
        classes = sorted(entry.name for entry in entries
                         if entry.is_dir() and not entry.name.startswith("."))
    if not classes:
        raise FileNotFoundError(f"{root!r} has no class folders (root/<class>/<image>)")
    images, labels, skipped = [], [], []
    for label, name in enumerate(classes):
        folder, before, undecoded = os.path.join(root, name), len(images), len(skipped)
        with os.scandir(folder) as entries:
            files = sorted((entry for entry in entries if entry.is_file()),
                           key=lambda e: e.name)
        for entry in files:
            try:
                with Image.open(entry.path) as image:
                    image.load()  # decode all of it now: a truncated file fails here
                    deep = _too_deep(image)
                    picture = None if deep else _rgb(image, size)
            except UnidentifiedImageError:
                continue  # not an image
            except Image.DecompressionBombError as error:  # (Pillow's guard: not a warning)
                raise ValueError(f"{entry.path!r}: {error}") from None
            except DECODE_ERRORS:
                skipped.append(entry.path)  # an image, but damaged: named below
                continue
            if deep:
                raise ValueError(f"{entry.path!r} is a {deep} image, which has no 8-bit "
                                 "reading to go by; save it as an 8- or 16-bit image")
            images.append(picture)
            labels.append(label)
        if len(images) == before:
            damaged = len(skipped) - undecoded
            why = f" ({damaged} image(s) in it cannot be decoded)" if damaged else ""
            raise FileNotFoundError(
                f"class folder {folder!r} holds no readable images{why}: every class "
                "needs one at least (as torchvision's ImageFolder does); remove the folder "
                "or put its images in it")
    if skipped:
        more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        warn_user(f"read_image_folder skipped {len(skipped)} image file(s) under {root!r} "
                  f"that cannot be read or decoded (truncated or damaged): "
                  f"{', '.join(repr(path) for path in skipped[:3])}{more}")
    return np.stack(images), np.asarray(labels, dtype=np.int64), classes


def _too_deep(image: Any) -> str | None:
    """What a decoded image is (``"float"``, ``"32-bit integer"``) where it has more
    than 16 bits a sample; ``None`` where it is read here."""
    if image.mode == "F":
        return "float"
    if image.mode == "I" and image.format not in ("PNG", "PPM"):  # (these hold 16 bits)
        return "32-bit integer"
    return None


def _rgb(image: Any, size: int) -> np.ndarray:
    """A decoded 8- or 16-bit image as ``3 × size × size`` uint8: 16-bit grey by value
    (``value / 257``, rounded), other modes as Pillow converts them to RGB."""
    from PIL import Image
    if image.mode == "I" or image.mode.startswith("I;16"):
        values = np.asarray(image).astype(np.int64)  # (big-endian ones native here)
        image = Image.fromarray(((np.clip(values, 0, 65535) + 128) // 257).astype(np.uint8))
    image = image.convert("RGB").resize((size, size), Image.BILINEAR)
    return np.asarray(image).transpose(2, 0, 1)


def _on_cpu(values: Any) -> torch.Tensor:
    """``values`` (an array, a list, a tensor on any device) as a CPU tensor, whatever
    torch's default device."""
    if isinstance(values, torch.Tensor):
        return values.detach().cpu()
    return torch.as_tensor(np.asarray(values), device="cpu")


def _as_indices(indices: Any) -> list[int]:
    """``indices`` as Python ints: an integer array or tensor of any shape read whole,
    another sequence item by item (:func:`_as_index`)."""
    if isinstance(indices, np.ndarray) or torch.is_tensor(indices):
        array = np.asarray(indices.cpu() if torch.is_tensor(indices) else indices)
        if array.dtype.kind not in "iu":
            raise TypeError(f"dataset indices must be integers, got an array of "
                            f"{array.dtype}")
        return array.reshape(-1).tolist()
    return [_as_index(index) for index in indices]


def _as_index(value: Any) -> int:
    """``value`` as a Python int: an int, a numpy integer or an integer array or tensor
    of one element; anything else (a float, a bool) raises TypeError, as a list's index
    does."""
    given = value
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iu":
        value = value.item()
    elif torch.is_tensor(value) and value.numel() == 1 and not (
            value.is_floating_point() or value.is_complex() or value.dtype == torch.bool):
        value = value.item()  # (one element of any shape: as a list takes it)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"dataset indices must be integers, got {type(given).__name__} "
                        f"{shown(given)}")
    return int(value)


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
    shard_size : int, default 512
        Images a shard file holds, ``>= 1``.
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
        # On the CPU, whatever the tensors' device or torch's default device.
        self.images = _on_cpu(images)
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError("images must be uint8 of shape (N, C, H, W), got "
                             f"{self.images.dtype} {tuple(self.images.shape)}")
        self.labels = _on_cpu(labels).to(torch.int64)
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
        self.levels = check_levels(levels)  # each in [0, 1], at least one, decreasing
        self.record_times = sorted(float(v) for v in (() if record_times is None else
                                                      record_times))
        if self.scale == "sparsity" and finest is not None and finest < self.levels[-1]:
            raise ValueError(f"sparsity can reach {finest!r}, below the finest cached level "
                             f"{self.levels[-1]!r}: add a lower level")
        self.shard_size = check_count("shard_size", shard_size)
        self.seed = seed
        self.solver_options = solver_options
        # The epoch in shared memory: DataLoader workers, persistent ones included, see
        # every set_epoch (their copy of the dataset shares this tensor's memory).
        self._epoch = torch.zeros((), dtype=torch.int64, device="cpu").share_memory_()
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
        # The name carries a digest of the shard's images, their shape and dtype with their
        # bytes: other data, other file (the same bytes as 8 × 1 × 48 × 16 images, not
        # 8 × 3 × 16 × 16 ones, too).
        images = self.images[self._rows(shard)]
        digest = hashlib.sha256(f"{tuple(images.shape)} {images.dtype}\n".encode())
        digest.update(images.numpy().tobytes())
        return os.path.join(self.cache_dir, f"paths-{shard:05d}-{digest.hexdigest()[:12]}.npz")

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
        """Build the shards of this rank (``shard % world_size == rank``, ``rank`` in
        ``[0, world_size)``) that are missing or invalid. Returns how many were built.
        ``progress``: a bar over the shards, drawn only on a terminal
        (:func:`show_progress`)."""
        world_size = check_count("world_size", world_size)
        rank = check_count("rank", rank, minimum=0)
        if rank >= world_size:
            raise ValueError(f"rank must lie in [0, world_size) = [0, {world_size}), got "
                             f"{rank}: ranks count from 0")
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
        one read per shard for all of the batch's images in it. Indices are integers
        (Python, numpy or torch ones), negative ones counted from the end, as a list's."""
        indices = _as_indices(indices)
        count = len(self)
        for index in indices:
            if not -count <= index < count:
                raise IndexError(f"index {index} is out of range for {count} items")
        if not indices:
            return []
        if self._shards is None:
            self.load()
        indices = np.asarray(indices, dtype=np.int64) % count  # negative ones from the end
        images = self.images[torch.from_numpy(indices)]  # indexing copies
        levels = [self.scale_of(int(i)) for i in indices]
        smoothed = np.array([level is not None for level in levels])
        shards, rows = np.divmod(indices, self.shard_size)
        for shard in np.unique(shards[smoothed]):
            members = np.flatnonzero(smoothed & (shards == shard))
            read = self._shards[shard].at(**{self.scale: [levels[m] for m in members]},
                                          signals=rows[members])
            images[torch.from_numpy(members)] = torch.as_tensor(read, device="cpu")
        images = images.float() / 255.0
        labels = self.labels[torch.from_numpy(indices)]
        return list(zip(images, labels))
