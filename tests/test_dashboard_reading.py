"""The dashboard reads like the report: counts, shares and amounts from bankseg.reporting.formatting, metrics
as small tables, and each customer's runner-up segment with how clear-cut the assignment is.

Pure functions of bankseg.dashboard.core and bankseg.segmentation.kmeans, and the pages run with streamlit's
AppTest on a small project folder (see dashboard_data.py).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dashboard_data import ASSIGNED_COLUMNS, build_project, upload_customers
from sklearn.cluster import KMeans
from sklearn.pipeline import Pipeline

from bankseg.dashboard import core
from bankseg.io.atomic import read_json, write_json
from bankseg.reporting import formatting
from bankseg.segmentation.kmeans import nearest_segments

pytest.importorskip("streamlit")
from dashboard_app import start, summary_table, unescaped  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

pytestmark = pytest.mark.slow  # seconds per test: subprocesses, apps or searches

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir, params) -> Path:
    return build_project(
        tmp_path_factory.mktemp("reading") / "project", tiny_model_dir, params, with_drift=True
    )


@pytest.fixture(scope="module")
def segmentation(project) -> core.TrainedSegmentation:
    return core.load_segmentation(project)


@pytest.fixture(scope="module")
def scored(segmentation) -> core.Scored:
    return core.score_batch(segmentation)


def table_with(at: AppTest, column: str) -> list[pd.DataFrame]:
    return [df.value for df in at.dataframe if column in df.value.columns]


# ---- The runner-up segment and the clarity ----


def toy_kmeans() -> KMeans:
    """1-D K-means with its centres at 0 and 10 (segment 0 at 0)."""
    X = pd.DataFrame({"x": [0.0, 0.0, 0.0, 10.0, 10.0]})
    kmeans = KMeans(n_clusters=2, n_init=1, random_state=0).fit(X)
    kmeans.cluster_centers_ = np.array([[0.0], [10.0]])
    return kmeans


def test_nearest_segments_on_a_one_dimensional_kmeans():
    kmeans = toy_kmeans()
    points = pd.DataFrame({"x": [5.0, 2.0, 0.0, 10.0, 12.0, -3.0]}, index=[10, 11, 12, 13, 14, 15])
    found = nearest_segments(kmeans, points)
    assert list(found.index) == [10, 11, 12, 13, 14, 15]
    assert found["segment"].tolist() == [0, 0, 0, 1, 1, 0]  # the midway point goes to the lower id
    assert found["runner_up"].tolist() == [1, 1, 1, 0, 0, 1]
    assert found["distance"].tolist() == [5.0, 2.0, 0.0, 0.0, 2.0, 3.0]
    assert found["runner_up_distance"].tolist() == [5.0, 8.0, 10.0, 10.0, 12.0, 13.0]
    # 1 - d1 / d2: 0 midway, 1 at a centre; 2 from 0 and 8 from 10: 1 - 2/8.
    assert found["clarity"].tolist() == pytest.approx([0.0, 0.75, 1.0, 1.0, 1 - 2 / 12, 1 - 3 / 13])
    # The same from the whole model (the last step is the K-means), and as assign_segments labels.
    model = Pipeline([("kmeans", kmeans)])
    pd.testing.assert_frame_equal(nearest_segments(model, points), found)
    assert found["segment"].tolist() == kmeans.predict(points).tolist()


def test_nearest_segments_without_customers_or_a_second_segment():
    empty = nearest_segments(toy_kmeans(), pd.DataFrame({"x": pd.Series(dtype="float64")}))
    assert empty.empty and list(empty.columns) == [
        "segment",
        "distance",
        "runner_up",
        "runner_up_distance",
        "clarity",
    ]
    one = KMeans(n_clusters=1, n_init=1, random_state=0).fit(pd.DataFrame({"x": [0.0, 2.0]}))
    found = nearest_segments(one, pd.DataFrame({"x": [1.0, 4.0]}))
    assert found["runner_up"].isna().all() and (found["clarity"] == 1.0).all()


def test_assignment_words():
    names = {0: "Young savers", 1: "Affluent investors"}
    found = nearest_segments(toy_kmeans(), pd.DataFrame({"x": [5.0, 3.9, 5.9, 1.0, 9.0]}))
    words = core.assignment_words(found["segment"], found["runner_up"], found["clarity"], names)
    assert words.tolist() == [
        "between segments 0 and 1, closer to 0",  # midway: clarity 0
        "between segments 0 and 1, closer to 0",  # 1 - 3.9/6.1 = 0.36
        "between segments 1 and 0, closer to 1",  # 1 - 4.1/5.9 = 0.31
        "clearly segment 0 (Young savers)",  # 1 - 1/9 = 0.89
        "clearly segment 1 (Affluent investors)",
    ]
    # The threshold itself reads "clearly"; no runner-up (one segment) too.
    at_cut = core.assignment_words(
        pd.Series([0, 1]), pd.Series([1, None], dtype="Int64"), pd.Series([core.CLEAR_CUT, 0.1]), names
    )
    assert at_cut.tolist() == ["clearly segment 0 (Young savers)", "clearly segment 1 (Affluent investors)"]


def test_scoring_encodes_the_customers_once(segmentation, monkeypatch):
    calls = []
    encode = core.feature_frame
    monkeypatch.setattr(core, "feature_frame", lambda *a, **k: calls.append(1) or encode(*a, **k))

    def refuse(*args, **kwargs):
        raise AssertionError("customers encoded a second time")

    monkeypatch.setattr("bankseg.segmentation.kmeans.feature_frame", refuse)
    scored = core.score(upload_customers(50), segmentation, "customers.csv")
    assert calls == [1]
    assert scored.nearest["segment"].tolist() == scored.labelled["segment"].tolist()
    assert scored.nearest["distance"].round(6).tolist() == scored.labelled["distance"].tolist()
    assert (scored.nearest["runner_up"] != scored.nearest["segment"]).all()
    assert scored.nearest["clarity"].between(0, 1).all()


def test_customer_table_has_words_not_a_distance(scored, segmentation):
    for seg in segmentation.names:
        table = core.segment_customers(scored, segmentation, seg)
        assert list(table.columns) == [segmentation.params.data.id_column, *core.CUSTOMER_COLUMNS]
        assert core.CUSTOMER_COLUMNS == ("clarity", "assignment", "runner-up segment")
        assert "distance" not in table.columns
        clear = table["clarity"] >= core.CLEAR_CUT  # as shown (two decimals): words and number agree
        assert table.loc[clear, "assignment"].eq(f"clearly segment {seg} ({segmentation.names[seg]})").all()
        assert table.loc[~clear, "assignment"].str.startswith(f"between segments {seg} and ").all()
        assert table.loc[~clear, "assignment"].str.endswith(f", closer to {seg}").all()
        assert not table["runner-up segment"].str.startswith(f"{seg}:").any()


def test_customer_table_in_the_page(project, monkeypatch):
    at = start(project, monkeypatch)
    at.button(key="segment_batch").click().run()
    assert not at.exception and not at.error
    tables = table_with(at, "assignment")
    assert len(tables) == 3
    for table in tables:
        assert "distance" not in table.columns and "assignment" in table.columns
        assert table["assignment"].str.match(r"^(clearly segment|between segments) \d").all()
    captions = " ".join(unescaped(c.value) for c in at.caption)
    assert "runner_up, runner_up_name and clarity" in captions  # what the CSV holds, on the page
    between = sum(t["assignment"].str.startswith("between").sum() for t in tables)
    shown = sum(len(t) for t in tables)
    assert (
        f"between two segments: {formatting.share(between / shown)} of the customers in this file" in captions
    )


def test_download_keeps_the_assign_columns_then_the_runner_up(scored, segmentation):
    for seg in segmentation.names:
        download = core.segment_download(scored, segmentation, seg)
        assert list(download.columns) == [*ASSIGNED_COLUMNS, *core.DOWNLOAD_EXTRA]
        assigned = scored.labelled[scored.labelled["segment"] == seg].reset_index(drop=True)
        pd.testing.assert_frame_equal(download[ASSIGNED_COLUMNS], assigned)
        named = download["runner_up"].map(segmentation.names)
        assert download["runner_up_name"].tolist() == named.tolist()


# ---- Counts, shares and amounts as the report writes them ----


def test_summary_counts_and_shares_read_as_formatting_writes_them(scored, segmentation):
    table = core.summary(scored, segmentation)
    counts = scored.labelled["segment"].value_counts()
    total = len(scored.labelled)
    for row in table.itertuples():
        n = int(counts.get(row.segment, 0))
        assert row.customers == formatting.count(n)
        assert row.share == formatting.share(n / total)
    assert table["share"].str.fullmatch(r"\d+\.\d%").all()


def test_the_reports_figures_read_the_same_on_the_status_page():
    """The report's table writes 5,051 customers (25.3%) of 19,976: so does the status page."""
    metrics = {
        "train": {"n_clusters": 2, "n_customers": 19976, "silhouette": 0.6029},
        "segments": {
            "segments": {"0": {"size": 5051, "share": 0.2529}, "1": {"size": 14925, "share": 0.7471}}
        },
        "stability": {"mean_ari": 0.9994, "segments": {"0": {"jaccard": 0.9998, "stable": True}}},
        "data_quality": {"customers": {"rows_read": 20000, "rows_rejected": 24}},
    }
    names = {"0": "Young savers", "1": "Everyone else"}
    figures = {label: value for label, value, _ in core.key_figures(metrics)}
    assert figures == {
        "segments": "2",
        "customers": "19,976",
        "rows rejected": "24",
        "silhouette": "0.60",
        "stability": "1.00",
    }
    assert figures["customers"] == formatting.count(19976)
    table = core.segment_table(metrics, names)
    assert table.iloc[0][["name", "customers", "share", "stability"]].tolist() == [
        "Young savers",
        "5,051",
        "25.3%",
        "1.00",
    ]
    assert table.iloc[0]["customers"] == formatting.count(5051)
    assert table.iloc[0]["share"] == formatting.share(0.2529)
    sizes = core.segment_sizes(metrics, names)
    assert sizes.to_dict("records")[0] == {
        "segment": "0: Young savers",
        "n": 5051,
        "customers": "5,051",
        "share": "25.3%",
    }


