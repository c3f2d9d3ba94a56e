"""bankseg.data.generate with ``quarter``: the same customers a quarter or more later, with the
planted moves between personas, leavers and joiners."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml

from bankseg.data.cleaning import clean_customers, needed_columns
from bankseg.data.generate import (
    JOIN_SHARE,
    LEAVE_SHARE,
    MOVES,
    PERSONAS,
    customer_blocks,
    generate_customers,
    new_customer_blocks,
    quarter_months,
    quarter_steps,
)
from bankseg.data.reading import read_customers
from bankseg.errors import InputError
from bankseg.io.blocks import write_csv_blocks
from bankseg.params import load_params, parse_generate
from stages import generate as generate_stage

ROOT = Path(__file__).resolve().parent.parent
N, N_NEW, SEED = 10_000, 1_000, 7
IDENTITY = [
    "customer_name", "branch_code", "branch_name", "customer_pan_card_no", "customer_adhar_card_no",
    "date_of_birth", "address", "name_of_city", "state_name", "state_code", "country", "zip_code",
    "mobile_no", "kyc_status", "kyc_number", "crn_unique_id", "nationality",
]  # fmt: skip


def _quarter(quarter: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_customers(N, seed=SEED, quarter=quarter, n_new=N_NEW)


@pytest.fixture(scope="module")
def quarters() -> dict[int, tuple[pd.DataFrame, pd.DataFrame]]:
    """(customers, personas) of quarters 1, 2 and 5 of one base (do not modify)."""
    return {q: _quarter(q) for q in (1, 2, 5)}


def _by_id(customers: pd.DataFrame) -> pd.DataFrame:
    """The rows whose id the export shows once (the planted duplicates dropped), by id."""
    ids = customers["customer_id"]
    return customers[~ids.duplicated(keep=False)].set_index(ids[~ids.duplicated(keep=False)].astype(int))


def _ages(customers: pd.DataFrame) -> pd.Series:
    """Valid ages by id; blanks and the planted invalid ages left out."""
    age = pd.to_numeric(_by_id(customers)["age"].replace("", np.nan), errors="coerce")
    return age[age.between(0, 120)]


def _frames(blocks) -> pd.DataFrame:
    return pa.concat_tables(list(blocks)).to_pandas()


def _compare(q1: tuple[pd.DataFrame, pd.DataFrame], q2: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """One row per customer of either quarter: persona in each (missing when absent)."""
    return pd.merge(
        q1[1].rename(columns={"persona": "before"}),
        q2[1].rename(columns={"persona": "after"}),
        on="customer_id",
        how="outer",
    ).set_index("customer_id")


def test_quarter_1_is_the_base_as_drawn():
    customers, personas = generate_customers(600, seed=3)
    same, same_personas = generate_customers(600, seed=3, quarter=1, n_new=200)
    assert customers.to_csv(index=False) == same.to_csv(index=False)
    assert personas.to_csv(index=False) == same_personas.to_csv(index=False)
    new = _frames(new_customer_blocks(200, n_customers=600, seed=3)[0])
    old_new, _ = generate_customers(200, seed=4, first_id=600)  # seed + 1, ids after the base
    assert new.to_csv(index=False) == old_new.to_csv(index=False)


def _run_stage(folder: Path, generate: dict) -> dict[str, bytes]:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    raw["generate"] = generate
    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump(raw), encoding="utf-8")
    names = {"customers": "customers.csv", "new": "new_customers.csv", "personas": "personas.csv"}
    argv = [f"--{flag}={folder / name}" for flag, name in names.items()]
    generate_stage.main([*argv, f"--params={params}"])
    return {name: (folder / name).read_bytes() for name in names.values()}


def test_the_stage_writes_the_same_bytes_with_quarter_1_as_without_it(tmp_path):
    generate = {"n_customers": 300, "n_new_customers": 120, "seed": 5}
    (tmp_path / "without").mkdir()
    (tmp_path / "with").mkdir()
    (tmp_path / "later").mkdir()
    without = _run_stage(tmp_path / "without", generate)
    assert _run_stage(tmp_path / "with", {**generate, "quarter": 1}) == without
    later = _run_stage(tmp_path / "later", {**generate, "quarter": 2})
    assert all(later[name] != without[name] for name in without)


def test_quarter_defaults_to_1_and_is_validated():
    base = {"n_customers": 10, "n_new_customers": 5, "seed": 1}
    assert parse_generate(base).quarter == 1
    assert parse_generate({**base, "quarter": 1}) == parse_generate(base)
    assert parse_generate({**base, "quarter": 3}).quarter == 3
    for value, shown in [(0, "0"), (-2, "-2"), (1.5, "1.5"), ("2", "'2'"), (True, "True"), (401, "401")]:
        with pytest.raises(InputError) as error:
            parse_generate({**base, "quarter": value})
        message = str(error.value)
        assert message.startswith("params.yaml: ") and "generate.quarter" in message, message
        assert shown in message and "\n" not in message, message


def test_repository_params_are_quarter_1():
    assert load_params(ROOT / "params.yaml").generate.quarter == 1


def test_steps_follow_the_planted_shares():
    steps = quarter_steps(20_000, 3)
    assert steps[0] == (20_000, 600, 800)
    assert steps[1].customers == 20_000 - 600 + 800
    assert quarter_steps(20_000, 1) == []
    with pytest.raises(ValueError, match="quarter=0"):
        quarter_steps(100, 0)


def test_quarter_months_run_through_the_year():
    assert quarter_months(1) == (10, 11, 12)
    assert quarter_months(2) == (1, 2, 3)
    months = [m for q in range(2, 6) for m in quarter_months(q)]
    assert sorted(months) == list(range(1, 13))
    assert quarter_months(6) == quarter_months(2)


def test_stayers_keep_their_identity(quarters):
    before, after = _by_id(quarters[1][0]), _by_id(quarters[2][0])
    stayers = before.index.intersection(after.index)
    assert len(stayers) > 0.9 * N
    pd.testing.assert_frame_equal(before.loc[stayers, IDENTITY], after.loc[stayers, IDENTITY])
    demat = (before.loc[stayers, "has_demat_account"] == "Yes") & (
        after.loc[stayers, "has_demat_account"] == "Yes"
    )
    assert demat.sum() > 1000
    assert (
        before.loc[stayers[demat], "demat_account_no"] == after.loc[stayers[demat], "demat_account_no"]
    ).all()


def test_leavers_and_joiners_are_the_planted_shares(quarters):
    both = _compare(quarters[1], quarters[2])
    leavers = both["after"].isna()
    joiners = both["before"].isna()
    assert leavers.sum() / N == pytest.approx(LEAVE_SHARE, abs=0.001)
    assert joiners.sum() / N == pytest.approx(JOIN_SHARE, abs=0.001)
    joiner_ids = both.index[joiners]
    # Joiners' ids were never used: they come after the base and quarter 1's new batch.
    assert joiner_ids.min() == N + N_NEW
    assert joiner_ids.is_unique and joiner_ids.max() == N + N_NEW + joiners.sum() - 1
    mix = both.loc[joiners, "after"].value_counts(normalize=True)
    for persona in PERSONAS:
        assert mix[persona.name] == pytest.approx(persona.weight, abs=0.07), persona.name


def test_movers_are_the_planted_shares(quarters):
    both = _compare(quarters[1], quarters[2]).dropna()
    age = _ages(quarters[1][0])
    both = both.join(age.rename("age"), how="inner")
    planted = {(move.source, move.target) for move in MOVES}
    changed = both[both["before"] != both["after"]]
    assert set(zip(changed["before"], changed["after"], strict=True)) == planted
    for move in MOVES:
        eligible = (both["before"] == move.source) & (both["age"] >= move.min_age)
        moved = eligible & (both["after"] == move.target)
        assert eligible.sum() > 100, move
        assert moved.sum() / eligible.sum() == pytest.approx(move.share, abs=0.015), move
        too_young = (both["before"] == move.source) & (both["age"] < move.min_age)
        assert not (too_young & (both["after"] == move.target)).any(), move


def test_movers_take_the_behaviour_of_their_new_persona(quarters):
    both = _compare(quarters[1], quarters[2]).dropna()
    before, after = _by_id(quarters[1][0]), _by_id(quarters[2][0])
    retired = both.index[(both["before"] == "affluent_investor") & (both["after"] == "retiree")]
    retired = retired.intersection(after.index)
    assert set(after.loc[retired, "risk_id"]) <= {"1", "2"}
    assert (before.loc[retired, "risk_id"].isin(["3", "4"])).mean() > 0.4
    assert (after.loc[retired, "sip_status"] == "No").mean() > 0.9
    started = both.index[(both["before"] == "young_saver") & (both["after"] == "mid_career_sip_investor")]
    started = started.intersection(after.index)
    assert (before.loc[started, "sip_status"] == "No").mean() > 0.9
    assert (after.loc[started, "sip_status"] == "Yes").mean() > 0.9


def test_birthdays_in_the_quarter_make_customers_a_year_older(quarters):
    ages = pd.concat({q: _ages(quarters[q][0]) for q in (1, 2, 5)}, axis=1, join="inner")
    month = _by_id(quarters[1][0]).loc[ages.index, "date_of_birth"].str[5:7].astype(int)
    birthday = month.isin(quarter_months(2))
    assert 0.15 < birthday.mean() < 0.35
    assert (ages[2] - ages[1] == birthday.astype(int)).all()
    # Four quarters later every customer is a year older.
    assert len(ages) > 0.8 * N
    assert (ages[5] - ages[1] == 1).all()


def test_same_params_give_identical_bytes():
    first, first_personas = _quarter(2)
    second, second_personas = _quarter(2)
    assert first.to_csv(index=False).encode() == second.to_csv(index=False).encode()
    assert first_personas.to_csv(index=False) == second_personas.to_csv(index=False)
    blocks = customer_blocks(N, seed=SEED, quarter=2, n_new=N_NEW, block_size=3_000)
    assert _frames(blocks[0]).to_csv(index=False) == first.to_csv(index=False)
    assert _frames(blocks[1]).to_csv(index=False) == first_personas.to_csv(index=False)
    new = [_frames(new_customer_blocks(300, n_customers=N, seed=SEED, quarter=2)[0]) for _ in range(2)]
    assert new[0].to_csv(index=False) == new[1].to_csv(index=False)


def test_quarter_3_differs_from_quarter_2(quarters):
    third = _quarter(3)
    assert third[0].to_csv(index=False) != quarters[2][0].to_csv(index=False)
    both = _compare(quarters[2], third)
    assert both["after"].isna().sum() == quarter_steps(N, 3)[1].leavers
    assert both["before"].isna().sum() == quarter_steps(N, 3)[1].joiners
    assert (both.dropna().eval("before != after")).sum() > 0


def test_earlier_quarters_do_not_depend_on_later_ones(quarters):
    """Quarter 2's customers are the same whether quarter 5 was asked for or not."""
    again = _quarter(2)
    assert again[0].equals(quarters[2][0]) and again[1].equals(quarters[2][1])


