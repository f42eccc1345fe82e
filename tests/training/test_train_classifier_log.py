"""The training example reads well in a log: --help before the heavy imports, each
default stated once, no bars in a file, warnings one line each and counted, legends
clear of the data."""

import argparse
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import isvs_graph.training as training
from isvs_graph import ConvergenceWarning

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "train_classifier.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("train_classifier_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def imported_modules(stderr: str) -> set[str]:
    """The modules ``python -X importtime`` reports as imported."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


# ------------------------------------------------------------------------ --help
@pytest.mark.parametrize("arguments, status", [(["--help"], 0), (["--epochs", "0"], 2)])
def test_help_and_bad_options_answer_before_torch_loads(arguments, status):
    result = subprocess.run([sys.executable, "-X", "importtime", str(SCRIPT), *arguments],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == status, result.stderr[-2000:]
    if status == 0:
        assert "--isvs-range LOW HIGH" in result.stdout
    else:
        assert "--epochs: expected an integer >= 1, got 0" in result.stderr
    modules = imported_modules(result.stderr)
    assert "argparse" in modules  # the report is there to be read
    heavy = {name for name in modules if name.split(".")[0] in
             ("torch", "numpy", "torch_geometric", "numba", "matplotlib")}
    assert not heavy, sorted(heavy)[:10]


@pytest.mark.parametrize("arguments, says", [
    (["--isvs-value", "-5"], "--isvs-value: expected a finite number >= 0, got -5"),
    (["--isvs-range", "12", "inf"], "--isvs-range: expected a finite number >= 0, got inf"),
    (["--isvs-value", "nan"], "--isvs-value: expected a finite number >= 0, got nan"),
    (["--isvs-scale", "sparsity", "--isvs-value", "3"], "--isvs-value 3 is not a sparsity"),
    (["--isvs-levels", "1.5"], "--isvs-levels: expected a finite number >= 0 and <= 1"),
    (["--lowpass-radius", "0"], "--lowpass-radius: expected a finite number > 0, got 0"),
    (["--num-workers", "-3"], "--num-workers: expected an integer >= 0, got -3"),
    (["--lr", "nan"], "--lr: expected a finite number > 0, got nan"),
    (["--eps", "-4"], "--eps: expected a finite number >= 0, got -4"),
    (["--seed", "-1"], "--seed: expected an integer >= 0, got -1"),
    (["--seeds", "0", "0"], "--seeds 0 0 repeats a seed"),
])
def test_values_no_run_can_use_are_refused_when_parsed(example, capsys, arguments, says):
    # (Each was taken, and failed after the data loaded or, for --isvs-value, after
    # training, losing the other methods' results; a negative --eps attacked backwards.)
    with pytest.raises(SystemExit) as exit_:
        example.parse(arguments)
    assert exit_.value.code == 2 and says in capsys.readouterr().err
    assert example.parse(["--seeds", "0", "1", "--eps", "0", "--lr", "0.1"]).seeds == [0, 1]


def option_blocks(help_text: str) -> dict[str, str]:
    """``--option``: its lines in ``--help``, joined."""
    blocks, name = {}, None
    for line in help_text.split("options:", 1)[1].splitlines():
        match = re.match(r"  (-{1,2}[\w-]+)", line)
        if match:
            name = match.group(1)
            blocks[name] = ""
        if name is not None:
            blocks[name] += " " + line.strip()
    return blocks


def test_help_states_each_default_once(example):
    parser = example.build_parser()
    blocks = option_blocks(parser.format_help())
    for action in parser._actions:
        name = action.option_strings[-1]
        if name == "--help":
            continue
        text = blocks[name]
        assert text.count("default") <= 1, text
        if action.default is not None and action.default is not False:
            assert text.count("(default: ") == 1, text
        assert "(default: None)" not in text and "(default: False)" not in text, text
    assert "(default: 0.9 0.8 0.7 0.6)" in blocks["--isvs-levels"]
    assert "(default: cuda if available, else cpu)" in blocks["--device"]
    assert "(default: --seed only)" in blocks["--seeds"]


def test_the_formatter_adds_a_default_only_where_none_is_stated(example):
    parser = argparse.ArgumentParser(formatter_class=example.DefaultsOnceFormatter)
    parser.add_argument("--stated", help="a thing (default: the other thing)")
    parser.add_argument("--value", type=int, default=3, help="a number")
    parser.add_argument("--percent", type=int, default=5, help="a share in %%")
    parser.add_argument("--flag", action="store_true", help="a switch")
    blocks = option_blocks(parser.format_help())
    assert blocks["--stated"].endswith("a thing (default: the other thing)")
    assert blocks["--value"].endswith("a number (default: 3)")
    assert blocks["--percent"].endswith("a share in % (default: 5)")
    assert blocks["--flag"].endswith("a switch")


def test_the_help_constants_are_the_librarys(example):
    assert example.DEFAULT_TIMES == training.DEFAULT_TIMES
    assert example.FASHION_MNIST_ROOT == training.FASHION_MNIST_ROOT
    assert example.MODEL_NAMES == tuple(training.MODELS)


# ---------------------------------------------------------------------- warnings
def test_warnings_print_once_per_kind_and_are_counted(example):
    stream = io.StringIO()
    with warnings.catch_warnings():
        warnings.resetwarnings()  # no filter: Python's default, once per place
        with example.WarningTally(stream) as tally:
            for draw in range(3):
                warnings.warn(f"stopped at the floor\n  (draw {draw})", ConvergenceWarning)
            warnings.warn("an aside", UserWarning)
    assert stream.getvalue().splitlines() == [
        "warning: ConvergenceWarning: stopped at the floor (draw 0)",
        "warning: UserWarning: an aside"]
    assert tally.counts == {"ConvergenceWarning": 3, "UserWarning": 1}
    assert tally.summary() == ("4 warnings: 3 × ConvergenceWarning (stopped at the floor "
                               "(draw 0)), 1 × UserWarning (an aside)")


def test_no_warnings_and_one_warning_read_right(example):
    with example.WarningTally(io.StringIO()) as tally:
        pass
    assert tally.summary() == "no warnings"
    with warnings.catch_warnings():
        warnings.resetwarnings()
        with example.WarningTally(io.StringIO()) as tally:
            warnings.warn("once")
    assert tally.summary() == "1 warning: 1 × UserWarning (once)"


def test_the_tally_leaves_error_filters_and_restores_everything(example):
    shown, filters = warnings.showwarning, list(warnings.filters)
    # pytest's configuration turns ConvergenceWarning into an error: still so inside.
    with example.WarningTally(io.StringIO()):
        with pytest.raises(ConvergenceWarning):
            warnings.warn("at the floor", ConvergenceWarning)
    assert warnings.showwarning is shown and warnings.filters == filters
    tally = example.WarningTally(io.StringIO())
    with tally:
        with pytest.raises(RuntimeError, match="already active"):
            tally.__enter__()


def test_main_takes_a_list_of_options(example):
    with pytest.raises(TypeError, match="a list of options, not one string"):
        example.main("--epochs 1")


def test_importing_the_example_changes_no_warning_setting():
    shown, filters = warnings.showwarning, list(warnings.filters)
    spec = importlib.util.spec_from_file_location("train_classifier_again", SCRIPT)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert warnings.showwarning is shown and warnings.filters == filters


# Runs the job as ``python train_classifier.py`` does, with the data loader warning
# three times (ConvergenceWarning) and once (UserWarning).
DRIVER = """
import runpy, sys, warnings
import isvs_graph.training as training
from isvs_graph import ConvergenceWarning
original = training.bundled_digits
def digits(*args, **kwargs):
    for draw in range(3):
        warnings.warn(f"stopped at the floor (draw {draw})", ConvergenceWarning)
    warnings.warn("an aside")
    return original(*args, **kwargs)
