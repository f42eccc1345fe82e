"""The training example: a quick run, missing data, resume after a kill, and DDP."""

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "train_classifier.py"
QUICK = ["--limit", "120", "--quiet", "--batch-size", "32"]


def run(*arguments, timeout=600, **kwargs):
    return subprocess.run([sys.executable, str(SCRIPT), *arguments], capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def weights(path: Path) -> dict:
    digest, _, data = path.read_bytes().partition(b"\n")
    assert hashlib.sha256(data).hexdigest().encode() == digest
    return torch.load(io.BytesIO(data), weights_only=True)["model"]


def test_quick_run_writes_results_table_and_plots(tmp_path):
    result = run("--epochs", "1", "--out", str(tmp_path), *QUICK)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "results.json").read_text())
    assert summary["dataset"] == "digits"
    matched = summary["lowpass"]  # matched to ISVS's PSNR at the times it trains with
    assert matched["scale"] == "t" and matched["levels"] == sorted(matched["levels"])
    assert matched["levels"][0] == 12 and matched["levels"][-1] == 24
    assert len(matched["radii"]) == len(matched["levels"]) >= 5
    assert all(0 < radius <= 2 ** 0.5 * 2 for radius in matched["radii"])
    assert summary["isvs"]["scale"] == "t" and summary["isvs"]["range"] == [12.0, 24.0]
    # How much the default smooths: coarser end, lower PSNR; no draw at a floor.
    quality = summary["isvs_psnr"]
    assert 10 < quality["coarse"] < quality["fine"] < 40
    assert set(summary["floor_hits"]) == {"isvs", "isvs+augment", "isvs-curriculum"}
    assert all(v == 0.0 for v in summary["floor_hits"].values())
    assert "median PSNR" in result.stdout and "draws at an image's floor" in result.stdout
    assert set(summary["results"]) == {"vanilla", "lowpass", "augment", "isvs",
                                       "isvs+augment", "isvs-curriculum"}
    for row in summary["results"].values():
        for key in ("clean", "corruption", "fgsm", "pgd", "lowres"):
            assert 0.0 <= row[key] <= 1.0
        assert len(row["corruption_detail"]) == 15
        assert all(len(v) == 5 for v in row["corruption_detail"].values())
    assert "| isvs |" in result.stdout
    for name in ("results.md", "corruptions.png", "severity.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_missing_data_gives_a_clear_message(tmp_path):
    result = run("--dataset", "cifar10", "--data-root", str(tmp_path / "none"),
                 "--out", str(tmp_path))
    assert result.returncode == 2
    assert "no CIFAR data" in result.stderr


def test_resume_after_a_kill_reaches_the_same_weights(tmp_path):
    arguments = ["--epochs", "3", "--methods", "vanilla", "--no-eval", *QUICK]
    whole = run(*arguments, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr[-3000:]

    killed_out = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, str(SCRIPT), *arguments, "--out",
                                str(killed_out)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    checkpoint = killed_out / "checkpoint-vanilla.pt"
    deadline = time.time() + 300
    while not checkpoint.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert checkpoint.exists()
    first = torch.load(io.BytesIO(checkpoint.read_bytes().partition(b"\n")[2]),
                       weights_only=True)["epoch"]
    assert first < 2, "the run finished before it could be killed"

    resumed = run(*arguments, "--out", str(killed_out), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming after epoch" in resumed.stdout
    a, b = weights(tmp_path / "whole" / "checkpoint-vanilla.pt"), weights(checkpoint)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_distributed_training_with_two_processes(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
         "2", str(SCRIPT), "--epochs", "1", "--methods", "isvs", "--out", str(tmp_path),
         *QUICK], capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "2 process(es)" in result.stdout
    summary = json.loads((tmp_path / "results.json").read_text())
    assert set(summary["results"]) == {"isvs"}
    assert len(list((tmp_path / "path-cache").glob("paths-*.npz"))) == 1




def test_fashion_mnist_from_a_folder_of_idx_files(tmp_path):
    import gzip
    import numpy as np
    rng = np.random.default_rng(0)
    root = tmp_path / "fashion"
    root.mkdir()
    for prefix, count in (("train", 60), ("t10k", 30)):
        for kind, array in (("images-idx3", rng.integers(0, 256, (count, 28, 28))),
                            ("labels-idx1", np.arange(count) % 10)):
            header = bytes([0, 0, 8, array.ndim]) + b"".join(
                int(n).to_bytes(4, "big") for n in array.shape)
            (root / f"{prefix}-{kind}-ubyte.gz").write_bytes(
                gzip.compress(header + array.astype(np.uint8).tobytes()))
    result = run("--dataset", "fashion-mnist", "--data-root", str(root), "--epochs", "1",
                 "--methods", "vanilla", "--no-eval", "--out", str(tmp_path / "out"), *QUICK)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fashion-mnist: 60 training and 30 test images, 10 classes" in result.stdout
    missing = run("--dataset", "fashion-mnist", "--data-root", str(tmp_path / "none"),
                  "--out", str(tmp_path / "out"))
    assert missing.returncode == 2
    assert "apt-get install dataset-fashion-mnist" in missing.stderr


def test_several_seeds_report_mean_std_and_paired_differences(tmp_path):
    result = run("--seeds", "0", "1", "--methods", "vanilla", "isvs", "--epochs", "2",
                 "--out", str(tmp_path), *QUICK)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "results.json").read_text())
    assert summary["seeds"] == [0, 1] and set(summary["runs"]) == {"0", "1"}
    for seed in ("0", "1"):
        for method in ("vanilla", "isvs"):
            assert len(summary["runs"][seed][method]["epoch_seconds"]) == 2
    isvs, runs = summary["summary"]["isvs"]["pgd"], summary["runs"]
    pgd = [runs[s]["isvs"]["pgd"] for s in ("0", "1")]
    diff = [runs[s]["isvs"]["pgd"] - runs[s]["vanilla"]["pgd"] for s in ("0", "1")]
    assert abs(isvs["mean"] - sum(pgd) / 2) < 1e-12
    assert abs(isvs["diff_mean"] - sum(diff) / 2) < 1e-12
    table = (tmp_path / "results.md").read_text()
    assert "±" in table and "| isvs − vanilla |" in table
    assert (tmp_path / "checkpoint-isvs-seed1.pt").exists()


def test_sweep_picks_a_range_on_a_validation_split(tmp_path):
    (tmp_path / "results.json").write_text('{"a training run": true}')
    result = run("--sweep", "--epochs", "1", "--sweep-ranges", "8", "16", "16", "32",
                 "--out", str(tmp_path), *QUICK)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = json.loads((tmp_path / "sweep.json").read_text())
    # 20 % of each class of the 120 images held out (rounded per class).
    assert sweep["validation_images"] + sweep["train_images"] == 120
    assert 20 <= sweep["validation_images"] <= 28
    assert "test set is not read" in result.stdout
    assert set(sweep["runs"]) == {"vanilla", "isvs 8-16", "isvs 16-32"}
    coarse, fine = sweep["runs"]["isvs 8-16"], sweep["runs"]["isvs 16-32"]
    assert coarse["psnr"]["fine"] < fine["psnr"]["fine"]  # a larger time keeps more
    eligible = {name: row for name, row in sweep["runs"].items() if name != "vanilla"
                and row["clean"] >= sweep["runs"]["vanilla"]["clean"] - 0.02}
    if eligible:
        best = max(eligible.values(), key=lambda row: row["robustness"])
        assert sweep["chosen"] == best["range"]
    else:
        assert sweep["chosen"] is None
    assert (tmp_path / "sweep.png").stat().st_size > 0 and "| isvs 8-16" in \
        (tmp_path / "sweep.md").read_text()
    # A training run's results in the same folder are left as they were.
    assert json.loads((tmp_path / "results.json").read_text()) == {"a training run": True}
    bad = run("--sweep", "--sweep-ranges", "8", "--out", str(tmp_path), *QUICK)
    assert bad.returncode == 2 and "pairs LOW HIGH" in bad.stderr
    bad = run("--sweep", "--isvs-scale", "sparsity", "--out", str(tmp_path), *QUICK)
    assert bad.returncode == 2 and "needs --sweep-ranges" in bad.stderr


def test_the_isvs_scale_and_range_are_checked(tmp_path):
    result = run("--isvs-scale", "sparsity", "--isvs-range", "0.6", "1.2", "--out",
                 str(tmp_path), *QUICK)
    assert result.returncode == 2 and "out of range for --isvs-scale sparsity" in result.stderr
