"""Robustness baselines and attacks for image classifiers: the FFT low-pass baseline
matched to ISVS's strength, FGSM and PGD attacks (straight through test-time
transforms), and low-resolution inputs. The corruptions are in :mod:`._corruptions`.

Images are float tensors ``B × C × H × W`` in ``[0, 1]`` unless said otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .._signals import to_dtype
from .._validation import check_count

__all__ = ["fgsm", "lowpass", "low_resolution", "matched_radii", "pgd", "psnr"]


def lowpass(images: torch.Tensor,
            radius: float | Sequence[float] | np.ndarray | torch.Tensor = 0.5) -> torch.Tensor:
    """Remove the high frequencies of images with a circular FFT mask.

    Keeps the frequencies ``(f_y, f_x)`` with ``sqrt(f_y² + f_x²) <= radius · 0.5``
    cycles per pixel (``radius = 1`` keeps everything up to the Nyquist frequency along
    each axis). ``radius``: one value, or one per image of a ``B × C × H × W`` batch
    (random strengths, as ISVS draws a sparsity per image). The frequency baseline
    against which ISVS training is compared; :func:`matched_radii` picks radii that
    remove as much as ISVS does.
    """
    radii = torch.as_tensor(radius, dtype=torch.float64).reshape(-1)
    if not bool((radii > 0).all()) or not bool(torch.isfinite(radii).all()):
        raise ValueError(f"radius must be finite and > 0, got {radius!r}")
    if len(radii) > 1 and (images.ndim != 4 or len(radii) != len(images)):
        raise ValueError(f"{len(radii)} radii for images of shape {tuple(images.shape)}: "
                         "give one radius, or one per image of a (B, C, H, W) batch")
    height, width = images.shape[-2:]
    fy = torch.fft.fftfreq(height, device=images.device, dtype=torch.float64)[:, None]
    fx = torch.fft.rfftfreq(width, device=images.device, dtype=torch.float64)[None, :]
    frequency = (fy ** 2 + fx ** 2).sqrt()
    mask = frequency <= radii.to(images.device)[:, None, None] * 0.5  # (B or 1, H, W')
    if len(radii) > 1:
        mask = mask[:, None]
    else:
        mask = mask[0]
    # (float16 and bfloat16 have no FFT on the CPU, and only sizes of powers of 2 on
    # CUDA: float32 inside; integers of up to 16 bits too, wider ones in float64, exact
    # to 2⁵³: float32's 24 bits would round them, and round 2³¹ − 1 up past int32.)
    if images.dtype in (torch.float32, torch.float64):
        inside = images
    elif images.is_floating_point() or images.element_size() <= 2:
        inside = images.float()
    else:
        inside = images.double()
    spectrum = torch.fft.rfft2(inside)
    # Integers come back rounded and clipped to their dtype: the ringing of a sharp
    # edge overshoots the range, and a bare cast would wrap it around (or, on CUDA,
    # leave it undefined).
    return to_dtype(torch.fft.irfft2(spectrum * mask, s=(height, width)), images.dtype)


def psnr(images: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio per image, in dB, of images in ``[0, 1]``."""
    error = ((images.double() - reference.double()) ** 2).flatten(1).mean(dim=1)
    return 10 * torch.log10(1.0 / error.clamp_min(1e-20))


def matched_radii(images: torch.Tensor, levels: Sequence[float], *, scale: str = "sparsity",
                  **solver_options: Any) -> np.ndarray:
    """For each level of ``scale`` (sparsities, or times with ``scale="t"``), the
    smallest low-pass radius whose mean PSNR to ``images`` is at least that of
    :func:`~isvs_graph.smooth_images` there: a frequency baseline that removes as much
    as ISVS does, and no more.

    The mask changes only where the radius passes a frequency of the image grid, so the
    search runs over those radii (binary search: PSNR grows with the radius).
    ``images``: ``B × C × H × W`` floats in ``[0, 1]`` (a sample of the training set).
    """
    from ..images import smooth_images
    height, width = images.shape[-2:]
    fy = torch.fft.fftfreq(height, dtype=torch.float64)[:, None]
    fx = torch.fft.rfftfreq(width, dtype=torch.float64)[None, :]
    candidates = torch.unique(2 * (fy ** 2 + fx ** 2).sqrt()).tolist()
    candidates = [r for r in candidates if r > 0] or [1.0]  # radius 2·f keeps f

    def quality(index: int) -> float:
        return float(psnr(lowpass(images, candidates[index]), images).mean())

    if scale not in ("t", "sparsity"):
        raise ValueError(f"scale must be 't' or 'sparsity', got {scale!r}")
    radii = []
    for level in levels:
        target = float(psnr(smooth_images(images, **{scale: level}, **solver_options),
                            images).mean())
        low, high = 0, len(candidates) - 1  # the answer lies in [low, high]
        while low < high:
            middle = (low + high) // 2
            if quality(middle) >= target:
                high = middle
            else:
                low = middle + 1
        radii.append(candidates[low])
    return np.asarray(radii)


