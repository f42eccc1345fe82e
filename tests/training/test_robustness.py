import numpy as np
import pytest
import torch
import torch.nn as nn

from isvs_graph.training import fgsm, low_resolution, lowpass, pgd


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 8 * 8, 5))


def data():
    generator = torch.Generator().manual_seed(1)
    return torch.rand(6, 3, 8, 8, generator=generator), torch.arange(6) % 5


def test_lowpass_removes_exactly_the_high_frequencies():
    images = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0),
                        dtype=torch.float64)
    out = lowpass(images, 0.5)
    spectrum = torch.fft.fft2(out)
    fy = torch.fft.fftfreq(16)[:, None]
    fx = torch.fft.fftfreq(16)[None, :]
    outside = (fy ** 2 + fx ** 2).sqrt() > 0.25 + 1e-9
    assert spectrum[..., outside].abs().max() < 1e-9
    inside = ~outside
    np.testing.assert_allclose(spectrum[..., inside], torch.fft.fft2(images)[..., inside],
                               atol=1e-9)
    # A radius covering every frequency keeps the image.
    np.testing.assert_allclose(lowpass(images, 2.0), images, atol=1e-12)


def test_fgsm_is_one_signed_gradient_step_clipped():
    net, (images, labels) = model(), data()
    net.train()
    eps = 8 / 255
    adversarial = fgsm(net, images, labels, eps)
    assert net.training  # mode restored
    net.eval()
    x = images.clone().requires_grad_(True)
    nn.functional.cross_entropy(net(x), labels).backward()
    expected = (images + eps * x.grad.sign()).clamp(0, 1)
    assert torch.equal(adversarial, expected)


def test_pgd_stays_in_the_ball_and_beats_the_clean_loss():
    net, (images, labels) = model(), data()
    eps = 8 / 255
    adversarial = pgd(net, images, labels, eps, steps=10,
                      generator=torch.Generator().manual_seed(0))
    assert (adversarial - images).abs().max() <= eps + 1e-6
    assert adversarial.min() >= 0 and adversarial.max() <= 1
    net.eval()
    with torch.no_grad():
        clean = nn.functional.cross_entropy(net(images), labels)
        attacked = nn.functional.cross_entropy(net(adversarial), labels)
        one_step = nn.functional.cross_entropy(net(fgsm(net, images, labels, eps)), labels)
    assert attacked > clean and attacked >= one_step - 1e-6


def test_pgd_restarts_keep_each_images_worst_run():
    net, (images, labels) = model(), data()
    eps = 8 / 255
    net.eval()

    def losses(adversarial):
        with torch.no_grad():
            return nn.functional.cross_entropy(net(adversarial), labels, reduction="none")

    runs = [pgd(net, images, labels, eps, steps=3, generator=torch.Generator().manual_seed(0))]
    runs.append(pgd(net, images, labels, eps, steps=3, generator=torch.Generator().manual_seed(0),
                    restarts=3))
    single, restarted = losses(runs[0]), losses(runs[1])
    assert (restarted >= single - 1e-6).all()  # the first restart is the single run
    assert (runs[1] - images).abs().max() <= eps + 1e-6


def test_attacks_through_a_transform_without_gradient_are_straight_through():
    net, (images, labels) = model(), data()
    eps = 8 / 255

    def quantise(batch):  # no useful gradient: round() has derivative 0
        return torch.round(batch * 4) / 4

    net.eval()
    blind = pgd(net, images, labels, eps, steps=5, random_start=False)
    seeing = pgd(net, images, labels, eps, steps=5, random_start=False, transform=quantise)
    with torch.no_grad():
        def loss(adversarial):
            return nn.functional.cross_entropy(net(quantise(adversarial)), labels)
        assert loss(seeing) > loss(images)
        assert not torch.equal(seeing, blind)  # the transform changed the attack
    one = fgsm(net, images, labels, eps, transform=quantise)
    assert (one - images).abs().max() > 0


