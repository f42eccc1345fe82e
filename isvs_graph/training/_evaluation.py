"""The evaluation harness: accuracy on clean, corrupted, attacked and low-resolution
test images, the corrupted test sets themselves, and the results table."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .._io import atomic_write
from ._corruptions import CORRUPTIONS, corrupt, read_cifar10c
from .._progress import show_progress
from ._robustness import fgsm, low_resolution, pgd

__all__ = ["COLUMNS", "accuracy", "adversarial_accuracy", "corrupted_sets", "evaluate",
           "summarize", "summary_table", "table", "write_results"]

#: The summary metrics of :func:`evaluate`, in the order :func:`table` prints them.
COLUMNS = ("clean", "corruption", "fgsm", "pgd", "lowres")

Transform = Callable[[torch.Tensor], torch.Tensor]
Attack = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor, torch.Generator],
                  torch.Tensor]


def _device(model: torch.nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _floats(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 images as floats in [0, 1]; float images as they are."""
    batch = torch.as_tensor(images)
    return batch.float() / 255.0 if batch.dtype == torch.uint8 else batch.float()


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: np.ndarray | torch.Tensor,
             labels: np.ndarray | torch.Tensor, *, batch_size: int = 256,
             transform: Transform | None = None) -> float:
    """Fraction of ``images`` (``N × C × H × W``, uint8 or floats in [0, 1]) that
    ``model`` classifies as ``labels``, after ``transform`` if given."""
    if not len(images):
        raise ValueError("no images to classify: an accuracy needs one at least")
    model.eval()
    device, correct = _device(model), 0
    for start in range(0, len(images), batch_size):
        batch = _floats(images[start:start + batch_size]).to(device)
        if transform is not None:
            batch = transform(batch)
        target = torch.as_tensor(labels[start:start + batch_size]).to(device)
        correct += (model(batch).argmax(1) == target).sum().item()
    return correct / len(images)


def adversarial_accuracy(model: torch.nn.Module, images: np.ndarray | torch.Tensor,
                         labels: np.ndarray | torch.Tensor, attack: Attack, *,
                         batch_size: int = 128, transform: Transform | None = None,
                         seed: int = 0) -> float:
    """Accuracy on the images ``attack(model, images, labels, generator)`` returns,
    after ``transform`` if given; the attack's random starts come from ``seed``."""
    model.eval()
    device, correct = _device(model), 0
    generator = torch.Generator().manual_seed(seed)
    for start in range(0, len(images), batch_size):
        batch = _floats(images[start:start + batch_size]).to(device)
        target = torch.as_tensor(labels[start:start + batch_size]).to(device)
        adversarial = attack(model, batch, target, generator)
        with torch.no_grad():
            if transform is not None:
                adversarial = transform(adversarial)
            correct += (model(adversarial).argmax(1) == target).sum().item()
    return correct / len(images)


def corrupted_sets(images: np.ndarray, labels: np.ndarray, *, seed: int = 0,
                   severities: Iterable[int] = range(1, 6),
                   cifar10c: str | os.PathLike | None = None,
                   progress: bool = True) -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]:
    """``{(corruption, severity): (images, labels)}`` for the 15 corruptions, made once
    and shared by every model evaluated: generated from the uint8 test ``images`` by
    :func:`corrupt` (each set reproducible from ``seed``; the CIFAR-10-C strengths for
    images under :data:`SMALL_IMAGE_SIDE` pixels, the ImageNet-C ones above), or read
    from CIFAR-10-C files under ``cifar10c``. ``progress``: a bar over the sets, drawn
    only on a terminal (:func:`show_progress`)."""
    severities = list(severities)
    sets = {}
    bar = tqdm(total=len(CORRUPTIONS) * len(severities), desc="corrupting the test set",
               disable=not show_progress(progress))
    for number, name in enumerate(CORRUPTIONS):
        for severity in severities:
            if cifar10c is not None:
                sets[name, severity] = read_cifar10c(cifar10c, name, severity)
            else:
                sets[name, severity] = (corrupt(images, name, severity,
                                                seed=seed * 100 + number * 10 + severity),
                                        labels)
            bar.update()
    bar.close()
    return sets