training.bundled_digits = digits
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""

SMALL = ["--methods", "isvs", "--epochs", "1", "--limit", "40", "--test-limit", "20",
         "--batch-size", "20", "--pgd-steps", "2"]


def test_a_redirected_run_has_no_bars_and_one_line_per_warning(tmp_path):
    result = subprocess.run([sys.executable, "-c", DRIVER, str(SCRIPT), *SMALL, "--out",
                             str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "\r" not in result.stdout + result.stderr
    assert "it/s" not in result.stderr and "%|" not in result.stderr
    assert result.stderr.splitlines() == [
        "warning: ConvergenceWarning: stopped at the floor (draw 0)",
        "warning: UserWarning: an aside"]
    assert result.stdout.rstrip().endswith(
        "4 warnings: 3 × ConvergenceWarning (stopped at the floor (draw 0)), "
        "1 × UserWarning (an aside)")
    assert "digits: 40 training and 20 test images" in result.stdout
    assert set(json.loads((tmp_path / "results.json").read_text())["results"]) == {"isvs"}


def test_a_run_on_a_terminal_draws_bars(tmp_path):
    fcntl, pty, termios = (pytest.importorskip(name) for name in ("fcntl", "pty", "termios"))
    import struct
    leader, follower = pty.openpty()
    # 24 rows of 80 columns: a new pseudo-terminal has 0 columns, where tqdm draws nothing.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen([sys.executable, str(SCRIPT), "--methods", "vanilla",
                                "--epochs", "1", "--limit", "40", "--batch-size", "20",
                                "--no-eval", "--out", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    written = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        written += chunk
    os.close(leader)
    assert process.wait(timeout=600) == 0, written[-2000:]
    assert b"\r" in written and b"vanilla epoch 1/1" in written


# ------------------------------------------------------------------------ plots
def test_legends_lie_outside_the_axes(example, tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    figures = []
    monkeypatch.setattr(Figure, "savefig",
                        lambda self, *args, **kwargs: figures.append(self))
    detail = {name: [0.3 + 0.04 * i] * 5 for i, name in enumerate(training.CORRUPTIONS)}
    results = {method: {"corruption_detail": detail} for method in example.METHODS}
    example.plots(results, tmp_path)
    assert len(figures) == 2
    for figure in figures:
        (ax,) = figure.axes
        legend = ax.get_legend()
        assert legend is not None
        assert len(legend.get_texts()) == len(example.METHODS)
        box = legend.get_window_extent()
        assert not box.overlaps(ax.get_window_extent())
        # ...and inside the figure, so that it is saved.
        assert figure.bbox.contains(*box.p0) and figure.bbox.contains(*box.p1)
