"""Sphinx configuration for isvs_graph: ``sphinx-build -W -b html docs docs/_build/html``."""

import os
import re
from pathlib import Path

import isvs_graph

here = Path(__file__).resolve().parent


def project_version(pyproject: Path = here.parent / "pyproject.toml") -> str:
    """The version pyproject.toml declares: the one place the number is kept."""
    text = pyproject.read_text(encoding="utf-8")
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # Python 3.10: the [project] table's version line
        found = re.search(r'^\[project\][^\[]*?^version\s*=\s*"([^"]+)"', text, re.M | re.S)
        return found.group(1)
    return tomllib.loads(text)["project"]["version"]


project = "isvs_graph"
author = "the isvs_graph developers"
copyright = "2026, the isvs_graph developers"
release = version = project_version()

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
templates_path = ["_templates"]
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"  # the numpydoc sections say the types
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
napoleon_use_param = False  # types render as text, as numpydoc does without xref_param_type
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5"]
html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_title = "isvs_graph"
html_theme_options = {"show_toc_level": 2, "navigation_with_keys": False}

# Links into NumPy, SciPy, PyTorch and PyG need their inventories from the internet.
# Builds here and in CI have none, so they are fetched only when asked for
# (ISVS_DOCS_INTERSPHINX=1); without them those names render as plain code.
intersphinx_mapping = {}
if os.environ.get("ISVS_DOCS_INTERSPHINX"):
    intersphinx_mapping = {
        "numpy": ("https://numpy.org/doc/stable/", None),
        "scipy": ("https://docs.scipy.org/doc/scipy/", None),
        "torch": ("https://docs.pytorch.org/docs/stable/", None),
        "torch_geometric": ("https://pytorch-geometric.readthedocs.io/en/latest/", None),
    }
nitpicky = True
# Types named in numpydoc sections that are not Python objects of their own.
nitpick_ignore = [("py:class", name) for name in (
    "optional", "array", "array-like", "callable", "path", "sequence", "int or None",
)]
# Without intersphinx (no internet here or in CI) names from other packages cannot link.
if not intersphinx_mapping:
    nitpick_ignore_regex = [(r"py:.*", r"(torch|torch_geometric|numpy|np|scipy|networkx|nn|"
                                       r"matplotlib|PIL|skimage)(\..*)?")]

sphinx_gallery_conf = {
    "examples_dirs": str(here.parent / "examples"),
    "gallery_dirs": str(here / "auto_examples"),
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"train_classifier\.py",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    # Only what a script prints is shown, not the repr of a cell's last expression.
    "capture_repr": (),
    # Figures at 1x and 2x, so that they stay sharp on high-density screens.
    "image_srcset": ["2x"],
    "matplotlib_animations": False,
    "plot_gallery": "True",
}

# The command line's help, written where cli.rst includes it.
from isvs_graph.cli import build_parser, subcommands  # noqa: E402

parser = build_parser()
(here / "_generated").mkdir(exist_ok=True)
(here / "_generated" / "cli.txt").write_text(
    parser.format_help() + "".join(f"\n$ isvs-graph {name} --help\n{sub.format_help()}"
                                   for name, sub in subcommands().items()))
assert isvs_graph.__all__
