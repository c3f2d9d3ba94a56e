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


@contextlib.contextmanager
def loading_libraries() -> Iterator[None]:
    """Import the entry point's libraries inside this block.

    In a process that froze its objects before (the tests, which call the entry points in
    their own process), the block changes nothing: what it would load is loaded already.
    """
    if gc.get_freeze_count() or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
