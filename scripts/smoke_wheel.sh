#!/usr/bin/env bash
# Build the sdist and the wheel (the wheel from the sdist, so the sdist is checked to be
# complete), install the wheel in a fresh virtual environment in a temporary folder
# outside the source tree, and smoke-test it from there: `isvs-graph smooth` on a small
# generated PNG, and isvs_graph.solve on a small grid. Everything is removed afterwards.
#
# The fresh environment gets its dependencies from the package index pip is configured
# with; torch comes as $TORCH_SPEC (default torch==2.13.0: on the CI machines the CPU
# build, from local disk). Usage: bash scripts/smoke_wheel.sh  (from anywhere);
# ISVS_SMOKE_KEEP=1 keeps the temporary folder for a look.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-$root/.venv/bin/python}
torch_spec=${TORCH_SPEC:-torch==2.13.0}
start=$SECONDS

# The environment is 1.4 GB in some 30,000 files: on a busy disk deleting it alone took
# 82 s, in memory (/dev/shm, where it has room) a second. ISVS_SMOKE_TMPDIR chooses.
parent=${ISVS_SMOKE_TMPDIR:-}
if [ -z "$parent" ]; then
  parent=${TMPDIR:-/tmp}
  if [ -d /dev/shm ] && [ -w /dev/shm ] &&
     [ "$(df -Pk /dev/shm | awk 'NR == 2 {print $4}')" -gt 4000000 ]; then
    parent=/dev/shm
  fi
fi
work=$(mktemp -d "$parent/isvs-wheel.XXXXXX")
if [ -n "${ISVS_SMOKE_KEEP:-}" ]; then
  echo "smoke: working in $work (kept: ISVS_SMOKE_KEEP is set)"
else
  trap 'rm -rf "$work"' EXIT
fi
case "$work/" in "$root"/*) echo "smoke: $work is inside the source tree" >&2; exit 1;; esac

step() {  # step NAME COMMAND...: run quietly, show the log if it fails
  local log="$work/$1.log"; shift
  if ! "$@" >"$log" 2>&1; then
    echo "smoke: failed: $*" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

# 1. sdist and wheel, with the build backend of the development environment.
step build "$py" -m build --no-isolation --outdir "$work/dist" "$root"
wheel=$(ls "$work"/dist/*.whl)
sdist=$(ls "$work"/dist/*.tar.gz)
version=$("$py" - "$root/pyproject.toml" <<'EOF'
import sys, tomllib
print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])
EOF
)
built=$SECONDS

# 2. A fresh environment from the interpreter the development one was made from.
base=$("$py" -c 'import sys; print(sys._base_executable)')
step venv "$base" -m venv "$work/venv"
venv_py=$work/venv/bin/python
step install "$venv_py" -m pip install "$torch_spec" "$wheel"
installed=$SECONDS

# 3. The smoke test, from a folder outside the source tree.
mkdir "$work/run"
cd "$work/run"
export ISVS_VERSION=$version ISVS_VENV=$work/venv ISVS_WHEEL=$wheel ISVS_SDIST=$sdist
env -u PYTHONPATH "$venv_py" - <<'EOF'
import os, tarfile, zipfile
import numpy as np
from PIL import Image

import isvs_graph

# The installed package, not the source tree, with its metadata and licence.
assert os.path.realpath(isvs_graph.__file__).startswith(
    os.path.realpath(os.environ["ISVS_VENV"])), isvs_graph.__file__
assert isvs_graph.__version__ == os.environ["ISVS_VERSION"], isvs_graph.__version__
names = zipfile.ZipFile(os.environ["ISVS_WHEEL"]).namelist()
assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "no LICENSE in the wheel"
assert any(n.endswith("/LICENSE") for n in tarfile.open(os.environ["ISVS_SDIST"]).getnames())

# A 48 x 48 RGB image: four flat quadrants with noise, for the CLI.
rng = np.random.default_rng(0)
image = np.zeros((48, 48, 3))
image[:24, 24:] = (200, 40, 40)
image[24:, :24] = (40, 200, 40)
image[24:, 24:] = (40, 40, 200)
image = np.clip(image + rng.uniform(-20, 20, image.shape) + 20, 0, 255).astype(np.uint8)
Image.fromarray(image).save("in.png")
EOF
cli_start=$SECONDS
env -u PYTHONPATH "$work/venv/bin/isvs-graph" smooth in.png out.png --sparsity 0.9 -q
cli_done=$SECONDS
env -u PYTHONPATH "$venv_py" - <<'EOF'
import numpy as np
from PIL import Image

image, out = np.asarray(Image.open("in.png")), np.asarray(Image.open("out.png"))
assert out.shape == image.shape and out.dtype == np.uint8
# Each quadrant keeps its colour and loses its noise.
for rows in (slice(0, 24), slice(24, 48)):
    for cols in (slice(0, 24), slice(24, 48)):
        given, smoothed = image[rows, cols].reshape(-1, 3), out[rows, cols].reshape(-1, 3)
        assert np.abs(smoothed.mean(0) - given.mean(0)).max() < 6, (given.mean(0), smoothed.mean(0))
        assert smoothed.std(0).max() < given.std(0).max() / 3, smoothed.std(0)
print(f"smoke: isvs-graph smooth: {len(np.unique(out.reshape(-1, 3), axis=0))} colours "
      f"out of {len(np.unique(image.reshape(-1, 3), axis=0))}")
EOF
env -u PYTHONPATH "$venv_py" -c '
import numpy as np
import isvs_graph

graph = isvs_graph.grid_graph(16, 16)
step = np.zeros((16, 16)); step[:, 8:] = 1.0
x = (step + np.random.default_rng(1).normal(0, 0.02, step.shape)).reshape(-1)
# The 16 edges across the step are 1/30 of the 480: they enter first, nothing else splits.
u = isvs_graph.solve(graph, x, sparsity=0.966)
assert u.shape == x.shape and u.dtype == x.dtype
left, right = step.reshape(-1) == 0, step.reshape(-1) == 1
assert np.ptp(u[left]) < 1e-9 and np.ptp(u[right]) < 1e-9, "two flat halves"
assert abs(u[left].mean() - x[left].mean()) < 0.05, u[left].mean()
assert abs(u[right].mean() - x[right].mean()) < 0.05, u[right].mean()
assert np.isclose(isvs_graph.solve(graph, x, t=0.0), x.mean()).all()  # t = 0: the coarsest
print(f"smoke: isvs_graph.solve on a 16 x 16 grid: {len(np.unique(u.round(12)))} values")
'
echo "smoke: $(basename "$wheel") and $(basename "$sdist") built in $((built - start)) s," \
     "installed in a fresh venv in $((installed - built)) s, smoke-tested in" \
     "$((SECONDS - installed)) s (CLI $((cli_done - cli_start)) s); $((SECONDS - start)) s in all"
