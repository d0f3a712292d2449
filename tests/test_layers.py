"""The rooms' import rules (ARCHITECTURE.md), read from the source and checked by importing.

- vr_brian (the library) imports neither gradients nor studies nor the app, anywhere;
- gradients (the trainer) imports neither studies nor the app, and loads no Brian2 (nor numba)
  when imported: Brian2 only where a run asks for it, inside a function;
- vr_brian_app (the app) imports no study (``vr-brian study`` names studies.cli by string);
- studies may import everything, but no private name (``_x``) of the other rooms.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("vr_brian", "gradients", "vr_brian_app", "studies")
#: room -> the top-level packages none of its modules may import
FORBIDDEN = {
    "vr_brian": {"gradients", "studies", "vr_brian_app"},
    "gradients": {"studies", "vr_brian_app"},
    "vr_brian_app": {"studies"},
}
#: what the trainer may import inside functions only (a run that needs them asks for them)
LAZY_IN_GRADIENTS = {
    "brian2",
    "numba",
    "matplotlib",
    "scipy",
    "tqdm",
    "torch",
    "gradients.kernels",
    "gradients.csr_kernels",
}
#: the compiled kernels: numba at their top, and they themselves imported on first use only
KERNELS = {"gradients/kernels.py", "gradients/csr_kernels.py"}


def modules(room: str) -> list:
    return sorted((ROOT / room).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path):
    """(imported module, imported names, at module level?) for every import statement of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    top_level = {id(node) for node in tree.body}
    top_level |= {id(child) for node in tree.body if isinstance(node, (ast.If, ast.Try)) for child in ast.walk(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, (), id(node) in top_level
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            yield module, tuple(alias.name for alias in node.names), id(node) in top_level
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and not node.args[0].value.startswith(".")
        ):
            yield node.args[0].value, (), False


def violations(room: str) -> list:
    found = []
    for path in modules(room):
        where = path.relative_to(ROOT)
        for module, names, at_module_level in imports(path):
            top = module.split(".")[0]
            if top in FORBIDDEN.get(room, ()):
                found.append(f"{where}: imports {module}")
            lazy = {top, module, *(f"{module}.{name}" for name in names)} & LAZY_IN_GRADIENTS
            if room == "gradients" and at_module_level and lazy and not (str(where) in KERNELS and top == "numba"):
                found.append(f"{where}: imports {module} at module level")
            if room == "studies" and top in ROOMS and top != "studies":
                found += [
                    f"{where}: imports the private name {name} of {module}"
                    for name in names
                    if name.startswith("_") and name != "__version__"
                ]
    return found


@pytest.mark.parametrize("room", ROOMS)
def test_no_room_imports_what_its_rules_forbid(room):
    assert modules(room), f"no modules found under {room}/"
    assert violations(room) == []


def test_the_walk_sees_relative_function_level_and_by_name_imports(tmp_path, monkeypatch):
    """The check itself: a forbidden import inside a function, a relative one and one by name are all found."""
    fake = tmp_path / "vr_brian"
    (fake / "sub").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "sub" / "__init__.py").write_text("")
    (fake / "sub" / "mod.py").write_text(
        "import importlib\n\ndef f():\n    from gradients import train\n    importlib.import_module('studies.cli')\n"
    )
    (fake / "other.py").write_text("from .sub import mod\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert violations("vr_brian") == [
        "vr_brian/sub/mod.py: imports gradients",
        "vr_brian/sub/mod.py: imports studies.cli",
    ]
    assert [m for m, _, _ in imports(fake / "other.py")] == ["vr_brian.sub"]


def _loaded_by(statement: str) -> set:
    code = f"import sys\n{statement}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    return set(out.stdout.split())


def test_importing_gradients_loads_neither_brian2_nor_numba():
    """Every module of the trainer, and the library modules it uses, import without Brian2."""
    every = [module_name(p) for p in modules("gradients") if p.stem not in ("kernels", "csr_kernels")]
    loaded = _loaded_by("\n".join(f"import {name}" for name in every))
    assert "gradients" in loaded and "vr_brian" in loaded
    assert not loaded & {"brian2", "numba", "scipy", "matplotlib", "sympy", "torch"}


def test_importing_vr_brian_loads_no_brian2_until_a_brian2_name_is_used():
    assert "brian2" not in _loaded_by("import vr_brian\nvr_brian.VRParams(alpha=0.3)")
    assert "brian2" in _loaded_by("import vr_brian\nvr_brian.vr_neuron_group")
