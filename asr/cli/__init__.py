"""Subcommands of `asr`; see main.py for the catalogue."""

import sys


def report_error(command: str, message: object) -> None:
    """One line on stderr that a person (or a script grepping the output) can act on."""
    print(f"asr {command}: error: {message}", file=sys.stderr, flush=True)
