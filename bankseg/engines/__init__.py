"""The engines that run the heavy stages: scikit-learn on one machine, or Apache Spark.

:func:`engine_for` picks one from ``params.engine``; the interface is
:class:`bankseg.engines.base.Engine`. pyspark is imported only when the Spark engine is chosen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bankseg.engines.base import Engine
    from bankseg.params import Params


def engine_for(params: Params) -> Engine:
    """The engine ``params.engine`` names (``sklearn`` or ``spark``), to be used in ``with``."""
    if params.engine == "spark":
        from bankseg.engines.spark.engine import SparkEngine

        return SparkEngine(params.spark)
    from bankseg.engines.sklearn import SklearnEngine

    return SklearnEngine()
