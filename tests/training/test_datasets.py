import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from isvs_graph import smooth_images
from isvs_graph.training import CoarseToFine, SparsityRange
from isvs_graph.training import CachedISVSDataset, bundled_digits, read_cifar, read_image_folder


def images(count=10, size=12):
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 4, (count, 3, size // 4, size // 4)) * 60
    noisy = np.kron(blocks, np.ones((1, 1, 4, 4))) + rng.integers(0, 20, (count, 3, size, size))
    return noisy.astype(np.uint8), np.arange(count) % 3


def test_cached_items_equal_direct_solving(tmp_path):
    x, y = images()
    dataset = CachedISVSDataset(x, y, tmp_path, sparsity=0.8, levels=[1.0, 0.8, 0.6],
                                shard_size=4)
    assert dataset.build(progress=False) == 3
    for i in range(len(x)):
        image, label = dataset[i]
        expected = smooth_images(x[i:i + 1], sparsity=0.8)[0]
        assert torch.equal(image, torch.from_numpy(expected).float() / 255)
        assert label == y[i]


def test_random_sparsity_is_per_item_and_epoch_reproducible(tmp_path):
    x, y = images()
    dataset = CachedISVSDataset(x, y, tmp_path, sparsity=SparsityRange(0.6, 0.9),
                                levels=[1.0, 0.8, 0.6], shard_size=5, seed=1)
    dataset.build(progress=False)
    first = [dataset.sparsity_of(i) for i in range(10)]
    assert all(0.6 <= s <= 0.9 for s in first) and len(set(first)) == 10
    assert first == [dataset.sparsity_of(i) for i in range(10)]
    dataset.set_epoch(1)
    assert first != [dataset.sparsity_of(i) for i in range(10)]
    assert torch.isfinite(dataset[3][0]).all()


def test_schedule_serves_the_originals_after_the_curriculum(tmp_path):
    x, y = images()
    dataset = CachedISVSDataset(x, y, tmp_path, sparsity=CoarseToFine(0.8, 0.6, epochs=2),
                                levels=[0.8, 0.6])
    dataset.build(progress=False)
    coarse = dataset[0][0]
    dataset.set_epoch(2)
    assert torch.equal(dataset[0][0], torch.from_numpy(x[0]).float() / 255)
    assert not torch.equal(coarse, dataset[0][0])


def test_negative_indices_count_from_the_end_and_others_are_refused(tmp_path):
    # A negative index is the item len + index, image and label alike (the shard and row
    # were once taken from the negative index itself: another item's image).
    x, y = images(count=11)
    dataset = CachedISVSDataset(x, y, tmp_path, sparsity=SparsityRange(0.6, 0.9),
                                levels=[0.9, 0.6], shard_size=4, seed=3)
    dataset.build(progress=False)
    for index in (-1, -5, -11):
        image, label = dataset[index]
        expected, expected_label = dataset[len(x) + index]
        assert torch.equal(image, expected) and label == expected_label
    for index in (11, -12):
        with pytest.raises(IndexError, match=f"index {index} is out of range for 11 items"):
            dataset[index]


def test_persistent_workers_see_every_epoch(tmp_path):
    x, y = images(count=8)
    dataset = CachedISVSDataset(x, y, tmp_path, sparsity=SparsityRange(0.6, 0.9),
                                levels=[0.9, 0.6], shard_size=4, seed=4)
    dataset.build(progress=False)
    loader = torch.utils.data.DataLoader(dataset, batch_size=4, num_workers=2,
                                         persistent_workers=True)
    served = []
    for epoch in (0, 1):
        dataset.set_epoch(epoch)
        served.append(torch.cat([batch for batch, _ in loader]))
        expected = torch.stack([dataset[i][0] for i in range(len(x))])
        assert torch.equal(served[-1], expected)
    assert not torch.equal(served[0], served[1])
    assert pickle.loads(pickle.dumps(dataset)).epoch == 1


def test_build_resumes_and_shards_across_ranks(tmp_path):
    x, y = images(12)
    dataset = CachedISVSDataset(x, y, tmp_path, sparsity=0.8, levels=[0.8], shard_size=3)
    assert dataset.build(rank=0, world_size=2, progress=False) == 2  # shards 0 and 2
    with pytest.raises(FileNotFoundError, match="shard .* is missing"):
        dataset.load()
    assert dataset.build(rank=1, world_size=2, progress=False) == 2  # shards 1 and 3
    reference = [dataset[i][0] for i in range(12)]
    shards = sorted(tmp_path.glob("paths-*.npz"))
    assert len(shards) == 4
    shards[1].unlink()
    shards[2].write_bytes(b"damaged")
    assert dataset.build(progress=False) == 2  # only the missing and the damaged one
    again = CachedISVSDataset(x, y, tmp_path, sparsity=0.8, levels=[0.8], shard_size=3)
    assert again.build(progress=False) == 0
    assert all(torch.equal(a, again[i][0]) for i, a in enumerate(reference))


def test_other_images_get_their_own_cache(tmp_path):
    x, y = images()
    CachedISVSDataset(x, y, tmp_path, sparsity=0.8, levels=[0.8]).build(progress=False)
    other = CachedISVSDataset(255 - x, y, tmp_path, sparsity=0.8, levels=[0.8])
    assert other.build(progress=False) == 1
    assert torch.equal(other[0][0], torch.from_numpy(
        smooth_images((255 - x)[:1], sparsity=0.8)[0]).float() / 255)


def test_bad_dataset_arguments(tmp_path):
    x, y = images()
    with pytest.raises(ValueError, match="below the finest cached level"):
        CachedISVSDataset(x, y, tmp_path, sparsity=SparsityRange(0.5, 0.9), levels=[0.8, 0.6])
    with pytest.raises(ValueError, match="uint8"):
        CachedISVSDataset(x.astype(float), y, tmp_path, sparsity=0.8)
    with pytest.raises(ValueError, match="9 labels for 10 images"):
        CachedISVSDataset(x, y[:9], tmp_path, sparsity=0.8)


def test_bundled_digits():
    (train_x, train_y), (test_x, test_y) = bundled_digits()
    assert train_x.shape[1:] == (3, 32, 32) and train_x.dtype == np.uint8
    assert len(train_x) + len(test_x) == 1797
    assert sorted(np.unique(test_y).tolist()) == list(range(10))


def test_read_cifar_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8),
                 b"labels": list(range(4))}
        (folder / name).write_bytes(pickle.dumps(batch))
    x, y = read_cifar(tmp_path, "train")
    assert x.shape == (20, 3, 32, 32) and y.tolist() == list(range(4)) * 5
    with pytest.raises(FileNotFoundError, match="no CIFAR data"):
        read_cifar(tmp_path / "elsewhere")


