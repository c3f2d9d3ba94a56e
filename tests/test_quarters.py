"""The README's quarter-to-quarter walk-through on the built-in customers, checked against the truth.

Quarter 1 is segmented, its segments pinned and committed; the params switch to quarter 2
(``generate.quarter: 2``: the same customers a quarter later, with planted moves between
personas, leavers and joiners), ``dvc repro`` runs again and ``python -m bankseg migration
--from HEAD`` says who moved. The generator's personas files record who really moved, so the
measured flows can be compared with the planted ones.

Tolerance: for every planted move, the share of the source segment's customers that the
migration reports moving to the target segment is within 25 % (relative) of the planted share,
measured from the personas files with the same denominator; customers who did not move stay
in their segment (at least 99 % of them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from dvc_repo import commit_all, dvc, env, new_repo, read_json, set_params

from bankseg import layout
from bankseg.data.generate import MOVES

pytestmark = pytest.mark.slow  # two pipeline runs on 6,000 customers

RELATIVE_TOLERANCE = 0.25
PARAMS = {
    "generate": {"n_customers": 6000, "n_new_customers": 300},
    # K is fixed: the elbow search and the stability refits only need to run, on small samples.
    "elbow": {"k_max": 6, "n_init": 1, "n_bootstrap": 2, "n_references": 1, "sample_size": 1500},
    "train": {"n_clusters": 5, "n_init": 2},
    "stability": {"n_bootstrap": 2, "sample_size": 1500},
}
ID = "customer_id"
PERSONAL = ["customer_name", "customer_pan_card_no", "customer_adhar_card_no", "mobile_no", "address"]


def bankseg(repo: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m bankseg ...`` in ``repo``, as a user runs it there."""
    environment = env() | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))
    }
    result = subprocess.run(
        [sys.executable, "-m", "bankseg", *args], cwd=repo, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result


def snapshot(repo: Path) -> dict[str, pd.DataFrame]:
    """A quarter's assigned customers, personas and raw file (ids as text)."""
    read = {"dtype": {ID: str}, "keep_default_na": False}
    return {
        "assigned": pd.read_csv(repo / layout.ASSIGNED_CUSTOMERS, **read),
        "personas": pd.read_csv(repo / layout.GENERATED_PERSONAS, **read),
        "raw": pd.read_csv(repo / layout.GENERATED_CUSTOMERS, **read),
    }


@pytest.fixture(scope="module")
def quarters(tmp_path_factory) -> dict:
    """The walk-through: quarter 1 segmented, pinned, committed; quarter 2 run; migration."""
    repo = new_repo(tmp_path_factory.mktemp("quarters"), PARAMS)
    dvc("repro", cwd=repo)
    bankseg(repo, "pin-segments")
    dvc("repro", cwd=repo)  # the train stage depends on the pinned reference
    commit_all(repo, "quarter 1")
    first = snapshot(repo)
    set_params(repo, {"generate": {"quarter": 2}})
    dvc("repro", cwd=repo)
    second = snapshot(repo)
    shown = bankseg(repo, "migration", "--from", "HEAD", "--min-customers", "5")
    return {"repo": repo, "q1": first, "q2": second, "log": shown.stderr + shown.stdout}


def persona_segments(q: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Each persona's segment name: where most of its customers are."""
    both = q["assigned"].merge(q["personas"], on=ID)
    return both.groupby("persona")["segment_name"].agg(lambda names: names.mode().iloc[0]).to_dict()


def test_each_planted_move_is_measured_within_the_tolerance(quarters):
    q1, q2 = quarters["q1"], quarters["q2"]
    segment_of = persona_segments(q1)
    assert len(set(segment_of.values())) == 5, "each persona should have a segment of its own"
    table = pd.read_csv(quarters["repo"] / layout.MIGRATION_FOLDER / "transitions.csv")
    persona_then = q1["personas"].set_index(ID)["persona"]
    persona_now = q2["personas"].set_index(ID)["persona"]
    assigned_then = q1["assigned"].set_index(ID)["segment_name"]
    for move in MOVES:
        source, target = segment_of[move.source], segment_of[move.target]
        # Planted: customers of the source persona in quarter 1 (leavers included, as in a row
        # of the matrix) who are of the target persona in quarter 2.
        of_source = persona_then[persona_then == move.source].index
        planted = (persona_now.reindex(of_source) == move.target).sum() / len(of_source)
        row = table[(table["from_segment"] == source) & (table["to_segment"] == target)]
        measured = float(row["share"].iloc[0]) if len(row) else 0.0
        assert planted > 0.01, f"{move.story}: too few planted movers to measure"
        assert abs(measured - planted) <= RELATIVE_TOLERANCE * planted, (
            f"{move.story}: measured {measured:.4f}, planted {planted:.4f}"
        )
    # Those who kept their persona (and were assigned in both quarters) keep their segment.
    kept = persona_then.index.intersection(persona_now.index)
    kept = kept[persona_then.reindex(kept).to_numpy() == persona_now.reindex(kept).to_numpy()]
    kept = kept.intersection(assigned_then.index).intersection(q2["assigned"][ID])
    now = q2["assigned"].set_index(ID)["segment_name"]
    assert (assigned_then.reindex(kept) == now.reindex(kept)).mean() >= 0.99


def test_flow_files_hold_exactly_the_customers_who_moved(quarters):
    q1, q2 = quarters["q1"], quarters["q2"]
    folder = quarters["repo"] / layout.MIGRATION_FOLDER
    both = q1["assigned"].merge(q2["assigned"], on=ID, suffixes=("_then", "_now"))
    moved = both[both["segment_name_then"] != both["segment_name_now"]]
    expected = moved.groupby(["segment_name_then", "segment_name_now"])[ID].apply(set)
    written = {}
    for path in sorted(folder.glob("flow_*.csv")):
        flow = pd.read_csv(path, dtype={ID: str})
        assert list(flow.columns) == [ID, "from_segment", "to_segment"], path.name
        pairs = set(zip(flow["from_segment"], flow["to_segment"], strict=True))
        assert len(pairs) == 1, path.name
        written[pairs.pop()] = set(flow[ID])
    large = {pair: ids for pair, ids in expected.items() if len(ids) >= 5}
    assert large, "the planted moves should make flows of at least 5 customers"
    for pair, ids in large.items():
        assert written[pair] == ids, pair
    segment_of = persona_segments(q1)
    personas = q1["personas"].merge(q2["personas"], on=ID, suffixes=("_then", "_now"))
    for move in MOVES:
        ids = written[(segment_of[move.source], segment_of[move.target])]
        moving = (personas["persona_then"] == move.source) & (personas["persona_now"] == move.target)
        planted = set(personas.loc[moving, ID])
        assert len(ids & planted) >= 0.9 * len(planted), move.story


def test_joined_and_left_match_the_files(quarters):
    q1, q2 = quarters["q1"], quarters["q2"]
    metrics = read_json(quarters["repo"] / layout.MIGRATION_METRICS)
    then, now = set(q1["assigned"][ID]), set(q2["assigned"][ID])
    assert metrics["joined"] == len(now - then)
    assert metrics["left"] == len(then - now)
    assert metrics["stayed"] + metrics["moved"] == metrics["customers"]["in_both"] == len(then & now)
    assert metrics["unmatched_segments"] == {"earlier": 0, "later": 0}


def test_no_personal_column_or_value_in_the_migration_outputs(quarters):
    repo = quarters["repo"]
    raw = quarters["q1"]["raw"]
    values = {str(v) for column in PERSONAL for v in raw[column].head(200) if len(str(v)) >= 6}
    files = [*sorted((repo / layout.MIGRATION_FOLDER).iterdir()), repo / layout.MIGRATION_METRICS]
    texts = [p.read_text(encoding="utf-8") for p in files if p.suffix in {".csv", ".md", ".json"}]
    texts.append(quarters["log"])
    for text in texts:
        assert not [v for v in values if v in text]
        for column in PERSONAL:
            assert column not in text
