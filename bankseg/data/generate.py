"""A deterministic synthetic customer base with planted personas.

The file format copies the original wealth-management export: 27 columns, personal
identifiers, quoted multi-line addresses and a demat account number that is missing exactly
when the customer has no demat account. Unlike that export, the records carry real
structure: each customer belongs to one persona whose age, income slab, net worth, monthly
SIP, demat account, risk profile and account type are drawn together.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

COLUMNS = [
    "customer_id", "customer_name", "branch_code", "branch_name", "customer_pan_card_no",
    "customer_adhar_card_no", "date_of_birth", "address", "name_of_city", "state_name",
    "state_code", "country", "zip_code", "mobile_no", "kyc_status", "risk_id", "income_slab",
    "kyc_number", "crn_unique_id", "account_type", "nationality", "sip_status",
    "has_demat_account", "demat_account_no", "networth", "sip_amount", "age",
]  # fmt: skip


@dataclass(frozen=True)
class Persona:
    name: str
    weight: float
    age_mean: float
    age_sd: float
    age_range: tuple[int, int]
    income: tuple[float, float, float]  # P(Low), P(Medium), P(High)
    networth_median: float
    networth_sigma: float
    sip_probability: float
    sip_median: float
    demat_probability: float
    risk: tuple[float, float, float, float]  # P(risk_id = 1..4)
    current_account_probability: float


PERSONAS = (
    Persona("young_saver", 0.25, 25, 3, (18, 32), (0.80, 0.18, 0.02), 150_000, 0.5,
            0.015, 2_000, 0.015, (0.55, 0.42, 0.03, 0.0), 0.015),
    Persona("mid_career_sip_investor", 0.25, 39, 5, (28, 55), (0.10, 0.80, 0.10), 1_500_000, 0.5,
            0.985, 12_000, 0.02, (0.05, 0.50, 0.42, 0.03), 0.02),
    Persona("affluent_investor", 0.15, 52, 6, (35, 70), (0.0, 0.08, 0.92), 10_000_000, 0.45,
            0.98, 45_000, 0.985, (0.0, 0.35, 0.60, 0.05), 0.98),
    Persona("retiree", 0.20, 69, 5, (58, 85), (0.50, 0.45, 0.05), 4_000_000, 0.6,
            0.015, 5_000, 0.98, (0.80, 0.20, 0.0, 0.0), 0.015),
    Persona("aggressive_trader", 0.15, 29, 4, (21, 42), (0.15, 0.70, 0.15), 2_000_000, 0.6,
            0.98, 20_000, 0.99, (0.0, 0.0, 0.10, 0.90), 0.02),
)  # fmt: skip

FIRST_NAMES = (
    "Aarav Aditi Akash Ananya Arjun Bhavna Chetan Deepa Dev Divya Farhan Gauri Harsh Isha "
    "Jai Kavya Kiran Lakshmi Manoj Meera Nikhil Neha Omkar Pooja Rahul Riya Sahil Sanjana "
    "Tanvi Uday Varun Vidya Yash Zoya Purab Dhanuk Ivana Azad Aniruddh Vardaniya"
).split()
LAST_NAMES = (
    "Sharma Verma Iyer Nair Reddy Gupta Mehta Shah Das Bose Kulkarni Joshi Pillai Rao Singh "
    "Choudhary Sawhney Master Ramakrishnan Madan Kalla Bhatia Krishnan Chaudhuri Dyal Kibe"
).split()
STREETS = (
    "Rao Chowk",
    "Bhatia Chowk",
    "Kibe Marg",
    "Dyal Circle",
    "Krishnan Nagar",
    "Chaudhuri Zila",
    "MG Road",
    "Station Road",
)
CITIES = (
    ("Abohar", "PUNJAB", 3), ("Achalpur", "MAHARASHTRA", 27), ("Adilabad", "ANDHRA PRADESH", 28),
    ("Adityapur", "JHARKHAND", 20), ("Agartala", "TRIPURA", 16), ("Aurangabad", "MAHARASHTRA", 27),
    ("Bengaluru", "KARNATAKA", 29), ("Chennai", "TAMIL NADU", 33), ("Kochi", "KERALA", 32),
    ("Lucknow", "UTTAR PRADESH", 9), ("Jaipur", "RAJASTHAN", 8), ("Pune", "MAHARASHTRA", 27),
)  # fmt: skip
INCOME_SLABS = np.array(["Low", "Medium", "High"])


def _choice_rows(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """Draw one index per row from that row's own probability vector."""
    cumulative = probabilities.cumsum(axis=1)
    cumulative[:, -1] = 1.0
    return (rng.random((len(probabilities), 1)) > cumulative).sum(axis=1)