def test_read_image_folder(tmp_path):
    for label, colour in (("cats", (200, 0, 0)), ("dogs", (0, 0, 200))):
        (tmp_path / label).mkdir()
        for n in range(2):
            Image.new("RGB", (40, 30), colour).save(tmp_path / label / f"{n}.png")
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    x, y, classes = read_image_folder(tmp_path, size=16)
    assert x.shape == (4, 3, 16, 16) and y.tolist() == [0, 0, 1, 1]
    assert classes == ["cats", "dogs"] and x[0, 0, 0, 0] == 200
    with pytest.raises(FileNotFoundError, match="no image folder"):
        read_image_folder(tmp_path / "missing")


def test_build_removes_temporaries_of_killed_writers_only(tmp_path):
    from helpers import writers_leftovers
    orphan, alive, elsewhere = writers_leftovers(tmp_path)
    x, y = images()
    CachedISVSDataset(x, y, tmp_path, sparsity=0.8, levels=[0.8]).build(progress=False)
    assert not orphan.exists() and alive.exists() and elsewhere.exists()


def test_batches_are_read_at_once_and_equal_the_items(tmp_path):
    x, y = images(count=12)
    dataset = CachedISVSDataset(x, y, tmp_path, sparsity=SparsityRange(0.6, 0.9),
                                levels=[0.9, 0.6], shard_size=5, seed=2)
    dataset.build(progress=False)
    order = [11, 0, 7, 3, 3, 9]  # across three shards, one index twice
    batch = dataset.__getitems__(order)
    for index, (image, label) in zip(order, batch):
        expected, expected_label = dataset[index]
        assert torch.equal(image, expected) and label == expected_label
    loader = torch.utils.data.DataLoader(dataset, batch_size=6, sampler=order)
    images_, labels_ = next(iter(loader))
    assert torch.equal(images_, torch.stack([image for image, _ in batch]))
    assert labels_.tolist() == [int(y[i]) for i in order]
    # Past the curriculum a batch holds the original images.
    schedule = CachedISVSDataset(x, y, tmp_path / "c", sparsity=CoarseToFine(0.9, 0.6, epochs=1),
                                 levels=[0.9, 0.6], shard_size=5)
    schedule.build(progress=False)
    schedule.set_epoch(1)
    originals = torch.stack([image for image, _ in schedule.__getitems__(order)])
    assert torch.equal(originals, torch.from_numpy(x[order]).float() / 255)


