"""The ``vr-brian`` command: ``vr-brian COMMAND [ARGS]``; ``vr-brian COMMAND --help`` for each.

Every command lives in its own module, which provides ``main(argv)``; a new command is one more
entry of :data:`COMMANDS`. The modules are imported by name when their command runs, so that
``vr-brian --help`` loads none of them (``study`` dispatches into the studies, which stand
above the app: see ARCHITECTURE.md).
"""

from __future__ import annotations

import importlib
import sys

#: command -> (module providing main(argv), one-line description)
COMMANDS = {
    "demo": ("vr_brian_app.demo", "run a small built-in network end to end and save its figure and numbers"),
    "train": ("vr_brian_app.train", "train a VR-C-LIF network on spike arrays with targets"),
    "study": ("studies.cli", "run one study by name (vr-brian study --list)"),
    "genn": ("vr_brian_app.genn", "generate (and, with GENN_PATH, build and run) GeNN code for a network"),
    "fit": ("vr_brian_app.fit", "fit VR-C-LIF, C-LIF or AdEx to a recording file, scored on held-out data"),
}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.splitlines()[0] + "\n\ncommands:")
        for name, (_, text) in COMMANDS.items():
            print(f"  {name:<8}{text}")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"vr-brian: unknown command {command!r}; choose from {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    from .failures import INTERRUPTED, plain_interrupts

    try:
        with plain_interrupts(import_brian2=False):
            module = importlib.import_module(COMMANDS[command][0])
            return int(module.main(rest) or 0)
    except KeyboardInterrupt:  # a command that reports its own interruption returns 130 itself
        print(f"vr-brian {command}: interrupted", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
