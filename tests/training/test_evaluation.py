"""The robustness table's bookkeeping: accuracies, summaries over seeds, results files."""

import json

import numpy as np
import pytest
import torch

from isvs_graph.training import COLUMNS, accuracy, evaluate, summarize, write_results


def model():
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 2))


def test_no_images_and_no_corrupted_sets_are_refused_not_nan():
    images, labels = np.zeros((0, 3, 4, 4), np.uint8), np.zeros(0, np.int64)
    with pytest.raises(ValueError, match="no images to classify"):
        accuracy(model(), images, labels)  # (a ZeroDivisionError before)
    some = np.zeros((2, 3, 4, 4), np.uint8)
    with pytest.raises(ValueError, match="corrupted holds no corrupted sets"):
        evaluate(model(), some, np.zeros(2, np.int64), {}, progress=False)  # (NaN before)


def runs_of(methods_by_seed):
    return {seed: {m: dict.fromkeys(COLUMNS, 0.5 + 0.1 * seed) for m in methods}
            for seed, methods in methods_by_seed.items()}


def test_summaries_are_over_the_same_methods_in_every_seed():
    both = summarize(runs_of({0: ["vanilla", "isvs"], 1: ["vanilla", "isvs"]}))
    assert list(both) == ["vanilla", "isvs"] and both["isvs"]["clean"]["mean"] == 0.55
    with pytest.raises(ValueError, match=r"seed 0 has no run of isvs, which other seeds"):
        summarize(runs_of({0: ["vanilla"], 1: ["vanilla", "isvs"]}))  # (dropped silently)
    with pytest.raises(ValueError, match=r"seed 1 has no run of isvs"):
        summarize(runs_of({0: ["vanilla", "isvs"], 1: ["vanilla"]}))  # (a KeyError)
    with pytest.raises(ValueError, match="runs holds no seed"):
        summarize({})  # (an IndexError)


def test_results_files_are_strict_json(tmp_path):
    summary = {"results": {"vanilla": {**dict.fromkeys(COLUMNS, 0.5), "clean": float("nan")}},
               "notes": [float("inf"), 1.0]}
    write_results(tmp_path, summary)
    text = (tmp_path / "results.json").read_text()
    read = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
    assert read["results"]["vanilla"]["clean"] is None and read["notes"] == [None, 1.0]
    assert (tmp_path / "results.md").exists()