def test_summary_in_the_page_reads_like_the_heading(project, monkeypatch):
    at = start(project, monkeypatch)
    at.file_uploader(key="upload").set_value(
        ("customers.csv", upload_customers(4000).to_csv(index=False).encode(), "text/csv")
    ).run()
    at.button(key="segment_upload").click().run()
    assert not at.exception and not at.error
    heading = unescaped(at.header[0].value)
    n = int(heading.split(" ")[0].replace(",", ""))
    assert heading.startswith(f"{formatting.count(n)} customers")
    assert "," in heading.split(" ")[0]  # over a thousand: a separator in the heading...
    summary = summary_table(at)
    assert summary["customers"].tolist() == [
        formatting.count(int(c.replace(",", ""))) for c in summary["customers"]
    ]  # ... and in the table
    assert sum(int(c.replace(",", "")) for c in summary["customers"]) == n
    assert any("," in c for c in summary["customers"])


def test_numeric_profile_in_the_features_units(scored, segmentation, params):
    table = core.numeric_profile(scored, segmentation, 0)
    assert table["feature"].tolist() == ["age", "net worth", "monthly SIP"]
    base = segmentation.profiles["base"]
    fmt = scored.formatter
    assert table.iloc[1]["all customers median"] == fmt.value("networth", base["networth"]["median"])
    assert table.iloc[1]["all customers median"].startswith("₹")
    assert re.fullmatch(r"₹[\d.]+ (lakh|crore)", table.iloc[1]["all customers median"])
    assert re.fullmatch(r"\d+", table.iloc[0]["median in this file"])  # ages are whole numbers


