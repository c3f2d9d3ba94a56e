"""Quality gate: compare the metrics of two revisions and fail when thresholds are crossed.

Pure functions: the input is the metrics diff that ``dvc metrics diff <rev> --json --all``
prints (read by the command line, ``python -m bankseg gate``): for each metrics file, each
dotted metric name with its ``old`` (the revision) and ``new`` (the workspace) values. The
output is the checks, and a Markdown table of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bankseg import layout
from bankseg.params import GateParams


@dataclass(frozen=True)
class Check:
    name: str
    old: float | None
    new: float | None
    rule: str
    passed: bool
    warn_only: bool = False  # a failed warning is shown, but does not fail the gate


def _value(diff: dict, path: str, key: str, side: str) -> float | None:
    value = diff.get(path, {}).get(key, {}).get(side)
    return None if isinstance(value, bool) or not isinstance(value, (int, float)) else float(value)


def _old_new(diff: dict, path: str, key: str) -> tuple[float | None, float | None]:
    return _value(diff, path, key, "old"), _value(diff, path, key, "new")


def _rejected_share(diff: dict, side: str) -> float | None:
    rejected = _value(diff, layout.DATA_QUALITY, "customers.rows_rejected", side)
    read = _value(diff, layout.DATA_QUALITY, "customers.rows_read", side)
    return None if rejected is None or not read else rejected / read


def evaluate(
    diff: dict, params: GateParams, *, max_protected_association: float = 0.3, max_feature_share: float = 0.4
) -> list[Check]:
    """Every check of the gate; a check whose new value is missing fails (nothing to judge).

    Two warnings follow when their metrics exist: segments that follow a protected attribute
    (fairness.max_association) and one feature that makes the segments
    (segments.max_feature_share). The outcome check runs when gate.min_outcome_association is
    above 0."""
    checks = []
    old, new = _old_new(diff, layout.TRAIN_METRICS, "silhouette")
    drop_ok = new is not None and (old is None or new >= old - params.max_silhouette_drop)
    checks.append(Check("silhouette", old, new, f"drops by at most {params.max_silhouette_drop}", drop_ok))

    def at_least(name: str, path: str, key: str, minimum: float) -> None:
        old, new = _old_new(diff, path, key)
        checks.append(Check(name, old, new, f">= {minimum}", new is not None and new >= minimum))

    at_least(
        "smallest segment share", layout.TRAIN_METRICS, "smallest_segment_share", params.min_segment_share
    )
    at_least("stability (mean adjusted Rand index)", layout.STABILITY, "mean_ari", params.min_stability)
    at_least("least stable segment (Jaccard)", layout.STABILITY, "min_jaccard", params.min_segment_stability)
    old, new = _rejected_share(diff, "old"), _rejected_share(diff, "new")
    checks.append(
        Check(
            "rejected rows share",
            old,
            new,
            f"<= {params.max_rejected_share}",
            new is not None and new <= params.max_rejected_share,
        )
    )

    def warn_above(name: str, path: str, key: str, maximum: float) -> None:
        old, new = _old_new(diff, path, key)
        if new is not None:
            checks.append(Check(name, old, new, f"<= {maximum}", new <= maximum, warn_only=True))

    warn_above(
        "protected attribute association (Cramér's V)",
        layout.FAIRNESS,
        "max_association",
        max_protected_association,
    )
    warn_above(
        "largest feature share of the separation",
        layout.SEGMENT_METRICS,
        "max_feature_share",
        max_feature_share,
    )
    if params.min_outcome_association > 0:
        at_least("outcome association", layout.OUTCOMES, "max_association", params.min_outcome_association)
    return checks


def _result(check: Check) -> str:
    if check.passed:
        return "pass"
    return "**WARN**" if check.warn_only else "**FAIL**"


def passed(checks: list[Check]) -> bool:
    """Whether the gate passes: every check but the warnings."""
    return all(c.passed or c.warn_only for c in checks)


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def table(checks: list[Check], rev: str) -> str:
    """The checks as a Markdown table with a verdict line."""
    lines = [
        f"### Segmentation quality gate against {rev}",
        "",
        f"| check | {rev} | this change | rule | result |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {c.name} | {_cell(c.old)} | {_cell(c.new)} | {c.rule} | {_result(c)} |" for c in checks]
    failed = [c for c in checks if not c.passed and not c.warn_only]
    warned = [c for c in checks if not c.passed and c.warn_only]
    gating = [c for c in checks if not c.warn_only]
    verdict = (
        f"**{len(failed)} of {len(gating)} checks failed.**"
        if failed
        else f"All {len(gating)} checks passed."
    )
    if warned:
        verdict += f" **{len(warned)} warning(s)**: " + "; ".join(c.name for c in warned) + "."
    return "\n".join([*lines, "", verdict]) + "\n"