def evaluate(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray,
             corrupted: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]], *,
             eps: float = 4 / 255, pgd_steps: int = 20, pgd_restarts: int = 1,
             transform: Transform | None = None, progress: bool = True,
             name: str = "model") -> dict:
    """Every metric of the robustness table for one model.

    Returns a dict with the :data:`COLUMNS` (``clean``; ``corruption``: the mean over
    corruptions of the mean over severities; ``fgsm`` and ``pgd`` at radius ``eps``;
    ``lowres``: the mean over ×2 and ×4 downsampling), the per-corruption and
    per-factor details, and whether a test-time ``transform`` was applied. The
    attacks see the transform: they differentiate through it straight-through (BPDA),
    as ``"attack": "bpda"`` in the result says. ``progress``: a bar over the
    corrupted sets, drawn only on a terminal (:func:`show_progress`).
    """
    if not corrupted:
        raise ValueError("corrupted holds no corrupted sets, whose mean accuracy the "
                         "table's corruption column is: give one at least (corrupted_sets "
                         "with a severity)")
    result = {"clean": accuracy(model, images, labels, transform=transform)}
    detail: dict[str, list[float]] = {}
    for (corruption, _), (corrupted_images, corrupted_labels) in tqdm(
            corrupted.items(), leave=False, desc=f"{name}: corruptions",
            disable=not show_progress(progress)):
        detail.setdefault(corruption, []).append(
            accuracy(model, corrupted_images, corrupted_labels, transform=transform))
    result["corruption"] = float(np.mean([np.mean(v) for v in detail.values()]))
    result["fgsm"] = adversarial_accuracy(
        model, images, labels, lambda m, x, y, g: fgsm(m, x, y, eps, transform=transform),
        transform=transform)
    result["pgd"] = adversarial_accuracy(
        model, images, labels,
        lambda m, x, y, g: pgd(m, x, y, eps, steps=pgd_steps, restarts=pgd_restarts,
                               generator=g, transform=transform),
        transform=transform)
    result["attack"] = "bpda" if transform is not None else "white-box"

    def downsampled(factor: int) -> Transform:
        if transform is None:
            return lambda batch: low_resolution(batch, factor)
        return lambda batch: transform(low_resolution(batch, factor))

    lowres = {factor: accuracy(model, images, labels, transform=downsampled(factor))
              for factor in (2, 4)}
    result["lowres"] = float(np.mean(list(lowres.values())))
    result["lowres_detail"] = {str(k): v for k, v in lowres.items()}
    result["corruption_detail"] = detail
    result["test_time_transform"] = transform is not None
    return result


def table(results: dict[str, dict]) -> str:
    """The results of :func:`evaluate` per method as a Markdown table.

    Examples
    --------
    >>> from isvs_graph.training import table
    >>> print(table({"vanilla": dict(clean=0.9, corruption=0.5, fgsm=0.2, pgd=0.1,
    ...                              lowres=0.4)}))
    | method | clean | corruption | fgsm | pgd | lowres |
    | --- | ---: | ---: | ---: | ---: | ---: |
    | vanilla | 0.900 | 0.500 | 0.200 | 0.100 | 0.400 |
    """
    lines = ["| method | " + " | ".join(COLUMNS) + " |",
             "| --- |" + " ---: |" * len(COLUMNS)]
    for method, row in results.items():
        lines.append(f"| {method} | " + " | ".join(f"{row[c]:.3f}" for c in COLUMNS) + " |")
    return "\n".join(lines)


