"""No silent surprises (issue 15): integer images of any dtype by value, edge_attr used
or refused, layout mix-ups refused or warned about, the dtype promise kept, autograd
documented, options checked when transforms are built, plain numbers in messages, huge
and infinite times, one-pixel images, foreign files given as path caches."""

import re
import warnings

import numpy as np
import pytest
import torch

import isvs_graph
from isvs_graph import (grid_graph, image_paths, load_paths, path, smooth_image,
                        smooth_images, solve)
from isvs_graph.transforms import ISVSSmooth


def photo(size=16, seed=0):
    """A blocky image with noise, values 0 … 255."""
    rng = np.random.default_rng(seed)
    blocks = (np.arange(size)[:, None] // 5 + np.arange(size)[None, :] // 6) % 3
    return np.clip(blocks * 90 + rng.normal(0, 12, (size, size)), 0, 255).round()


# ---------------------------------------------------------------- 1. integers by value

@pytest.mark.parametrize("dtype,offset", [
    (np.int64, 0), (np.int32, 0), (np.uint16, 0), (np.uint8, 0), (np.int8, -128),
    (np.uint64, 0), (np.int16, -100)])
def test_integer_images_are_solved_by_value_in_any_dtype(dtype, offset):
    image = (photo() + offset).astype(dtype)
    working = np.float32 if np.dtype(dtype).itemsize <= 2 else np.float64
    expected = smooth_image(image.astype(working), sparsity=0.6)
    out = smooth_image(image, sparsity=0.6)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, np.round(expected).astype(dtype))
    assert len(np.unique(out)) > 2  # split, not the coarsest scale of a signal ~1e-17
    batch = image[None, None]
    np.testing.assert_array_equal(smooth_images(batch, sparsity=0.6)[0, 0], out)
    np.testing.assert_array_equal(image_paths(batch, levels=[1.0, 0.6]).at(
        sparsity=0.6)[0, 0], out)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int16, torch.uint8, torch.uint16,
                                   torch.uint32, torch.uint64])