@pytest.mark.parametrize("changed", [{"tol": 0.05}, {"max_iter": 5000}, {"nu": 0.5},
                                     {"jumps": False}, {"connectivity": 8}])
def test_a_cache_made_with_other_options_is_rebuilt_not_read(tmp_path, changed):
    x, y = images()
    first = CachedISVSDataset(x, y, tmp_path, sparsity=0.8, levels=[0.9, 0.8])
    assert first.build(progress=False) == 1
    assert first.build(progress=False) == 0  # the same options: reused
    other = CachedISVSDataset(x, y, tmp_path, sparsity=0.8, levels=[0.9, 0.8], **changed)
    assert other.build(progress=False) == 1
    expected = smooth_images(x, sparsity=0.8, **changed)
    assert torch.equal(torch.stack([other[i][0] for i in range(len(x))]),
                       torch.from_numpy(expected).float() / 255)


def write_idx(path, array, gzipped):
    import gzip
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if gzipped:
        data = gzip.compress(data)
    path.write_bytes(data)


@pytest.mark.parametrize("gzipped", [True, False])
def test_read_fashion_mnist_from_idx_files(tmp_path, gzipped):
    from isvs_graph.training import read_fashion_mnist
    rng = np.random.default_rng(0)
    photos = rng.integers(0, 256, (5, 28, 28))
    suffix = ".gz" if gzipped else ""
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", photos, gzipped)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", np.arange(5), gzipped)
    images, labels = read_fashion_mnist(tmp_path, "test")
    assert images.shape == (5, 3, 32, 32) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[:, 1, 2:30, 2:30], photos)
    assert images[:, :, :2].max() == 0 and labels.tolist() == [0, 1, 2, 3, 4]
    assert read_fashion_mnist(tmp_path, "test", size=28)[0].shape == (5, 3, 28, 28)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        read_fashion_mnist(tmp_path, "train")


def test_damaged_idx_files_are_refused(tmp_path):
    from isvs_graph.training import read_idx
    write_idx(tmp_path / "ok", np.zeros((3, 4, 4)), gzipped=False)
    raw = (tmp_path / "ok").read_bytes()
    (tmp_path / "short").write_bytes(raw[:-5])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "short")
    (tmp_path / "foreign").write_bytes(b"\x89PNG" + raw[4:])
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "foreign")
    import gzip
    (tmp_path / "cut.gz").write_bytes(gzip.compress(raw)[:-8])
    with pytest.raises(ValueError, match="damaged"):
        read_idx(tmp_path / "cut.gz")
    assert read_idx(tmp_path / "ok").shape == (3, 4, 4)


