"""bankseg.data.generate: a deterministic base in the original export's format, with planted personas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bankseg.data.generate import COLUMNS, PERSONAS, generate_customers


def test_columns_are_the_27_of_the_export_in_order(customers):
    assert len(COLUMNS) == 27
    assert len(set(COLUMNS)) == 27
    assert list(customers.columns) == COLUMNS
    assert COLUMNS[0] == "customer_id"
    assert COLUMNS[-3:] == ["networth", "sip_amount", "age"]


def test_every_value_is_text(customers):
    values = customers.to_numpy().ravel()
    assert all(isinstance(v, str) for v in values)


def test_same_seed_gives_byte_identical_csv():
    first, first_personas = generate_customers(800, seed=5)
    second, second_personas = generate_customers(800, seed=5)
    assert first.to_csv(index=False).encode() == second.to_csv(index=False).encode()
    assert first_personas.to_csv(index=False) == second_personas.to_csv(index=False)


def test_different_seed_gives_different_customers():
    first, _ = generate_customers(300, seed=5)
    second, _ = generate_customers(300, seed=6)
    assert first.to_csv(index=False) != second.to_csv(index=False)


def test_rows_and_ids(customers, personas):
    assert len(customers) == 1500
    assert len(personas) == 1500
    assert personas["customer_id"].tolist() == list(range(1500))


@pytest.mark.parametrize("seed", [0, 1, 11])
def test_demat_number_is_empty_exactly_when_there_is_no_demat_account(seed):
    customers, _ = generate_customers(1000, seed=seed)
    has_demat = customers["has_demat_account"]
    assert set(has_demat) == {"Yes", "No"}
    empty = customers["demat_account_no"] == ""
    assert (empty == (has_demat == "No")).all()
    assert customers.loc[~empty, "demat_account_no"].str.fullmatch(r"\d{10}").all()


def test_some_addresses_span_several_lines(customers):
    multiline = customers["address"].str.contains("\n", regex=False)
    assert 0.3 < multiline.mean() < 0.7  # about half, by construction
    assert not customers.loc[~multiline, "address"].str.contains("\n").any()


def test_persona_ids_match_customer_ids(customers, personas):
    assert list(personas.columns) == ["customer_id", "persona"]
    assert set(personas["persona"]) == {p.name for p in PERSONAS}
    ids = customers["customer_id"].astype(int).to_numpy()
    # Every row but the last two carries its own id; those two repeat the first two ids
    # (planted duplicates for the cleaning step to reject).
    assert (ids[:-2] == personas["customer_id"].to_numpy()[:-2]).all()
    assert ids[-2:].tolist() == [1, 0]
    assert customers["customer_id"].duplicated().sum() == 2


def test_first_id_shifts_the_ids():
    customers, personas = generate_customers(150, seed=2, first_id=10_000)
    assert personas["customer_id"].tolist() == list(range(10_000, 10_150))
    assert customers["customer_id"].iloc[0] == "10000"
    assert customers["customer_id"].iloc[-1] == "10000"  # planted duplicate of the first id


def test_small_bases_have_no_planted_duplicates():
    customers, _ = generate_customers(50, seed=2)
    assert not customers["customer_id"].duplicated().any()


def test_persona_weights_sum_to_one():
    assert sum(p.weight for p in PERSONAS) == pytest.approx(1.0)


def _valid_numbers(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.where(values != ""), errors="coerce")


def test_ages_stay_in_their_persona_range(customers, personas):
    age = _valid_numbers(customers["age"])
    planted_invalid = age == 250
    by_persona = personas["persona"].to_numpy()
    for persona in PERSONAS:
        ages = age[(by_persona == persona.name) & ~planted_invalid.to_numpy()].dropna()
        low, high = persona.age_range
        assert ages.between(low, high).all(), persona.name
        assert len(ages) > 50, persona.name


def test_personas_differ_as_planted(customers, personas):
    frame = pd.DataFrame(
        {
            "persona": personas["persona"],
            "age": _valid_numbers(customers["age"]),
            "networth": _valid_numbers(customers["networth"]),
            "high_income": customers["income_slab"] == "High",
            "risk_4": customers["risk_id"] == "4",
        }
    )
    medians = frame.groupby("persona")[["age", "networth"]].median()
    shares = frame.groupby("persona")[["high_income", "risk_4"]].mean()
    assert medians.loc["retiree", "age"] > medians.loc["young_saver", "age"] + 30
    assert medians.loc["affluent_investor", "networth"] > 5 * medians.loc["young_saver", "networth"]
    assert shares.loc["affluent_investor", "high_income"] > 0.8
    assert shares.loc["aggressive_trader", "risk_4"] > 0.8
    assert shares.loc["retiree", "risk_4"] == 0


def test_sip_amount_is_zero_without_active_sip(customers):
    amount = _valid_numbers(customers["sip_amount"])
    no_sip = customers["sip_status"] == "No"
    assert (amount[no_sip].dropna() == 0).all()
    assert (amount[~no_sip].dropna() > 0).all()


def test_blemishes_are_rare_and_of_the_planted_kinds():
    customers, _ = generate_customers(2000, seed=42)
    for column in ("age", "networth", "sip_amount", "income_slab"):
        blank = (customers[column] == "").mean()
        assert blank < 0.02, column
    assert (customers[["age", "networth", "sip_amount", "income_slab"]] == "").to_numpy().any()
    age = _valid_numbers(customers["age"]).dropna()
    assert set(age[age > 100]) <= {250}
    networth = _valid_numbers(customers["networth"]).dropna()
    assert set(networth[networth < 0]) <= {-1}


def test_no_personal_column_is_blank(customers):
    personal = ["customer_name", "customer_pan_card_no", "customer_adhar_card_no", "mobile_no", "address"]
    assert (customers[personal] != "").to_numpy().all()
    assert customers["customer_pan_card_no"].str.fullmatch(r"\d{10}").all()
    assert customers["customer_adhar_card_no"].str.fullmatch(r"\d{12}").all()
    assert np.isin(customers["country"].unique(), ["India"]).all()
