"""Where the app and the studies write by default: the folders of the checkout they run from.

Run from a checkout (an editable install, or ``python -m`` in the repository), the demo writes into
``figures/`` and ``runs/``, a study into ``studies/<name>/`` and ``figures/``. An installed copy
lies in site-packages, where nothing is written: there :func:`checkout_folder` asks for a folder.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ROOT", "checkout_root", "checkout_folder"]

#: The folder that holds the packages: the repository root in a checkout, site-packages when installed.
ROOT = Path(__file__).resolve().parent.parent


def checkout_root(root: Path = ROOT) -> Path | None:
    """``root`` if it is a checkout of the repository (it holds pyproject.toml, outside site-packages), else None."""
    installed = any(part in ("site-packages", "dist-packages") for part in root.parts)
    return None if installed or not (root / "pyproject.toml").is_file() else root


def checkout_folder(relative: str, option: str, root: Path = ROOT) -> Path:
    """The checkout's folder ``relative`` (e.g. ``figures``), or a ValueError asking for ``option`` instead.

    Raises
    ------
    ValueError
        When the packages are not in a checkout (installed into site-packages): the default folder
        would lie inside the installation.
    """
    if checkout_root(root) is None:
        raise ValueError(
            f"the default folder {relative}/ belongs to a checkout of the repository, but this copy is "
            f"installed in {str(root)!r}, where nothing is written: give {option} DIR"
        )
    return root / relative
