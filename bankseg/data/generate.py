"""A deterministic synthetic customer base with planted personas.

The file format copies the original wealth-management export: 27 columns, personal
identifiers, quoted multi-line addresses and a demat account number that is missing exactly
when the customer has no demat account. Unlike that export, the records carry real
structure: each customer belongs to one persona whose age, income slab, net worth, monthly
SIP, demat account, risk profile and account type are drawn together.

Quarter 1 is the base as first drawn. A later quarter shows the same customers that many
quarterly steps later: a little older, some of them with the behaviour of another persona
(the planted :data:`MOVES`), some gone and some new. Each step draws from its own generator,
so the earlier quarters never change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

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


@dataclass(frozen=True)
class Move:
    """A planted change of behaviour between two quarters: ``share`` of the customers of persona
    ``source`` who are at least ``min_age`` years old take on persona ``target``."""

    source: str
    target: str
    share: float
    min_age: int
    story: str


# Applied at every quarterly step (drawn in this order). A customer moves at most once a step, as
# the persona at the start of the step decides; over several quarters one may climb the ladder.
MOVES = (
    Move("young_saver", "mid_career_sip_investor", 0.10, 27, "young savers start a SIP"),
    Move("mid_career_sip_investor", "affluent_investor", 0.08, 45, "SIP investors grow affluent"),
    Move("affluent_investor", "retiree", 0.20, 58, "affluent investors retire"),
)
LEAVE_SHARE = 0.03  # of a quarter's customers are gone in the next
JOIN_SHARE = 0.04  # of a quarter's customers: how many new ones join in the next
BASE_YEAR = 2026  # the year of quarter 1, its last quarter; quarter 2 is the first of the next year


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


def _per_row(attr: str, persona_idx: np.ndarray) -> np.ndarray:
    return np.array([getattr(p, attr) for p in PERSONAS], dtype=float)[persona_idx]


def _behaviour(rng: np.random.Generator, persona_idx: np.ndarray) -> dict[str, np.ndarray]:
    """The behavioural attributes of customers of the given personas: income slab, net worth,
    SIP status and amount, demat account, risk and account type."""
    n = len(persona_idx)
    income = _choice_rows(rng, np.array([p.income for p in PERSONAS])[persona_idx])
    networth = np.exp(
        rng.normal(np.log(_per_row("networth_median", persona_idx)), _per_row("networth_sigma", persona_idx))
    )
    has_sip = rng.random(n) < _per_row("sip_probability", persona_idx)
    sip_amount = np.where(has_sip, np.exp(rng.normal(np.log(_per_row("sip_median", persona_idx)), 0.5)), 0.0)
    has_demat = rng.random(n) < _per_row("demat_probability", persona_idx)
    risk_id = 1 + _choice_rows(rng, np.array([p.risk for p in PERSONAS])[persona_idx])
    current = rng.random(n) < _per_row("current_account_probability", persona_idx)

    # A few outliers: very wealthy customers far above their persona.
    outlier = rng.random(n) < 0.002
    networth = np.where(outlier, networth * rng.uniform(20, 60, n), networth)
    return {
        "income": income,
        "networth": np.round(networth, 2),
        "has_sip": has_sip,
        "sip_amount": np.round(sip_amount, 2),
        "has_demat": has_demat,
        "risk_id": risk_id,
        "current": current,
    }


def _blemishes(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Blemishes, as real exports have: a few blank values and a few invalid records."""
    d = {
        f"blank_{column}": rng.random(n) < 0.003
        for column in ("age", "networth", "sip_amount", "income_slab")
    }
    d["bad"] = rng.random(n)
    return d


def _draw(n: int, seed: int | list[int], *, year: int = BASE_YEAR) -> dict[str, np.ndarray]:
    """Every random number of ``n`` customers, as numbers, in one fixed order of draws.

    Text is made from these afterwards, a block of rows at a time (see :func:`_text_table`),
    so a large base never exists as Python strings all at once. ``year`` is the year of the
    export, from which birth years are counted back.
    """
    rng = np.random.default_rng(seed)
    weights = np.array([p.weight for p in PERSONAS])
    persona_idx = rng.choice(len(PERSONAS), size=n, p=weights / weights.sum())
    age_low = np.array([p.age_range[0] for p in PERSONAS])[persona_idx]
    age_high = np.array([p.age_range[1] for p in PERSONAS])[persona_idx]
    age_mean, age_sd = _per_row("age_mean", persona_idx), _per_row("age_sd", persona_idx)
    age = np.clip(np.rint(rng.normal(age_mean, age_sd)), age_low, age_high)
    d = {"persona": persona_idx, "age": age.astype(int), **_behaviour(rng, persona_idx)}
    d["city"] = rng.integers(0, len(CITIES), n)
    d["birth_year"] = year - d["age"] - rng.integers(0, 2, n)
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
    d.update(_blemishes(rng, n))
    return d


