import numpy as np
import pytest
import torch

from isvs_graph import smooth_images
from isvs_graph.augment import CoarseToFine, ISVSTransform, SparsityRange


def batch(seed=0):
    return torch.rand(4, 3, 12, 12, generator=torch.Generator().manual_seed(seed))


def test_fixed_sparsity_equals_smooth_images():
    images = batch()
    transform = ISVSTransform(0.8, kappa=1.0)
    assert torch.equal(transform(images), smooth_images(images, sparsity=0.8, kappa=1.0))
    assert torch.equal(transform(images[0]), smooth_images(images[:1], sparsity=0.8,
                                                           kappa=1.0)[0])


def test_random_range_draws_per_image_reproducibly():
    rule = SparsityRange(0.6, 0.9)
    draws = rule.sample(1000, torch.Generator().manual_seed(1))
    assert 0.6 <= draws.min() and draws.max() <= 0.9 and draws.std() > 0.05
    a = ISVSTransform(rule, seed=3)(batch())
    b = ISVSTransform(rule, seed=3)(batch())
    assert torch.equal(a, b)
    expected = smooth_images(batch(), sparsity=rule.sample(4, torch.Generator().manual_seed(3)))
    assert torch.equal(a, expected)


def test_curriculum_changes_over_epochs_and_ends_at_the_images():
    schedule = CoarseToFine(0.9, 0.6, epochs=4)
    assert [schedule(e) for e in range(6)] == [0.9, 0.8, 0.7, 0.6, None, None]
    transform = ISVSTransform(schedule)
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
    (lambda: ISVSTransform(1.5), "sparsity must lie in"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()
