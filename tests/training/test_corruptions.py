import io

import numpy as np
import pytest
from PIL import Image

from isvs_graph.training import (CIFAR10C_PARAMETERS, CORRUPTIONS, SMALL_IMAGE_SIDE, corrupt,
                                 corruption_table, read_cifar10c)

pytest.importorskip("imagecorruptions", reason="the corruptions need imagecorruptions-imaug")

#: Corruptions that draw nothing at random: the same output for every seed.
DETERMINISTIC = {"defocus_blur", "zoom_blur", "brightness", "contrast", "pixelate",
                 "jpeg_compression"}


def noise_images(n=2, size=(32, 32), seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 3, *size), dtype=np.uint8)


def grey(value, n=4, size=(32, 32)):
    return np.full((n, 3, *size), value, dtype=np.uint8)


def test_the_published_cifar10c_table():
    # make_cifar_c.py of Hendrycks & Dietterich's benchmark, severities 1-5.
    published = {
        "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
        "shot_noise": (500, 250, 100, 75, 50),
        "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),
        "defocus_blur": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
        "glass_blur": ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)),
        "motion_blur": ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)),
        "zoom_blur": tuple((1, stop, 0.01) for stop in (1.06, 1.11, 1.16, 1.21, 1.26)),
        "snow": ((0.1, 0.2, 1, 0.6, 8, 3, 0.95), (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
                 (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9), (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
                 (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8)),
        "frost": ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)),
        "fog": ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),
        "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),
        "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),
        # published as IMSIZE * fraction with IMSIZE = 32
        "elastic_transform": ((0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06),
                              (0.1, 0.04, 0.05), (0.1, 0.03, 0.03)),
        "pixelate": (0.95, 0.9, 0.85, 0.75, 0.65),
        "jpeg_compression": (80, 65, 58, 50, 40),
    }
    assert CIFAR10C_PARAMETERS == published
    assert tuple(CIFAR10C_PARAMETERS) == CORRUPTIONS


def test_the_table_is_chosen_by_size():
    assert corruption_table(32, 32) == "cifar10"
    assert corruption_table(28, 28) == "cifar10"
    assert corruption_table(SMALL_IMAGE_SIDE - 1, 40) == "cifar10"
    assert corruption_table(40, SMALL_IMAGE_SIDE) == "imagenet"
    assert corruption_table(224, 224) == "imagenet"


@pytest.mark.parametrize("size,table,deviations", [
    ((32, 32), "auto", CIFAR10C_PARAMETERS["gaussian_noise"]),
    ((128, 128), "auto", (0.08, 0.12, 0.18, 0.26, 0.38)),  # ImageNet-C's
    ((128, 128), "cifar10", CIFAR10C_PARAMETERS["gaussian_noise"]),
])
def test_gaussian_noise_has_the_table_strength(size, table, deviations):
    images = grey(128, n=4 if size[0] == 32 else 1, size=size)
    for severity, deviation in enumerate(deviations, start=1):
        if deviation > 0.15:  # clipping at 0 and 255 would shrink the spread
            continue
        out = corrupt(images, "gaussian_noise", severity, seed=severity, table=table)
        measured = (out.astype(float) - 128).std() / 255
        assert measured == pytest.approx(deviation, rel=0.06), severity


def test_shot_and_impulse_noise_have_the_cifar10c_strength():
    images = grey(128, n=8)
    for severity in range(1, 6):
        photons = CIFAR10C_PARAMETERS["shot_noise"][severity - 1]
        out = corrupt(images, "shot_noise", severity, seed=severity) / 255
        assert out.std() == pytest.approx(np.sqrt((128 / 255) / photons), rel=0.08)
        amount = CIFAR10C_PARAMETERS["impulse_noise"][severity - 1]
        out = corrupt(images, "impulse_noise", severity, seed=severity)
        assert np.isin(out, (0, 255)).mean() == pytest.approx(amount, rel=0.15)


def test_contrast_brightness_pixelate_and_jpeg_follow_the_table():
    images = noise_images(3)
    for severity in range(1, 6):
        factor = CIFAR10C_PARAMETERS["contrast"][severity - 1]
        x = images / 255
        mean = x.mean(axis=(2, 3), keepdims=True)
        expected = np.round(np.clip((x - mean) * factor + mean, 0, 1) * 255)
        assert np.abs(corrupt(images, "contrast", severity) - expected).max() <= 1

        shift = CIFAR10C_PARAMETERS["brightness"][severity - 1]
        out = corrupt(grey(100), "brightness", severity)
        assert np.abs(out.astype(float) - (100 + shift * 255)).max() <= 1

        keep = CIFAR10C_PARAMETERS["pixelate"][severity - 1]
        image = Image.fromarray(images[0].transpose(1, 2, 0))
        small = image.resize((int(32 * keep), int(32 * keep)), Image.BOX)
        expected = np.asarray(small.resize((32, 32), Image.BOX)).transpose(2, 0, 1)
        assert np.array_equal(corrupt(images[:1], "pixelate", severity)[0], expected)

        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=CIFAR10C_PARAMETERS["jpeg_compression"][severity - 1])
        expected = np.asarray(Image.open(buffer)).transpose(2, 0, 1)
        assert np.array_equal(corrupt(images[:1], "jpeg_compression", severity)[0], expected)


