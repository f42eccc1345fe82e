import numpy as np
import pytest
import torch

from isvs_graph import smooth_images
from isvs_graph.training import (CoarseToFine, Fixed, ISVSTransform, SmoothImages, SparsityRange,
                                 SparsityRule, as_rule)


def batch(seed=0):
    return torch.rand(4, 3, 12, 12, generator=torch.Generator().manual_seed(seed))


def test_fixed_sparsity_equals_smooth_images():
    images = batch()
    transform = SmoothImages(0.8, kappa=1.0)
    assert torch.equal(transform(images), smooth_images(images, sparsity=0.8, kappa=1.0))
    assert torch.equal(transform(images[0]), smooth_images(images[:1], sparsity=0.8,
                                                           kappa=1.0)[0])


def test_random_range_draws_per_image_reproducibly():
    rule = SparsityRange(0.6, 0.9)
    draws = rule.draw(1000, epoch=0, generator=torch.Generator().manual_seed(1))
    assert 0.6 <= draws.min() and draws.max() <= 0.9 and draws.std() > 0.05
    a = SmoothImages(rule, seed=3)(batch())
    b = SmoothImages(rule, seed=3)(batch())
    assert torch.equal(a, b)
    transform = SmoothImages(rule, seed=3)
    expected = smooth_images(batch(), sparsity=rule.draw(4, epoch=0,
                                                         generator=transform._draws()))
    assert torch.equal(a, expected)
    assert not torch.equal(SmoothImages(rule, seed=4)(batch()), a)


def test_curriculum_changes_over_epochs_and_ends_at_the_images():
    schedule = CoarseToFine(0.9, 0.6, epochs=4)
    assert [schedule(e) for e in range(6)] == [0.9, 0.8, 0.7, 0.6, None, None]
    transform = SmoothImages(schedule)
    images = batch()
    outputs = []
    for epoch in range(5):
        transform.set_epoch(epoch)
        outputs.append(transform(images))
    assert not torch.equal(outputs[0], outputs[3])
    assert torch.equal(outputs[0], smooth_images(images, sparsity=0.9))
    assert torch.equal(outputs[4], images)  # past the curriculum: the images themselves
    coarse = [len(torch.unique(o[0, 0])) for o in outputs[:4]]
    assert coarse == sorted(coarse)  # finer and finer


@pytest.mark.parametrize("make,match", [
    (lambda: SparsityRange(0.9, 0.6), "low must be <= high"),
    (lambda: SparsityRange(-0.1, 0.6), "low must lie in"),
    (lambda: CoarseToFine(0.9, 0.5, epochs=0), "epochs must be"),
    (lambda: SmoothImages(1.5), "sparsity must lie in"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_every_way_of_giving_a_sparsity_is_one_rule():
    generator = torch.Generator().manual_seed(0)
    for given, lowest in ((0.7, 0.7), (SparsityRange(0.6, 0.8), 0.6),
                          (CoarseToFine(0.9, 0.5, epochs=3), 0.5)):
        rule = as_rule(given)
        assert isinstance(rule, SparsityRule) and rule.lowest == lowest
        draws = rule.draw(5, epoch=1, generator=generator)
        assert draws.shape == (5,) and (draws >= lowest).all()
    assert isinstance(as_rule(0.7), Fixed)
    # A user's function of the epoch: asked each epoch, its lowest not known in advance.
    rule = as_rule(lambda epoch: None if epoch else SparsityRange(0.5, 0.6))
    assert rule.lowest is None and rule.draw(2, epoch=1) is None
    assert ((rule.draw(2, epoch=0) >= 0.5)).all()
    assert CoarseToFine(0.9, 0.5, epochs=3).draw(2, epoch=3) is None


def test_old_names_warn_and_work():
    with pytest.warns(DeprecationWarning, match="SmoothImages"):
        old = ISVSTransform(0.8)
    assert torch.equal(old(batch()), SmoothImages(0.8)(batch()))
    with pytest.warns(DeprecationWarning, match="draw"):
        draws = SparsityRange(0.6, 0.7).sample(3, torch.Generator().manual_seed(0))
    assert draws.shape == (3,)


class _Draws(torch.utils.data.Dataset):
    """Each item: the sparsities the transform draws for a batch of 3 images."""

    def __init__(self, transform):
        self.transform = transform

    def __len__(self):
        return 4

    def __getitem__(self, index):
        generator = self.transform._draws()
        return torch.from_numpy(self.transform.rule.draw(3, epoch=self.transform.epoch,
                                                         generator=generator))


def test_draws_differ_by_worker_and_epoch_and_repeat_with_the_seed():
    transform = SmoothImages(SparsityRange(0.5, 0.9), seed=7)
    runs = []
    for _ in range(2):
        epochs = []
        for epoch in range(2):
            transform.set_epoch(epoch)
            loader = torch.utils.data.DataLoader(_Draws(transform), batch_size=None,
                                                 num_workers=2)
            epochs.append(torch.stack(list(loader)))
        runs.append(epochs)
    first, second = runs[0]
    assert not torch.equal(first, second)                  # epochs differ
    assert not torch.equal(first[0], first[1])              # the two workers differ
    assert torch.equal(runs[1][0], first) and torch.equal(runs[1][1], second)  # seeded


@pytest.mark.parametrize("options,match", [
    ({"kapa": 1.0}, "did you mean 'kappa'"),
    ({"kappa": -1.0}, "kappa"),
    ({"connectivity": 5}, r"connectivity must be 4 or 8 \(images\) or 6, 18 or 26"),
])
def test_options_are_checked_when_the_transform_is_built(options, match):
    with pytest.raises((TypeError, ValueError), match=match):
        SmoothImages(0.9, **options)


def test_messages_quote_plain_numbers():
    import numpy as np

    from isvs_graph import grid_graph, knn_graph, radius_graph, solve
    points = np.random.default_rng(0).random((10, 2))
    calls = [(lambda: grid_graph(3, 3, connectivity=np.int64(6)), "got 6"),
             (lambda: knn_graph(points, k=3, weights="gaussian", sigma=np.float64(-1.0)),
              "got -1.0"),
             (lambda: radius_graph(points, np.float64(-0.5)), "got -0.5"),
             (lambda: solve(grid_graph(2, 2), np.ones(4), t=1.0, jumps=np.int64(1)), "got 1")]
    for call, quoted in calls:
        with pytest.raises((TypeError, ValueError)) as error:
            call()
        assert quoted in str(error.value) and "np." not in str(error.value), error.value


def test_seeds_are_checked_when_built_and_pil_images_refused_with_the_fix():
    from PIL import Image
    for seed, error in ((-1, ValueError), (1.5, TypeError), ("a", TypeError)):
        with pytest.raises(error, match="seed must be"):
            SmoothImages(seed=seed)
    assert SmoothImages(seed=np.int64(3)).seed == 3
    transform = SmoothImages(seed=0)
    with pytest.raises(TypeError, match=r"takes image tensors .*got Image.*PILToTensor\(\)"):
        transform(Image.new("RGB", (8, 8)))
    with pytest.raises(TypeError, match="takes image tensors .*got list"):
        transform([[0.0]])
