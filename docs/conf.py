"""Sphinx configuration for isvs_graph (the full site is built by the docs issue)."""

project = "isvs_graph"
author = "the isvs_graph developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax"]
html_static_path = ["_static"]
exclude_patterns = ["_build"]