def test_whole_number_columns_come_from_the_report_first(params):
    ages = pd.DataFrame({"age": [30, 45], "networth": [1.5, 2.0], "sip_amount": [0.0, 100.0]})
    from_report = core.profile_formatter(params, {"whole_numbers": ["age"]})
    assert from_report.value("age", 37.5) == "38"
    assert core.profile_formatter(params, {"whole_numbers": []}, ages).value("age", 37.5) == "37.5"
    computed = core.profile_formatter(params, {}, ages)
    assert computed.whole == {"age", "sip_amount"}
    assert computed.value("age", 37.5) == "38"
    assert core.profile_formatter(params, None).value("age", 37.5) == "37.5"


def test_category_mix_names_values_in_their_order(segmentation, scored):
    table = core.category_mix(segmentation, 0, scored.formatter)
    mix = dict(zip(table["category"], table["in this segment"], strict=True))
    risk = re.findall(r"(\w+) (\d+)%", mix["risk appetite"])
    order = ["cautious", "moderate", "bold", "speculative"]
    assert [value for value, _ in risk] == [v for v in order if v in {value for value, _ in risk}]
    shares = segmentation.profiles["segments"]["0"]["categories"]["risk_id"]
    labels = {"1": "cautious", "2": "moderate", "3": "bold", "4": "speculative"}
    assert mix["risk appetite"] == ", ".join(
        f"{labels[v]} {formatting.mix_share(shares[v])}" for v in sorted(shares)
    )


def test_differences_read_as_in_the_report(segmentation):
    table = core.differentiators(segmentation, 0)
    effects = [
        d["effect"]
        for d in [
            *segmentation.profiles["segments"]["0"]["differentiators"],
            *segmentation.profiles["segments"]["0"]["under_represented"],
        ]
    ]
    assert table[core.DIFFERENCE].tolist() == [f"{e:+.2f}" for e in effects]


