"""How the ``vr-brian`` commands end: expected failures as one line, Ctrl-C with a message.

Exit codes: 0 done; 1 the work failed (training diverged, a file could not be written); 2 the
input was refused before any work (argparse's code for bad arguments); 130 interrupted (Ctrl-C).
``--debug`` shows the traceback of an expected failure as well.

Brian2 replaces the SIGINT handler when it is imported (to stop a running simulation at the end
of its step) and its ``sys.excepthook`` prints nothing for ``KeyboardInterrupt``; when the parent
shell ignores SIGINT, its handler calls the ignored one and fails. :func:`plain_interrupts` puts the
handler that was there before Brian2 back for the time of a command, so that Ctrl-C raises
``KeyboardInterrupt`` (or stays ignored, when it was).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import traceback

__all__ = ["USAGE", "FAILED", "INTERRUPTED", "plain_interrupts", "fail", "EXPECTED"]

FAILED = 1
USAGE = 2
INTERRUPTED = 130

#: Exceptions that are a refusal of the input (exit code 2), not a fault of the program.
EXPECTED = (ValueError, TypeError, FileNotFoundError, FileExistsError, NotADirectoryError, PermissionError)


def _before_brian2(handler):
    """The handler Brian2's interrupt handler wraps, or ``handler`` itself."""
    return getattr(handler, "previous_handler", handler) if type(handler).__name__ == "_InterruptHandler" else handler


@contextlib.contextmanager
def plain_interrupts(import_brian2: bool = True):
    """Within the block, SIGINT is handled as before Brian2 was imported.

    With ``import_brian2`` Brian2 is imported first (its import installs its handler: it is replaced
    now, not when the work imports it); without, a command that never loads Brian2 starts faster.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    original = _before_brian2(signal.getsignal(signal.SIGINT))
    if original is None:  # set from outside Python
        original = signal.default_int_handler
    if import_brian2:
        import brian2  # noqa: F401

    current = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, original)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, current)


def fail(prog: str, error: BaseException, code: int, debug: bool, hint: str = "") -> int:
    """Print ``error`` as one line (with its traceback before it under ``debug``); return ``code``."""
    if debug:
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    message = str(error) or type(error).__name__
    if isinstance(error, OSError) and error.filename and error.strerror and str(error.filename) not in message:
        message = f"{error.strerror}: {error.filename!r}"
    print(f"{prog}: error: {message}{hint}", file=sys.stderr)
    return code
