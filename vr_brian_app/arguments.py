"""Command-line argument types shared by the commands and the studies."""

from __future__ import annotations

import argparse

from vr_brian.params import parse_quantity

__all__ = ["quantity_arg"]


def quantity_arg(unit, name: str, *, as_quantity: bool = False):
    """An argparse type: a number with a Brian2 unit of ``unit`` ("20ms", "1 V"); a bare number is refused.

    Parameters
    ----------
    unit : brian2 Unit or str
        The dimension expected (``second`` or ``"second"``; a name needs no Brian2 import for
        the common units).
    name : str
        Named in the messages (``"--tau-m"``).
    as_quantity : bool
        Return a Brian2 quantity instead of an SI float.
    """

    def parse(text):
        try:
            value = parse_quantity(text, unit, name, bare=False)
        except (ValueError, TypeError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        if as_quantity:
            from brian2 import units

            return value * (getattr(units, unit) if isinstance(unit, str) else unit)
        return value

    parse.__name__ = name.lstrip("-")
    return parse