def _share_of(share: float, count: int) -> int:
    return int(share * count + 0.5)


class QuarterStep(NamedTuple):
    """One quarterly step: the customers at its start, how many leave, how many new ones join."""

    customers: int
    leavers: int
    joiners: int


def quarter_steps(n_customers: int, quarter: int) -> list[QuarterStep]:
    """The steps from quarter 1's ``n_customers`` customers to ``quarter``: ``quarter - 1`` of them.

    The sizes follow from :data:`LEAVE_SHARE` and :data:`JOIN_SHARE` alone, so they are known
    without drawing anyone.
    """
    if quarter < 1:
        raise ValueError(f"quarter={quarter} should be >= 1")
    steps = []
    customers = n_customers
    for _ in range(1, quarter):
        step = QuarterStep(customers, _share_of(LEAVE_SHARE, customers), _share_of(JOIN_SHARE, customers))
        steps.append(step)
        customers += step.joiners - step.leavers
    return steps


def quarter_months(quarter: int) -> tuple[int, int, int]:
    """The months of ``quarter``: quarter 1 is October to December, quarter 2 January to March.

    Customers born in these months are a year older in ``quarter`` than in the quarter before,
    so after four quarters everyone is a year older.
    """
    first = (quarter + 2) % 4 * 3 + 1
    return first, first + 1, first + 2


def quarter_year(quarter: int) -> int:
    """The calendar year of ``quarter``, from which new customers' birth years are counted."""
    return BASE_YEAR + (quarter + 2) // 4


def _id_layout(n_customers: int, n_new: int, quarter: int, first_id: int) -> tuple[list[int], int]:
    """The first id of each step's joiners, and of ``quarter``'s batch of new customers.

    Ids are handed out in time order and never reused: quarter 1's customers, its batch of
    ``n_new`` new customers, the customers who join in quarter 2, quarter 2's batch of new
    customers, and so on.
    """
    cursor = first_id + n_customers
    joiner_ids = []
    for step in quarter_steps(n_customers, quarter):
        cursor += n_new
        joiner_ids.append(cursor)
        cursor += step.joiners
    return joiner_ids, cursor


def _pick(keys: np.ndarray, eligible: np.ndarray, count: int) -> np.ndarray:
    """A mask of the ``count`` eligible rows with the smallest random ``keys``: exactly that many."""
    index = np.flatnonzero(eligible)
    chosen = np.zeros(len(keys), bool)
    chosen[index[np.argsort(keys[index], kind="stable")[:count]]] = True
    return chosen


def _next_quarter(d: dict[str, np.ndarray], *, seed: int, step: int, first_joiner_id: int) -> None:
    """Turn the draws of quarter ``step`` into those of quarter ``step + 1``, in place.

    Every random number of the step comes from its own generator, so the quarters before are
    untouched: some customers leave, the planted :data:`MOVES` change some personas (the
    movers' behaviour is redrawn; identity and age are kept), customers born in the new
    quarter's months are a year older, new customers join with fresh ids, and the export's
    blemishes are drawn anew. The arrays are replaced one at a time, so memory holds about
    one copy of the numbers, as for quarter 1.
    """
    rng = np.random.default_rng([seed, step, 0])
    quarter = step + 1
    n = len(d["customer_id"])
    stays = ~_pick(rng.random(n), np.ones(n, bool), _share_of(LEAVE_SHARE, n))
    index = {p.name: i for i, p in enumerate(PERSONAS)}
    persona = d["persona"].copy()
    moved = np.zeros(n, bool)
    for move in MOVES:
        keys = rng.random(n)
        eligible = stays & (d["persona"] == index[move.source]) & (d["age"] >= move.min_age)
        chosen = _pick(keys, eligible, _share_of(move.share, int(eligible.sum())))
        persona[chosen] = index[move.target]
        moved |= chosen
    d["persona"] = persona
    for key, values in _behaviour(rng, persona[moved]).items():
        d[key][moved] = values
    d["age"] += np.isin(d["birth_month"], quarter_months(quarter))
    joiners = _draw(_share_of(JOIN_SHARE, n), [seed, step, 1], year=quarter_year(quarter))
    joiners["customer_id"] = first_joiner_id + np.arange(len(joiners["persona"]))
    blemishes = _blemishes(rng, int(stays.sum()) + len(joiners["persona"]))
    for key in list(d):
        d[key] = blemishes[key] if key in blemishes else np.concatenate([d[key][stays], joiners.pop(key)])


