"""``vr-brian study``: run the studies of this repository by name.

Usage::

    vr-brian study --list                 the studies found, with their one-line claims
    vr-brian study NAME [ARGS...]         run one study; ARGS go to the study (NAME --help)
    vr-brian study --all [--exclude A,B] [ARGS...]
                                          run every study (but A, B) in turn with the same ARGS;
                                          ``--out-dir DIR`` becomes DIR/<study> for each

A study is any folder ``studies/<name>/`` holding a ``run.py`` that defines
``main(argv)``; the first line of its ``README.md`` is its description. New studies
are found without any edit here.

This module also holds what the studies share: :func:`study_parser` (the common
``--quick`` and ``--out-dir`` options), :func:`output_paths` (which never points into an
installation: installed studies need ``--out-dir``), and atomic writers for results
(:func:`write_json`) and figures (:func:`save_figure`).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import sys
import tempfile
import time
from pathlib import Path

from vr_brian.io import save_figure, write_json  # noqa: F401  (the studies' writers)
from vr_brian_app.checkout import checkout_folder

__all__ = [
    "main",
    "discover",
    "study_parser",
    "output_paths",
    "write_json",
    "save_figure",
    "STUDIES_DIR",
    "FIGURES_DIR",
]

_USAGE = (
    "usage:\n"
    + __doc__.split("Usage::")[1].split("\n\n")[1].rstrip()
    + "\n\n"
    + __doc__.split("Usage::")[1].split("\n\n")[2].strip()
)
STUDIES_DIR = Path(__file__).resolve().parent
#: Where the figures of the full runs go: ``figures/<study>_*.png`` at the repository root.
FIGURES_DIR = STUDIES_DIR.parent / "figures"


def _defines_main(run_py: Path) -> bool:
    """Whether ``run_py`` defines a top-level ``main`` (read without importing it)."""
    try:
        tree = ast.parse(run_py.read_text(encoding="utf-8"), filename=str(run_py))
    except (OSError, SyntaxError):
        return False
    return any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)


def _description(folder: Path) -> str:
    readme = folder / "README.md"
    if not readme.is_file():
        return "(no README.md)"
    for line in readme.read_text(encoding="utf-8").splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()
    return "(empty README.md)"


def discover(root: Path | None = None) -> dict:
    """The studies under ``root`` (default: this package), as {name: description}, sorted by name.

    A study is a sub-folder whose name is a Python identifier and which holds a
    ``run.py`` defining ``main``.
    """
    root = STUDIES_DIR if root is None else Path(root)
    found = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.isidentifier() and not folder.name.startswith("_") and _defines_main(folder / "run.py"):
            found[folder.name] = _description(folder)
    return found


def _run_study(name: str, argv: list) -> int:
    module = importlib.import_module(f"{__package__ or 'studies'}.{name}.run")
    return int(module.main(list(argv)) or 0)


def _split_exclude(argv: list) -> tuple:
    """(argv without ``--exclude A,B``, the set of excluded names)."""
    rest, excluded, k = [], set(), 0
    while k < len(argv):
        if argv[k] == "--exclude" and k + 1 < len(argv):
            excluded |= {name for name in argv[k + 1].split(",") if name}
            k += 2
        elif argv[k].startswith("--exclude="):
            excluded |= {name for name in argv[k].split("=", 1)[1].split(",") if name}
            k += 1
        else:
            rest.append(argv[k])
            k += 1
    return rest, excluded


def _per_study_out_dir(argv: list, name: str) -> list:
    """``argv`` with ``--out-dir DIR`` turned into ``--out-dir DIR/<name>``, so studies do not collide."""
    out = list(argv)
    for k, arg in enumerate(out):
        if arg == "--out-dir" and k + 1 < len(out):
            out[k + 1] = str(Path(out[k + 1]) / name)
        elif arg.startswith("--out-dir="):
            out[k] = "--out-dir=" + str(Path(arg.split("=", 1)[1]) / name)
    return out


def main(argv=None) -> int:
    """Entry point of ``vr-brian study``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    studies = discover()
    if not argv or argv[0] in ("-h", "--help"):
        print(_USAGE if argv else "usage: vr-brian study NAME [ARGS] | --list | --all (--help for more)")
        return 0 if argv else 2
    if argv[0] == "--list":
        width = max((len(n) for n in studies), default=0) + 2
        for name, text in studies.items():
            print(f"{name:<{width}}{text}")
        return 0
    if argv[0] == "--all":
        rest, excluded = _split_exclude(argv[1:])
        unknown = excluded - set(studies)
        if unknown:
            print(
                f"vr-brian study --all: --exclude names unknown studies {sorted(unknown)}; "
                f"choose from {', '.join(studies)}",
                file=sys.stderr,
            )
            return 2
        failed = []
        for name in (n for n in studies if n not in excluded):
            print(f"== study {name} ==", flush=True)
            start = time.perf_counter()
            try:
                status = _run_study(name, _per_study_out_dir(rest, name))
            except Exception as error:  # one broken study must not hide the others' results
                print(f"study {name} failed: {type(error).__name__}: {error}", file=sys.stderr)
                status = 1
            print(f"== study {name}: exit {status} in {time.perf_counter() - start:.1f} s ==", flush=True)
            if status:
                failed.append(name)
        if failed:
            print(f"failed studies: {', '.join(failed)}", file=sys.stderr)
        return 1 if failed else 0
    name, rest = argv[0], argv[1:]
    if name not in studies:
        print(
            f"vr-brian study: unknown study {name!r}; choose from {', '.join(studies) or '(none found)'}",
            file=sys.stderr,
        )
        return 2
    return _run_study(name, rest)


# -- what the studies share -------------------------------------------------------------------


def study_parser(name: str, description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every study has.

    ``--quick``: a tiny configuration (seconds), for tests and smoke runs.
    ``--out-dir DIR``: write ``results.json`` and the figures into DIR instead of
    ``studies/<name>/results.json`` and ``figures/``. A ``--quick`` run without
    ``--out-dir`` writes into a fresh temporary folder, so that it never replaces the
    results of a full run.
    """
    parser = argparse.ArgumentParser(prog=f"vr-brian study {name}", description=description)
    parser.add_argument("--quick", action="store_true", help="tiny configuration for tests (seconds)")
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="folder for results.json and the figures (default: the study's folder and figures/)",
    )
    return parser


def output_paths(name: str, args) -> tuple:
    """(results.json path, figures folder) for a study run with parsed ``args``.

    The defaults are the checkout's ``studies/<name>/`` and ``figures/``; where the studies are
    installed (site-packages) there is no default, and a run without ``--out-dir`` stops, asking
    for one.
    """
    out_dir = args.out_dir
    if out_dir is None and args.quick:
        out_dir = Path(tempfile.mkdtemp(prefix=f"vr_brian_{name}_quick_"))
    if out_dir is None:
        try:
            checkout_folder("studies", "--out-dir", root=STUDIES_DIR.parent)
        except ValueError as error:
            raise SystemExit(f"vr-brian study {name}: {error}") from None
        return STUDIES_DIR / name / "results.json", FIGURES_DIR
    out_dir = Path(out_dir)
    return out_dir / "results.json", out_dir


if __name__ == "__main__":
    sys.exit(main())