def _digits(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    return rng.integers(low, high, size=n, dtype=np.int64)


def _draw(n: int, seed: int) -> dict[str, np.ndarray]:
    """Every random number of ``n`` customers, as numbers, in one fixed order of draws.

    Text is made from these afterwards, a block of rows at a time (see :func:`_text_table`),
    so a large base never exists as Python strings all at once.
    """
    rng = np.random.default_rng(seed)
    weights = np.array([p.weight for p in PERSONAS])
    persona_idx = rng.choice(len(PERSONAS), size=n, p=weights / weights.sum())

    def per_row(attr: str) -> np.ndarray:
        return np.array([getattr(p, attr) for p in PERSONAS], dtype=float)[persona_idx]

    age_low = np.array([p.age_range[0] for p in PERSONAS])[persona_idx]
    age_high = np.array([p.age_range[1] for p in PERSONAS])[persona_idx]
    age = np.clip(np.rint(rng.normal(per_row("age_mean"), per_row("age_sd"))), age_low, age_high)
    income = _choice_rows(rng, np.array([p.income for p in PERSONAS])[persona_idx])
    networth = np.exp(rng.normal(np.log(per_row("networth_median")), per_row("networth_sigma")))
    has_sip = rng.random(n) < per_row("sip_probability")
    sip_amount = np.where(has_sip, np.exp(rng.normal(np.log(per_row("sip_median")), 0.5)), 0.0)
    has_demat = rng.random(n) < per_row("demat_probability")
    risk_id = 1 + _choice_rows(rng, np.array([p.risk for p in PERSONAS])[persona_idx])
    current = rng.random(n) < per_row("current_account_probability")

    # A few outliers: very wealthy customers far above their persona.
    outlier = rng.random(n) < 0.002
    networth = np.where(outlier, networth * rng.uniform(20, 60, n), networth)

    d = {
        "persona": persona_idx,
        "age": age.astype(int),
        "income": income,
        "networth": np.round(networth, 2),
        "has_sip": has_sip,
        "sip_amount": np.round(sip_amount, 2),
        "has_demat": has_demat,
        "risk_id": risk_id,
        "current": current,
    }
    d["city"] = rng.integers(0, len(CITIES), n)
    d["birth_year"] = 2026 - d["age"] - rng.integers(0, 2, n)
    d["house"] = rng.integers(1, 999, n)
    d["street"] = rng.integers(0, len(STREETS), n)
    d["multiline"] = rng.random(n) < 0.5
    d["first_name"] = rng.integers(0, len(FIRST_NAMES), n)
    d["last_name"] = rng.integers(0, len(LAST_NAMES), n)
    d["pan"] = _digits(rng, n, 10**9, 10**10)
    d["aadhaar"] = _digits(rng, n, 10**11, 10**12)
    d["birth_month"] = rng.integers(1, 13, n)
    d["birth_day"] = rng.integers(1, 29, n)
    d["zip_code"] = 400000 + rng.integers(0, 100000, n)
    d["mobile"] = _digits(rng, n, 6 * 10**9, 10**10)
    d["kyc_status"] = rng.choice(3, size=n, p=[0.8, 0.15, 0.05])
    d["kyc_number"] = _digits(rng, n, 100000, 1000000)
    d["crn_a"] = _digits(rng, n, 0, 16**8)
    d["crn_b"] = _digits(rng, n, 0, 16**4)
    d["crn_c"] = _digits(rng, n, 0, 16**3)
    d["demat_no"] = _digits(rng, n, 10**9, 10**10)
    # Blemishes, as real exports have: a few blank values and a few invalid records.
    for column in ("age", "networth", "sip_amount", "income_slab"):
        d[f"blank_{column}"] = rng.random(n) < 0.003
    d["bad"] = rng.random(n)
    return d


_HEX4 = pa.array([f"{i:04x}" for i in range(16**4)])
_HEX3 = pa.array([f"{i:03x}" for i in range(16**3)])
_TWO_DIGITS = pa.array([f"{i:02d}" for i in range(100)])


def _text(values: np.ndarray) -> pa.Array:
    """Numbers as the text Python's ``str`` gives them.

    Arrow writes integers the same way; for floats numpy's shortest repr is Python's, while
    Arrow's differs (``0`` for ``0.0``).
    """
    if values.dtype.kind == "f":
        return _amount_text(values)
    return pa.array(values.astype(np.int64)).cast(pa.string())


_CENTS = pa.array([f"{c:02d}".rstrip("0") or "0" for c in range(100)])


def _amount_text(values: np.ndarray) -> pa.Array:
    """Amounts rounded to cents as Python writes them ("1500.5", "0.0"), without Python strings.

    An amount that is exactly the double nearest to ``cents / 100`` and well below 2**53 / 100
    prints as its whole part, a point and its cents without trailing zeros; numpy's shortest
    repr (the same as Python's) handles any other value.
    """
    cents = np.rint(values * 100)
    simple = (values >= 0) & (values < 1e13) & (cents / 100 == values)
    whole = pa.array((cents // 100).astype(np.int64)).cast(pa.string())
    text = pc.binary_join_element_wise(whole, _CENTS.take(pa.array((cents % 100).astype(np.int64))), ".")
    if not simple.all():
        other = pa.array(np.where(simple, "", values.astype(str)))
        text = pc.if_else(pa.array(simple), text, other)
    return text


def _take(table: list | tuple | np.ndarray, index: np.ndarray) -> pa.Array:
    return pa.array([str(v) for v in table]).take(pa.array(index))


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _text_table(d: dict[str, np.ndarray], start: int, stop: int, *, first_id: int, n: int) -> pa.Table:
    """Rows ``start`` to ``stop`` of the export: 27 text columns."""
    r = {k: v[start:stop] for k, v in d.items()}
    m = stop - start
    ids = np.arange(first_id + start, first_id + stop)
    if n >= 100:
        # Two ids exported twice with different data.
        ids = np.where(np.arange(start, stop) == n - 1, first_id, ids)
        ids = np.where(np.arange(start, stop) == n - 2, first_id + 1, ids)
    house = _text(r["house"])
    street = _take(STREETS, r["street"])
    address = pc.if_else(
        pa.array(r["multiline"]), _join(house, "\n", street), _join("H.No. ", house, ", ", street)
    )
    crn = _join(
        _HEX4.take(pa.array(r["crn_a"] >> 16)),
        _HEX4.take(pa.array(r["crn_a"] & 0xFFFF)),
        "-",
        _HEX4.take(pa.array(r["crn_b"])),
        "-4",
        _HEX3.take(pa.array(r["crn_c"])),
    )
    birth = _join(
        _text(r["birth_year"]),
        "-",
        _TWO_DIGITS.take(pa.array(r["birth_month"])),
        "-",
        _TWO_DIGITS.take(pa.array(r["birth_day"])),
    )
    empty = pa.array([""] * m, pa.string()) if m else pa.array([], pa.string())

    def blank(values: pa.Array, column: str) -> pa.Array:
        return pc.if_else(pa.array(r[f"blank_{column}"]), "", values)

    age = blank(_text(r["age"]), "age")
    age = pc.if_else(pa.array(r["bad"] < 0.0005), "250", age)
    networth = blank(_text(r["networth"]), "networth")
    networth = pc.if_else(pa.array((r["bad"] >= 0.0005) & (r["bad"] < 0.001)), "-1", networth)
    columns = {
        "customer_id": _text(ids),
        "customer_name": _join(_take(FIRST_NAMES, r["first_name"]), " ", _take(LAST_NAMES, r["last_name"])),
        "branch_code": _text(100 + r["city"]),
        "branch_name": _take([c[0] for c in CITIES], r["city"]),
        "customer_pan_card_no": _text(r["pan"]),
        "customer_adhar_card_no": _text(r["aadhaar"]),
        "date_of_birth": birth,
        "address": address,
        "name_of_city": _text(r["city"]),
        "state_name": _take([c[1] for c in CITIES], r["city"]),
        "state_code": _take([c[2] for c in CITIES], r["city"]),
        "country": pc.if_else(pa.array(np.ones(m, bool)), "India", empty),
        "zip_code": _text(r["zip_code"]),
        "mobile_no": _text(r["mobile"]),
        "kyc_status": _take(("Verified", "Pending", "Rejected"), r["kyc_status"]),
        "risk_id": _text(r["risk_id"]),
        "income_slab": blank(_take(INCOME_SLABS, r["income"]), "income_slab"),
        "kyc_number": _text(r["kyc_number"]),
        "crn_unique_id": crn,
        "account_type": pc.if_else(pa.array(r["current"]), "Current", "Savings"),
        "nationality": pc.if_else(pa.array(np.ones(m, bool)), "Indian", empty),
        "sip_status": pc.if_else(pa.array(r["has_sip"]), "Yes", "No"),
        "has_demat_account": pc.if_else(pa.array(r["has_demat"]), "Yes", "No"),
        "demat_account_no": pc.if_else(pa.array(r["has_demat"]), _text(r["demat_no"]), ""),
        "networth": networth,
        "sip_amount": blank(_text(r["sip_amount"]), "sip_amount"),
        "age": age,
    }
    return pa.table({c: columns[c].cast(pa.large_string()) for c in COLUMNS})


def _persona_table(d: dict[str, np.ndarray], start: int, stop: int, *, first_id: int) -> pa.Table:
    return pa.table(
        {
            "customer_id": pa.array(np.arange(first_id + start, first_id + stop, dtype=np.int64)),
            "persona": _take([p.name for p in PERSONAS], d["persona"][start:stop]).cast(pa.large_string()),
        }
    )


def customer_blocks(
    n: int, *, seed: int, first_id: int = 0, block_size: int = 500_000
) -> tuple[Iterator[pa.Table], Iterator[pa.Table]]:
    """``(customers, personas)`` of :func:`generate_customers` as Arrow tables of ``block_size`` rows.

    The random draws are made at once (numbers only, about 200 bytes a customer); the text
    is made one block at a time, so memory stays bounded for any number of customers.
    """
    d = _draw(n, seed)
    starts = range(0, n, block_size)
    customers = (_text_table(d, i, min(i + block_size, n), first_id=first_id, n=n) for i in starts)
    personas = (_persona_table(d, i, min(i + block_size, n), first_id=first_id) for i in starts)
    return customers, personas


def generate_customers(n: int, *, seed: int, first_id: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(customers, personas)`` for ``n`` customers with ids from ``first_id``.

    ``customers`` has the 27 columns of the original export as text, ready to be written
    as CSV; ``personas`` maps ``customer_id`` to the planted persona.
    """
    d = _draw(n, seed)
    customers = _text_table(d, 0, n, first_id=first_id, n=n).to_pandas()
    personas = _persona_table(d, 0, n, first_id=first_id).to_pandas()
    return customers, personas
