"""The 15 common corruptions of Hendrycks & Dietterich (2019) at the scale of the images.

Small images (longer side under :data:`SMALL_IMAGE_SIDE` pixels: CIFAR, digits,
Fashion-MNIST) get the published CIFAR-10-C strengths (:data:`CIFAR10C_PARAMETERS`,
from ``make_cifar_c.py`` of the benchmark's repository), implemented here with
``imagecorruptions-imaug``'s helpers (disk kernel, plasma fractal, motion blur, pixel
shuffle, frost pictures); larger images get the ImageNet-C strengths through
``imagecorruptions-imaug`` itself. The ImageNet-C strengths are meant for 224-pixel
images: on 32-pixel ones they blur with radius 3–10 and compress JPEG at quality 7–25,
which leaves little to classify. Every corruption draws from one seeded NumPy state, so
``seed=`` reproduces all 15.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable
from typing import Literal

import numpy as np

__all__ = ["CIFAR10C_PARAMETERS", "CORRUPTIONS", "SMALL_IMAGE_SIDE", "corrupt",
           "corruption_table", "read_cifar10c"]

#: The 15 corruption types of the CIFAR-10-C / ImageNet-C benchmark.
CORRUPTIONS = ("gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
               "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
               "elastic_transform", "pixelate", "jpeg_compression")

#: Images whose longer side is below this many pixels get the CIFAR-10-C strengths,
#: others the ImageNet-C ones (the geometric middle of CIFAR's 32 and ImageNet's 224 is
#: 85; 96 puts 64-pixel images, such as Tiny ImageNet's, with the small ones).
SMALL_IMAGE_SIDE = 96

#: The published CIFAR-10-C parameters, severities 1–5 (Hendrycks & Dietterich, 2019,
#: ``ImageNet-C/create_c/make_cifar_c.py``), intensities in ``[0, 1]``:
#:
#: - ``gaussian_noise``: noise standard deviation; ``shot_noise``: photons per unit
#:   intensity (Poisson); ``impulse_noise``: fraction of salt-and-pepper pixels;
#: - ``defocus_blur``: disk radius and its anti-alias blur (pixels);
#:   ``glass_blur``: Gaussian sigma, largest pixel shift, shuffle passes;
#:   ``motion_blur``: ImageMagick-style radius and sigma (angle uniform in ±45°);
#:   ``zoom_blur``: ``numpy.arange(start, stop, step)`` of the zoom factors averaged;
#: - ``snow``: flake mean, spread, zoom, threshold, blur radius, blur sigma, image
#:   weight; ``frost``: image weight, frost weight (frost pictures shrunk by 0.2);
#:   ``fog``: fog weight, fractal decay; ``brightness``: added to the HSV value;
#:   ``contrast``: factor on the deviation from the mean;
#: - ``elastic_transform``: displacement scale, displacement smoothness and affine
#:   jitter, as fractions of the image side (published as multiples of 32 pixels);
#:   ``pixelate``: the down-sampling factor; ``jpeg_compression``: JPEG quality.
CIFAR10C_PARAMETERS: dict[str, tuple] = {
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
    "shot_noise": (500, 250, 100, 75, 50),
    "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),
    "defocus_blur": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
    "glass_blur": ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)),
    "motion_blur": ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)),
    "zoom_blur": ((1, 1.06, 0.01), (1, 1.11, 0.01), (1, 1.16, 0.01), (1, 1.21, 0.01),
                  (1, 1.26, 0.01)),
    "snow": ((0.1, 0.2, 1, 0.6, 8, 3, 0.95), (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
             (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9), (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
             (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8)),
    "frost": ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)),
    "fog": ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),
    "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),
    "elastic_transform": ((0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06),
                          (0.1, 0.04, 0.05), (0.1, 0.03, 0.03)),
    "pixelate": (0.95, 0.9, 0.85, 0.75, 0.65),
    "jpeg_compression": (80, 65, 58, 50, 40),
}


def corruption_table(height: int, width: int) -> Literal["cifar10", "imagenet"]:
    """The strength table :func:`corrupt` uses for ``height × width`` images:
    ``"cifar10"`` when the longer side is below :data:`SMALL_IMAGE_SIDE`, else
    ``"imagenet"``."""
    return "cifar10" if max(height, width) < SMALL_IMAGE_SIDE else "imagenet"


def _is_severity(value) -> bool:
    """Whether ``value`` is one of the ints 1–5 (``3.0`` and ``True`` are not)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) \
        and 1 <= value <= 5


