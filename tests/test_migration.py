"""bankseg.reporting.migration and ``python -m bankseg migration`` on files: who moved between
segments in two runs, on small hand-made runs whose answers can be counted by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bankseg.cli import main
from bankseg.errors import InputError
from bankseg.reporting import migration as mig
from bankseg.reporting.migration import JOINED, LEFT

ROOT = Path(__file__).resolve().parent.parent


def _run(rows: list[tuple[str, int, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "segment", "segment_name"])
    return mig.assigned_segments(frame, id_column="customer_id", source="run.csv")


# Earlier run: a, b, c, d savers (0); e, f investors (1). Later run: a, b savers; c, d now
# investors; e investor; f left; g joined as a saver.
EARLIER = [("a", 0, "Savers"), ("b", 0, "Savers"), ("c", 0, "Savers"), ("d", 0, "Savers")]
EARLIER += [("e", 1, "Investors"), ("f", 1, "Investors")]
LATER = [("a", 0, "Savers"), ("b", 0, "Savers"), ("c", 1, "Investors"), ("d", 1, "Investors")]
LATER += [("e", 1, "Investors"), ("g", 0, "Savers")]
BY_NAME = mig.match_by_name({0: "Savers", 1: "Investors"}, {0: "Savers", 1: "Investors"}, reason="test")


def _compare(min_customers: int = 1) -> mig.Migration:
    return mig.compare_runs(_run(EARLIER), _run(LATER), BY_NAME, min_customers=min_customers)


def test_counts_stayed_moved_joined_and_left():
    result = _compare()
    counts = result.counts
    assert list(counts.index) == ["Savers", "Investors", JOINED]
    assert list(counts.columns) == ["Savers", "Investors", LEFT]
    assert counts.to_numpy().tolist() == [[2, 2, 0], [0, 1, 1], [1, 0, 0]]
    m = result.metrics
    assert (m["stayed"], m["moved"], m["joined"], m["left"]) == (3, 2, 1, 1)
    assert m["customers"] == {"earlier": 6, "later": 6, "in_both": 5}
    assert m["share_stayed"] == pytest.approx(3 / 5)
    assert m["stayed_by_segment"] == {"Savers": 0.5, "Investors": 1.0}
    assert m["largest_moves"] == {
        "1": {"from": "Savers", "to": "Investors", "customers": 2, "share_of_from": 0.5}
    }


def test_row_shares_add_up_to_one_per_row_with_customers():
    shares = _compare().shares
    assert shares.loc["Savers"].tolist() == [0.5, 0.5, 0.0]
    assert shares.loc["Investors"].tolist() == [0.0, 0.5, 0.5]
    assert shares.loc[JOINED].tolist() == [1.0, 0.0, 0.0]
    empty = mig.row_shares(pd.DataFrame([[0, 0]], index=["Nobody"], columns=["x", LEFT]))
    assert empty.loc["Nobody"].tolist() == [0.0, 0.0]


def test_each_customer_has_the_segment_before_and_after():
    moves = _compare().moves.set_index("id")
    assert moves.loc["c"].tolist() == ["Savers", "Investors"]
    assert moves.loc["f"].tolist() == ["Investors", LEFT]
    assert moves.loc["g"].tolist() == [JOINED, "Savers"]
    assert list(moves.index) == ["a", "b", "c", "d", "e", "f", "g"]


def test_the_long_table_names_the_kind_of_each_cell_and_never_joined_and_left():
    table = _compare().table
    kinds = {(r.from_segment, r.to_segment): r.kind for r in table.itertuples()}
    assert kinds[("Savers", "Savers")] == "stayed"
    assert kinds[("Savers", "Investors")] == "moved"
    assert kinds[(JOINED, "Savers")] == "joined"
    assert kinds[("Investors", LEFT)] == "left"
    assert (JOINED, LEFT) not in kinds
    assert table["customers"].sum() == 7


def test_flows_below_the_threshold_get_no_file():
    everything = [(f.from_segment, f.to_segment, f.customers) for f in _compare(1).flows]
    assert everything == [("Savers", "Investors", 2), (JOINED, "Savers", 1), ("Investors", LEFT, 1)]
    assert [(f.from_segment, f.customers) for f in _compare(2).flows] == [("Savers", 2)]
    assert _compare(3).flows == []


def test_flow_files_hold_the_ids_and_segment_names_only():
    result = _compare()
    flow = result.flows[0]
    customers = mig.flow_customers(result.moves, flow, id_column="customer_id")
    assert list(customers.columns) == ["customer_id", "from_segment", "to_segment"]
    assert customers.to_numpy().tolist() == [["c", "Savers", "Investors"], ["d", "Savers", "Investors"]]


def test_flow_file_names_are_slugs_and_never_collide():
    flows = [
        mig.Flow("Young savers", "SIP investors", 9, 0.5, "moved"),
        mig.Flow("Young  Savers!", "SIP-investors", 8, 0.4, "moved"),
        mig.Flow(JOINED, "Senior ₹ holders", 7, 1.0, "joined"),
        mig.Flow("Young savers", LEFT, 6, 0.1, "left"),
    ]
    names = mig.flow_file_names(flows, prefix="flow_")
    assert list(names.values()) == [
        "flow_young-savers_to_sip-investors.csv",
        "flow_young-savers_to_sip-investors-2.csv",
        "flow_joined_to_senior-holders.csv",
        "flow_young-savers_to_left.csv",
    ]
    assert len(mig.slug("word " * 40)) <= mig.SLUG_CHARS
    assert mig.slug("€€") == "segment"


def _record(centres: dict[int, tuple[float, float]], names: dict[int, str]) -> dict:
    return {
        "feature_spread": {"age": 10.0, "networth": 1.0},
        "features": {"age": {"log": False}, "networth": {"log": True}},
        "segments": {
            str(s): {"name": names[s], "centre": {"age": a, "networth": n}} for s, (a, n) in centres.items()
        },
    }


EARLIER_SEGMENTS = _record(
    {0: (30.0, 12.0), 1: (50.0, 15.0), 2: (70.0, 14.0)}, {0: "Young", 1: "Affluent", 2: "Senior"}
)
# Later: "Affluent" is now segment 0 and renamed, "Young" is segment 2; "Senior" is gone and a
# segment far from every earlier centre appears, with a name an earlier segment had.
LATER_SEGMENTS = _record(
    {0: (51.0, 15.1), 1: (90.0, 20.0), 2: (29.0, 12.2)}, {0: "Rich", 1: "Senior", 2: "Young"}
)


def test_later_segments_are_matched_to_the_earlier_ones_by_centre():
    assert mig.centre_pairs(EARLIER_SEGMENTS, LATER_SEGMENTS, max_distance=0.5) == {0: 1, 2: 0}
    # Farther than match_distance apart, nothing is the same segment.
    assert mig.centre_pairs(EARLIER_SEGMENTS, LATER_SEGMENTS, max_distance=0.01) == {}


def test_a_segment_without_a_counterpart_is_named_and_reported():
    matching = mig.match_by_centre(EARLIER_SEGMENTS, LATER_SEGMENTS, max_distance=0.5)
    assert matching.earlier == {0: "Young", 1: "Affluent", 2: "Senior"}
    assert matching.later == {0: "Affluent", 1: "Senior (new)", 2: "Young"}
    assert matching.renamed == (("Affluent", "Rich"),)
    assert matching.unmatched_earlier == ["Senior"]
    assert matching.unmatched_later == ["Senior (new)"]
    earlier = _run([("a", 0, "Young"), ("b", 1, "Affluent"), ("c", 2, "Senior"), ("d", 2, "Senior")])
    later = _run([("a", 2, "Young"), ("b", 0, "Rich"), ("c", 1, "Senior"), ("d", 2, "Young")])
    result = mig.compare_runs(earlier, later, matching, min_customers=1)
    moves = result.moves.set_index("id")
    assert moves.loc["b"].tolist() == ["Affluent", "Affluent"]  # renamed, not moved
    assert moves.loc["c"].tolist() == ["Senior", "Senior (new)"]
    assert result.metrics["stayed"] == 2 and result.metrics["moved"] == 2
    assert result.metrics["unmatched_segments"] == {"earlier": 1, "later": 1}
    assert result.metrics["unmatched"] == {"earlier": {"Senior": 2}, "later": {"Senior (new)": 1}}
    warnings = mig.unmatched_warnings(matching, result.metrics, earlier="Q1", later="Q2")
    assert warnings == [
        "segment 'Senior' of Q1 (2 customers) has no counterpart in Q2 (by centre)",
        "segment 'Senior (new)' of Q2 (1 customer) has no counterpart in Q1 (by centre)",
    ]
    files = mig.flow_file_names(result.flows, prefix="flow_")
    text = mig.summary_markdown(result, matching, earlier="Q1", later="Q2", files=files, min_customers=1)
    assert "- **Senior** (2 customers in Q1) has no counterpart in Q2." in text
    assert "- **Senior (new)** (1 customer in Q2) is new: no counterpart in Q1." in text
    assert "- **Affluent** is called **Rich** in Q2." in text


def test_segments_of_one_run_with_the_same_name_stay_apart():
    earlier = _record({0: (30.0, 12.0), 1: (70.0, 14.0)}, {0: "Savers", 1: "Savers"})
    later = _record({0: (30.0, 12.0), 1: (90.0, 20.0)}, {0: "Savers", 1: JOINED})
    matching = mig.match_by_centre(earlier, later, max_distance=0.5)
    assert matching.earlier == {0: "Savers", 1: "Savers (segment 1)"}
    assert matching.later == {0: "Savers", 1: f"{JOINED} (new)"}


def test_runs_on_other_feature_settings_are_not_comparable_by_centre():
    assert mig.comparable(EARLIER_SEGMENTS, LATER_SEGMENTS)
    other = json.loads(json.dumps(LATER_SEGMENTS))
    other["features"]["networth"]["log"] = False
    assert not mig.comparable(EARLIER_SEGMENTS, other)


def test_name_matching_pairs_segments_of_the_same_name_whatever_their_ids():
    matching = mig.match_by_name({0: "Young", 1: "Senior"}, {0: "Senior", 1: "Young", 2: "New"}, reason="r")
    earlier = _run([("a", 0, "Young"), ("b", 1, "Senior")])
    later = _run([("a", 1, "Young"), ("b", 0, "Senior"), ("c", 2, "New")])
    result = mig.compare_runs(earlier, later, matching, min_customers=1)
    assert result.metrics["stayed"] == 2 and result.metrics["moved"] == 0 and result.metrics["joined"] == 1
    assert matching.unmatched_later == ["New"] and matching.unmatched_earlier == []
    assert list(result.counts.columns) == ["Young", "Senior", "New", LEFT]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"id": ["a"], "segment": [0], "segment_name": ["x"]}, "run.csv: no column 'customer_id'"),
        ({"customer_id": ["a"], "segment_name": ["x"]}, "run.csv: no column 'segment'"),
        (
            {"customer_id": ["a", "b", "a"], "segment": [0, 0, 1], "segment_name": ["x", "x", "y"]},
            r"run.csv: column 'customer_id' repeats id 'a' \(data row 3",
        ),
        (
            {"customer_id": ["a", None], "segment": [0, 0], "segment_name": ["x", "x"]},
            "run.csv: column 'customer_id' is empty in data row 2",
        ),
        (
            {"customer_id": ["a"], "segment": ["two"], "segment_name": ["x"]},
            "run.csv: column 'segment' holds 'two' in data row 1",
        ),
    ],
)
def test_a_broken_assigned_file_is_one_line_naming_file_and_column(rows, message):
    with pytest.raises(InputError, match=f"^{message}"):
        mig.assigned_segments(pd.DataFrame(rows), id_column="customer_id", source="run.csv")


def test_a_segment_the_segments_file_lacks_is_refused():
    run = _run([("a", 0, "Young"), ("b", 7, "Other")])
    with pytest.raises(InputError, match="^run.csv: segment 7 is not in segments.json"):
        mig.check_segments(run, {0: "Young"}, source="run.csv", segments_source="segments.json")
    with pytest.raises(InputError, match="segment 0 has several names"):
        mig.names_in(_run([("a", 0, "Young"), ("b", 0, "Old")]), "run.csv")


# ---------------------------------------------------------------------------------------------
# The command on files (no git revision: DVC is not involved)


def _write(path: Path, rows: list[tuple[str, int, str]]) -> Path:
    pd.DataFrame(rows, columns=["customer_id", "segment", "segment_name"]).assign(distance=1.5).to_csv(
        path, index=False
    )
    return path


@pytest.fixture
def two_files(tmp_path) -> tuple[Path, Path]:
    return _write(tmp_path / "q1.csv", EARLIER), _write(tmp_path / "q2.csv", LATER)


def _migration(tmp_path: Path, earlier: Path, later: Path, *extra: str) -> Path:
    out = tmp_path / "migration"
    main(
        [
            "migration",
            "--from",
            str(earlier),
            "--to",
            str(later),
            "--out",
            str(out),
            "--metrics",
            str(tmp_path / "migration.json"),
            "--params",
            str(ROOT / "params.yaml"),
            *extra,
        ]
    )
    return out


def test_command_writes_every_output_and_matches_by_name_without_segments(tmp_path, two_files, caplog):
    out = _migration(tmp_path, *two_files, "--min-customers", "1", "--summary", str(tmp_path / "step.md"))
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "flow_investors_to_left.csv",
        "flow_joined_to_savers.csv",
        "flow_savers_to_investors.csv",
        "summary.md",
        "transition_matrix.csv",
        "transitions.csv",
        "transitions.png",
    ]
    flow = pd.read_csv(out / "flow_savers_to_investors.csv", dtype=str)
    assert flow.to_dict("list") == {
        "customer_id": ["c", "d"],
        "from_segment": ["Savers", "Savers"],
        "to_segment": ["Investors", "Investors"],
    }
    matrix = pd.read_csv(out / "transition_matrix.csv", index_col="from_segment")
    assert matrix.loc["Savers"].tolist() == [2, 2, 0]
    metrics = json.loads((tmp_path / "migration.json").read_text())
    assert metrics["matched_by"] == "name" and metrics["share_stayed"] == 0.6
    summary = (out / "summary.md").read_text()
    assert "Segments are matched by name: no segments file for " in summary
    assert "1. 2 customers moved from **Savers** to **Investors** (50.0% of Savers)." in summary
    assert "**60.0% stayed**" in summary
    assert (tmp_path / "step.md").read_text() == summary
    assert "segments matched by name" in caplog.text


def test_command_output_is_byte_identical_and_stale_flow_files_go(tmp_path, two_files):
    out = _migration(tmp_path, *two_files, "--min-customers", "1")
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    first["metrics"] = (tmp_path / "migration.json").read_bytes()
    _migration(tmp_path, *two_files, "--min-customers", "1")
    again = {p.name: p.read_bytes() for p in out.iterdir()}
    again["metrics"] = (tmp_path / "migration.json").read_bytes()
    assert again == first
    (out / "notes.txt").write_text("mine")
    _migration(tmp_path, *two_files, "--min-customers", "2")
    flows = sorted(p.name for p in out.glob("flow_*"))
    assert flows == ["flow_savers_to_investors.csv"]
    assert (out / "notes.txt").read_text() == "mine"  # only flow files of an earlier run are removed


def test_command_on_parquet_and_with_segments_files_matches_by_centre(tmp_path):
    earlier = _write(tmp_path / "q1.csv", [("a", 0, "Young"), ("b", 1, "Affluent"), ("c", 2, "Senior")])
    later = tmp_path / "q2.parquet"
    pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "segment": [2, 0, 1], "segment_name": ["Young", "Rich", "Senior"]}
    ).to_parquet(later)
    (tmp_path / "s1.json").write_text(json.dumps(EARLIER_SEGMENTS))
    (tmp_path / "s2.json").write_text(json.dumps(LATER_SEGMENTS))
    segments = ["--from-segments", str(tmp_path / "s1.json"), "--to-segments", str(tmp_path / "s2.json")]
    out = _migration(tmp_path, earlier, later, *segments)
    metrics = json.loads((tmp_path / "migration.json").read_text())
    assert metrics["matched_by"] == "centre"
    assert metrics["unmatched"] == {"earlier": {"Senior": 1}, "later": {"Senior (new)": 1}}
    assert (metrics["stayed"], metrics["moved"]) == (2, 1)
    assert "is called **Rich**" in (out / "summary.md").read_text()


def test_command_errors_name_the_file_and_column(tmp_path, two_files, capsys):
    broken = tmp_path / "broken.csv"
    broken.write_text("id,segment,segment_name\na,0,x\n")
    with pytest.raises(SystemExit) as info:
        main(
            ["migration", "--from", str(broken), "--to", str(two_files[1]), "--out", str(tmp_path / "o")]
            + ["--metrics", str(tmp_path / "m.json"), "--params", str(ROOT / "params.yaml")]
        )
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {broken}: no column 'customer_id'; expected the assigned customers' columns "
        "customer_id (data.id_column), segment and segment_name"
    )
    assert not (tmp_path / "o").exists()