def test_a_floor_warning_of_a_shard_names_the_dataset_s_images(tmp_path):
    import warnings

    from isvs_graph import ConvergenceWarning
    x, y = images(6)
    x[4] = 0
    x[4, :, :, 6:] = 255  # one edge, its others flat: at the floor of sparsity 0.6
    dataset = CachedISVSDataset(x, y, tmp_path, sparsity=0.6, levels=[0.9, 0.6],
                                shard_size=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset.build(progress=False)
    floor = [w.message for w in caught if w.category is ConvergenceWarning]
    assert [m.signals.tolist() for m in floor] == [[4]]
    assert str(floor[0]).startswith("shard 1 (images 3–5): 1 of 3 signal(s) cannot reach")


def grey_pair(tmp_path, values):
    """An 8-bit grey PNG of ``values`` and 16-bit grey PNG, TIFF and PGM files of
    ``values * 257`` (the same picture by value), in class folders of their own."""
    for name in ("a8", "b16png", "c16tif", "d16pgm"):
        (tmp_path / name).mkdir()
    Image.fromarray(values.astype(np.uint8)).save(tmp_path / "a8" / "x.png")
    deep = values.astype(np.uint16) * 257
    Image.fromarray(deep).save(tmp_path / "b16png" / "x.png")
    Image.fromarray(deep).save(tmp_path / "c16tif" / "x.tif")
    Image.fromarray(deep).save(tmp_path / "d16pgm" / "x.pgm")


def test_read_image_folder_reads_16_bit_grey_by_value(tmp_path):
    # 16-bit grey was converted to RGB by Pillow, which clips it at 255: all white.
    values = np.arange(0, 256, 4).reshape(8, 8)
    grey_pair(tmp_path, values)
    assert Image.open(tmp_path / "d16pgm" / "x.pgm").mode == "I"  # (16 bits held as I)
    x, y, classes = read_image_folder(tmp_path, size=8)
    assert y.tolist() == [0, 1, 2, 3] and x.shape == (4, 3, 8, 8)
    np.testing.assert_array_equal(x[0, 0], values)
    for i in (1, 2, 3):
        np.testing.assert_array_equal(x[i], x[0])
    # value / 257, rounded: 1000 is 3.89 at 8 bits, 65535 is 255
    rounding = tmp_path / "rounding"
    for name, suffix in (("png", "png"), ("tif", "tif"), ("pgm", "pgm")):
        (rounding / name).mkdir(parents=True)
        values = [[128, 385]] if name == "pgm" else [[1000, 65535]]
        Image.fromarray(np.array(values, dtype=np.uint16)).save(rounding / name / f"x.{suffix}")
    x, _, classes = read_image_folder(rounding, size=2)
    assert classes == ["pgm", "png", "tif"]
    assert x[0, :, 0].tolist() == [[0, 1]] * 3  # 128 / 257 = 0.498, 385 / 257 = 1.498
    assert x[1, :, 0].tolist() == [[4, 255]] * 3 and x[2, :, 0].tolist() == [[4, 255]] * 3


def test_read_image_folder_keeps_8_bit_modes_as_pillow_converts_them(tmp_path):
    rng = np.random.default_rng(1)
    colour = Image.fromarray(rng.integers(0, 256, (6, 6, 4), dtype=np.uint8), "RGBA")
    made = {"grey": colour.convert("L"), "palette": colour.convert("RGB").convert("P"),
            "rgba": colour, "bilevel": colour.convert("1")}
    for name, image in made.items():
        (tmp_path / name).mkdir()
        image.save(tmp_path / name / "x.png")
    x, _, classes = read_image_folder(tmp_path, size=6)
    for i, name in enumerate(classes):
        expected = np.asarray(Image.open(tmp_path / name / "x.png").convert("RGB"))
        np.testing.assert_array_equal(x[i], expected.transpose(2, 0, 1))


@pytest.mark.parametrize("array, kind", [(np.full((4, 4), 70000, np.int32), "32-bit integer"),
                                         (np.full((4, 4), 0.5, np.float32), "float")])
def test_read_image_folder_refuses_32_bit_and_float_images(tmp_path, array, kind):
    # A float image of values 0–1 came back black, a 32-bit one clipped at 255.
    (tmp_path / "deep").mkdir()
    Image.fromarray(array).save(tmp_path / "deep" / "x.tif")
    with pytest.raises(ValueError, match=rf"x\.tif' is a {kind} image.*save it as an "
                                         r"8- or 16-bit image"):
        read_image_folder(tmp_path, size=4)


def truncated_png(path):
    noise = np.random.default_rng(2).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    path.write_bytes(path.read_bytes()[:400])


def test_read_image_folder_warns_once_about_images_it_cannot_decode(tmp_path):
    import warnings
    (tmp_path / "cats").mkdir()
    Image.new("RGB", (8, 8), (9, 9, 9)).save(tmp_path / "cats" / "good.png")
    (tmp_path / "cats" / "README.txt").write_text("not an image: skipped without a word")
    for n in range(5):
        truncated_png(tmp_path / "cats" / f"cut{n}.png")
    with pytest.warns(UserWarning) as caught:
        x, y, _ = read_image_folder(tmp_path, size=4)
    assert len(caught) == 1 and len(x) == 1 and y.tolist() == [0]
    message = str(caught[0].message)
    assert "skipped 5 image file(s)" in message and "cut0.png" in message
    assert "cut2.png" in message and "cut3.png" not in message and "and 2 more" in message
    assert caught[0].filename == __file__  # the user's line
    for n in range(5):
        (tmp_path / "cats" / f"cut{n}.png").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(read_image_folder(tmp_path, size=4)[0]) == 1  # README.txt: no warning


def test_read_image_folder_skips_hidden_folders_and_refuses_empty_classes(tmp_path):
    for name in ("cats", ".ipynb_checkpoints", "dogs"):
        (tmp_path / name).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / name / "x.png")
    _, y, classes = read_image_folder(tmp_path, size=4)
    assert classes == ["cats", "dogs"] and y.tolist() == [0, 1]
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.txt").write_text("no images here")
    with pytest.raises(FileNotFoundError, match=r"class folder .*empty' holds no readable "
                                                r"images: every class needs one"):
        read_image_folder(tmp_path, size=4)
    truncated_png(tmp_path / "empty" / "cut.png")
    with pytest.raises(FileNotFoundError, match=r"empty' holds no readable images \(1 "
                                                r"image\(s\) in it cannot be decoded\)"):
        read_image_folder(tmp_path, size=4)
    with pytest.raises(ValueError, match="size must be >= 1, got 0"):
        read_image_folder(tmp_path, size=0)
    with pytest.raises(TypeError, match="size must be an int"):
        read_image_folder(tmp_path, size=2.5)


