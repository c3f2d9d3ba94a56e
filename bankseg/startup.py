"""Start-up of the entry points: the heavy libraries loaded without the garbage collector.

Python's cyclic garbage collector runs after every few hundred new objects and, every so
often, examines every object the process holds. While pandas, scikit-learn, skops and
matplotlib load (about two thousand modules), it runs over and over and finds nothing to free:
modules, classes and functions live as long as the process. Each stage and command therefore
imports its libraries inside ``loading_libraries()``, after reading its arguments (so that
``--help`` stays quick): the collector is off while they load, then everything loaded is
frozen (``gc.freeze``: left out of every later collection) and the collector is back on for
the work itself. docs/development.md gives the measurements.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_loaded = False  # whether a block of this process has frozen its libraries


@contextlib.contextmanager
def loading_libraries() -> Iterator[None]:
    """Import the entry point's libraries inside this block.

    Only the first block of a process acts, and only with the collector on: a process that
    calls the entry points again and again (the tests do, in their own process) has loaded
    most of what they import after the first, and freezing again would keep whatever garbage
    was waiting to be collected.
    """
    global _loaded
    if _loaded or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        _loaded = True
        gc.enable()
