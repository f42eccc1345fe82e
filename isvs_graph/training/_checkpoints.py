"""Training checkpoints written atomically with a checksum, and read back only when
whole and made with the same configuration."""

from __future__ import annotations

import hashlib
import io
import json
import os

import numpy as np
import torch

from .._io import atomic_write

__all__ = ["load_checkpoint", "save_checkpoint"]

#: Bumped when the payload's layout changes; older checkpoints are then not resumed.
CHECKPOINT_VERSION = 1


def save_checkpoint(file: str | os.PathLike, payload: dict, config: dict) -> None:
    """Write ``payload`` (tensors, numbers, strings, lists, dicts, state dicts) and the
    ``config`` that made it: the sha256 of the torch payload on the first line, then the
    payload; atomically. numpy scalars become Python numbers and numpy arrays tensors
    (what :func:`load_checkpoint` reads back); a payload it could not read back is
    refused here, with a ``TypeError``, not written."""
    buffer = io.BytesIO()
    try:  # and what the load will do: a file saved now must resume later
        torch.save({**_loadable(payload), "version": CHECKPOINT_VERSION,
                    "config": json.dumps(config, sort_keys=True)}, buffer)
        data = buffer.getvalue()
        torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as error:
        raise TypeError(f"the checkpoint's payload holds what torch.load(weights_only=True) "
                        f"does not read back ({error}); keep to tensors, numbers, strings, "
                        "lists and dicts") from None
    with atomic_write(file) as handle:
        handle.write(hashlib.sha256(data).hexdigest().encode() + b"\n" + data)


def _loadable(value):
    """``value`` with numpy scalars as Python numbers and numpy arrays as tensors, in
    dicts, lists and tuples at any depth."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value))  # (a copy: writable, owned)
    if isinstance(value, dict):
        return {key: _loadable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_loadable(item) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value


def load_checkpoint(file: str | os.PathLike, config: dict) -> dict | None:
    """The checkpoint at ``file`` if it is whole and was made with ``config``; else
    ``None``, with a message saying why (absent files say nothing). Never unpickles
    arbitrary objects (``weights_only``). Tensors are read onto the CPU, wherever they
    were saved (``load_state_dict`` copies them to a model's device)."""
    if not os.path.exists(file):
        return None
    with open(file, "rb") as handle:
        digest, _, data = handle.read().partition(b"\n")
    if hashlib.sha256(data).hexdigest().encode() != digest:
        print(f"checkpoint {os.fspath(file)} is damaged (checksum); starting afresh")
        return None
    # On the CPU, wherever it was saved: a GPU run resumes on a machine without one, and
    # each process of a multi-GPU run moves what it reads to its own device.
    payload = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    if payload.get("version") != CHECKPOINT_VERSION or \
            payload.get("config") != json.dumps(config, sort_keys=True):
        print(f"checkpoint {os.fspath(file)} was made with other options or version; "
              "starting afresh")
        return None
    return payload
