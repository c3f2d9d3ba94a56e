"""A deterministic synthetic customer base with planted personas.

The file format copies the original wealth-management export: 27 columns, personal
identifiers, quoted multi-line addresses and a demat account number that is missing exactly
when the customer has no demat account. Unlike that export, the records carry real
structure: each customer belongs to one persona whose age, income slab, net worth, monthly
SIP, demat account, risk profile and account type are drawn together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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


def generate_customers(n: int, *, seed: int, first_id: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(customers, personas)`` for ``n`` customers with ids from ``first_id``.

    ``customers`` has the 27 columns of the original export as text, ready to be written
    as CSV; ``personas`` maps ``customer_id`` to the planted persona.
    """
    rng = np.random.default_rng(seed)
    weights = np.array([p.weight for p in PERSONAS])
    persona_idx = rng.choice(len(PERSONAS), size=n, p=weights / weights.sum())

    def per_row(attr: str) -> np.ndarray:
        return np.array([getattr(p, attr) for p in PERSONAS], dtype=float)[persona_idx]

    age_low = np.array([p.age_range[0] for p in PERSONAS])[persona_idx]
    age_high = np.array([p.age_range[1] for p in PERSONAS])[persona_idx]
    age = np.clip(np.rint(rng.normal(per_row("age_mean"), per_row("age_sd"))), age_low, age_high)
    income = INCOME_SLABS[_choice_rows(rng, np.array([p.income for p in PERSONAS])[persona_idx])]
    networth = np.exp(rng.normal(np.log(per_row("networth_median")), per_row("networth_sigma")))
    has_sip = rng.random(n) < per_row("sip_probability")
    sip_amount = np.where(has_sip, np.exp(rng.normal(np.log(per_row("sip_median")), 0.5)), 0.0)
    has_demat = rng.random(n) < per_row("demat_probability")
    risk_id = 1 + _choice_rows(rng, np.array([p.risk for p in PERSONAS])[persona_idx])
    account_type = np.where(rng.random(n) < per_row("current_account_probability"), "Current", "Savings")

    # A few outliers: very wealthy customers far above their persona.
    outlier = rng.random(n) < 0.002
    networth = np.where(outlier, networth * rng.uniform(20, 60, n), networth)

    ids = np.arange(first_id, first_id + n)
    city = rng.integers(0, len(CITIES), n)
    birth_year = 2026 - age.astype(int) - rng.integers(0, 2, n)
    house = rng.integers(1, 999, n)
    street = np.array(STREETS)[rng.integers(0, len(STREETS), n)]
    multiline = rng.random(n) < 0.5
    address = np.where(
        multiline,
        pd.Series(house).astype(str).to_numpy() + "\n" + street,
        "H.No. " + pd.Series(house).astype(str).to_numpy() + ", " + street,
    )
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "customer_name": np.array(FIRST_NAMES)[rng.integers(0, len(FIRST_NAMES), n)]
            + " "
            + np.array(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), n)],
            "branch_code": 100 + city,
            "branch_name": [CITIES[c][0] for c in city],
            "customer_pan_card_no": _digits(rng, n, 10**9, 10**10),
            "customer_adhar_card_no": _digits(rng, n, 10**11, 10**12),
            "date_of_birth": [
                f"{y:04d}-{m:02d}-{d:02d}"
                for y, m, d in zip(birth_year, rng.integers(1, 13, n), rng.integers(1, 29, n), strict=True)
            ],
            "address": address,
            "name_of_city": city,
            "state_name": [CITIES[c][1] for c in city],
            "state_code": [CITIES[c][2] for c in city],
            "country": "India",
            "zip_code": 400000 + rng.integers(0, 100000, n),
            "mobile_no": _digits(rng, n, 6 * 10**9, 10**10),
            "kyc_status": np.array(["Verified", "Pending", "Rejected"])[
                rng.choice(3, size=n, p=[0.8, 0.15, 0.05])
            ],
            "risk_id": risk_id,
            "income_slab": income,
            "kyc_number": _digits(rng, n, 100000, 1000000),
            "crn_unique_id": [
                f"{a:08x}-{b:04x}-4{c:03x}"
                for a, b, c in zip(
                    _digits(rng, n, 0, 16**8),
                    _digits(rng, n, 0, 16**4),
                    _digits(rng, n, 0, 16**3),
                    strict=True,
                )
            ],
            "account_type": account_type,
            "nationality": "Indian",
            "sip_status": np.where(has_sip, "Yes", "No"),
            "has_demat_account": np.where(has_demat, "Yes", "No"),
            "demat_account_no": np.where(has_demat, _digits(rng, n, 10**9, 10**10).astype(str), ""),
            "networth": np.round(networth, 2),
            "sip_amount": np.round(sip_amount, 2),
            "age": age.astype(int),
        },
        columns=COLUMNS,
    ).astype(str)
    customers.loc[~has_demat, "demat_account_no"] = ""
    _add_blemishes(customers, rng)
    personas = pd.DataFrame({"customer_id": ids, "persona": [PERSONAS[i].name for i in persona_idx]})
    return customers, personas


def _add_blemishes(customers: pd.DataFrame, rng: np.random.Generator) -> None:
    """Blank a few values and plant a few invalid records, as real exports have."""
    n = len(customers)
    for column in ("age", "networth", "sip_amount", "income_slab"):
        customers.loc[rng.random(n) < 0.003, column] = ""
    bad = rng.random(n)
    customers.loc[bad < 0.0005, "age"] = "250"
    customers.loc[(bad >= 0.0005) & (bad < 0.001), "networth"] = "-1"
    if n >= 100:
        # Two ids exported twice with different data.
        customers.loc[n - 1, "customer_id"] = customers.loc[0, "customer_id"]
        customers.loc[n - 2, "customer_id"] = customers.loc[1, "customer_id"]