def test_a_later_quarter_keeps_the_blemishes(quarters):
    customers, personas = quarters[2]
    ids = customers["customer_id"]
    assert ids.duplicated().sum() == 2
    assert ids.iloc[-2:].tolist() == [
        str(personas["customer_id"].iloc[1]),
        str(personas["customer_id"].iloc[0]),
    ]
    for column in ("age", "networth", "sip_amount", "income_slab"):
        assert 0 < (customers[column] == "").mean() < 0.02, column
    assert ((customers["age"] == "250") | (customers["networth"] == "-1")).any()
    # Each export has its own blemishes.
    blank_before = set(_by_id(quarters[1][0]).index[_by_id(quarters[1][0])["age"] == ""])
    blank_after = set(_by_id(customers).index[_by_id(customers)["age"] == ""])
    assert blank_before != blank_after


def test_a_later_quarters_new_batch_has_fresh_ids(quarters):
    new_2 = _frames(new_customer_blocks(N_NEW, n_customers=N, seed=SEED, quarter=2)[1])
    new_1 = _frames(new_customer_blocks(N_NEW, n_customers=N, seed=SEED, quarter=1)[1])
    ids_2 = set(new_2["customer_id"])
    assert len(ids_2) == N_NEW
    assert min(ids_2) == quarters[2][1]["customer_id"].max() + 1
    assert not ids_2 & set(new_1["customer_id"])
    third = _quarter(3)[1]["customer_id"]
    assert not ids_2 & set(third)  # quarter 3's joiners come after quarter 2's batch
    assert set(new_2["persona"]) == {p.name for p in PERSONAS}