def test_portrait_and_traits_are_shown_when_the_report_has_them(project, tmp_path, monkeypatch):
    copy = Path(shutil.copytree(project, tmp_path / "project"))
    report = read_json(copy / "reports" / "segments.json")
    report["segments"]["1"]["portrait"] = "Savers in their thirties who [never] invest."
    report["segments"]["1"]["traits"] = ["mostly cautious", "few have a demat account"]
    # A report written before portraits: its description, without counts and medians.
    del report["segments"]["0"]["portrait"]
    report["segments"]["0"]["description"] = "5 customers (1.0%): median age 25.0; stands out as young."
    write_json(report, copy / "reports" / "segments.json")
    at = start(copy, monkeypatch)
    at.button(key="segment_batch").click().run()
    assert not at.exception and not at.error
    summary = summary_table(at)
    assert summary["description"].iloc[1] == "Savers in their thirties who [never] invest."
    assert summary["description"].iloc[0] == "Stands out as young."  # the fallback
    shown = [unescaped(m.value) for m in at.markdown]
    assert "Savers in their thirties who [never] invest." in shown
    assert "- mostly cautious" in shown and "- few have a demat account" in shown
    assert any("\\[never\\]" in m.value for m in at.markdown)  # escaped, never a link
    assert "\\[never\\]" in at.table[0].value["description"].iloc[1]


# ---- Metrics as small tables ----


def test_drift_table_in_words(params):
    drift = {"psi": {"age": 0.05, "networth": 0.31, "sip_status": 0.12}, "psi_threshold": 0.2}
    fmt = core.profile_formatter(params, None)
    table = core.drift_table(drift, fmt)
    assert table.values.tolist() == [
        ["net worth", "0.310", "shifted: new customers differ, worth checking"],
        ["active SIP", "0.120", "small change"],
        ["age", "0.050", "no real change"],
    ]


def test_drift_shares_fairness_and_outcomes_tables():
    names = {"0": "Young savers", "1": "Investors"}
    drift = {
        "new_share": {"0": 0.33, "1": 0.67},
        "share_change": {"0": 0.08, "1": -0.08},
        "share_threshold": 0.05,
    }
    metrics = {"segments": {"segments": {"0": {"share": 0.25}, "1": {"share": 0.75}}}}
    shares = core.drift_shares(drift, metrics, names)
    assert shares.iloc[0].tolist() == [0, "Young savers", "25.0%", "33.0%", "+8.0 points", "changed"]
    calm = {"psi": {"age": 0.004, "networth": 0.001}, "psi_threshold": 0.2, "n_new": 4994}
    assert (
        core.drift_sentence(calm)
        == "No feature has shifted among the 4,994 new customers (largest population stability index "
        "0.004; a shift starts at 0.2)."
    )
    shifted = {"psi": {"age": 0.3, "networth": 0.25, "sip_amount": 0.01}, "psi_threshold": 0.2}
    assert (
        core.drift_sentence(shifted) == "2 of 3 features have shifted among the new customers: age, networth."
    )
    fairness = core.fairness_table(
        {
            "columns": {
                "nationality": {"association": 0.41, "flagged": True},
                "gender": {"association": 0.02},
            },
            "threshold": 0.3,
            "used_as_features": ["gender"],
        }
    )
    assert fairness["association"].tolist() == ["0.41", "0.02"]
    assert fairness["segments follow it"].iloc[0].startswith("yes (above 0.3)")
    assert fairness["segments follow it"].iloc[1] == "no; used as a feature"
    outcomes = core.outcomes_table(
        {
            "outcomes": {
                "term_deposit": {
                    "label": "took a term deposit",
                    "kind": "rate",
                    "segments": {"1": {"rate": 0.2, "lift": 1.7}, "0": {"rate": 0.05, "lift": 0.43}},
                },
                "job": {"kind": "categories"},
            }
        },
        names,
    )
    assert outcomes.values.tolist() == [
        ["took a term deposit (rate)", "0: Young savers", "5.0%", "0.43"],
        ["took a term deposit (rate)", "1: Investors", "20.0%", "1.70"],
    ]
    assert core.outcomes_table({"outcomes": {}}, names).empty


def test_choosing_k_in_words():
    choice = {
        "choices": {"silhouette": 5, "knee": 5, "gap": 10, "stable_silhouette": 5},
        "method": "stable_silhouette",
        "suggested_k": 5,
    }
    assert core.k_sentence(choice, 5) == (
        "The pipeline suggests 5 segments: the best separated among the numbers of segments that "
        "refits reproduce; 3 of the 4 criteria below pick 5. The model has 5 segments."
    )
    assert core.k_sentence(choice, 4).endswith(
        "The model has 4 segments, set in params.yaml (train.n_clusters)."
    )
    choices = core.k_choices(choice)
    assert choices["segments"].tolist() == ["5", "5", "5", "10"]  # the method followed first
    assert choices["criterion"].iloc[0] == core.CRITERIA["stable_silhouette"]
    criteria = core.k_criteria(
        [
            {"k": 3, "silhouette": 0.5, "stability": 0.9, "inertia": 10.0},
            {"k": 2, "silhouette": 0.4, "stability": 1.0},
        ]
    )
    assert criteria.index.tolist() == [2, 3]
    assert list(criteria.columns) == ["separation (silhouette)", "stability"]