def test_small_images_are_corrupted_less_than_with_the_imagenet_strengths():
    images = noise_images(4, seed=3)
    for name in ("defocus_blur", "pixelate", "jpeg_compression", "contrast"):
        small = np.abs(corrupt(images, name, 3, seed=1).astype(float) - images).mean()
        large = np.abs(corrupt(images, name, 3, seed=1, table="imagenet").astype(float)
                       - images).mean()
        assert small < large, name


@pytest.mark.parametrize("table", ["cifar10", "imagenet"])
@pytest.mark.parametrize("name", CORRUPTIONS)
def test_every_corruption_is_reproducible_from_its_seed(name, table):
    images = noise_images()
    first = corrupt(images, name, 3, seed=5, table=table)
    assert first.shape == images.shape and first.dtype == np.uint8
    assert not np.array_equal(first, images)
    assert np.array_equal(first, corrupt(images, name, 3, seed=5, table=table))
    other = corrupt(images, name, 3, seed=6, table=table)
    assert np.array_equal(first, other) == (name in DETERMINISTIC)


@pytest.mark.parametrize("size", [(28, 28), (40, 24), (1, 95)])
def test_every_cifar10c_corruption_takes_any_small_size(size):
    images = noise_images(1, size=size)
    for name in CORRUPTIONS:
        for severity in (1, 5):
            out = corrupt(images, name, severity, seed=0)
            assert out.shape == images.shape, (name, severity)


def test_grey_images_stay_grey_and_the_global_state_is_restored():
    images = noise_images(2)[:, :1]
    before = np.random.get_state()[1].copy()
    out = corrupt(images, "fog", 4, seed=1)
    assert out.shape == images.shape
    assert np.array_equal(np.random.get_state()[1], before)
    assert not np.array_equal(corrupt(images, "fog", 4), corrupt(images, "fog", 4))


def test_severities_strengthen():
    images = noise_images(4, seed=2)
    for name in ("gaussian_noise", "defocus_blur", "contrast", "pixelate", "zoom_blur"):
        change = [np.abs(corrupt(images, name, s, seed=0).astype(float) - images).mean()
                  for s in range(1, 6)]
        assert change == sorted(change), name


@pytest.mark.parametrize("args,kwargs,match", [
    (("rain", 1), {}, "Invalid corruption"),
    (("fog", 6), {}, "severity must be"),
    (("fog", 3.0), {}, "severity must be 1, 2, 3, 4 or 5, got 3.0"),  # (a table index)
    (("fog", True), {}, "severity must be"),
    (("fog", 1), {"table": "tiny"}, "table must be"),
])
def test_bad_corruptions(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        corrupt(np.zeros((1, 3, 32, 32), dtype=np.uint8), *args, **kwargs)


@pytest.mark.parametrize("images,match", [
    (np.zeros((1, 3, 32, 32), dtype=np.float32), "uint8"),
    (np.zeros((3, 32, 32), dtype=np.uint8), "N × C × H × W"),
    (np.zeros((1, 2, 32, 32), dtype=np.uint8), "C = 1 or 3"),
])
def test_bad_images(images, match):
    with pytest.raises(ValueError, match=match):
        corrupt(images, "fog", 1)


def test_the_imagenet_strengths_need_32_pixels():
    with pytest.raises(ValueError, match="at least 32 × 32"):
        corrupt(np.zeros((1, 3, 28, 28), dtype=np.uint8), "fog", 1, table="imagenet")


def test_read_cifar10c(tmp_path):
    images = np.arange(5 * 2 * 32 * 32 * 3, dtype=np.int64).astype(np.uint8).reshape(
        10, 32, 32, 3)
    np.save(tmp_path / "fog.npy", images)
    np.save(tmp_path / "labels.npy", np.arange(10))
    got, labels = read_cifar10c(tmp_path, "fog", 3)
    assert got.shape == (2, 3, 32, 32) and labels.tolist() == [4, 5]
    assert np.array_equal(got[0], images[4].transpose(2, 0, 1))
    with pytest.raises(FileNotFoundError, match="CIFAR-10-C file missing"):
        read_cifar10c(tmp_path, "snow", 1)
    with pytest.raises(ValueError, match="severity must be"):
        read_cifar10c(tmp_path, "fog", 0)
