"""Files written atomically: a temporary file beside the target, then ``os.replace``.

A crash or an interrupt leaves either the previous file or the new one, never a partial one.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "write_json", "save_figure", "plain"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write) -> Path:
    """Call ``write(file)`` on a binary temporary file beside ``path``, then move it onto ``path``.

    On any error (or interrupt) the temporary file is removed and ``path`` is left as it was.
    Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; give it the usual permissions
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def plain(value):
    """A JSON-ready copy: numpy scalars and arrays become Python numbers and lists, NaN becomes None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "tolist"):
        return plain(value.tolist())
    if isinstance(value, float) and value != value:
        return None
    return value


def write_json(path, data) -> Path:
    """Write ``data`` as indented JSON, atomically; return the path."""
    text = (json.dumps(plain(data), indent=2) + "\n").encode("utf-8")
    return atomic_write(path, lambda file: file.write(text))


def save_figure(fig, path, dpi: int = 130) -> Path:
    """Save a matplotlib figure as PNG atomically and return the path.

    Draw it as a :class:`matplotlib.figure.Figure` (no pyplot state); one made by pyplot is
    closed here, so that pyplot lets go of it.
    """
    try:
        return atomic_write(path, lambda file: fig.savefig(file, format="png", dpi=dpi, bbox_inches="tight"))
    finally:
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            pyplot.close(fig)