def test_prepare_cleans_a_later_quarter(quarters, params, tmp_path):
    quality = {}
    for quarter in (1, 2):
        path = tmp_path / f"customers_{quarter}.csv"
        write_csv_blocks([pa.Table.from_pandas(quarters[quarter][0], preserve_index=False)], path)
        raw = read_customers(path, needed_columns(params))
        result = clean_customers(raw, params, source=path.name)
        quality[quarter] = result.quality
        assert len(result.kept) > 0.97 * len(quarters[quarter][0]), quarter
        assert result.kept[params.data.id_column].is_unique
    assert quality[2]["rejected_by_reason"]["duplicate_id"] == 2
    assert set(quality[2]["rejected_by_reason"]) <= set(quality[1]["rejected_by_reason"]) | {"out_of_range"}


def test_the_docs_show_the_planted_moves():
    text = (ROOT / "docs" / "quarters.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| (\d+)% \| (\d+) \|", text, flags=re.MULTILINE)
    assert rows == [(m.source, m.target, f"{m.share * 100:g}", str(m.min_age)) for m in MOVES]
    assert f"{LEAVE_SHARE * 100:g}%" in text and f"{JOIN_SHARE * 100:g}%" in text


def test_moves_name_real_personas():
    names = {p.name for p in PERSONAS}
    for move in MOVES:
        assert {move.source, move.target} <= names and move.source != move.target
        assert 0 < move.share < 1