def test_torch_integer_images_of_any_dtype(dtype):
    values = torch.from_numpy(photo()).to(torch.int64)
    image = torch.stack([values, 255 - values, values // 2]).to(dtype)  # 3 × H × W
    out = smooth_image(image, sparsity=0.6)
    assert out.dtype == dtype and out.shape == image.shape
    same = np.dtype(str(dtype).removeprefix("torch."))
    reference = smooth_image(image.to(torch.int64).numpy().transpose(1, 2, 0)
                             .astype(same), sparsity=0.6).transpose(2, 0, 1)
    np.testing.assert_array_equal(out.to(torch.int64).numpy(), reference)
    paths = image_paths(image[None], levels=[1.0, 0.6])
    assert torch.equal(paths.at(sparsity=0.6)[0], out)
    constant = torch.full((1, 3, 3), 7, dtype=torch.int64).to(dtype)
    assert torch.equal(smooth_image(constant, t=1.0), constant)


def test_randint_images_are_read_by_value():
    torch.manual_seed(0)
    image = torch.randint(0, 256, (3, 12, 12))  # int64, torch's default
    out = smooth_image(image, sparsity=0.5)
    assert out.dtype == torch.int64
    expected = smooth_image(image.float(), sparsity=0.5).round().to(torch.int64)
    assert torch.equal(out, expected)


def test_boolean_images_are_refused_with_the_fix():
    mask = photo() > 100
    with pytest.raises(TypeError, match=r"mask\.astype\(np\.float32\)"):
        smooth_image(mask, t=1.0)
    with pytest.raises(TypeError, match=r"mask\.float\(\)"):
        smooth_images(torch.from_numpy(mask)[None, None], t=1.0)
    with pytest.raises(TypeError, match="convert a mask to numbers"):
        solve(grid_graph(16, 16), mask.reshape(-1), t=1.0)
    assert smooth_image(mask.astype(np.float32), sparsity=0.9).dtype == np.float32


# ---------------------------------------------------------------- 2. edge_attr

def weighted_path():
    graph = grid_graph(1, 4)
    x = np.array([0.0, 1.0, 2.0, 3.0])
    return graph, x, torch.tensor([1.0, 0.1, 1.0])


@pytest.mark.parametrize("shape", [(3,), (3, 1)])
def test_scalar_edge_attr_without_edge_weight_is_refused_with_the_fix(shape):
    graph, x, weight = weighted_path()
    graph.edge_attr = weight.reshape(shape)
    with pytest.raises(ValueError, match=re.escape(
            "set graph.edge_weight = graph.edge_attr.reshape(-1)")):
        solve(graph, x, t=1.0)
    graph.edge_weight = graph.edge_attr.reshape(-1)  # the fix
    weighted = grid_graph(1, 4)
    weighted.edge_weight = weight
    np.testing.assert_array_equal(solve(graph, x, t=1.0), solve(weighted, x, t=1.0))


def test_edge_features_are_never_ignored_silently():
    graph, x, weight = weighted_path()
    graph.edge_attr = torch.rand(3, 5)
    with pytest.raises(ValueError, match=r"edge_attr \(shape \(3, 5\)\).*edge_attr\[:, k\]"):
        solve(graph, x, t=1.0)
    graph.x = torch.from_numpy(x)[:, None]
    with pytest.raises(ValueError, match="edge_weight"):
        ISVSSmooth(t=1.0)(graph)
    with pytest.raises(ValueError, match="edge_weight"):
        path(graph, x)
    # With edge_weight given, edge_attr holds features (PyG's convention): left alone.
    graph.edge_weight = weight
    plain = grid_graph(1, 4)
    plain.edge_weight = weight
    np.testing.assert_array_equal(solve(graph, x, t=1.0), solve(plain, x, t=1.0))


# ---------------------------------------------------------------- 3. layouts

def test_torch_image_in_hwc_is_refused_with_the_fix():
    hwc = torch.rand(32, 32, 3)
    with pytest.raises(ValueError, match=re.escape("image.permute(2, 0, 1)")):
        smooth_image(hwc, t=1.0)
    out = smooth_image(hwc.permute(2, 0, 1), t=1.0).permute(1, 2, 0)
    np.testing.assert_array_equal(out.numpy(), smooth_image(hwc.numpy(), t=1.0))


def test_numpy_image_in_chw_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=re.escape("image.transpose(1, 2, 0)")):
        smooth_image(np.random.default_rng(0).random((3, 32, 32)), t=1.0)


@pytest.mark.parametrize("kind,fix", [("torch", "images.permute(0, 3, 1, 2)"),
                                      ("numpy", "images.transpose(0, 3, 1, 2)")])
def test_batch_in_bhwc_is_refused_with_the_fix(kind, fix):
    images = np.random.default_rng(0).random((2, 16, 16, 3))
    images = torch.from_numpy(images) if kind == "torch" else images
    with pytest.raises(ValueError, match=re.escape(fix)):
        smooth_images(images, t=1.0)
    with pytest.raises(ValueError, match=re.escape(fix)):
        image_paths(images)


@pytest.mark.parametrize("kind,axis", [("numpy", -1), ("torch", 0)])
def test_a_grey_volume_without_channel_axis_is_refused_with_both_fixes(kind, axis):
    # D × H × W read as an image would be D rows of W channels: a silent wrong answer.
    volume = np.random.default_rng(0).random((12, 10, 8))
    volume = torch.from_numpy(volume) if kind == "torch" else volume
    with pytest.raises(ValueError, match=re.escape(
            f"with {8 if kind == 'numpy' else 12} channels, but an image in that layout "
            f"has 1 to 4: for a grey volume (D × H × W) pass channel_axis=None")) as caught:
        smooth_image(volume, t=1.0)
    assert f"channel_axis={axis}" in str(caught.value)
    as_volume = smooth_image(volume, t=1.0, channel_axis=None)
    as_channels = smooth_image(volume, t=1.0, channel_axis=axis)  # as asked: many channels
    assert as_volume.shape == as_channels.shape == volume.shape
    assert np.abs(np.asarray(as_volume) - np.asarray(as_channels)).max() > 0.01
    # A batch has no channel_axis: read as documented, with the fix for volumes.
    with pytest.warns(UserWarning, match=re.escape("pass images[:, None]")):
        smooth_images(volume[None], t=1.0)


@pytest.mark.parametrize("shape", [(3, 32, 3), (1, 32, 3), (4, 20, 1)])
def test_ambiguous_layouts_are_read_as_documented_with_a_warning(shape):
    image = torch.rand(shape)
    with pytest.warns(UserWarning, match=r"ambiguous.*permute\(2, 0, 1\)") as caught:
        out = smooth_image(image, t=1.0)
    assert caught[0].filename == __file__
    assert out.shape == shape
    with pytest.warns(UserWarning, match="ambiguous"):
        smooth_images(image[None], t=1.0)


@pytest.mark.parametrize("shape", [(3, 4, 4), (1, 4, 4), (3, 16, 16), (1, 32, 1)])
def test_unambiguous_and_tiny_images_pass_without_a_word(shape):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        smooth_image(torch.rand(shape), t=1.0)
        smooth_image(torch.rand(shape).numpy().transpose(1, 2, 0), t=1.0)


# ---------------------------------------------------------------- 4. dtypes kept

def as64(values):
    return values.double().numpy() if isinstance(values, torch.Tensor) else \
        values.astype(np.float64)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, np.float16])
