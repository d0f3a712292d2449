"""The README's Python blocks run as written, each in a fresh namespace and a scratch folder."""

import re
import warnings
from pathlib import Path

import pytest
from brian2 import prefs

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list:
    """(section heading, code) of every ```python block of the README, in order."""
    text = README.read_text()
    blocks = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        headings = re.findall(r"^#+ (.+)$", text[: match.start()], re.M)
        blocks.append((headings[-1] if headings else "top", match.group(1)))
    return blocks


BLOCKS = python_blocks()


def test_readme_shows_every_entry_point():
    code = "\n".join(block for _, block in BLOCKS)
    for name in ("simulate(", "vr_synapses(", "connect_layers(", "add_u_prev_update(", "load_network(", "train("):
        assert name in code, name


@pytest.mark.parametrize("heading, code", BLOCKS, ids=[f"{k + 1}-{h}" for k, (h, _) in enumerate(BLOCKS)])
def test_readme_block_runs(heading, code, tmp_path, monkeypatch):
    """On the numpy target (a user's default, cython, would compile the model first)."""
    monkeypatch.chdir(tmp_path)
    previous, prefs.codegen.target = prefs.codegen.target, "numpy"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            exec(compile(code, f"README.md ({heading})", "exec"), {"__name__": "__readme__"})
    finally:
        prefs.codegen.target = previous
