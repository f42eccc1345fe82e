"""Progress bars: drawn on a terminal, never into a file or a pipe, never when off."""

import io
import sys

import numpy as np
import pytest

from isvs_graph.training import corrupted_sets, show_progress


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self):
        return True


def test_bars_only_on_a_terminal():
    assert show_progress(True, Terminal()) is True
    assert show_progress(True, io.StringIO()) is False
    assert show_progress(False, Terminal()) is False


def test_the_default_stream_is_stderr_at_the_call(monkeypatch):
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert show_progress() is True
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert show_progress() is False


def test_a_closed_or_plain_stream_is_no_terminal():
    closed = io.StringIO()
    closed.close()
    assert show_progress(True, closed) is False
    assert show_progress(True, object()) is False


def test_progress_must_be_a_bool():
    with pytest.raises(TypeError, match="progress must be a bool, got str"):
        show_progress("yes")


@pytest.mark.parametrize("terminal", [False, True])
def test_the_library_follows_the_rule(monkeypatch, terminal):
    images = np.random.default_rng(0).integers(0, 256, (2, 3, 32, 32), dtype=np.uint8)
    stream = Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    corrupted_sets(images, np.zeros(2, dtype=np.int64), severities=(1,))
    written = stream.getvalue()
    if terminal:
        assert "corrupting the test set" in written and "\r" in written
    else:
        assert written == ""
