"""User-facing errors and the wrapper that turns them into one-line messages."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable


class InputError(Exception):
    """A mistake in the user's data or settings: reported in one line, never as a traceback."""


def run_entry_point(main: Callable[[], object]) -> None:
    """Run a stage or command, showing user mistakes as ``error: ...`` and exit status 2.

    Mistakes are :class:`InputError`, and system errors on files (:class:`OSError`: disk
    full, a folder where a file was expected), which are shown in one line as well.

    Pass ``--debug`` (anywhere on the command line) or set ``BANKSEG_DEBUG=1`` to see the
    full traceback instead.
    """
    if "--debug" in sys.argv:
        sys.argv.remove("--debug")
        os.environ["BANKSEG_DEBUG"] = "1"
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        main()
    except (InputError, OSError) as exc:
        if os.environ.get("BANKSEG_DEBUG"):
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        sys.exit(2)


def one_line(exc: BaseException) -> str:
    """The message of an error in one line; a system error (disk full, no permission on a
    file) names its file and the reason, not a traceback."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return " ".join(str(exc).splitlines()) or type(exc).__name__  # every kind of line break