def test_low_resolution():
    images = torch.rand(2, 3, 16, 16)
    assert low_resolution(images, 4).shape == images.shape
    flat = torch.full((1, 3, 16, 16), 0.3)
    torch.testing.assert_close(low_resolution(flat, 2), flat)
    assert torch.equal(low_resolution(images, 1), images)
    # ×4 keeps at most 16 distinct 4×4 means' worth of detail: it differs from ×2.
    assert not torch.allclose(low_resolution(images, 4), low_resolution(images, 2))


def test_low_resolution_refuses_what_it_cannot_do_and_lowpass_takes_half_floats():
    images = torch.rand(2, 3, 8, 8)
    for factor, error, says in ((16, ValueError, "have no 16× lower resolution"),
                                (2.0, ValueError, "factor must be an int >= 1, got 2.0"),
                                (0, ValueError, "factor must be an int >= 1")):
        with pytest.raises(error, match=says):
            low_resolution(images, factor)
    with pytest.raises(TypeError, match="images must be floats"):
        low_resolution((images * 255).to(torch.uint8), 2)
    assert torch.equal(low_resolution(images, np.int64(2)), low_resolution(images, 2))
    for dtype in (torch.float16, torch.bfloat16):  # (torch has no CPU FFT for them)
        out = lowpass(images.to(dtype), 0.5)
        assert out.dtype == dtype
        torch.testing.assert_close(out.float(), lowpass(images, 0.5), atol=1e-2, rtol=0)


def test_lowpass_rounds_and_clips_integer_images():
    """A sharp edge rings beyond the range: uint8 values come back clipped to 0–255
    (a bare cast wrapped −33 to 223) and rounded (not truncated)."""
    images = torch.zeros(1, 1, 16, 16, dtype=torch.uint8)
    images[..., 8:] = 255
    out = lowpass(images, 0.3)
    assert out.dtype == torch.uint8
    exact = lowpass(images.double(), 0.3)
    assert exact.min() < -10 and exact.max() > 265  # the ringing a cast would wrap
    torch.testing.assert_close(out, exact.round().clamp(0, 255).to(torch.uint8),
                               rtol=0, atol=0)
    # Wider integers in float64: float32 rounded 2³¹ − 1 up past int32 (and wrapped it).
    top = 2 ** 31 - 1
    flat = torch.full((1, 1, 8, 8), top, dtype=torch.int32)
    assert bool((lowpass(flat, 0.3) == top).all())
    edge = torch.zeros(1, 1, 16, 16, dtype=torch.int32)
    edge[..., 8:] = top
    want = lowpass(edge.double(), 0.3).round().clamp(-2 ** 31, top).to(torch.int32)
    torch.testing.assert_close(lowpass(edge, 0.3), want, rtol=0, atol=0)


def test_lowpass_takes_one_radius_per_image():
    images = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    radii = [0.2, 0.5, 1.5]
    together = lowpass(images, torch.tensor(radii))
    for image, radius, out in zip(images, radii, together):
        torch.testing.assert_close(out, lowpass(image[None], radius)[0])
    with pytest.raises(ValueError, match="2 radii for images of shape"):
        lowpass(images, [0.2, 0.5])
    with pytest.raises(ValueError, match="radius must be finite and > 0"):
        lowpass(images, 0.0)


def test_matched_radii_remove_what_isvs_removes():
    from isvs_graph import smooth_images
    from isvs_graph.training import matched_radii, psnr
    blocks = torch.rand(16, 3, 4, 4, generator=torch.Generator().manual_seed(1))
    images = blocks.repeat_interleave(4, 2).repeat_interleave(4, 3) + \
        0.05 * torch.rand(16, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    images = images.clamp(0, 1)
    sparsities = [0.9, 0.75, 0.6]
    radii = matched_radii(images, sparsities)
    assert (np.diff(radii) >= 0).all() and (radii > 0).all()  # finer: more kept
    for sparsity, radius in zip(sparsities, radii):
        isvs = float(psnr(smooth_images(images, sparsity=sparsity), images).mean())
        below = float(psnr(lowpass(images, radius * (1 - 1e-9)), images).mean())
        at = float(psnr(lowpass(images, radius), images).mean())
        assert below < isvs <= at  # the smallest radius that removes no more than ISVS
