"""Names of a package imported on first use (PEP 562), so that importing the package stays light."""

from __future__ import annotations

import importlib
import sys

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, names: dict) -> tuple:
    """The ``__getattr__`` and ``__dir__`` of ``package`` whose attributes ``names`` (name -> module,
    relative to the package: ``"brian"``, ``"..connections"``) are imported when first read."""

    def __getattr__(name: str):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = names[name]
        value = getattr(importlib.import_module(module if module.startswith(".") else f".{module}", package), name)
        setattr(sys.modules[package], name, value)  # read once: later reads find it in the module
        return value

    def __dir__() -> list:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