def test_half_floats_come_back_in_their_dtype(dtype):
    images = np.random.default_rng(0).random((2, 3, 12, 12))
    if isinstance(dtype, torch.dtype):
        images = torch.from_numpy(images).to(dtype)
        as32 = images.float()

        def cast(value):
            return value.to(dtype)
    else:
        images = images.astype(dtype)
        as32 = images.astype(np.float32)

        def cast(value):
            return value.astype(dtype)
    out = smooth_images(images, sparsity=0.7)
    assert out.dtype == dtype
    expected = cast(smooth_images(as32, sparsity=0.7))
    assert (out == expected).all()
    if isinstance(images, torch.Tensor):
        one = smooth_image(images[0], sparsity=0.7)
    else:
        one = smooth_image(images[0].transpose(1, 2, 0), sparsity=0.7).transpose(2, 0, 1)
    assert one.dtype == dtype and (one == expected[0]).all()
    paths = image_paths(images, levels=[1.0, 0.7])
    read = paths.at(sparsity=0.7)
    assert read.dtype == dtype and (read == expected).all()
    between = paths.at(sparsity=0.85)
    assert between.dtype == dtype
    difference = as64(between) - as64(smooth_images(as32, sparsity=0.85))
    assert np.abs(difference).max() <= paths.bound(sparsity=0.85).max()
    signal = images.reshape(2, 3, -1)[0].T  # (p, C)
    graph = grid_graph(12, 12)
    assert solve(graph, signal, t=2.0).dtype == dtype
    assert path(graph, signal, levels=[1.0, 0.7]).at(sparsity=0.7).dtype == dtype


# ---------------------------------------------------------------- 5. autograd

@pytest.mark.parametrize("function", [isvs_graph.solve, isvs_graph.smooth_image,
                                      isvs_graph.smooth_images, ISVSSmooth])
def test_autograd_behaviour_is_documented(function):
    doc = " ".join(function.__doc__.split())
    assert "detached from autograd" in doc


def test_a_tensor_that_requires_grad_warns_and_straight_through_works():
    image = torch.rand(3, 8, 8, requires_grad=True)
    with pytest.warns(UserWarning, match="straight-through") as caught:
        out = smooth_image(image, sparsity=0.8)
    assert caught[0].filename == __file__ and not out.requires_grad
    # The documented straight-through (BPDA) form: smoothing forward, identity backward.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        through = image + (smooth_image(image.detach(), sparsity=0.8) - image).detach()
    through.sum().backward()
    assert torch.equal(image.grad, torch.ones_like(image))
    torch.testing.assert_close(through.detach(), out)


# ---------------------------------------------------------------- 6. options when built

def test_transform_options_are_checked_when_built():
    with pytest.raises(TypeError, match=r"'kapa'.*did you mean 'kappa'.*valid options "
                                        r"are alpha, backend"):
        ISVSSmooth(sparsity=0.9, kapa=1)
    for bad, match in [({"kappa": -1}, "kappa must be > 0"), ({"mode": "x"}, "Invalid mode"),
                       ({"tol": 2.0}, "tol must lie in"), ({"nu": 1e-9}, "stiff"),
                       ({"max_iter": -1}, "max_iter must be >= 0"),
                       ({"project": "no"}, "project must be True or False"),
                       ({"backend": "cuda"}, "Invalid backend"),
                       ({"alpha": 0.0}, "alpha must be > 0")]:
        with pytest.raises((TypeError, ValueError), match=match):
            ISVSSmooth(sparsity=0.9, **bad)


def test_image_functions_name_the_valid_options():
    image = np.zeros((4, 4))
    with pytest.raises(TypeError, match=r"smooth_images got unknown solver options "
                                        r"\['kapa'\] \(did you mean 'kappa'\?\)"):
        smooth_images(image[None, None], t=1.0, kapa=1)
    with pytest.raises(TypeError, match="smooth_image got unknown"):
        smooth_image(image, t=1.0, sparsty=0.5)


def test_image_transform_options_can_be_checked_when_built():
    from isvs_graph.images import check_image_options
    check_image_options("SmoothImages", {"kappa": 1.0, "connectivity": 8, "mode": "channel"})
    with pytest.raises(TypeError, match="connectivity"):
        check_image_options("SmoothImages", {"kapa": 1.0})
    check_image_options("SmoothImages", {"connectivity": 6})  # a volume's
    with pytest.raises(ValueError, match=r"connectivity must be 4 or 8 \(images\) or 6, 18"):
        check_image_options("SmoothImages", {"connectivity": 5})


# ---------------------------------------------------------------- 7. plain numbers