def test_cache_arguments_are_checked(tmp_path):
    x, y = images()
    for bad, error, message in ((0, ValueError, "shard_size must be >= 1, got 0"),
                                (-1, ValueError, "shard_size must be >= 1, got -1"),
                                (2.5, TypeError, "shard_size must be an int")):
        with pytest.raises(error, match=message):
            CachedISVSDataset(x, y, tmp_path, sparsity=0.8, shard_size=bad)
    with pytest.raises(ValueError, match="levels must name at least one sparsity"):
        CachedISVSDataset(x, y, tmp_path, sparsity=0.8, levels=[])
    with pytest.raises(ValueError, match="levels must lie in"):
        CachedISVSDataset(x, y, tmp_path, sparsity=0.8, levels=[1.5, 0.8])
    for levels in (torch.tensor([1.0, 0.75]), {0.75, 1.0}, (v for v in (1.0, 0.75))):
        dataset = CachedISVSDataset(x, y, tmp_path, sparsity=0.75, levels=levels)
        assert dataset.levels == [1.0, 0.75]  # from any collection of them
    dataset = CachedISVSDataset(x, y, tmp_path, sparsity=0.8, levels=[0.8], shard_size=4)
    with pytest.raises(ValueError, match="world_size must be >= 1, got 0"):
        dataset.build(world_size=0, progress=False)
    for rank in (2, 3):
        with pytest.raises(ValueError, match=rf"rank must lie in \[0, world_size\) = "
                                             rf"\[0, 2\), got {rank}"):
            dataset.build(rank=rank, world_size=2, progress=False)
    with pytest.raises(ValueError, match="rank must be >= 0, got -1"):
        dataset.build(rank=-1, world_size=2, progress=False)
    with pytest.raises(TypeError, match="rank must be an int"):
        dataset.build(rank=1.0, world_size=2, progress=False)
    assert not list(tmp_path.glob("paths-*.npz"))  # nothing built by a refused call


