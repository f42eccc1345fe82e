"""CIFAR-size benchmark images made from the photos bundled with scikit-image (no
download), in the kinds a user brings: busy crops, smooth crops downsampled from larger
windows, the same quantised to uint8, a low-contrast copy and 0–255 float units."""

from __future__ import annotations

import numpy as np

#: Colour photos, and grey ones (used as three equal channels).
COLOUR = ("astronaut", "coffee", "chelsea", "rocket", "cat", "immunohistochemistry",
          "hubble_deep_field", "colorwheel")
GREY = ("camera", "coins", "moon", "text", "page", "brick", "grass", "gravel", "clock",
        "cell")


def _photo(name: str) -> np.ndarray:
    from skimage import data
    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return image[..., :3]


def photo_crops(count: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """``count`` RGB crops (uint8, B×C×H×W): 2·size windows of astronaut, coffee,
    chelsea and rocket, subsampled by 2 — busy, aliased texture."""
    photos = [_photo(name) for name in ("astronaut", "coffee", "chelsea", "rocket")]
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(count):
        photo = photos[i % len(photos)]
        r = rng.integers(0, photo.shape[0] - 2 * size)
        c = rng.integers(0, photo.shape[1] - 2 * size)
        crops.append(photo[r:r + 2 * size:2, c:c + 2 * size:2])
    return np.stack(crops).transpose(0, 3, 1, 2).copy()


def downsampled_crops(count: int, size: int = 32, seed: int = 1) -> np.ndarray:
    """``count`` RGB crops in [0, 1] (float64, B×C×H×W): windows of 48–160 px of
    eighteen colour and grey photos, resized to ``size`` with anti-aliasing — smooth,
    with near-flat backgrounds."""
    from skimage.transform import resize
    photos = [_photo(name) for name in COLOUR + GREY]
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(count):
        photo = photos[i % len(photos)]
        side = int(rng.integers(48, 161))
        r = rng.integers(0, photo.shape[0] - side)
        c = rng.integers(0, photo.shape[1] - side)
        window = photo[r:r + side, c:c + side] / 255.0
        crops.append(resize(window, (size, size), anti_aliasing=True))
    return np.stack(crops).transpose(0, 3, 1, 2).copy()


def input_kinds(count: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The five kinds of input of the throughput benchmark, ``count`` images each."""
    smooth = downsampled_crops(count, seed=seed + 1)
    return {
        "photo crops (float32)": photo_crops(count, seed=seed).astype(np.float32) / 255,
        "downsampled crops (float32)": smooth.astype(np.float32),
        "downsampled, uint8": np.round(smooth * 255).astype(np.uint8),
        "low contrast (0.45 + 0.1 x)": (0.45 + 0.1 * smooth).astype(np.float32),
        "0-255 float units": (255 * smooth).astype(np.float32),
    }


def on_flat_background(count: int, size: int = 32, seed: int = 5) -> np.ndarray:
    """``count`` uint8 images (B×C×H×W) of a smooth photo crop of half the side on an
    exactly flat grey background: three quarters of the pixels, and two thirds of the
    edges, are flat — an object photographed on a plain backdrop."""
    crops = downsampled_crops(count, size=size // 2, seed=seed)
    out = np.full((count, 3, size, size), 0.5)
    low = size // 4
    out[:, :, low:low + size // 2, low:low + size // 2] = crops
    return np.round(out * 255).astype(np.uint8)


def photo(name: str, side: int) -> np.ndarray:
    """The centre square of a bundled colour photo resized to ``side`` × ``side`` with
    anti-aliasing: H×W×3 float32 in [0, 1] (larger than the photo: interpolated, smooth)."""
    from skimage.transform import resize
    image = _photo(name)
    height, width = image.shape[:2]
    n = min(height, width)
    top, left = (height - n) // 2, (width - n) // 2
    square = image[top:top + n, left:left + n]
    return resize(square, (side, side), anti_aliasing=True).astype(np.float32)


def noisy_blobs(side: int, sigma: float = 0.3, seed: int = 0) -> np.ndarray:
    """A grey ``side``³ volume (float32): scikit-image's 3-D binary blobs (0 and 1) with
    Gaussian noise of standard deviation ``sigma``."""
    from skimage.data import binary_blobs
    volume = binary_blobs(side, n_dim=3, rng=seed).astype(np.float32)
    noise = np.random.default_rng(seed).normal(0.0, sigma, volume.shape)
    return (volume + noise).astype(np.float32)


def resized_photos(count: int, size: int = 224) -> np.ndarray:
    """``count`` whole photos (colour first, then grey), resized to ``size × size`` with
    anti-aliasing: float32 in [0, 1], B×C×H×W — ImageNet-size inputs."""
    from skimage.transform import resize
    names = COLOUR + GREY
    photos = [resize(_photo(names[i % len(names)]) / 255.0, (size, size), anti_aliasing=True)
              for i in range(count)]
    return np.stack(photos).transpose(0, 3, 1, 2).astype(np.float32)
