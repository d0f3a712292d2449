"""``vr-brian study``: discovery of studies, listing, dispatch, and the shared output helpers."""

import json
import math

import numpy as np
import pytest

from studies import cli
from vr_brian_app.cli import main as vr_brian_main

STUDIES = ("fig2_dynamics", "psp_amplitude", "rate_response", "dt_convergence", "runaway_stability")


def test_discover_finds_every_study_with_the_first_line_of_its_readme():
    found = cli.discover()
    for name in STUDIES:
        title = (cli.STUDIES_DIR / name / "README.md").read_text().splitlines()[0].lstrip("#").strip()
        assert found[name] == title


def test_discover_needs_a_run_py_that_defines_main(tmp_path):
    def study(name, run=None, readme=None):
        (tmp_path / name).mkdir()
        if run is not None:
            (tmp_path / name / "run.py").write_text(run)
        if readme is not None:
            (tmp_path / name / "README.md").write_text(readme)

    study("good", "import sys\n\ndef main(argv):\n    return 0\n", "\n# A good study\n\nbody\n")
    study("no_readme", "def main(argv=None):\n    return 0\n")
    study("no_main", "def run(argv):\n    return 0\n", "# no main\n")
    study("no_run", None, "# only a README\n")
    study("broken", "def main(:\n", "# syntax error\n")
    study("_private", "def main(argv):\n    return 0\n", "# hidden\n")
    assert cli.discover(tmp_path) == {"good": "A good study", "no_readme": "(no README.md)"}


def test_list_prints_every_study(capsys):
    assert cli.main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in STUDIES:
        assert name in out


def test_unknown_study_is_an_error_naming_the_choices(capsys):
    assert cli.main(["no_such_study"]) == 2
    err = capsys.readouterr().err
    assert "unknown study 'no_such_study'" in err and "psp_amplitude" in err


def test_no_arguments_prints_usage(capsys):
    assert cli.main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_vr_brian_study_runs_a_study_into_out_dir(tmp_path):
    assert vr_brian_main(["study", "psp_amplitude", "--quick", "--out-dir", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["config"]["quick"] is True
    assert (tmp_path / results["figures"][0]).stat().st_size > 10_000


def test_all_runs_every_study_with_the_same_arguments_and_reports_failures(monkeypatch, capsys):
    calls = []

    def fake_run(name, argv):
        calls.append((name, list(argv)))
        if name == "second":
            raise RuntimeError("boom")
        return 0

    monkeypatch.setattr(cli, "discover", lambda root=None: {"first": "one", "second": "two", "third": "three"})
    monkeypatch.setattr(cli, "_run_study", fake_run)
    assert cli.main(["--all", "--quick"]) == 1
    assert calls == [("first", ["--quick"]), ("second", ["--quick"]), ("third", ["--quick"])]
    err = capsys.readouterr().err
    assert "study second failed: RuntimeError: boom" in err and "failed studies: second" in err


def test_all_gives_each_study_its_own_out_dir_and_honours_exclude(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(cli, "discover", lambda root=None: {"first": "one", "second": "two", "third": "three"})
    monkeypatch.setattr(cli, "_run_study", lambda name, argv: calls.append((name, list(argv))) or 0)
    assert cli.main(["--all", "--exclude", "second", "--quick", "--out-dir", str(tmp_path)]) == 0
    assert calls == [
        ("first", ["--quick", "--out-dir", str(tmp_path / "first")]),
        ("third", ["--quick", "--out-dir", str(tmp_path / "third")]),
    ]
    assert cli.main(["--all", "--exclude=nonexistent"]) == 2


def test_quick_without_out_dir_never_writes_over_the_full_results():
    args = cli.study_parser("psp_amplitude", "d").parse_args(["--quick"])
    results, figures = cli.output_paths("psp_amplitude", args)
    try:
        assert results.parent == figures
        assert cli.STUDIES_DIR not in results.parents and figures != cli.FIGURES_DIR
    finally:
        figures.rmdir()
    full = cli.study_parser("psp_amplitude", "d").parse_args([])
    assert cli.output_paths("psp_amplitude", full) == (
        cli.STUDIES_DIR / "psp_amplitude" / "results.json",
        cli.FIGURES_DIR,
    )


def test_installed_studies_ask_for_out_dir_instead_of_writing_into_site_packages(monkeypatch, tmp_path):
    installed = tmp_path / "lib" / "python3.11" / "site-packages"
    (installed / "studies").mkdir(parents=True)
    monkeypatch.setattr(cli, "STUDIES_DIR", installed / "studies")
    full = cli.study_parser("psp_amplitude", "d").parse_args([])
    with pytest.raises(SystemExit, match="installed in .*site-packages.*give --out-dir DIR"):
        cli.output_paths("psp_amplitude", full)
    elsewhere = cli.study_parser("psp_amplitude", "d").parse_args(["--out-dir", str(tmp_path / "out")])
    assert cli.output_paths("psp_amplitude", elsewhere) == (tmp_path / "out" / "results.json", tmp_path / "out")


def test_write_json_is_atomic_and_plain(tmp_path):
    path = cli.write_json(
        tmp_path / "sub" / "results.json",
        {"a": np.arange(3), "b": np.float64(math.nan), "c": (np.float32(0.5), {1: True})},
    )
    assert json.loads(path.read_text()) == {"a": [0, 1, 2], "b": None, "c": [0.5, {"1": True}]}
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]


def test_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(TypeError):
        cli.write_json(tmp_path / "results.json", {"bad": object()})
    assert list(tmp_path.iterdir()) == []