def test_indices_must_be_integers(tmp_path):
    x, y = images(count=6)
    dataset = CachedISVSDataset(x, y, tmp_path, sparsity=SparsityRange(0.6, 0.9),
                                levels=[0.9, 0.6], shard_size=4, seed=5)
    dataset.build(progress=False)
    assert dataset.__getitems__([]) == []
    for bad in (1.5, True, np.float64(1.0), np.bool_(True), torch.tensor(1.0), "1", None,
                [1], torch.tensor([1, 2])):
        with pytest.raises(TypeError, match="dataset indices must be integers"):
            dataset[bad]
        with pytest.raises(TypeError, match="dataset indices must be integers"):
            dataset.__getitems__([0, bad])
    with pytest.raises(TypeError, match="got float 1.5"):
        dataset.__getitems__([1.5])
    image, label = dataset[1]
    for good in (np.int64(1), np.uint8(1), torch.tensor(1), np.array(1), 1 - len(x),
                 torch.tensor([1])):  # (one element: a list takes it too)
        again, again_label = dataset[good]
        assert torch.equal(again, image) and again_label == label
    batch = dataset.__getitems__(torch.tensor([1, -1]))
    assert torch.equal(batch[0][0], image) and torch.equal(batch[1][0], dataset[5][0])
    grid = dataset.__getitems__(np.array([[1], [-1]]))  # an index array of any shape
    assert torch.equal(grid[0][0], image) and torch.equal(grid[1][0], dataset[5][0])
    with pytest.raises(TypeError, match="got an array of float64"):
        dataset.__getitems__(np.array([1.0]))
    with pytest.raises(IndexError, match="index 6 is out of range for 6 items"):
        dataset.__getitems__([0, 6])


def test_the_same_bytes_in_another_shape_get_their_own_cache(tmp_path):
    # The shard's name was a digest of its bytes only: 8 × 1 × 48 × 16 images read the
    # shard of 8 × 3 × 16 × 16 ones, and failed with a torch shape error.
    x, y = images(count=8, size=16)
    first = CachedISVSDataset(x, y, tmp_path, sparsity=0.8, levels=[0.8])
    assert first.build(progress=False) == 1
    tall = np.ascontiguousarray(x.reshape(8, 1, 48, 16))
    other = CachedISVSDataset(tall, y, tmp_path, sparsity=0.8, levels=[0.8])
    assert other.build(progress=False) == 1
    assert len(list(tmp_path.glob("paths-*.npz"))) == 2
    assert torch.equal(other[0][0], torch.from_numpy(
        smooth_images(tall[:1], sparsity=0.8)[0]).float() / 255)
    assert first.build(progress=False) == 0 and other.build(progress=False) == 0


