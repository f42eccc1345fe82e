"""Checkpoints: written atomically with a checksum, refused when damaged or foreign."""

import torch

from isvs_graph.training import load_checkpoint, save_checkpoint


def test_damaged_or_foreign_checkpoints_are_not_loaded(tmp_path, capsys):
    path = tmp_path / "checkpoint.pt"
    config = {"method": "vanilla", "seed": 0}
    save_checkpoint(path, {"epoch": 3, "model": {"w": torch.ones(2)}}, config)
    loaded = load_checkpoint(path, config)
    assert loaded["epoch"] == 3 and torch.equal(loaded["model"]["w"], torch.ones(2))
    assert load_checkpoint(path, {"method": "vanilla", "seed": 1}) is None
    assert "other options" in capsys.readouterr().out
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert load_checkpoint(path, config) is None
    assert "damaged" in capsys.readouterr().out
    path.write_bytes(path.read_bytes()[:50])
    assert load_checkpoint(path, config) is None
    assert load_checkpoint(tmp_path / "absent.pt", config) is None
