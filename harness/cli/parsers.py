"""What the command modules share: the sub-command parser every command gets, one-line errors."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``harness compare: error: ...``), not the
    usage block: a mistyped flag value is a user's mistake like any other. Sub-commands made
    with ``add_subparsers`` inherit the class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def command_parser(sub: Any, name: str, help_text: str, example: str,
                   **kwargs: Any) -> argparse.ArgumentParser:
    """A sub-command with its help, one example in the epilog, and ``--data-dir``."""
    parser = sub.add_parser(name, help=help_text, description=help_text,
                            epilog=f"example:\n  {example}",
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            allow_abbrev=False, **kwargs)
    parser.add_argument("--data-dir", default=argparse.SUPPRESS,
                        help="benchmark data folder (default: $HARNESS_DATA_DIR, else "
                             "~/.cache/harness)")
    return parser