def fashion_files(folder, photos, labels):
    folder.mkdir()
    write_idx(folder / "t10k-images-idx3-ubyte", photos, gzipped=False)
    write_idx(folder / "t10k-labels-idx1-ubyte", labels, gzipped=False)
    return folder


def test_read_fashion_mnist_refuses_other_shapes_and_labels(tmp_path):
    from isvs_graph.training import read_fashion_mnist
    cases = {"big": (np.zeros((3, 40, 40)), np.arange(3), r"images-idx3-ubyte' holds an "
                     r"array of shape \(3, 40, 40\); Fashion-MNIST's images are N × 28 × 28"),
             "narrow": (np.zeros((3, 28, 20)), np.arange(3), r"images-idx3-ubyte' holds an "
                        r"array of shape \(3, 28, 20\)"),
             "flat": (np.zeros((3, 784)), np.arange(3), r"shape \(3, 784\)"),
             "labels": (np.zeros((3, 28, 28)), np.array([0, 200, 1]), r"labels-idx1-ubyte' "
                        "holds label 200; Fashion-MNIST's labels are 0–9"),
             "count": (np.zeros((3, 28, 28)), np.arange(4), r"images-idx3-ubyte' holds 3 "
                       r"images but .*labels-idx1-ubyte' holds 4 labels"),
             "table": (np.zeros((3, 28, 28)), np.zeros((3, 2)), r"labels-idx1-ubyte' holds "
                       r"an array of shape \(3, 2\)")}
    for name, (photos, labels, message) in cases.items():
        folder = fashion_files(tmp_path / name, photos, labels)
        with pytest.raises(ValueError, match=message):
            read_fashion_mnist(folder, "test")


