"""Files written atomically: a temporary file beside the target, then ``os.replace``.

A crash or an interrupt leaves either the previous file or the new one, never a partial one.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "write_json", "save_figure", "plain", "check_output_dir", "remove_temporaries"]


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


def check_output_dir(path, name: str = "output folder") -> Path:
    """Make sure files can be written into the folder ``path`` (creating it), before any work is done.

    Refuses, naming ``name``: a path that is a file, a parent that is a file, and a folder that
    cannot be created or written into (checked by creating and removing a temporary file there).

    Raises
    ------
    NotADirectoryError, PermissionError, OSError
        With a message naming ``name`` and ``path``.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{name} {str(path)!r} is a file, not a folder: choose a folder")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(f"{name} {str(path)!r} lies under {str(parent)!r}, which is a file")
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=path, prefix=".write-check.", suffix=".tmp")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise type(error)(f"{name} {str(path)!r} cannot be written into ({error.strerror or error})") from None
    return path


def remove_temporaries(folder, names) -> list:
    """Remove what interrupted :func:`atomic_write` calls left in ``folder`` for the files ``names``.

    A write killed before its ``os.replace`` leaves ``.NAME.XXXX.tmp`` beside ``NAME``; those of
    ``names`` (and of the write check of :func:`check_output_dir`) are removed. Returns the paths
    removed. Only call it where no other process writes these files at the same time.
    """
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    prefixes = tuple(f".{name}." for name in names) + (".write-check.",)
    for entry in folder.iterdir():
        if entry.name.startswith(prefixes) and entry.name.endswith(".tmp") and entry.is_file():
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


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