def corrupt(images: np.ndarray, name: str, severity: int, *, seed: int | None = None,
            table: Literal["auto", "cifar10", "imagenet"] = "auto") -> np.ndarray:
    """Apply one of :data:`CORRUPTIONS` at ``severity`` 1–5 to uint8 images.

    Parameters
    ----------
    images : numpy.ndarray
        ``N × C × H × W`` uint8, ``C`` = 1 or 3.
    name : str
        One of :data:`CORRUPTIONS`.
    severity : int
        1 (mildest) to 5.
    seed : int, optional
        Makes the result reproducible, for all 15 corruptions (NumPy's global state is
        seeded and restored afterwards); ``None`` draws from that state.
    table : {"auto", "cifar10", "imagenet"}
        The strengths: the published CIFAR-10-C ones (:data:`CIFAR10C_PARAMETERS`,
        meant for 32-pixel images), the ImageNet-C ones of ``imagecorruptions-imaug``
        (meant for 224 pixels, images of at least 32 pixels), or ``"auto"``: chosen by
        image size (:func:`corruption_table`).

    Returns
    -------
    numpy.ndarray
        The corrupted images, same shape and dtype.

    Notes
    -----
    Needs ``imagecorruptions-imaug`` (``pip install imagecorruptions-imaug``; it
    brings OpenCV and scikit-image). Grey images are corrupted as three equal
    channels and the first is returned.
    """
    if name not in CORRUPTIONS:
        raise ValueError(f"Invalid corruption: {name!r}; use one of {CORRUPTIONS}")
    if not _is_severity(severity):
        raise ValueError(f"severity must be 1, 2, 3, 4 or 5, got {severity!r}")
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4 \
            or images.shape[1] not in (1, 3):
        raise ValueError("images must be a uint8 array N × C × H × W with C = 1 or 3, got "
                         f"{getattr(images, 'dtype', type(images).__name__)} "
                         f"{getattr(images, 'shape', '')}")
    if table not in ("auto", "cifar10", "imagenet"):
        raise ValueError(f"table must be 'auto', 'cifar10' or 'imagenet', got {table!r}")
    if table == "auto":
        table = corruption_table(*images.shape[2:])
    if table == "imagenet" and min(images.shape[2:]) < 32:
        raise ValueError("the ImageNet-C strengths need images of at least 32 × 32 pixels, "
                         f"got {images.shape[2]} × {images.shape[3]}")
    try:
        if table == "imagenet":
            from imagecorruptions import corrupt as imagenet_corrupt

            def apply(image):
                own = {"seed": int(np.random.randint(2**31))} if name in _OWN_SEED else {}
                return imagenet_corrupt(image, corruption_name=name, severity=severity,
                                        **own)
        else:
            function = _small_image_corruptions()[name]
            parameter = CIFAR10C_PARAMETERS[name][severity - 1]

            def apply(image):
                return function(image, parameter)
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError("corruptions need imagecorruptions-imaug: "
                          "pip install imagecorruptions-imaug") from error
    if seed is not None:
        state = np.random.get_state()
        np.random.seed(seed)
    try:
        out = np.empty_like(images)
        for n, image in enumerate(images):
            rgb = np.ascontiguousarray(np.broadcast_to(
                image.transpose(1, 2, 0), (*image.shape[1:], 3)))
            result = np.asarray(apply(rgb), dtype=np.float64)[:rgb.shape[0], :rgb.shape[1]]
            result = np.clip(np.round(result), 0, 255).astype(np.uint8)
            out[n] = result.transpose(2, 0, 1)[:images.shape[1]]
    finally:
        if seed is not None:
            np.random.set_state(state)
    return out


#: ImageNet-C corruptions of imagecorruptions that take their own ``seed=`` instead of
#: NumPy's state: they get one drawn from the (seeded) NumPy state.
_OWN_SEED = ("impulse_noise", "glass_blur")


@functools.lru_cache(maxsize=None)
def _glass_shuffle():
    """imagecorruptions' glass-blur pixel shuffle (the same function), compiled with
    numba's on-disk cache: the package's own is compiled again in every process."""
    import numba
    from imagecorruptions import corruptions as helpers
    return numba.njit(cache=True)(helpers._shuffle_pixels_njit_glass_blur.py_func)


