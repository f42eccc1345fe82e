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