def summarize(runs: dict[int, dict[str, dict]], baseline: str = "vanilla", *,
              compare: Sequence[str] = ()) -> dict[str, dict[str, dict[str, float]]]:
    """Mean ± std over seeds of every metric of :data:`COLUMNS`, per method, and the
    paired difference to ``baseline`` (the same seed's run), mean ± std
    (``diff_mean``, ``diff_std``); ``paired`` holds it too, and the paired difference
    to each method of ``compare`` (``paired[name] = {"mean", "std"}``).

    ``runs``: seed -> method -> :func:`evaluate` result. The std is the sample standard
    deviation (0 for one seed).

    Examples
    --------
    >>> from isvs_graph.training import summarize
    >>> runs = {s: {"vanilla": dict.fromkeys(COLUMNS, 0.5),
    ...             "isvs": dict.fromkeys(COLUMNS, 0.5 + 0.1 * s)} for s in (0, 1)}
    >>> summary = summarize(runs)
    >>> summary["isvs"]["pgd"]["mean"], round(summary["isvs"]["pgd"]["diff_mean"], 3)
    (0.55, 0.05)
    """
    seeds = list(runs)
    if not seeds:
        raise ValueError("runs holds no seed: nothing to summarize")
    methods = list(dict.fromkeys(method for seed in seeds for method in runs[seed]))
    for seed in seeds:  # the means and paired differences are over the same seeds
        missing = [method for method in methods if method not in runs[seed]]
        if missing:
            raise ValueError(f"seed {seed!r} has no run of {', '.join(missing)}, which "
                             "other seeds have: summarize runs of the same methods")
    out: dict[str, dict[str, dict[str, float]]] = {}
    for method in methods:
        out[method] = {}
        for metric in COLUMNS:
            values = np.array([runs[seed][method][metric] for seed in seeds])
            entry = {"mean": float(values.mean()),
                     "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0}
            entry["paired"] = {}
            for other in (baseline, *compare):
                if other not in runs[seeds[0]] or other == method:
                    continue
                diff = values - np.array([runs[seed][other][metric] for seed in seeds])
                entry["paired"][other] = {
                    "mean": float(diff.mean()),
                    "std": float(diff.std(ddof=1)) if len(diff) > 1 else 0.0}
            if baseline in entry["paired"] or (method == baseline and baseline in
                                               runs[seeds[0]]):
                paired = entry["paired"].get(baseline, {"mean": 0.0, "std": 0.0})
                entry["diff_mean"], entry["diff_std"] = paired["mean"], paired["std"]
            out[method][metric] = entry
    return out


def summary_table(summary: dict[str, dict[str, dict[str, float]]],
                  baseline: str = "vanilla", *, compare: Sequence[str] = ()) -> str:
    """:func:`summarize`'s result as a Markdown table: mean ± std per metric, then the
    paired difference to ``baseline`` and to each of ``compare``, mean ± std."""
    lines = ["| method | " + " | ".join(COLUMNS) + " |", "| --- |" + " ---: |" * len(COLUMNS)]
    for method, row in summary.items():
        lines.append(f"| {method} | " + " | ".join(
            f"{row[c]['mean']:.3f} ± {row[c]['std']:.3f}" for c in COLUMNS) + " |")
    for other in (baseline, *compare):
        for method, row in summary.items():
            paired = row[COLUMNS[0]].get("paired", {})
            if method == other or other not in paired or (
                    other != baseline and method == baseline):
                continue
            lines.append(f"| {method} − {other} | " + " | ".join(
                f"{row[c]['paired'][other]['mean']:+.3f} ± "
                f"{row[c]['paired'][other]['std']:.3f}" for c in COLUMNS) + " |")
    return "\n".join(lines)


def _strict(value):
    """``value`` for strict JSON: a NaN or infinite float as ``None`` (``null``; Python's
    ``NaN`` is not JSON), in dicts and lists at any depth."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(item) for item in value]
    return value


def write_results(folder: str | os.PathLike, summary: dict,
                  markdown: str | None = None, *, stem: str = "results") -> str:
    """Write ``summary`` (its ``"results"``: method -> :func:`evaluate` dict, and any
    run information) to ``folder/<stem>.json`` (strict JSON: a NaN as ``null``) and
    ``markdown`` (default its :func:`table`) to ``folder/<stem>.md``, each atomically.
    Returns the Markdown."""
    markdown = table(summary["results"]) if markdown is None else markdown
    for name, text in ((f"{stem}.json", json.dumps(_strict(summary), indent=2)),
                       (f"{stem}.md", markdown + "\n")):
        with atomic_write(os.path.join(folder, name)) as handle:
            handle.write(text.encode())
    return markdown
