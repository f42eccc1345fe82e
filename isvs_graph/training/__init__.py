"""Robust training with ISVS: the image-tensor transform, sparsity rules, datasets and the
path-cache dataset, classifiers, robustness baselines and attacks, and the evaluation
harness that the training example (``examples/train_classifier.py``) is built from.

``import isvs_graph`` does not import this stack; ``import isvs_graph.training`` does.
"""

from ._augment import ISVSTransform, SmoothImages  # noqa: F401 (ISVSTransform: deprecated)
from ._checkpoints import load_checkpoint, save_checkpoint
from ._corruptions import (CIFAR10C_PARAMETERS, CORRUPTIONS, SMALL_IMAGE_SIDE, corrupt,
                           corruption_table, read_cifar10c)
from ._datasets import (FASHION_MNIST_CLASSES, FASHION_MNIST_ROOT, CachedISVSDataset,
                        bundled_digits, read_cifar, read_fashion_mnist, read_idx,
                        read_image_folder)
from ._evaluation import (COLUMNS, accuracy, adversarial_accuracy, corrupted_sets, evaluate,
                          summarize, summary_table, table, write_results)
from ._models import MODELS, ResNet18, SmallCNN
from .._progress import show_progress
from ._robustness import fgsm, low_resolution, lowpass, matched_radii, pgd, psnr
from ._schedules import (DEFAULT_TIMES, CoarseToFine, Fixed, SparsityRange, SparsityRule,
                         TimeRange, as_rule)

__all__ = ["CIFAR10C_PARAMETERS", "COLUMNS", "CORRUPTIONS", "CachedISVSDataset",
           "CoarseToFine", "DEFAULT_TIMES", "FASHION_MNIST_CLASSES", "FASHION_MNIST_ROOT", "Fixed", "MODELS",
           "ResNet18", "SMALL_IMAGE_SIDE", "SmallCNN", "SmoothImages", "SparsityRange",
           "SparsityRule", "TimeRange", "accuracy", "adversarial_accuracy", "as_rule", "bundled_digits",
           "corrupt", "corrupted_sets", "corruption_table", "evaluate", "fgsm",
           "load_checkpoint", "low_resolution", "lowpass", "matched_radii", "pgd", "psnr",
           "read_cifar", "read_cifar10c", "read_fashion_mnist", "read_idx",
           "read_image_folder", "save_checkpoint", "show_progress", "summarize",
           "summary_table", "table", "write_results"]