def test_idx_header_sizes_are_checked(tmp_path):
    from isvs_graph.training import read_idx

    def header(*shape):
        return bytes([0, 0, 8, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)

    # (65536,) * 4 overflowed int64 to 0 bytes; (2**31, 2**31, 2) to a negative count.
    (tmp_path / "huge").write_bytes(header(65536, 65536, 65536, 65536) + bytes(16))
    with pytest.raises(ValueError, match=r"header says shape \(65536, 65536, 65536, "
                                         r"65536\) \(18,446,744,073,709,551,616 bytes of "
                                         r"data\), the file holds 16 bytes after its header"):
        read_idx(tmp_path / "huge")
    (tmp_path / "wide").write_bytes(header(2**31, 2**31, 2) + bytes(8))
    with pytest.raises(ValueError, match=r"\(9,223,372,036,854,775,808 bytes of data\), "
                                         r"the file holds 8 bytes"):
        read_idx(tmp_path / "wide")
    (tmp_path / "cut").write_bytes(header(3, 4, 4)[:9])
    with pytest.raises(ValueError, match=r"cut' is truncated: its header names 3 "
                                         r"dimension\(s\), whose sizes take 16 bytes, but "
                                         r"the file holds 9"):
        read_idx(tmp_path / "cut")
    (tmp_path / "empty").write_bytes(header(0, 28, 28))
    assert read_idx(tmp_path / "empty").shape == (0, 28, 28)


def cifar_batch(count=4, labels=None, row=3072):
    rng = np.random.default_rng(0)
    return {b"data": rng.integers(0, 256, (count, row), dtype=np.uint8),
            b"labels": list(range(count)) if labels is None else labels}


@pytest.mark.parametrize("content, message", [
    (pickle.dumps(cifar_batch(labels=[0, 1, 2])), r"holds 4 images but labels of shape "
                                                  r"\(3,\): one label an image"),
    (pickle.dumps(cifar_batch(row=3000)), r"holds data of shape \(4, 3000\); a CIFAR batch "
                                          "holds one row of 3072 bytes"),
    (pickle.dumps(cifar_batch())[:-100], "is not a CIFAR batch: it cannot be unpickled"),
    (b"garbage, not a pickle", "is not a CIFAR batch: it cannot be unpickled"),
    (pickle.dumps([1, 2, 3]), "is not a CIFAR batch: expected a dict with keys b'data'"),
    (pickle.dumps(cifar_batch(labels=[0, 1, 2, 10])), "holds labels 0–10; CIFAR-10's are "
                                                      "integers 0–9"),
    (pickle.dumps(cifar_batch(labels=[0.0, 1.0, 2.0, 3.0])), "holds labels of dtype float64"),
    (pickle.dumps({b"data": cifar_batch()[b"data"].astype(np.int64) * 2,
                   b"labels": [0] * 4}), "holds data of dtype int64 that are not bytes"),
], ids=["labels-short", "row-length", "truncated", "garbage", "not-a-dict", "label-10",
        "float-labels", "not-bytes"])
def test_read_cifar_refuses_damaged_batches(tmp_path, content, message):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(content)
    with pytest.raises(ValueError, match=r"test_batch' " + message):
        read_cifar(tmp_path, "test")


def test_read_cifar_unpacks_its_archive_whole_or_not_at_all(tmp_path):
    import io
    import tarfile
    made = io.BytesIO()
    with tarfile.open(fileobj=made, mode="w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            data = pickle.dumps(cifar_batch())
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    archive = tmp_path / "cifar-10-python.tar.gz"
    for damaged in (b"not an archive at all", made.getvalue()[:len(made.getvalue()) // 2]):
        archive.write_bytes(damaged)
        for _ in range(2):  # the same answer again: no half-unpacked folder left to read
            with pytest.raises(ValueError, match=r"cifar-10-python\.tar\.gz' is damaged and "
                                                 "cannot be unpacked"):
                read_cifar(tmp_path, "test")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-python.tar.gz"]
    archive.write_bytes(made.getvalue())
    x, y = read_cifar(tmp_path, "train")
    assert x.shape == (20, 3, 32, 32) and y.tolist() == list(range(4)) * 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-batches-py",
                                                          "cifar-10-python.tar.gz"]
    other = tmp_path / "other"
    other.mkdir()
    with tarfile.open(other / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "cifar-10-batches-py" / "test_batch", "test_batch")
    with pytest.raises(ValueError, match="holds no cifar-10-batches-py/ folder"):
        read_cifar(other, "test")


@pytest.mark.parametrize("arguments, error, message", [
    ({"size": 0}, ValueError, "size must be >= 1, got 0"),
    ({"size": 2.5}, TypeError, "size must be an int"),
    ({"test_fraction": 1.5}, ValueError, r"test_fraction must lie in \[0, 1\)"),
    ({"test_fraction": -0.5}, ValueError, r"test_fraction must lie in \[0, 1\)"),
    ({"test_fraction": 1.0}, ValueError, r"test_fraction must lie in \[0, 1\)"),
    ({"test_fraction": "0.2"}, TypeError, "test_fraction must be a real number"),
    ({"size": 1, "test_fraction": 0.001}, ValueError, "test_fraction=0.001 leaves no test "
                                                       "images"),
    ({"size": 1, "test_fraction": 0.999}, ValueError, "leaves no training images"),
])
def test_bundled_digits_arguments_are_checked(arguments, error, message):
    with pytest.raises(error, match=message):
        bundled_digits(**arguments)


def test_bundled_digits_without_a_test_set():
    (train, labels), (test, test_labels) = bundled_digits(8, test_fraction=0)
    assert len(train) == len(labels) == 1797 and len(test) == len(test_labels) == 0


def test_read_image_folder_names_an_image_too_large_for_pillow(tmp_path, monkeypatch):
    from PIL import Image
    (tmp_path / "a").mkdir()
    Image.new("RGB", (40, 30)).save(tmp_path / "a" / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)  # 1,200 pixels: beyond twice it
    with pytest.raises(ValueError, match=r"big.png'?: Image size \(1200 pixels\) exceeds"):
        read_image_folder(tmp_path, size=8)
