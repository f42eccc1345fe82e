"""Training checkpoints written atomically with a checksum, and read back only when
whole and made with the same configuration."""

from __future__ import annotations

import hashlib
import io
import json
import os

import torch

from .._io import atomic_write

__all__ = ["load_checkpoint", "save_checkpoint"]

#: Bumped when the payload's layout changes; older checkpoints are then not resumed.
CHECKPOINT_VERSION = 1


def save_checkpoint(file: str | os.PathLike, payload: dict, config: dict) -> None:
    """Write ``payload`` (tensors, numbers, state dicts) and the ``config`` that made it:
    the sha256 of the torch payload on the first line, then the payload; atomically."""
    buffer = io.BytesIO()
    torch.save({**payload, "version": CHECKPOINT_VERSION,
                "config": json.dumps(config, sort_keys=True)}, buffer)
    data = buffer.getvalue()
    with atomic_write(file) as handle:
        handle.write(hashlib.sha256(data).hexdigest().encode() + b"\n" + data)


def load_checkpoint(file: str | os.PathLike, config: dict) -> dict | None:
    """The checkpoint at ``file`` if it is whole and was made with ``config``; else
    ``None``, with a message saying why (absent files say nothing). Never unpickles
    arbitrary objects (``weights_only``)."""
    if not os.path.exists(file):
        return None
    with open(file, "rb") as handle:
        digest, _, data = handle.read().partition(b"\n")
    if hashlib.sha256(data).hexdigest().encode() != digest:
        print(f"checkpoint {os.fspath(file)} is damaged (checksum); starting afresh")
        return None
    payload = torch.load(io.BytesIO(data), weights_only=True)
    if payload.get("version") != CHECKPOINT_VERSION or \
            payload.get("config") != json.dumps(config, sort_keys=True):
        print(f"checkpoint {os.fspath(file)} was made with other options or version; "
              "starting afresh")
        return None
    return payload
