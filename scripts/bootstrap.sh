#!/usr/bin/env bash
# Set up (or refresh) a virtual environment in .venv with isvs_graph and its test
# and example dependencies. Safe to run again: it installs only what is missing.
#
# PyTorch: when the environment has no torch yet, install 2.13.0 first, so that the
# package's torch range is met by the build pip finds: the CPU build on this project's
# machines (their pip reads local wheels); from PyPI on Linux a multi-GB CUDA build
# (see the README: install the torch of your choice into .venv first).
# An environment that already has a torch (a CUDA build, say) keeps it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
py=.venv/bin/python
"$py" -m pip install --quiet --upgrade pip
if ! "$py" -c "import torch" >/dev/null 2>&1; then
  "$py" -m pip install --quiet "torch==2.13.0"
fi
"$py" -m pip install --quiet -e ".[test,examples,docs]"
# Compile the numba kernels into their on-disk cache now (about a minute, once; quick
# when the cache is already warm), so that the main job and the README's examples load
# them instead of compiling on first use.
"$py" -m isvs_graph._warm
"$py" -c "import isvs_graph, torch; print(f'isvs_graph ready: torch {torch.__version__}')"
