"""Signals in, signals out: numpy or torch in any of the accepted layouts becomes the
solver's working layout ``(p, B, C)`` and back, keeping kind, shape and device.

Floating dtypes are kept (float32 stays float32); float16 and bfloat16 are computed
and returned as float32, integers as float64 (numpy) or torch's default dtype, as
scikit-image promotes them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

WorkingSignal = tuple[torch.Tensor, Callable[[torch.Tensor], np.ndarray | torch.Tensor]]


def working_dtype(signal: np.ndarray | torch.Tensor) -> torch.dtype:
    if isinstance(signal, np.ndarray):
        if signal.dtype in (np.float32, np.float64):
            return torch.float32 if signal.dtype == np.float32 else torch.float64
        return torch.float32 if signal.dtype == np.float16 else torch.float64
    if signal.dtype in (torch.float32, torch.float64):
        return signal.dtype
    if signal.dtype in (torch.float16, torch.bfloat16):
        return torch.float32
    return torch.get_default_dtype()


def to_working(signal: np.ndarray | torch.Tensor) -> WorkingSignal:
    """Return the signal as a ``(p, B, C)`` tensor and a function that turns a
    ``(p, B, C)`` result back into the caller's kind and layout."""
    dtype = working_dtype(signal)
    is_numpy = isinstance(signal, np.ndarray)
    tensor = torch.from_numpy(np.ascontiguousarray(signal)) if is_numpy else signal
    tensor = tensor.detach().to(dtype)  # smoothing is not differentiated through
    ndim = tensor.ndim
    if ndim == 1:
        working = tensor[:, None, None]
    elif ndim == 2:
        working = tensor[:, None, :]
    else:
        working = tensor.permute(1, 0, 2)

    def restore(result: torch.Tensor) -> np.ndarray | torch.Tensor:
        if ndim == 1:
            result = result[:, 0, 0]
        elif ndim == 2:
            result = result[:, 0, :]
        else:
            result = result.permute(1, 0, 2)
        result = result.contiguous()
        return result.cpu().numpy() if is_numpy else result

    return working, restore


def output_dtype(dtype: np.dtype | torch.dtype) -> np.dtype:
    """The dtype an image function returns for input of ``dtype``: integers and
    float32/float64 are kept, other floats (float16, bfloat16) become float32."""
    name = str(dtype).removeprefix("torch.")
    if name.startswith(("int", "uint")) or name in ("float32", "float64"):
        return np.dtype(name)
    return np.dtype(np.float32)


def to_dtype(values: np.ndarray | torch.Tensor,
             dtype: np.dtype | torch.dtype) -> np.ndarray | torch.Tensor:
    """``values`` (floats) cast to ``dtype``; integer dtypes get them rounded and clipped
    to the dtype's range, as every image function returns integers."""
    is_numpy = isinstance(values, np.ndarray)
    integer = (np.dtype(dtype).kind in "iu") if is_numpy else \
        not (dtype.is_floating_point or dtype.is_complex)
    if integer:
        info = np.iinfo(dtype) if is_numpy else torch.iinfo(dtype)
        values = values.round().clip(*float_bounds(info))
    return values.astype(dtype) if is_numpy else values.to(dtype)


def float_bounds(info) -> tuple[float, float]:
    """An integer dtype's range as floats that convert back without overflow (float64
    rounds 2⁶³ − 1 up to 2⁶³, one past int64's maximum)."""
    low, high = float(info.min), float(info.max)
    if int(high) > info.max:
        high = float(np.nextafter(high, -np.inf))
    return low, high
