"""bankseg.reporting.drift: population stability index and segment share shifts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bankseg.params import DriftParams
from bankseg.reporting.drift import categorical_psi, drift_report, numeric_psi, psi


def test_psi_of_identical_shares_is_zero_and_grows_with_the_shift():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    small, large = psi([0.5, 0.5], [0.45, 0.55]), psi([0.5, 0.5], [0.1, 0.9])
    assert 0 < small < 0.05 < large
    assert psi([1.0, 0.0], [0.0, 1.0]) < np.inf  # empty bins are floored


def test_numeric_psi_is_small_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    training = pd.Series(rng.normal(40, 10, 5000))
    assert numeric_psi(training, pd.Series(rng.normal(40, 10, 2000)), 10) < 0.02
    assert numeric_psi(training, pd.Series(rng.normal(55, 10, 2000)), 10) > 0.5


def test_numeric_psi_counts_missing_values_as_a_bin():
    training = pd.Series(np.arange(100.0))
    with_missing = pd.Series([np.nan] * 50 + list(np.arange(50.0) * 2))
    assert numeric_psi(training, with_missing, 10) > 0.2


def test_categorical_psi_sees_new_and_vanished_values():
    training = pd.Series(["Savings"] * 80 + ["Current"] * 20)
    assert categorical_psi(training, training.sample(frac=1, random_state=0)) == pytest.approx(0.0)
    assert categorical_psi(training, pd.Series(["Savings"] * 50 + ["NRI"] * 50)) > 0.2


def test_drift_report_warns_when_a_threshold_is_crossed(cleaned, params):
    training = cleaned.kept
    shifted = training.copy()
    shifted["age"] = shifted["age"] + 25
    segments = pd.Series(np.arange(len(training)) % 3)
    names = {0: "A", 1: "B", 2: "C"}
    calm = drift_report(training, training, segments, segments, names, params.features, DriftParams())
    assert calm["warnings"] == [] and calm["max_psi"] == pytest.approx(0.0, abs=1e-9)
    assert set(calm["psi"]) == set(params.features.columns)

    new_segments = pd.Series(np.zeros(len(training), dtype=int))
    report = drift_report(training, shifted, segments, new_segments, names, params.features, DriftParams())
    assert report["psi"]["age"] > 0.2
    assert report["psi"]["networth"] == pytest.approx(0.0, abs=1e-9)
    assert report["new_share"]["0"] == 1.0 and report["share_change"]["0"] == pytest.approx(2 / 3, abs=0.01)
    assert report["max_share_change"] == pytest.approx(2 / 3, abs=0.01)
    assert any(w.startswith("feature age: PSI") for w in report["warnings"])
    assert any(w.startswith("segment 0 (A): share") for w in report["warnings"])
