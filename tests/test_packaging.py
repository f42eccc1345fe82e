"""Ready to publish: one version number (pyproject.toml's, read by the package and the
docs), a licence file with the terms the metadata declares, a citation file, a changelog,
and a CI step that installs the built wheel outside the source tree."""

import importlib.metadata
import re
import runpy
import subprocess
from pathlib import Path

import pytest
import yaml

import isvs_graph

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]


def test_the_package_and_the_docs_read_the_version_from_pyproject():
    assert isvs_graph.__version__ == VERSION, (
        "the installed metadata is stale: reinstall with pip install -e . "
        f"(installed {isvs_graph.__version__}, pyproject.toml {VERSION})")
    conf = runpy.run_path(str(ROOT / "docs" / "conf.py"))
    assert conf["release"] == conf["version"] == VERSION


def test_the_version_number_is_written_in_pyproject_only():
    literal = re.compile(rf"""["']{re.escape(VERSION)}["']""")
    places = [ROOT / "docs" / "conf.py", ROOT / "CITATION.cff",
              *sorted((ROOT / "isvs_graph").rglob("*.py"))]
    assert [str(p.relative_to(ROOT)) for p in places
            if literal.search(p.read_text(encoding="utf-8"))] == []


def test_an_uninstalled_package_has_a_version_that_says_so(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)
    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert isvs_graph.__version__ == "0+unknown"


def test_the_licence_file_holds_the_declared_bsd_3_clause_terms():
    assert PYPROJECT["project"]["license"] == "BSD-3-Clause"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = " ".join((ROOT / "LICENSE").read_text(encoding="utf-8").split())
    assert text.startswith("BSD 3-Clause License Copyright (c) 2026, the isvs_graph "
                           "developers All rights reserved.")
    for clause in (
            "Redistributions of source code must retain the above copyright notice, this "
            "list of conditions and the following disclaimer.",
            "Redistributions in binary form must reproduce the above copyright notice, "
            "this list of conditions and the following disclaimer in the documentation "
            "and/or other materials provided with the distribution.",
            "Neither the name of the copyright holder nor the names of its contributors "
            "may be used to endorse or promote products derived from this software "
            "without specific prior written permission.",
            'THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"'):
        assert clause in text


def test_the_citation_file_cites_the_paper_and_the_software():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert cff["license"] == PYPROJECT["project"]["license"]
    assert "version" not in cff  # pyproject.toml holds it
    paper = cff["preferred-citation"]
    assert paper["title"] == ("Robust Network Learning via Inverse Scale Variational "
                              "Sparsification")
    assert [a["family-names"] for a in paper["authors"]] == ["Zhou", "Liu", "Xu", "Fu", "Sun"]
    assert paper["doi"] == "10.48550/arXiv.2409.18419"
    for reference in [paper, *cff["references"]]:
        assert {"type", "title", "authors", "year"} <= set(reference)
    assert any(r["title"].startswith("Split LBI") and r["year"] == 2016
               for r in cff["references"])


def test_the_changelog_has_a_section_for_this_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\]", text, re.M)
    assert headings[0] == "Unreleased" and VERSION in headings
    assert "Keep a Changelog" in text


def test_ci_installs_the_built_wheel_after_the_tests_and_docs():
    ci = "\n".join(line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
                   .splitlines() if not line.lstrip().startswith("#"))  # commands only
    steps = [ci.index("-m pytest"), ci.index("sphinx-build"),
             ci.index("bash scripts/smoke_wheel.sh || exit 1")]
    assert steps == sorted(steps)
    assert 'if [ "$status" -eq 5 ]' in ci  # pytest collecting nothing still fails
    script = ROOT / "scripts" / "smoke_wheel.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)  # it parses
    text = script.read_text(encoding="utf-8")
    for step in ("-m build", "-m venv", "torch==2.13.0", "isvs-graph smooth",
                 "isvs_graph.solve"):
        assert step in text


@pytest.mark.parametrize("extra", ["build", "pyyaml"])
def test_the_tools_of_these_checks_are_test_dependencies(extra):
    assert any(r.startswith(extra) for r in PYPROJECT["project"]["optional-dependencies"]
               ["test"])
