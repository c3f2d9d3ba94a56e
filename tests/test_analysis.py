"""The report's cautions (bankseg/reporting/analysis.py)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

from bankseg.reporting.analysis import analysis_warnings

NONE = SimpleNamespace(warnings=[])


def _quality(read: int, rejected: int) -> dict:
    return {
        "rows_read": read,
        "rows_kept": read - rejected,
        "rows_rejected": rejected,
        "rejected_by_reason": {"unexpected_category": rejected} if rejected else {},
        "rejected_by_column": {"income_slab": rejected} if rejected else {},
    }


def test_more_rejected_rows_than_the_gate_allows_is_a_caution(params):
    assert analysis_warnings(NONE, NONE, {}, {}, _quality(1000, 50), params) == []
    [caution] = analysis_warnings(NONE, NONE, {}, {}, _quality(1000, 51), params)
    assert caution.startswith("51 of 1,000 rows (5.1%) were rejected by the cleaning")
    assert "by column: income_slab 51" in caution
    looser = replace(params, gate=replace(params.gate, max_rejected_share=0.1))
    assert analysis_warnings(NONE, NONE, {}, {}, _quality(1000, 51), looser) == []


def test_cautions_come_in_the_report_order(params):
    """A protected column used as a feature first, then K, the other fairness findings, the
    outcomes and the rejected rows."""
    fair = SimpleNamespace(warnings=["gender is used as a feature", "segments differ by gender"])
    outcome = SimpleNamespace(warnings=["the outcome is not separated"])
    elbow = {"warnings": ["K is weak"]}
    warnings = analysis_warnings(fair, outcome, elbow, {}, _quality(10, 9), params)
    assert warnings[:4] == [
        "gender is used as a feature",
        "K is weak",
        "segments differ by gender",
        "the outcome is not separated",
    ]
    assert warnings[4].startswith("9 of 10 rows (90.0%) were rejected")
    assert len(warnings) == 5
