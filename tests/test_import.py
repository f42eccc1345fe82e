"""What importing costs: ``import isvs_graph`` loads none of the heavy libraries, every
public name still resolves on first use, and a compiled kernel is compiled once, not once
per process (numba's on-disk cache). Timings live in docs/performance.rst, not here."""

import importlib
import json
import os
import pkgutil
import subprocess
import sys

import numpy as np
import pytest

import isvs_graph

HEAVY = ("torch", "torch_geometric", "numba", "scipy.sparse", "networkx", "matplotlib")


def run(code, **env):
    """Run ``code`` in a fresh interpreter and return what it prints as JSON."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, **env}, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["isvs_graph", "isvs_graph.graphs"])
def test_import_loads_no_heavy_library(module):
    loaded = run(f"import json, sys, {module}; "
                 f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    assert loaded == []


def test_public_names_resolve_on_first_use_and_are_listed():
    code = """if True:
        import json, sys, warnings
        import isvs_graph
        from isvs_graph import solve, grid_graph
        from isvs_graph.graphs import CanonicalGraph
        result = {"dir": dir(isvs_graph), "all": isvs_graph.__all__,
                  "graphs_dir": dir(isvs_graph.graphs), "graphs_all": isvs_graph.graphs.__all__,
                  "solve": solve.__module__, "same": grid_graph is isvs_graph.grid_graph,
                  "images": isvs_graph.images.__name__,  # there when the package was eager
                  "missing": [n for n in isvs_graph.__all__ if not hasattr(isvs_graph, n)] +
                             [n for n in isvs_graph.graphs.__all__
                              if not hasattr(isvs_graph.graphs, n)]}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result["old"] = isvs_graph.ImagePaths is isvs_graph.ISVSPath
        result["warned"] = [w.category.__name__ for w in caught]
        try:
            isvs_graph.no_such_name
        except AttributeError as error:
            result["error"] = str(error)
        print(json.dumps(result))
    """
    result = run(code)
    assert set(result["all"]) <= set(result["dir"])
    assert set(result["graphs_all"]) <= set(result["graphs_dir"])
    assert result["missing"] == []
    assert result["solve"] == "isvs_graph._solve" and result["same"]
    assert result["images"] == "isvs_graph.images"
    assert result["old"] and result["warned"] == ["DeprecationWarning"]
    assert result["error"] == "module 'isvs_graph' has no attribute 'no_such_name'"


def kernel_modules():
    """Every module of the package (the deprecated aliases and ``__main__`` aside)."""
    for info in pkgutil.walk_packages(isvs_graph.__path__, "isvs_graph."):
        if info.name != "isvs_graph.__main__":
            yield importlib.import_module(info.name)


def test_every_kernel_is_cached_on_disk():
    from numba.core.registry import CPUDispatcher
    kernels = {f"{module.__name__}.{name}": value for module in kernel_modules()
               for name, value in vars(module).items() if isinstance(value, CPUDispatcher)}
    assert len(kernels) > 20  # the solver, projection, path and union-find kernels
    uncached = [name for name, kernel in kernels.items() if kernel.stats.cache_path is None]
    assert uncached == [], "njit(cache=True) missing"


# What a process compiled (cache misses) and loaded (cache hits), over every kernel.
SOLVE_AND_COUNT = """if True:
    import json, sys
    import numpy as np
    import isvs_graph
    x = np.random.default_rng(0).random((64, 3))
    isvs_graph.solve(isvs_graph.grid_graph(8, 8), x, t=1.0)
    from numba.core.registry import CPUDispatcher
    kernels = {id(v): v for name, m in list(sys.modules.items())
               if name.startswith("isvs_graph") for v in vars(m).values()
               if isinstance(v, CPUDispatcher)}
    print(json.dumps({
        "hits": sum(sum(k.stats.cache_hits.values()) for k in kernels.values()),
        "misses": sum(sum(k.stats.cache_misses.values()) for k in kernels.values())}))
"""


def test_a_second_process_loads_the_kernels_from_the_cache(tmp_path):
    cache = str(tmp_path / "numba")
    first = run(SOLVE_AND_COUNT, NUMBA_CACHE_DIR=cache)
    assert first["misses"] > 0  # compiled, into an empty cache
    assert any(name.endswith(".nbi") for _, _, files in os.walk(cache) for name in files)
    second = run(SOLVE_AND_COUNT, NUMBA_CACHE_DIR=cache)
    assert second == {"hits": second["hits"], "misses": 0} and second["hits"] > 0


NUMPY_CORE = """if True:
    import json, sys
    import numpy as np
    import isvs_graph
    from isvs_graph.graphs._grid import grid_canonical
    rng = np.random.default_rng(0)
    image = (rng.random((12, 10, 3)) * 255).astype(np.uint8)
    smoothed = isvs_graph.smooth_image(image, t=5.0)
    batch = isvs_graph.smooth_images(image.transpose(2, 0, 1)[None] / 255.0, sparsity=0.8)
    paths = isvs_graph.image_paths(image.transpose(2, 0, 1)[None], levels=[1.0, 0.7])
    read = paths.at(sparsity=0.7)
    signal = isvs_graph.solve(grid_canonical(12, 10), rng.random((120, 2)), t=3.0)
    print(json.dumps({"loaded": [m for m in ("torch", "torch_geometric") if m in sys.modules],
                      "kinds": [type(a).__name__ for a in (smoothed, batch, read, signal)],
                      "dtypes": [str(a.dtype) for a in (smoothed, batch, read, signal)]}))
"""


def test_numpy_in_numpy_out_imports_neither_torch_nor_pyg():
    """The numpy core: images and signals as numpy arrays are smoothed, and their paths
    recorded and read, without importing torch or torch_geometric."""
    result = run(NUMPY_CORE)
    assert result["loaded"] == []
    assert result["kinds"] == ["ndarray"] * 4
    assert result["dtypes"] == ["uint8", "float64", "uint8", "float64"]


def test_the_cli_imports_neither_torch_nor_pyg(tmp_path):
    """``isvs-graph smooth`` and ``path`` on image files run on the numpy core."""
    from PIL import Image
    rng = np.random.default_rng(1)
    source = tmp_path / "in.png"
    Image.fromarray((rng.random((16, 12, 3)) * 255).astype(np.uint8)).save(source)
    code = f"""if True:
        import json, sys
        from isvs_graph.cli import main
        codes = [main(["smooth", {str(source)!r}, {str(tmp_path / 'out.png')!r},
                       "--t", "5", "--quiet"]),
                 main(["path", {str(source)!r}, {str(tmp_path / 'strip.png')!r},
                       "--quiet"])]
        print(json.dumps({{"codes": codes, "loaded": [m for m in ("torch", "torch_geometric")
                                                     if m in sys.modules]}}))
    """
    result = run(code)
    assert result["codes"] == [0, 0]
    assert result["loaded"] == []
    assert (tmp_path / "out.png").exists() and (tmp_path / "strip.png").exists()