def test_messages_quote_plain_numbers():
    graph, x = grid_graph(4, 4), np.random.default_rng(0).random(16)
    calls = [
        lambda: solve(graph, x, t=np.float64(1.5), sparsity=np.float64(0.5)),
        lambda: solve(graph, x, t=1.0, max_iter=np.int64(-3)),
        lambda: solve(graph, x, t=1.0, max_iter=np.float64(3.0)),
        lambda: solve(graph, x, t=1.0, mode=np.str_("x")),
        lambda: solve(graph, x, t=1.0, project=np.int64(1)),
        lambda: path(graph, x, t_max=np.float64(2.0), sparsity_min=np.float64(0.5)),
        lambda: path(graph, x, levels=np.float64(0.5)),
        lambda: solve(graph, np.stack([x[:, None]] * 2), t=[np.float64(1.0), -1.0]),
        lambda: solve(graph, x, t=np.float64(-2.5)),
        lambda: solve(graph, x, t=1.0, alpha=np.float64(58.9)),
        lambda: ISVSSmooth(t=1.0, jumps=np.int64(1)),
        lambda: ISVSSmooth(t=1.0, backend=np.str_("gpu")),
        lambda: isvs_graph.grid_graph(np.float64(3.0), 3),
    ]
    messages = []
    for call in calls:
        with pytest.raises((TypeError, ValueError)) as error:
            call()
        messages.append(str(error.value))
    with pytest.warns(isvs_graph.ConvergenceWarning) as caught:
        solve(graph, np.round(x), sparsity=np.float64(0.0))
    messages += [str(w.message) for w in caught]
    assert "58.9" in " ".join(messages)
    for message in messages:
        assert "np." not in message and "array(" not in message, message


def test_expected_option_mismatch_quotes_plain_numbers(tmp_path):
    file = tmp_path / "cache.npz"
    image_paths(np.random.default_rng(0).random((1, 1, 6, 6)), levels=[1.0, 0.9]).save(file)
    with pytest.raises(ValueError) as error:
        load_paths(file, kappa=np.float64(2.0))
    assert "not 2.0" in str(error.value) and "np." not in str(error.value)


# ---------------------------------------------------------------- 8. huge and infinite t

def test_huge_t_is_the_finest_scale_and_infinite_t_is_refused():
    graph, x = grid_graph(6, 6), np.random.default_rng(0).random(36)
    finest = solve(graph, x, t=1e6)
    np.testing.assert_array_equal(solve(graph, x, t=1e300), finest)
    np.testing.assert_array_equal(path(graph, x).at(t=1e300), path(graph, x).at(t=1e6))
    with pytest.raises(ValueError, match=r"t must be finite, got inf; for the finest scale"):
        solve(graph, x, t=float("inf"))
    with pytest.raises(ValueError, match=r"t must be finite, got nan$"):
        solve(graph, x, t=float("nan"))
    with pytest.raises(ValueError, match="t must be finite"):
        smooth_images(x.reshape(1, 1, 6, 6), t=[np.inf])


# ---------------------------------------------------------------- 9. one-pixel images

@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (5, 1), (1, 1, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.uint8])
def test_one_pixel_and_one_row_images(shape, dtype):
    image = (np.arange(np.prod(shape)).reshape(shape) * 40).astype(dtype)
    out = smooth_image(image, t=5.0)
    assert out.shape == shape and out.dtype == dtype
    batch = image.reshape(1, *shape[:2], -1).transpose(0, 3, 1, 2)
    paths = image_paths(batch, levels=[1.0, 0.5])
    for scale in ({"t": 0.0}, {"sparsity": 1.0}, {"sparsity": 0.75}, {"sparsity": 0.5}):
        read = paths.at(**scale)
        np.testing.assert_array_equal(read, smooth_images(batch, **scale))
    if shape[:2] == (1, 1):
        np.testing.assert_array_equal(out, image)  # a single pixel is its own component
        assert paths.labels(t=1.0).tolist() == [[0]]
        np.testing.assert_array_equal(paths.at(t=1e6), batch)


# ---------------------------------------------------------------- 10. foreign files

@pytest.mark.parametrize("make", ["npy", "npz", "text", "empty"])
def test_a_foreign_file_is_not_called_a_damaged_cache(tmp_path, make):
    file = tmp_path / f"data.{make}"
    if make == "npy":
        np.save(file, np.arange(3))
    elif make == "npz":
        np.savez(file, values=np.arange(3))
    elif make == "text":
        file.write_text("hello")
    else:
        file.write_bytes(b"")
    with pytest.raises(ValueError, match="is not an isvs_graph path cache") as error:
        load_paths(file)
    assert "delete" not in str(error.value) and "damaged" not in str(error.value)
    assert file.exists()


def test_a_truncated_cache_is_called_damaged(tmp_path):
    file = tmp_path / "cache.npz"
    image_paths(np.random.default_rng(0).random((1, 1, 6, 6)), levels=[1.0, 0.9]).save(file)
    file.write_bytes(file.read_bytes()[:200])
    with pytest.raises(ValueError, match="damaged.*delete it and build it again"):
        load_paths(file)
