"""Device-agnostic code, checked on a CUDA device emulated on the CPU (``fake_cuda``):
what runs on a GPU must not read a device tensor as numpy, mix it with CPU tensors, or
hand results back on the wrong device. (On a real GPU, ``helpers.DEVICES`` runs the
solver's own tests there too.)"""

import io
import warnings
import zipfile

import numpy as np
import pytest
import torch

import isvs_graph
from fake_cuda import FakeCuda, tagged, to_dev
from isvs_graph import grid_graph, image_paths, path, smooth_images, solve
from isvs_graph.training import CachedISVSDataset, SparsityRange, TimeRange


@pytest.fixture
def grid():
    return grid_graph(6, 5)


def test_the_emulation_catches_what_cuda_refuses():
    """The emulation itself: without it these tests would prove nothing."""
    with FakeCuda():
        x = to_dev(torch.rand(4))
        assert x.device.type == "cuda" and tagged(x + 1)
        with pytest.raises(TypeError, match="cuda"):
            x.numpy()
        with pytest.raises(TypeError, match="cuda"):
            np.asarray(x)
        with pytest.raises(RuntimeError, match="same device"):
            x + torch.rand(4)
        assert not tagged(x.cpu()) and x.cpu().numpy().shape == (4,)


def test_solve_stays_on_the_device_and_agrees_with_the_cpu(grid):
    x = torch.rand(3, 30, 2, generator=torch.Generator().manual_seed(0))
    want = solve(grid, x, sparsity=0.7, backend="torch")
    with FakeCuda():
        got = solve(grid, to_dev(x), sparsity=0.7)
        assert got.device.type == "cuda"
        got = got.cpu()
    torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_per_signal_scales_as_device_scalars(grid):
    """A list of 0-d device tensors as per-signal times (numpy cannot read them)."""
    x = torch.rand(3, 30, 2, generator=torch.Generator().manual_seed(1))
    want = solve(grid, x, t=[1.0, 2.0, 3.0], backend="torch")
    with FakeCuda():
        got = solve(grid, to_dev(x), t=[to_dev(torch.tensor(v)) for v in (1.0, 2.0, 3.0)])
        got = got.cpu()
    torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_paths_read_back_on_the_signals_device(grid):
    x = torch.rand(2, 30, 3, generator=torch.Generator().manual_seed(2))
    images = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    with FakeCuda():
        on_device = to_dev(x)
        assert path(grid, on_device).at(sparsity=0.8).device.type == "cuda"
        data = grid_graph(6, 5)
        data.x = to_dev(x[0])
        assert path(data).at(sparsity=0.8).device.type == "cuda"  # graph.x's device
        paths = image_paths(to_dev(images), levels=[1.0, 0.8])
        read = paths.at(sparsity=0.8)
        assert read.device.type == "cuda"
        # The docstring's promise, on the device: reads at a level are smooth_images.
        assert bool((read == smooth_images(to_dev(images), sparsity=0.8)).all())
        picked = paths.at(sparsity=0.8, signals=to_dev(torch.tensor([1, 0])))
        assert torch.equal(picked.cpu(), read.cpu()[[1, 0]])
        listed = paths.at(sparsity=0.8, signals=[to_dev(torch.tensor(1)), 0])
        assert torch.equal(listed.cpu(), picked.cpu())
        chosen = paths.select(to_dev(torch.tensor([1, 0])))
        assert torch.equal(chosen.at(sparsity=0.8).cpu(), picked.cpu())
        assert len(paths.select([to_dev(torch.tensor(1))])) == 1


def test_plotting_a_path_made_on_the_device(grid):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    x = torch.rand(30, 3, generator=torch.Generator().manual_seed(4))
    with FakeCuda():
        figure = path(grid, to_dev(x)).plot((6, 5))
    assert len(figure.axes) == 6


def test_cached_dataset_takes_device_tensors(tmp_path):
    images = torch.randint(0, 256, (6, 1, 8, 8), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(5))
    labels = torch.arange(6) % 2
    with FakeCuda():
        data = CachedISVSDataset(to_dev(images), to_dev(labels), tmp_path, t=4.0,
                                 shard_size=4)
        assert not tagged(data.images) and not tagged(data.labels)
    assert torch.equal(data.images, images) and torch.equal(data.labels, labels)


def test_draws_on_the_cpu_whatever_the_default_device(tmp_path):
    """Under ``torch.set_default_device("cuda")`` the rules' draws, from a CPU generator,
    and a cached dataset from numpy arrays stay on the CPU."""
    want = TimeRange(8, 16).draw(5, generator=torch.Generator().manual_seed(0))
    images = np.random.default_rng(6).integers(0, 256, (4, 1, 8, 8), dtype=np.uint8)
    with FakeCuda(default_device=True):
        got = TimeRange(8, 16).draw(5, generator=torch.Generator().manual_seed(0))
        SparsityRange(0.6, 0.9).draw(5, generator=torch.Generator().manual_seed(0))
        data = CachedISVSDataset(images, np.arange(4) % 2, tmp_path, t=4.0, shard_size=2)
        assert not tagged(data._epoch)  # shared with workers: CPU memory
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", isvs_graph.ConvergenceWarning)
            data.build()
        image, label = data[1]
    np.testing.assert_array_equal(got, want)
    assert image.shape == (1, 8, 8) and int(label) == 1


def test_pgd_draws_its_start_on_the_cpu_whatever_the_default_device():
    from isvs_graph.training import pgd
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 2))
    images = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(7))
    labels = torch.tensor([0, 1])
    want = pgd(model, images, labels, 0.03, steps=2, generator=torch.Generator().manual_seed(0))
    with FakeCuda(default_device=True):
        got = pgd(model, images, labels, 0.03, steps=2,
                  generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(got.cpu(), want, rtol=0, atol=0)


def test_a_checkpoint_saved_on_a_gpu_resumes_on_the_cpu(tmp_path):
    """Storages saved from a GPU carry ``cuda:0``; read on a machine without one, they
    must land on the CPU (``map_location``)."""
    import hashlib
    import json

    from isvs_graph.training import load_checkpoint
    from isvs_graph.training._checkpoints import CHECKPOINT_VERSION
    config = {"seed": 1}
    buffer = io.BytesIO()
    torch.save({"model": {"weight": torch.ones(3)}, "version": CHECKPOINT_VERSION,
                "config": json.dumps(config, sort_keys=True)}, buffer)
    source, moved = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
    with zipfile.ZipFile(moved, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.endswith("data.pkl"):  # the storage's location, as pickled
                assert b"X\x03\x00\x00\x00cpu" in data
                data = data.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
            target.writestr(info, data)
    data = moved.getvalue()
    file = tmp_path / "gpu.pt"
    file.write_bytes(hashlib.sha256(data).hexdigest().encode() + b"\n" + data)
    if not torch.cuda.is_available():  # what the file holds: a CUDA storage
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(io.BytesIO(data), weights_only=True)
    payload = load_checkpoint(file, config)
    assert payload["model"]["weight"].device.type == "cpu"
    assert torch.equal(payload["model"]["weight"], torch.ones(3))
