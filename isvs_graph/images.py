"""Images in one line: an image or a batch in, the ISVS-smoothed image or its whole
path out, of the same kind, layout, dtype and device; volumes (3-D grids) as well.

Integer images of any dtype are read by value and come back in their dtype (rounded and
clipped); float16 and bfloat16 are computed in float32 and cast back; booleans are
refused (``isvs_graph._signals.output_dtype`` states the rule). Results are detached
from autograd.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._paths import DEFAULT_LEVELS, ISVSPath, Layout, check_levels, record
from ._signals import dtype_name, is_integer, is_tensor, output_dtype, to_dtype, working_dtype
from ._solve import SOLVER_OPTIONS, check_solver_options, prepare, solve
from ._solver import DEFAULT_KAPPA, DEFAULT_TOL
from ._validation import (check_at_most_one, check_dense, check_image_layout, check_real,
                          shown)
from .graphs._grid import CONNECTIVITIES, grid_canonical

if TYPE_CHECKING:
    import torch

__all__ = ["image_paths", "smooth_image", "smooth_images"]

#: The keyword options of :func:`smooth_images` besides the scale.
IMAGE_OPTIONS = (*SOLVER_OPTIONS, "connectivity")
#: torch's unsigned dtypes wider than a byte, which it can copy (as their signed twins)
#: but not index, by name.
_SIGNED = {"torch.uint16": "int16", "torch.uint32": "int32", "torch.uint64": "int64"}
class _Layout:
    """``channel_axis``'s default: an image in its kind's usual layout."""

    def __repr__(self) -> str:
        return "<an image: H × W or H × W × C (numpy), H × W or C × H × W (torch)>"


IMAGE_LAYOUT = _Layout()
#: How to pass a mask, in the message refusing boolean images.
_BOOLEAN = ("{name} must hold numbers, got a boolean array; to smooth a mask, pass it as "
            "numbers (mask.astype(np.float32) or mask.float()) and threshold the result")


def check_image_options(owner: str, options: dict[str, Any]) -> None:
    """Check the options a wrapper of :func:`smooth_images` (a transform) will pass on,
    names and values, when it is built (see
    :func:`~isvs_graph._solve.check_solver_options`)."""
    check_solver_options(owner, options, IMAGE_OPTIONS)
    connectivity = options.get("connectivity")
    allowed = [c for ways in CONNECTIVITIES.values() for c in ways]
    if connectivity is not None and (isinstance(connectivity, bool) or
                                     connectivity not in allowed):
        raise ValueError("connectivity must be 4 or 8 (images) or 6, 18 or 26 (volumes), "
                         f"got {shown(connectivity)}")


def image_to_signal(image: np.ndarray | torch.Tensor, channel_axis: Any = IMAGE_LAYOUT):
    """Flatten an image (or a volume) into a node signal on
    :func:`~isvs_graph.graphs.grid_graph`.

    Returns ``(signal, shape, restore)`` where ``signal`` has shape ``(p, C)`` in C
    order over the grid's ``shape`` (``(H, W)`` or ``(D, H, W)``) and ``restore`` turns
    a smoothed signal back into an array of the input's kind, layout and dtype. Integer
    images are read by value and come back rounded and clipped to their dtype.

    ``channel_axis``: by default an image in its kind's layout (``H × W`` or
    ``H × W × C`` numpy, ``H × W`` or ``C × H × W`` torch), whose channels, if they seem
    to be on the wrong axis, are refused or warned about
    (:func:`~isvs_graph._validation.check_image_layout`); ``None``, every axis is one of
    the grid's (2 or 3); an int, that axis holds the channels and the others (2 or 3)
    are the grid's, as scikit-image reads ``channel_axis``.
    """
    tensor = is_tensor(image)
    check_dense(image, "image")
    if dtype_name(image.dtype) == "bool":
        raise TypeError(_BOOLEAN.format(name="image"))
    kind = "torch" if tensor else "numpy"
    if channel_axis is IMAGE_LAYOUT:
        usual = "(H, W) or (C, H, W)" if tensor else "(H, W) or (H, W, C)"
        if image.ndim not in (2, 3):
            hint = ("; for a batch (B, C, H, W) use isvs_graph.smooth_images" if tensor
                    else "")
            raise ValueError(f"a {kind} image must have shape {usual}, got "
                             f"{tuple(image.shape)}{hint}; for a volume pass channel_axis "
                             "(None for grey, or the axis of its channels)")
        if image.ndim == 3:
            check_image_layout(tuple(image.shape), kind=kind)
        channel_axis = None if image.ndim == 2 else (0 if tensor else -1)
    elif channel_axis is not None:
        if isinstance(channel_axis, bool) or not isinstance(channel_axis, (int, np.integer)):
            raise TypeError("channel_axis must be None or an int (an axis of the image), "
                            f"got {type(channel_axis).__name__} {shown(channel_axis)}")
        if not -image.ndim <= channel_axis < image.ndim:
            raise ValueError(f"channel_axis must be None or an axis of the image (-"
                             f"{image.ndim} … {image.ndim - 1}), got {shown(channel_axis)}")
        channel_axis = int(channel_axis) % image.ndim
    spatial = image.ndim - (channel_axis is not None)
    if spatial not in (2, 3):
        raise ValueError(f"the {kind} image of shape {tuple(image.shape)} has {spatial} "
                         "axes besides its channels; a grid has 2 (an image) or 3 (a "
                         f"volume) (channel_axis = {channel_axis})")
    if 0 in image.shape:
        raise ValueError(f"image must not be empty, got shape {tuple(image.shape)}")
    move = (lambda a, src, dst: a.movedim(src, dst)) if tensor else np.moveaxis
    # One image is a batch of one, channels first: the batch conversion does the rest.
    planes = image[None] if channel_axis is None else move(image, channel_axis, 0)
    signals, shape, restore_batch = images_to_signals(planes[None], check_layout=False)

    def restore(smoothed):
        out = restore_batch(smoothed[None])[0]  # (C, *shape)
        return out[0] if channel_axis is None else move(out, 0, channel_axis)

    return signals[0], shape, restore


def smooth_image(image: np.ndarray | torch.Tensor, t: float | None = None, *,
                 sparsity: float | None = None, connectivity: int | None = None,
                 channel_axis: Any = IMAGE_LAYOUT,
                 **solver_options: Any) -> np.ndarray | torch.Tensor:
    """ISVS-smooth one image on its pixel grid, or a volume on its voxel grid.

    Parameters
    ----------
    image : numpy.ndarray or torch.Tensor
        ``H × W`` or ``H × W × C`` numpy; ``H × W`` or ``C × H × W`` torch (any
        device), with 1 to 4 channels in the layouts' usual places: a torch image that
        looks ``H × W × C`` (``32 × 32 × 3``) is refused with the fix
        (``image.permute(2, 0, 1)``), as is a numpy image that looks ``C × H × W`` and
        one with more than 4 channels (a grey ``D × H × W`` volume, most likely: pass
        ``channel_axis``), and an ambiguous one (``3 × 32 × 3``) is read as documented
        with a warning. Integer images of any dtype (uint8, int8, uint16, int64 …) are
        solved by value and returned rounded in their dtype; float images are used as
        they are. Units do not matter: the solve is scale-free. Boolean images are
        refused.
    t, sparsity : float
        The scale, exactly one, as for :func:`isvs_graph.solve`.
    connectivity : {4, 8} for an image, {6, 18, 26} for a volume, optional
        The neighbourhood (default 4, or 6 for a volume), see
        :func:`~isvs_graph.graphs.grid_graph`.
    channel_axis : None or int, optional
        Left out, ``image`` is an image in its kind's layout (above). Given, as in
        scikit-image: ``None``, every axis is spatial (a grey ``H × W`` image or
        ``D × H × W`` volume); an int, that axis holds the channels and the other two
        or three are spatial (``channel_axis=-1`` for a ``D × H × W × C`` volume).
    **solver_options
        The options of :func:`isvs_graph.solve`, as for :func:`smooth_images`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        The smoothed image, of the same kind, layout, dtype and device as ``image``
        (float16 and bfloat16 are computed in float32 and cast back), detached from
        autograd.

    Notes
    -----
    Smoothing has no gradient: a tensor that requires grad gets a warning, and the
    result does not carry one back. For a straight-through gradient (BPDA), write
    ``image + (smooth_image(image.detach(), ...) - image).detach()``.

    Examples
    --------
    >>> import numpy as np
    >>> from isvs_graph import smooth_image
    >>> image = np.zeros((4, 4), dtype=np.uint8)
    >>> image[:, 2:] = 200
    >>> smooth_image(image, t=0)[0]
    array([100, 100, 100, 100], dtype=uint8)
    >>> smooth_image(image, sparsity=0.85)[0]
    array([ 45,  45, 155, 155], dtype=uint8)

    A grey volume:

    >>> volume = np.zeros((3, 4, 4))
    >>> volume[:, :, 2:] = 1.0
    >>> smooth_image(volume, sparsity=0.9, channel_axis=None)[0, 0].round(3)
    array([0.226, 0.226, 0.774, 0.774])
    """
    check_solver_options("smooth_image", solver_options)
    signal, shape, restore = image_to_signal(image, channel_axis)
    graph = grid_canonical(*shape, connectivity=connectivity)
    return restore(solve(graph, signal, t, sparsity=sparsity, **solver_options))



def images_to_signals(images: np.ndarray | torch.Tensor, *, check_layout: bool = True):
    """A ``B × C × H × W`` batch (or ``B × C × D × H × W`` of volumes) as ``(B, p, C)``
    signals on one grid.

    Returns ``(signals, shape, restore)`` with the grid's ``shape`` (``(H, W)`` or
    ``(D, H, W)``); ``restore`` turns ``(B, p, C)``
    results back into the batch's kind, layout, dtype and device. Integer batches are
    read by value (float32 up to 16 bits, float64 beyond; the solve is scale-free, so
    their range does not matter) and come back rounded and clipped to their dtype.
    ``check_layout``: refuse a batch that looks ``B × H × W × C`` (and warn where that is
    ambiguous), see :func:`~isvs_graph._validation.check_image_layout`.
    """
    check_dense(images, "images")
    if images.ndim not in (4, 5):
        raise ValueError("images must have shape (B, C, H, W), or (B, C, D, H, W) for "
                         f"volumes, got {tuple(images.shape)}")
    if dtype_name(images.dtype) == "bool":
        raise TypeError(_BOOLEAN.format(name="images"))
    batch, channels, *shape = images.shape
    shape = tuple(int(n) for n in shape)
    if 0 in images.shape:
        raise ValueError(f"images must not be empty, got shape {tuple(images.shape)}")
    is_numpy = isinstance(images, np.ndarray)
    if check_layout and images.ndim == 4:
        check_image_layout(tuple(images.shape), kind="numpy" if is_numpy else "torch",
                           batch=True)
    integer = is_integer(images.dtype)
    signals = images
    if integer:
        # By value, never scaled by the dtype's maximum (the solve is scale-free).
        working = working_dtype(images.dtype)
        if is_numpy:
            signals = images.astype(working)
        else:
            import torch
            signals = images.to(getattr(torch, working))
    last = (0, *range(2, images.ndim), 1)  # channels last
    signals = signals.transpose(last) if is_numpy else signals.permute(last)
    signals = signals.reshape(batch, math.prod(shape), channels)
    first = (0, images.ndim - 1, *range(1, images.ndim - 1))  # channels back to axis 1

    def restore(smoothed):
        out = smoothed.reshape(batch, *shape, channels)
        out = out.transpose(first) if is_numpy else out.permute(first)
        if integer:
            out = to_dtype(out, images.dtype)
            # Constant images come back as they are, even where floats cannot hold them
            # (found on the floats: torch has no max for every unsigned dtype).
            flat = signals.reshape(batch, -1)
            constant = (flat.max(axis=1) == flat.min(axis=1)) if is_numpy else \
                (flat.amax(dim=1) == flat.amin(dim=1))
            if constant.any():
                if not is_numpy and str(out.dtype) in _SIGNED:  # torch cannot index these
                    import torch
                    signed = getattr(torch, _SIGNED[str(out.dtype)])
                    out.view(signed)[constant] = images.view(signed)[constant]
                else:
                    out[constant] = images[constant]
        return out if is_numpy else out.contiguous()

    return signals, shape, restore


def smooth_images(images: np.ndarray | torch.Tensor,
                  t: float | Sequence[float] | np.ndarray | torch.Tensor | None = None, *,
                  sparsity: float | Sequence[float] | np.ndarray | torch.Tensor | None = None,
                  connectivity: int | None = None,
                  **solver_options: Any) -> np.ndarray | torch.Tensor:
    """ISVS-smooth a batch of images (or volumes), all on one shared grid operator.

    Parameters
    ----------
    images : numpy.ndarray or torch.Tensor
        ``B × C × H × W`` (torch on any device), or ``B × C × D × H × W`` volumes; a
        batch of images that looks ``B × H × W × C``
        (``8 × 32 × 32 × 3``) is refused with the fix, an ambiguous one warned about,
        as for :func:`smooth_image`, and one of more than 4 channels warned about (grey
        ``B × D × H × W`` volumes need ``images[:, None]``). Integer batches of any
        dtype (uint8, int64 …) are solved by value and returned rounded in their dtype;
        units do not matter (the solve is scale-free). Boolean batches are refused.
    t, sparsity : float or sequence of B floats
        The scale, exactly one: one value for the whole batch or one per image
        (random scales as augmentation). Each image stops at its own iteration;
        finished images cost nothing more.
    connectivity : {4, 8} (images), {6, 18, 26} (volumes), optional
        Default 4 for images, 6 for volumes.
    **solver_options
        ``kappa``, ``nu``, ``alpha``, ``mode``, ``project``, ``tol``, ``max_iter``,
        ``jumps``, ``progress``, ``backend`` of :func:`isvs_graph.solve`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Same kind, shape, dtype and device as ``images`` (float16 and bfloat16 are
        computed in float32 and cast back), detached from autograd.

    Notes
    -----
    Smoothing has no gradient: a tensor that requires grad gets a warning, and the
    result does not carry one back. For a straight-through gradient (BPDA), write
    ``images + (smooth_images(images.detach(), ...) - images).detach()``.

    Examples
    --------
    >>> import torch
    >>> from isvs_graph import smooth_images
    >>> batch = torch.zeros(2, 3, 8, 8)
    >>> batch[:, :, :, 4:] = 1.0
    >>> smooth_images(batch, sparsity=[1.0, 0.95])[:, 0, 0].round(decimals=3)
    tensor([[0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000],
            [0.1750, 0.1750, 0.1750, 0.1750, 0.8250, 0.8250, 0.8250, 0.8250]])
    """
    check_solver_options("smooth_images", solver_options)
    signals, shape, restore = images_to_signals(images)
    graph = grid_canonical(*shape, connectivity=connectivity)
    return restore(solve(graph, signals, t, sparsity=sparsity, **solver_options))


def image_paths(images: np.ndarray | torch.Tensor, *, levels: Sequence[float] = DEFAULT_LEVELS,
                sparsity_min: float | None = None, t_max: float | None = None,
                record_times: Sequence[float] = (), connectivity: int | None = None,
                kappa: float = DEFAULT_KAPPA, nu: float = 1.0, alpha: float | None = None,
                mode: str = "joint", tol: float = DEFAULT_TOL, max_iter: int | None = None,
                jumps: bool = True, progress: bool = False) -> ISVSPath:
    """Compute the inverse-scale paths of a batch of images in one solve.

    Parameters
    ----------
    images : numpy.ndarray or torch.Tensor
        ``B × C × H × W`` (or ``B × C × D × H × W`` volumes); integers (uint8 …) are
        read by value. CUDA tensors are recorded on the CPU (paths are a CPU-side cache)
        and read back on their device.
    levels : sequence of float
        Sparsities whose iterates are recorded, so that :meth:`ISVSPath.at` is exact
        there (default 1, 0.95, …, 0.5).
    sparsity_min, t_max : float, optional
        Where the paths stop (at most one); default ``sparsity_min = min(levels)``.
    record_times : sequence of float
        Times whose iterates are recorded as well.
    connectivity, kappa, nu, alpha, mode, tol, max_iter, jumps, progress
        As for :func:`isvs_graph.smooth_images`.

    Returns
    -------
    ISVSPath
        Its reads are ``B × C × H × W`` batches of the images' kind and dtype (as
        :func:`smooth_images` returns them):
        exactly :func:`~isvs_graph.smooth_images` at the recorded levels and times,
        within :meth:`ISVSPath.bound` of it between them.

    Examples
    --------
    >>> import numpy as np
    >>> from isvs_graph import image_paths, smooth_images
    >>> images = np.random.default_rng(0).random((4, 3, 16, 16))
    >>> paths = image_paths(images, levels=[1.0, 0.8, 0.6])
    >>> bool((paths.at(sparsity=0.8) == smooth_images(images, sparsity=0.8)).all())
    True
    """
    check_at_most_one(t_max=t_max, sparsity_min=sparsity_min)
    kind = "torch" if is_tensor(images) else "numpy"
    device = "cpu"
    if kind == "torch":  # recorded on the CPU, read back on the images' device
        device = str(images.device)
        images = images.detach().cpu()
    signals, shape, _ = images_to_signals(images)
    levels = check_levels(levels)
    record_times = [check_real("record_times", v, nonnegative=True) for v in record_times]
    if sparsity_min is None and t_max is None:
        sparsity_min = levels[-1]
    graph = grid_canonical(*shape, connectivity=connectivity)
    problem = prepare(graph, signals, kappa=kappa, nu=nu, alpha=alpha, mode=mode, tol=tol,
                      max_iter=max_iter, jumps=jumps)
    dtype = output_dtype(images.dtype, images=True)
    layout = Layout("images", kind, dtype, dtype_name(problem.x.dtype),
                    tuple(int(v) for v in images.shape))
    flat = images.reshape(len(images), -1)
    exact = flat[:, 0] if is_integer(dtype) else None
    if exact is not None and is_tensor(exact):
        exact = exact.numpy()
    paths = record(problem, layout, levels=levels, record_times=record_times, t_max=t_max,
                   sparsity_min=sparsity_min, progress=progress, exact_constants=exact,
                   options={"connectivity": connectivity if connectivity is not None else
                            min(CONNECTIVITIES[len(shape)])})
    paths._device = device
    return paths
