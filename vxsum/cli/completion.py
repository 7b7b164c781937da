"""``vxsum completion SHELL``: a completion script for bash, zsh or tcsh, written by shtab
from the command's own argparse parser, so it always knows every sub-command, option and
choice (file names complete where a command takes files).

    vxsum completion bash > ~/.local/share/bash-completion/completions/vxsum
    vxsum completion zsh > "${fpath[1]}/_vxsum"
"""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]

SHELLS = ("bash", "zsh", "tcsh")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", choices=SHELLS, help="the shell to write the script for")


def _files_complete(parser: argparse.ArgumentParser, file: object) -> None:
    """Mark the arguments that name files (``FILE``, ``-o``, ...) as file names, in every
    sub-command."""
    for action in parser._actions:  # argparse has no public walk
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _files_complete(sub, file)
        elif action.metavar and any(w in str(action.metavar) for w in ("FILE", "PATH")):
            action.complete = file  # type: ignore[attr-defined]  # read by shtab
        elif action.dest == "files":
            action.complete = file  # type: ignore[attr-defined]


def run(args: argparse.Namespace) -> int:
    """Print the script of ``args.parser``, the ``vxsum`` command's parser."""
    import shtab

    parser: argparse.ArgumentParser = args.parser
    _files_complete(parser, shtab.FILE)
    print(shtab.complete(parser, shell=args.shell), end="")
    return 0
