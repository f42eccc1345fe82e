"""Checkpoints: written atomically with a checksum, refused when damaged or foreign."""

import pytest
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


def test_numpy_values_are_saved_as_they_load_and_the_unloadable_refused(tmp_path):
    import numpy as np
    config = {"lr": 0.1}
    payload = {"best": np.float64(0.5), "seen": np.arange(3), "log": [np.int64(2), 1.5],
               "model": {"w": torch.ones(2)}}
    save_checkpoint(tmp_path / "a.pt", payload, config)
    loaded = load_checkpoint(tmp_path / "a.pt", config)
    assert loaded["best"] == 0.5 and type(loaded["best"]) is float
    assert loaded["seen"].tolist() == [0, 1, 2] and loaded["log"] == [2, 1.5]
    for odd in (Unreadable(), lambda: None):  # unpickled refused; not pickled at all
        with pytest.raises(TypeError, match="does not read back"):
            save_checkpoint(tmp_path / "b.pt", {"odd": odd}, config)
        assert not (tmp_path / "b.pt").exists()


class Unreadable:
    """An object torch pickles but ``weights_only`` does not unpickle."""