def low_resolution(images: torch.Tensor, factor: int) -> torch.Tensor:
    """Down-sample by ``factor`` (area average) and back up (bilinear): float images
    ``B × C × H × W`` at least ``factor`` pixels a side."""
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be an int >= 1, got {factor!r}")
    if not images.is_floating_point():
        raise TypeError(f"images must be floats (in [0, 1], say), got {images.dtype}")
    if min(images.shape[-2:]) < factor:
        raise ValueError(f"images of {images.shape[-2]} × {images.shape[-1]} pixels have "
                         f"no {factor}× lower resolution: factor must be at most their "
                         "shorter side")
    small = F.avg_pool2d(images, factor) if factor > 1 else images
    return F.interpolate(small, size=images.shape[-2:], mode="bilinear", align_corners=False)


def _straight_through(transform: Callable[[torch.Tensor], torch.Tensor] | None,
                      images: torch.Tensor) -> torch.Tensor:
    """``transform(images)`` forward, the identity backward (BPDA, Athalye et al., 2018):
    the attack sees what the model sees, and a gradient through transforms that have
    none (smoothing, quantisation)."""
    if transform is None:
        return images
    with torch.no_grad():
        transformed = transform(images.detach())
    return images + (transformed - images).detach()


def _losses(model, images, labels, transform=None) -> torch.Tensor:
    """Per-image cross-entropy of ``model`` on ``transform(images)``."""
    return F.cross_entropy(model(_straight_through(transform, images)), labels,
                           reduction="none")


def _loss_gradient(model, images, labels, transform=None):
    with torch.enable_grad():  # attacks work inside no_grad evaluation loops too
        images = images.clone().detach().requires_grad_(True)
        loss = _losses(model, images, labels, transform).sum()
        (gradient,) = torch.autograd.grad(loss, images)
    return gradient


def fgsm(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
         eps: float, *, transform: Callable[[torch.Tensor], torch.Tensor] | None = None
         ) -> torch.Tensor:
    """Fast gradient sign method: ``clip(x + ε sign(∇ₓ loss), 0, 1)``.

    ``transform``: a test-time transform the model's inputs go through; the attack
    differentiates through it straight-through (BPDA). The model is evaluated in eval
    mode (its mode is restored afterwards).
    """
    was_training = model.training
    model.eval()
    try:
        gradient = _loss_gradient(model, images, labels, transform)
    finally:
        model.train(was_training)
    return (images + eps * gradient.sign()).clamp(0.0, 1.0).detach()


def pgd(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, eps: float,
        step: float | None = None, steps: int = 20, *, restarts: int = 1,
        random_start: bool = True, generator: torch.Generator | None = None,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Projected gradient descent in the L∞ ball of radius ``ε`` (Madry et al., 2018).

    ``steps`` signed-gradient steps of size ``step`` (default ``2.5 ε / steps``), each
    followed by projection onto the ball around ``images`` and clipping to ``[0, 1]``,
    from a uniform random start (``random_start``); with ``restarts > 1`` each image
    keeps the run with the highest loss. ``transform``: a test-time transform the
    model's inputs go through, attacked straight-through (BPDA). ``generator``: a CPU
    ``torch.Generator`` for the random start, which is drawn on the CPU and moved to the
    images' device (the same start on any device). Eval mode, restored afterwards.
    """
    check_count("steps", steps)
    restarts = check_count("restarts", restarts)
    step = 2.5 * eps / steps if step is None else step
    was_training = model.training
    model.eval()
    try:
        best, best_loss = images.clone().detach(), None
        for _ in range(restarts):
            adversarial = images.clone().detach()
            if random_start:
                noise = torch.rand(images.shape, generator=generator, dtype=images.dtype,
                                   device="cpu")  # (a CPU generator's draws)
                adversarial = adversarial + (2 * noise.to(images.device) - 1) * eps
                adversarial = adversarial.clamp(0.0, 1.0)
            for _ in range(steps):
                gradient = _loss_gradient(model, adversarial, labels, transform)
                adversarial = adversarial + step * gradient.sign()
                adversarial = torch.minimum(torch.maximum(adversarial, images - eps),
                                            images + eps)
                adversarial = adversarial.clamp(0.0, 1.0).detach()
            with torch.no_grad():
                loss = _losses(model, adversarial, labels, transform)
            if best_loss is None:
                best, best_loss = adversarial, loss
            else:
                better = loss > best_loss
                best[better], best_loss[better] = adversarial[better], loss[better]
    finally:
        model.train(was_training)
    return best