def _small_image_corruptions() -> dict[str, Callable[[np.ndarray, object], np.ndarray]]:
    """The CIFAR-10-C corruptions, each ``f(rgb uint8 H × W × 3, parameter) -> values
    in [0, 255]``, for any ``H × W``."""
    import cv2
    import skimage.color
    import skimage.filters
    import skimage.util
    from imagecorruptions import corruptions as helpers
    from PIL import Image
    from scipy import ndimage

    def unit(x):
        return np.asarray(x, dtype=np.float64) / 255.0

    def gaussian(x, sigma):
        return skimage.filters.gaussian(x, sigma=sigma, channel_axis=-1 if x.ndim == 3 else None)

    def zoom_centre(x, factor):
        """Zoom ``x`` (H × W × ...) by ``factor`` about its centre, same size."""
        h, w = x.shape[:2]
        ch, cw = int(np.ceil(h / factor)), int(np.ceil(w / factor))
        top, left = (h - ch) // 2, (w - cw) // 2
        zoomed = ndimage.zoom(x[top:top + ch, left:left + cw],
                              (factor, factor) + (1,) * (x.ndim - 2), order=1)
        top, left = (zoomed.shape[0] - h) // 2, (zoomed.shape[1] - w) // 2
        return zoomed[top:top + h, left:left + w]

    def gaussian_noise(x, c):
        return unit(x) + np.random.normal(size=x.shape, scale=c)

    def shot_noise(x, c):
        return np.random.poisson(unit(x) * c) / c

    def impulse_noise(x, c):
        return skimage.util.random_noise(unit(x), mode="s&p", amount=c,
                                         rng=int(np.random.randint(2**31)))

    def defocus_blur(x, c):
        kernel = helpers.disk(radius=c[0], alias_blur=c[1])
        x = unit(x)
        return np.stack([cv2.filter2D(x[..., d], -1, kernel) for d in range(3)], axis=-1)

    def glass_blur(x, c):
        sigma = c[0]  # c: sigma, largest shift, passes
        x = np.uint8(gaussian(unit(x), sigma) * 255)
        x = _glass_shuffle()(  # the published local shuffle
            x.shape[0], x.shape[1], x, c, int(np.random.randint(2**31)))
        return gaussian(x / 255.0, sigma)

    def motion_blur(x, c):
        angle = np.random.uniform(-45, 45)
        return helpers._motion_blur(x, radius=c[0], sigma=c[1], angle=angle) / 255.0

    def zoom_blur(x, c):
        x = unit(x).astype(np.float32)
        factors = np.arange(*c)
        return (x + sum(zoom_centre(x, f) for f in factors)) / (len(factors) + 1)

    def snow(x, c):
        x = unit(x).astype(np.float32)
        layer = np.random.normal(size=x.shape[:2], loc=c[0], scale=c[1])
        layer = zoom_centre(layer, c[2])
        layer[layer < c[3]] = 0
        layer = (np.clip(layer, 0, 1) * 255).astype(np.uint8)  # the published PNG step
        layer = helpers._motion_blur(layer, radius=c[4], sigma=c[5],
                                     angle=np.random.uniform(-135, -45))
        layer = (np.round(layer).clip(0, 255) / 255.0)[..., None]
        grey = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)[..., None]
        x = c[6] * x + (1 - c[6]) * np.maximum(x, grey * 1.5 + 0.5)
        return x + layer + np.rot90(layer, k=2)

    def frost(x, c):
        # The published code draws from the first five pictures, shrunk by 0.2.
        index = np.random.randint(5)
        name = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg")[index]
        picture = _frost_picture(name)
        scale = max(0.2, 1.1 * x.shape[0] / picture.shape[0], 1.1 * x.shape[1] / picture.shape[1])
        picture = cv2.resize(picture, (0, 0), fx=scale, fy=scale)
        top = np.random.randint(0, picture.shape[0] - x.shape[0])
        left = np.random.randint(0, picture.shape[1] - x.shape[1])
        picture = picture[top:top + x.shape[0], left:left + x.shape[1], ::-1]  # BGR → RGB
        return (c[0] * np.asarray(x, dtype=np.float64) + c[1] * picture) / 255.0

    def fog(x, c):
        x = unit(x)
        size = 1 << max(int(max(x.shape[:2]) - 1).bit_length(), 1)
        peak = x.max()
        x = x + c[0] * helpers.plasma_fractal(mapsize=size, wibbledecay=c[1])[
            :x.shape[0], :x.shape[1], None]
        return x * peak / (peak + c[0])

    def brightness(x, c):
        hsv = skimage.color.rgb2hsv(unit(x))
        hsv[..., 2] = np.clip(hsv[..., 2] + c, 0, 1)
        return skimage.color.hsv2rgb(hsv)

    def contrast(x, c):
        x = unit(x)
        mean = x.mean(axis=(0, 1), keepdims=True)
        return (x - mean) * c + mean

    def elastic_transform(x, c):
        x = unit(x).astype(np.float32)
        h, w = x.shape[:2]
        side = max(h, w)
        scale, smooth, jitter = (f * side for f in c)
        centre = np.float32((h, w)) // 2
        half = min(h, w) // 3
        points = np.float32([centre + half, [centre[0] + half, centre[1] - half],
                             centre - half])
        moved = points + np.random.uniform(-jitter, jitter, size=points.shape).astype(np.float32)
        x = cv2.warpAffine(x, cv2.getAffineTransform(points, moved), (w, h),
                           borderMode=cv2.BORDER_REFLECT_101)
        dx, dy = (skimage.filters.gaussian(np.random.uniform(-1, 1, size=(h, w)), smooth,
                                           mode="reflect", truncate=3) * scale
                  for _ in range(2))
        rows, cols, depth = np.meshgrid(np.arange(h), np.arange(w), np.arange(3), indexing="ij")
        coordinates = (rows + dy[..., None], cols + dx[..., None], depth)
        return ndimage.map_coordinates(x, coordinates, order=1, mode="reflect")

    def pixelate(x, c):
        image = Image.fromarray(x)
        w, h = image.size
        return np.asarray(image.resize((max(1, int(w * c)), max(1, int(h * c))), Image.BOX)
                          .resize((w, h), Image.BOX)) / 255.0

    def jpeg_compression(x, c):
        buffer = io.BytesIO()
        Image.fromarray(x).save(buffer, "JPEG", quality=c)
        buffer.seek(0)
        return np.asarray(Image.open(buffer).convert("RGB")) / 255.0

    functions = (gaussian_noise, shot_noise, impulse_noise, defocus_blur, glass_blur,
                 motion_blur, zoom_blur, snow, frost, fog, brightness, contrast,
                 elastic_transform, pixelate, jpeg_compression)
    return {function.__name__: _in_255(function) for function in functions}