def _quarter_draws(n: int, *, seed: int, quarter: int, first_id: int, n_new: int) -> dict[str, np.ndarray]:
    """The draws of quarter ``quarter``: quarter 1's customers after ``quarter - 1`` steps."""
    joiner_ids, _ = _id_layout(n, n_new, quarter, first_id)
    d = _draw(n, seed)
    d["customer_id"] = np.arange(first_id, first_id + n)
    for step, first_joiner_id in enumerate(joiner_ids, start=1):
        _next_quarter(d, seed=seed, step=step, first_joiner_id=first_joiner_id)
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


def _text_table(d: dict[str, np.ndarray], start: int, stop: int) -> pa.Table:
    """Rows ``start`` to ``stop`` of the export: 27 text columns."""
    r = {k: v[start:stop] for k, v in d.items()}
    m = stop - start
    n = len(d["customer_id"])
    ids = r["customer_id"]
    if n >= 100:
        # Two ids exported twice with different data: the last two rows carry the first two ids.
        ids = np.where(np.arange(start, stop) == n - 1, d["customer_id"][0], ids)
        ids = np.where(np.arange(start, stop) == n - 2, d["customer_id"][1], ids)
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


def _persona_table(d: dict[str, np.ndarray], start: int, stop: int) -> pa.Table:
    return pa.table(
        {
            "customer_id": pa.array(d["customer_id"][start:stop].astype(np.int64)),
            "persona": _take([p.name for p in PERSONAS], d["persona"][start:stop]).cast(pa.large_string()),
        }
    )


def _blocks(d: dict[str, np.ndarray], block_size: int) -> tuple[Iterator[pa.Table], Iterator[pa.Table]]:
    n = len(d["customer_id"])
    starts = range(0, n, block_size)
    customers = (_text_table(d, i, min(i + block_size, n)) for i in starts)
    personas = (_persona_table(d, i, min(i + block_size, n)) for i in starts)
    return customers, personas


def customer_blocks(
    n: int, *, seed: int, first_id: int = 0, quarter: int = 1, n_new: int = 0, block_size: int = 500_000
) -> tuple[Iterator[pa.Table], Iterator[pa.Table]]:
    """``(customers, personas)`` of :func:`generate_customers` as Arrow tables of ``block_size`` rows.

    The random draws are made at once (numbers only, about 200 bytes a customer); the text
    is made one block at a time, so memory stays bounded for any number of customers.
    """
    return _blocks(_quarter_draws(n, seed=seed, quarter=quarter, first_id=first_id, n_new=n_new), block_size)


def new_customer_blocks(
    n_new: int, *, n_customers: int, seed: int, quarter: int = 1, first_id: int = 0, block_size: int = 500_000
) -> tuple[Iterator[pa.Table], Iterator[pa.Table]]:
    """``(customers, personas)`` of the batch of ``n_new`` new customers of ``quarter``, as blocks.

    Each quarter has a fresh batch drawn from the persona mix, whose ids come after every id
    handed out so far (see :func:`customer_blocks` with the same ``n_new``); quarter 1's batch
    has the ids right after its ``n_customers`` customers.
    """
    _, batch_id = _id_layout(n_customers, n_new, quarter, first_id)
    if quarter == 1:
        d = _draw(n_new, seed + 1)
    else:
        d = _draw(n_new, [seed, quarter, 2], year=quarter_year(quarter))
    d["customer_id"] = np.arange(batch_id, batch_id + n_new)
    return _blocks(d, block_size)


def generate_customers(
    n: int, *, seed: int, first_id: int = 0, quarter: int = 1, n_new: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(customers, personas)`` for ``n`` customers with ids from ``first_id``.

    ``customers`` has the 27 columns of the original export as text, ready to be written
    as CSV; ``personas`` maps ``customer_id`` to the planted persona. With ``quarter`` above 1,
    the same customers ``quarter - 1`` quarters later (see :func:`_next_quarter`); the new
    customers who joined meanwhile have ids after those reserved for each quarter's batch of
    ``n_new`` new customers.
    """
    d = _quarter_draws(n, seed=seed, quarter=quarter, first_id=first_id, n_new=n_new)
    rows = len(d["customer_id"])
    return _text_table(d, 0, rows).to_pandas(), _persona_table(d, 0, rows).to_pandas()
