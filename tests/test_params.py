"""bankseg.params: params.yaml is validated once, and a wrong value names the key and the value."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from bankseg.errors import InputError
from bankseg.params import DriftParams, GateParams, StabilityParams, load_params, parse_params


def _error(raw: dict) -> str:
    with pytest.raises(InputError) as info:
        parse_params(raw)
    return str(info.value)


def test_repository_params_are_read_with_their_values(params):
    assert params.generate.seed == 42
    assert params.data.id_column == "customer_id"
    assert params.features.columns == [
        "age",
        "networth",
        "sip_amount",
        "income_slab",
        "risk_id",
        "sip_status",
        "has_demat_account",
        "account_type",
    ]
    age, networth, _ = params.features.numeric
    assert age.words == ("young", "middle-aged", "senior")
    assert age.log is False
    assert age.label == "age"  # default label: the column name
    assert networth.log is True
    assert networth.label == "net worth"
    risk = next(f for f in params.features.categorical if f.column == "risk_id")
    assert risk.encoding == "ordinal"
    assert risk.order == ("1", "2", "3", "4")
    assert params.featurize.scaler == "minmax"
    assert params.featurize.feature_range == (1.0, 10.0)
    assert params.train.n_clusters == "auto"
    assert params.elbow.method == "consensus"
    assert (params.elbow.sample_size, params.elbow.n_references, params.elbow.n_bootstrap) == (20000, 5, 5)
    assert params.stability.threshold == 0.75
    assert params.drift.psi_threshold == 0.2
    assert params.gate == GateParams()  # the file repeats the defaults
    assert params.segments.reference == "models/reference_segments.json"


def test_missing_policy_defaults_to_drop_for_unlisted_features(params):
    assert params.prepare.missing == {
        "age": "median",
        "networth": "median",
        "sip_amount": "zero",
        "income_slab": "most_frequent",
        "risk_id": "drop",
        "sip_status": "drop",
        "has_demat_account": "drop",
        "account_type": "drop",
    }


def test_ranges_keep_null_as_no_bound(params):
    assert params.prepare.ranges == {"age": (18, 100), "networth": (0, None), "sip_amount": (0, None)}


def test_params_are_frozen(params):
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.train.n_init = 3  # type: ignore[misc]


def test_optional_keys_get_their_defaults(raw_params):
    del raw_params["elbow"]["n_init"]
    del raw_params["elbow"]["silhouette_sample"]
    del raw_params["elbow"]["method"]
    raw_params["train"] = {"n_clusters": 4}
    del raw_params["segments"]
    del raw_params["stability"]
    del raw_params["drift"]
    del raw_params["gate"]
    for key in ("sample_size", "n_references", "n_bootstrap"):
        del raw_params["elbow"][key]
    del raw_params["features"]["numeric"]["networth"]["label"]
    raw_params["features"]["numeric"]["sip_amount"] = None  # a column with no settings
    parsed = parse_params(raw_params)
    assert (parsed.elbow.n_init, parsed.elbow.silhouette_sample, parsed.elbow.method) == (
        5,
        10000,
        "consensus",
    )
    assert (parsed.elbow.sample_size, parsed.elbow.n_references, parsed.elbow.n_bootstrap) == (20000, 5, 5)
    assert parsed.stability == StabilityParams() and parsed.drift == DriftParams()
    assert parsed.segments.reference == "models/reference_segments.json"
    assert parsed.train.n_clusters == 4
    assert (parsed.train.n_init, parsed.train.max_iter, parsed.train.tol) == (10, 300, 1e-4)
    assert (parsed.train.algorithm, parsed.train.random_state) == ("lloyd", 0)
    assert parsed.segments.names == {}
    assert parsed.segments.top_features == 3
    networth = parsed.features.numeric[1]
    assert networth.label == "networth"
    sip = parsed.features.numeric[2]
    assert (sip.log, sip.label, sip.words) == (False, "sip amount", ("low", "high"))


def test_segment_name_overrides_have_integer_keys(tmp_path, raw_params):
    raw_params["segments"]["names"] = {0: "Young savers", 3: "Retirees"}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw_params), encoding="utf-8")
    assert load_params(path).segments.names == {0: "Young savers", 3: "Retirees"}


def _set(section: str, key: str, value):
    def change(raw: dict) -> None:
        raw[section][key] = value

    return change


def _add_personal(column: str):
    def change(raw: dict) -> None:
        raw["prepare"]["personal_columns"].append(column)

    return change


def _feature_setting(kind: str, column: str, key: str, value):
    def change(raw: dict) -> None:
        raw["features"][kind][column][key] = value

    return change


def _prepare_entry(section: str, column: str, value):
    def change(raw: dict) -> None:
        raw["prepare"][section][column] = value

    return change


def _elbow(k_min: int, k_max: int, method: str = "knee"):
    def change(raw: dict) -> None:
        raw["elbow"].update(k_min=k_min, k_max=k_max, method=method)

    return change


def _delete(section: str, key: str):
    def change(raw: dict) -> None:
        del raw[section][key]

    return change


# (change, the dotted key the message must name, the value as the message must show it)
INVALID = {
    "scaler bogus": (_set("featurize", "scaler", "bogus"), "featurize.scaler", "'bogus'"),
    "n_clusters 1": (_set("train", "n_clusters", 1), "train.n_clusters", "is 1,"),
    "n_clusters true": (_set("train", "n_clusters", True), "train.n_clusters", "True"),
    "n_clusters text": (_set("train", "n_clusters", "5"), "train.n_clusters", "'5'"),
    "k range too small": (_elbow(2, 3), "elbow.k_max", "is 3,"),
    "k_min 1 for silhouette": (_elbow(1, 6, "silhouette"), "elbow.k_min", "is 1,"),
    "unknown k method": (_set("elbow", "method", "vote"), "elbow.method", "'vote'"),
    "stability threshold above 1": (_set("stability", "threshold", 1.5), "stability.threshold", "1.5"),
    "drift bins text": (_set("drift", "bins", "ten"), "drift.bins", "'ten'"),
    "gate threshold text": (_set("gate", "min_stability", "high"), "gate.min_stability", "'high'"),
    "personal column as feature": (_add_personal("age"), "prepare.personal_columns", "'age'"),
    "personal column as id": (_add_personal("customer_id"), "prepare.personal_columns", "'customer_id'"),
    "personal column as profile": (_add_personal("kyc_status"), "prepare.personal_columns", "'kyc_status'"),
    "log not a boolean": (
        _feature_setting("numeric", "age", "log", "yes"),
        "features.numeric.age.log",
        "'yes'",
    ),
    "one word": (
        _feature_setting("numeric", "age", "words", ["young"]),
        "features.numeric.age.words",
        "['young']",
    ),
    "unknown encoding": (
        _feature_setting("categorical", "income_slab", "encoding", "target"),
        "features.categorical.income_slab.encoding",
        "'target'",
    ),
    "ordinal with one level": (
        _feature_setting("categorical", "income_slab", "order", ["Low"]),
        "features.categorical.income_slab.order",
        "['Low']",
    ),
    "median of a category": (
        _prepare_entry("missing", "risk_id", "median"),
        "prepare.missing.risk_id",
        "'median'",
    ),
    "unknown missing strategy": (_prepare_entry("missing", "age", "guess"), "prepare.missing.age", "'guess'"),
    "missing policy for a non-feature": (
        _prepare_entry("missing", "balance", "zero"),
        "prepare.missing.balance",
        "'zero'",
    ),
    "range with one bound": (_prepare_entry("ranges", "age", [18]), "prepare.ranges.age", "[18]"),
    "range of a category": (
        _prepare_entry("ranges", "income_slab", [0, 1]),
        "prepare.ranges.income_slab",
        "[0, 1]",
    ),
    "feature range reversed": (
        _set("featurize", "feature_range", [10, 1]),
        "featurize.feature_range",
        "[10, 1]",
    ),
    "tol not a number": (_set("train", "tol", "small"), "train.tol", "'small'"),
    "negative seed": (_set("generate", "seed", -1), "generate.seed", "-1"),
    "id column is a feature": (_set("data", "id_column", "age"), "data.id_column", "'age'"),
    "segment names with text keys": (
        _set("segments", "names", {"zero": "Young"}),
        "segments.names",
        "{'zero': 'Young'}",
    ),
    "missing required key": (_delete("generate", "seed"), "generate.seed", "missing key"),
}


@pytest.mark.parametrize(("change", "key", "shown"), INVALID.values(), ids=INVALID.keys())
def test_invalid_value_is_reported_with_key_and_value(raw_params, change, key, shown):
    change(raw_params)
    message = _error(raw_params)
    assert message.startswith("params.yaml: ")
    assert key in message
    assert shown in message
    assert "\n" not in message


def test_error_names_the_key_as_written_in_params_yaml(raw_params):
    """The message quotes the key as a user writes it (``featurize.scaler``, as in the README
    and ``dvc exp run -S featurize.scaler=...``), like ``'features.numeric.age.log'`` does."""
    cases = {
        "featurize.scaler": _set("featurize", "scaler", "bogus"),
        "train.n_clusters": _set("train", "n_clusters", 1),
        "elbow.k_max": _elbow(2, 3),
    }
    wrong = {}
    for key, change in cases.items():
        raw = {s: dict(v) if isinstance(v, dict) else v for s, v in raw_params.items()}
        change(raw)
        message = _error(raw)
        if f"'{key}'" not in message:
            wrong[key] = message
    assert not wrong, f"messages do not quote the key as written in params.yaml: {wrong}"


def test_k_min_one_is_allowed_for_the_knee(raw_params):
    raw_params["elbow"].update(k_min=1, k_max=3, method="knee")
    assert parse_params(raw_params).elbow.k_min == 1


def test_integer_number_of_clusters_is_accepted(raw_params):
    raw_params["train"]["n_clusters"] = 6
    assert parse_params(raw_params).train.n_clusters == 6


def test_features_must_list_a_column(raw_params):
    raw_params["features"] = {"numeric": {}, "categorical": {}}
    raw_params["prepare"]["missing"] = {}
    raw_params["prepare"]["ranges"] = {}
    assert "lists no columns" in _error(raw_params)


def test_top_level_must_be_a_mapping():
    with pytest.raises(InputError, match="expected a mapping"):
        parse_params(["not", "a", "mapping"])


def test_section_that_is_not_a_mapping_is_named(raw_params):
    raw_params["train"] = 5
    message = _error(raw_params)
    assert "train" in message
    assert "5" in message


def test_load_params_missing_file_names_it(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(InputError) as info:
        load_params(path)
    assert str(path) in str(info.value)
    assert "cannot read" in str(info.value)


def test_load_params_invalid_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("train: [1, 2\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_params(path)
    assert str(info.value).startswith(f"{path}: not valid YAML")
