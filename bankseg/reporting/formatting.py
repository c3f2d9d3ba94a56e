"""How numbers, amounts, shares and category values read, in the report, the figures and the
dashboard alike (one module, so the three never disagree).

Amounts of a feature with ``unit: money`` carry ``report.currency``; large numbers are
shortened in ``report.number_style`` (``indian``: 14.7 lakh, 4.03 crore; ``international``:
150 k, 1.47 M); a feature whose values are all whole numbers shows whole numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from bankseg.params import FeatureParams, ReportParams

# Shortened units by number style, largest first: (from, divisor, name).
UNITS = {
    "indian": ((1e7, 1e7, "crore"), (1e5, 1e5, "lakh")),
    "international": ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "k")),
}
# Beyond this a number is shown in scientific notation, never with hundreds of digits.
HUGE = 1e15


def count(n: int) -> str:
    """A number of customers: ``19,976``."""
    return f"{int(n):,}"


def share(value: float | None) -> str:
    """A share of customers, as every table shows it: ``25.3%``."""
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.1%}"


def mix_share(value: float) -> str:
    """A share within a category mix, where whole percents read best: ``54%``."""
    return f"{value:.0%}"


def _significant(value: float) -> str:
    """Three significant figures without trailing zeros: 14.7, 150, 4.03, 2."""
    digits = max(0, 2 - int(math.floor(math.log10(abs(value))))) if value else 0
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"


class NumberFormat:
    """Numbers in one currency and number style."""

    def __init__(self, report: ReportParams | None = None):
        report = report or ReportParams()
        self.currency = report.currency
        self.units = UNITS[report.number_style]

    def number(self, value: float | None, *, money: bool = False, whole: bool = False, unit: str = "") -> str:
        """``value`` for a person: ``₹14.7 lakh``, ``₹11,800``, ``25``, ``3.2``, ``n/a``."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        value = float(value)
        if not np.isfinite(value) or abs(value) >= HUGE:
            text = f"{value:.3g}"
        else:
            text = self._finite(value, money=money, whole=whole)
        if money and self.currency:
            text = f"-{self.currency}{text[1:]}" if text.startswith("-") else f"{self.currency}{text}"
        return f"{text} {unit}" if unit and not money else text

    def _finite(self, value: float, *, money: bool, whole: bool) -> str:
        rounded = float(f"{value:.3g}")  # 999,999 reads 1 M, not 1,000 k
        for start, size, name in self.units:
            if abs(rounded) >= start:
                return f"{_significant(rounded / size)} {name}"
        if money or whole or abs(value) >= 100 or float(value).is_integer():
            return f"{value:,.0f}"
        return f"{value:.1f}"

    def tick(self, value: float, *, money: bool = False) -> str:
        """An axis label: the same as :meth:`number`, whole numbers below the shortened units."""
        return self.number(value, money=money, whole=True)


def whole_columns(customers: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    """The columns whose values are all whole numbers (ages, counts): shown without decimals."""
    found = []
    for column in columns:
        values = pd.to_numeric(customers[column], errors="coerce").dropna().to_numpy(dtype="float64")
        if len(values) and np.all(np.isfinite(values)) and np.all(values == np.round(values)):
            found.append(column)
    return found


class Formatter:
    """Every feature's values as the report, the figures and the dashboard show them."""

    def __init__(
        self, features: FeatureParams, report: ReportParams | None = None, whole: Iterable[str] = ()
    ):
        self.numbers = NumberFormat(report)
        self.numeric = {f.column: f for f in features.numeric}
        self.categorical = {f.column: f for f in features.categorical}
        self.whole = set(whole)

    def label(self, column: str) -> str:
        feature = self.numeric.get(column) or self.categorical.get(column)
        return feature.label if feature is not None else column.replace("_", " ")

    def is_money(self, column: str) -> bool:
        feature = self.numeric.get(column)
        return feature is not None and feature.unit == "money"

    def value(self, column: str, value: float | None, *, exact: bool = False) -> str:
        """A figure of a numeric feature, in its unit. ``exact``: a mean, which keeps one
        decimal below 100 even for a feature of whole numbers."""
        feature = self.numeric.get(column)
        unit = feature.unit if feature is not None else ""
        whole = column in self.whole and not exact
        return self.numbers.number(value, money=unit == "money", whole=whole, unit=unit)

    def tick(self, column: str, value: float) -> str:
        return self.numbers.tick(value, money=self.is_money(column))

    def category(self, column: str, value: object) -> str:
        """A category value as params name it (``values``): ``cautious`` for risk ``1``."""
        feature = self.categorical.get(column)
        text = str(value)
        return feature.values.get(text, text) if feature is not None else text