@functools.lru_cache(maxsize=None)
def _frost_picture(name: str) -> np.ndarray:
    """One of imagecorruptions' frost pictures, BGR uint8 (read once per process)."""
    import cv2
    from imagecorruptions import corruptions as helpers
    path = os.path.join(os.path.dirname(helpers.__file__), "frost", name)
    picture = cv2.imread(path)
    if picture is None:  # pragma: no cover - a broken install
        raise FileNotFoundError(f"imagecorruptions' frost picture is missing: {path}")
    picture.flags.writeable = False
    return picture


def _in_255(function):
    """Wrap a corruption returning ``[0, 1]`` values to return ``[0, 255]`` ones."""
    def wrapped(x, c):
        return np.clip(function(x, c), 0, 1) * 255
    return wrapped


def read_cifar10c(root: str | os.PathLike, name: str,
                  severity: int) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10-C images of one corruption and severity from ``root/<name>.npy`` and
    ``root/labels.npy`` (the published files: 5 × 10,000 images, severities in order).

    Returns ``(images N × 3 × 32 × 32 uint8, labels int64)``.
    """
    if name not in CORRUPTIONS:
        raise ValueError(f"Invalid corruption: {name!r}; use one of {CORRUPTIONS}")
    if not _is_severity(severity):
        raise ValueError(f"severity must be 1, 2, 3, 4 or 5, got {severity!r}")
    root = os.fspath(root)
    files = os.path.join(root, f"{name}.npy"), os.path.join(root, "labels.npy")
    for file in files:
        if not os.path.exists(file):
            raise FileNotFoundError(f"CIFAR-10-C file missing: {file!r}")
    images = np.load(files[0], mmap_mode="r", allow_pickle=False)
    labels = np.load(files[1], allow_pickle=False)
    per = len(images) // 5
    part = slice((severity - 1) * per, severity * per)
    return (np.ascontiguousarray(images[part]).transpose(0, 3, 1, 2).copy(),
            labels[part].astype(np.int64))
