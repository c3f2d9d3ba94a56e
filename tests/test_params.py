"""bankseg.params: params.yaml is validated once, and a wrong value names the key and the value."""

from __future__ import annotations

import dataclasses
import time

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
    assert params.elbow.method == "stable_silhouette"
    assert (params.elbow.sample_size, params.elbow.n_references, params.elbow.n_bootstrap) == (20000, 5, 10)
    assert params.stability.threshold == 0.75
    assert params.drift.psi_threshold == 0.2
    assert params.gate == GateParams()  # the file repeats the defaults
    assert params.segments.reference == "models/reference_segments.json"
    assert params.prepare.not_personal == ()
    assert params.prepare.decimal_mark == "auto"
    assert params.featurize.max_categories == 20


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
    assert (parsed.elbow.sample_size, parsed.elbow.n_references, parsed.elbow.n_bootstrap) == (20000, 5, 10)
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
    assert str(info.value).endswith("nowhere.yaml: file not found")


def test_load_params_invalid_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("train: [1, 2\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_params(path)
    assert str(info.value).startswith(f"{path}: not valid YAML")


def _write(tmp_path, text: str):
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _load_error(path) -> str:
    with pytest.raises(InputError) as info:
        load_params(path)
    return str(info.value)


def test_example_params_still_load(root):
    example = load_params(root / "examples" / "original" / "params.yaml")
    assert example.train.n_clusters == 3
    assert (example.prepare.not_personal, example.prepare.decimal_mark) == ((), "auto")
    assert example.featurize.max_categories == 20


def _rename(path: str, new_name: str):
    """Rename the key at ``path`` (keys of nested mappings, outermost first) to ``new_name``."""

    def change(raw: dict) -> None:
        *parents, name = path.split(".")
        mapping = raw
        for parent in parents:
            mapping = mapping[parent]
        mapping[new_name] = mapping.pop(name)

    return change


# (change, the unknown key as the message names it, the key it suggests)
MISSPELLED = {
    "section": (_rename("stability", "stabilty"), "stabilty", "stability"),
    "personal columns": (
        _rename("prepare.personal_columns", "personal_colums"),
        "prepare.personal_colums",
        "prepare.personal_columns",
    ),
    "features kind": (
        _rename("features.categorical", "categoricals"),
        "features.categoricals",
        "features.categorical",
    ),
    "numeric feature setting": (
        _rename("features.numeric.age.words", "word"),
        "features.numeric.age.word",
        "features.numeric.age.words",
    ),
    "categorical feature setting": (
        _rename("features.categorical.income_slab.label", "lable"),
        "features.categorical.income_slab.lable",
        "features.categorical.income_slab.label",
    ),
    "gate threshold": (
        _rename("gate.min_stability", "min_stabilty"),
        "gate.min_stabilty",
        "gate.min_stability",
    ),
    "spark setting": (_rename("spark.master", "Master"), "spark.Master", "spark.master"),
    "train setting": (_rename("train.max_iter", "max_iters"), "train.max_iters", "train.max_iter"),
}


@pytest.mark.parametrize(("change", "unknown", "suggested"), MISSPELLED.values(), ids=MISSPELLED.keys())
def test_misspelled_key_is_refused_with_the_nearest_valid_key(raw_params, change, unknown, suggested):
    change(raw_params)
    message = _error(raw_params)
    assert message == f"params.yaml: unknown key '{unknown}'; did you mean '{suggested}'?"


def test_unknown_key_far_from_any_lists_the_keys_of_its_section(raw_params):
    raw_params["train"]["verbose"] = 1
    message = _error(raw_params)
    assert message.startswith("params.yaml: unknown key 'train.verbose'; expected one of n_clusters, n_init")


@pytest.mark.parametrize(
    ("section", "column", "value", "suggested"),
    [
        ("missing", "Age", "median", "prepare.missing.age"),
        ("missing", "sip_amont", "zero", "prepare.missing.sip_amount"),
        ("ranges", "net_worth", [0, None], "prepare.ranges.networth"),
    ],
)
def test_missing_and_ranges_suggest_the_nearest_feature_column(raw_params, section, column, value, suggested):
    raw_params["prepare"][section][column] = value
    message = _error(raw_params)
    assert f"'prepare.{section}.{column}' is {value!r}" in message
    assert message.endswith(f"did you mean '{suggested}'?")


def test_order_of_another_encoding_is_not_an_unknown_key(raw_params):
    """Switching an ordinal feature to one-hot in an experiment keeps its order valid."""
    raw_params["features"]["categorical"]["income_slab"]["encoding"] = "onehot"
    income = next(f for f in parse_params(raw_params).features.categorical if f.column == "income_slab")
    assert (income.encoding, income.order) == ("onehot", ())


def test_duplicate_key_is_refused_with_its_key_and_line(tmp_path, root):
    text = (root / "params.yaml").read_text(encoding="utf-8")
    assert "  max_iter: 300\n" in text
    lines = text.replace("  max_iter: 300\n", "  max_iter: 300\n  max_iter: 3000\n").splitlines()
    first = lines.index("  max_iter: 300") + 1
    message = _load_error(_write(tmp_path, "\n".join(lines) + "\n"))
    assert message == (
        f"{tmp_path / 'params.yaml'}: line {first + 1}: duplicate key 'train.max_iter' (first on line {first})"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", "line 3: duplicate key 'a' (first on line 1)"),
        (
            "features:\n  numeric:\n    age: {log: true, log: false}\n",
            "line 3: duplicate key 'features.numeric.age.log'",
        ),
        (
            "prepare:\n  missing:\n    age: median\n    age: zero\n",
            "line 4: duplicate key 'prepare.missing.age'",
        ),
    ],
    ids=["top level", "feature setting", "column of a user-data section"],
)
def test_duplicate_key_is_refused_at_any_depth(tmp_path, text, message):
    assert message in _load_error(_write(tmp_path, text))


def test_alias_bomb_is_refused_before_it_expands(tmp_path):
    # Nine levels of nine aliases: 9**9 = 387 million strings once expanded.
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        below = ", ".join([f"*lol{level - 1}"] * 9)
        lines.append(f"lol{level}: &lol{level} [{below}]")
    path = _write(tmp_path, "\n".join(lines) + "\n")
    started = time.perf_counter()
    message = _load_error(path)
    assert time.perf_counter() - started < 1
    assert message == f"{path}: line 1: YAML anchors and aliases (&, *) are not allowed"


@pytest.mark.parametrize(
    ("addition", "line"),
    [
        ("defaults: &defaults {n_init: 5}\n", 1),  # an anchor alone
        ("spark:\n  config: {a: 1}\nother: x\ncopy: *x\n", 4),  # an alias of no anchor is refused too
    ],
    ids=["anchor", "alias"],
)
def test_anchors_and_aliases_are_refused_with_their_line(tmp_path, addition, line):
    path = _write(tmp_path, addition)
    assert _load_error(path) == f"{path}: line {line}: YAML anchors and aliases (&, *) are not allowed"


def test_yaml_merge_key_is_refused(tmp_path):
    path = _write(tmp_path, "train:\n  <<: {n_init: 5}\n  max_iter: 300\n")
    assert _load_error(path) == f"{path}: line 2: YAML merge keys (<<) are not allowed"


def test_params_file_over_one_megabyte_is_refused_before_parsing(tmp_path, root):
    text = (root / "params.yaml").read_text(encoding="utf-8")
    path = _write(tmp_path, text + "#" * 1024 * 1024)
    message = _load_error(path)
    assert message.startswith(f"{path}: larger than 1 MB")
    assert "\n" not in message


def test_params_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_bytes("data:\n  raw: café.csv\n".encode("latin-1"))
    assert _load_error(path).startswith(f"{path}: not UTF-8 text")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1" * 5000, "cannot read the value as an integer (Exceeds the limit (4300 digits)"),
        ("0x" + "f" * 4000, "cannot read the value as an integer (Exceeds the limit (4300 digits)"),
        ("2024-13-45", "cannot read the value as a date (month must be in 1..12)"),
        ("!!int 1.5", "cannot read the value as an integer (invalid literal for int()"),
    ],
    ids=["5000 digits", "4800 digits in hex", "impossible date", "tagged integer"],
)
def test_value_yaml_cannot_construct_is_refused_with_its_line(tmp_path, root, value, reason):
    """PyYAML raised ValueError (a traceback) for these; a 4,800-digit hexadecimal integer was
    read, then could not be shown in the message that refused it."""
    text = (root / "params.yaml").read_text(encoding="utf-8")
    lines = text.replace("  seed: 42\n", f"  seed: {value}\n").splitlines()
    path = _write(tmp_path, "\n".join(lines) + "\n")
    message = _load_error(path)
    assert message.startswith(f"{path}: line {lines.index(f'  seed: {value}') + 1}: {reason}")
    assert len(message.splitlines()) == 1 and len(message) < 300


def test_deep_nesting_is_refused_with_its_line(tmp_path):
    """A thousand nested lists exhausted the YAML parser's recursion (RecursionError)."""
    path = _write(tmp_path, "train:\n  n_init: 5\nother: " + "[" * 1000 + "]" * 1000 + "\n")
    assert _load_error(path) == f"{path}: line 3: nested more than 50 levels deep, expected a few levels"


@pytest.mark.parametrize("key", ['"a\\nb"', '"a\\u2028b"', '"a\\x85b"'])
def test_key_with_a_line_break_is_shown_on_one_line(tmp_path, raw_params, key):
    """A key or column name holding a line break made a message of two lines."""
    written = key.strip('"')
    path = _write(tmp_path, yaml.safe_dump(raw_params) + f"{key}: 1\n")
    assert _load_error(path).startswith(f"params.yaml: unknown key '{written}'; expected one of generate,")
    lines = _load_error(_write(tmp_path, f"{key}: 1\n{key}: 2\n")).splitlines()
    assert lines == [f"{tmp_path / 'params.yaml'}: line 2: duplicate key '{written}' (first on line 1)"]
    raw_params["features"]["numeric"][yaml.safe_load(key)] = None
    raw_params["prepare"]["ranges"]["x"] = [0, 1]
    message = _error(raw_params)
    assert f"(age, networth, sip_amount, {written})" in message and len(message.splitlines()) == 1


def _set_path(path: str, value):
    """Set the value at a dotted ``path`` (keys of nested mappings)."""

    def change(raw: dict) -> None:
        *parents, name = path.split(".")
        mapping = raw
        for parent in parents:
            mapping = mapping[parent]
        mapping[name] = value

    return change


NAN, INF = float("nan"), float("inf")

# (change, the dotted key the message must name, the value as the message must show it)
MISTAKES = {
    "tol nan": (_set_path("train.tol", NAN), "train.tol", "is nan,"),
    "match distance inf": (_set_path("segments.match_distance", INF), "segments.match_distance", "is inf,"),
    "psi threshold inf": (_set_path("drift.psi_threshold", INF), "drift.psi_threshold", "is inf,"),
    "gate nan": (_set_path("gate.min_stability", NAN), "gate.min_stability", "is nan,"),
    "min effect -inf": (_set_path("segments.min_effect", -INF), "segments.min_effect", "is -inf,"),
    "range bound inf": (_set_path("prepare.ranges.age", [18, INF]), "prepare.ranges.age", "[18, inf]"),
    "range bound nan": (_set_path("prepare.ranges.age", [NAN, 100]), "prepare.ranges.age", "[nan, 100]"),
    "feature range inf": (
        _set_path("featurize.feature_range", [0, INF]),
        "featurize.feature_range",
        "[0, inf]",
    ),
    "range reversed": (_set_path("prepare.ranges.age", [100, 18]), "prepare.ranges.age", "[100, 18]"),
    "negative match distance": (
        _set_path("segments.match_distance", -0.5),
        "segments.match_distance",
        "-0.5",
    ),
    "negative min effect": (_set_path("segments.min_effect", -0.2), "segments.min_effect", "-0.2"),
    "negative strong effect": (_set_path("segments.strong_effect", -1), "segments.strong_effect", "-1"),
    "negative tol": (_set_path("train.tol", -0.0001), "train.tol", "-0.0001"),
    "negative psi threshold": (_set_path("drift.psi_threshold", -0.2), "drift.psi_threshold", "-0.2"),
    "share threshold above 1": (_set_path("drift.share_threshold", 1.5), "drift.share_threshold", "1.5"),
    "negative share threshold": (_set_path("drift.share_threshold", -0.1), "drift.share_threshold", "-0.1"),
    "negative silhouette drop": (
        _set_path("gate.max_silhouette_drop", -0.05),
        "gate.max_silhouette_drop",
        "-0.05",
    ),
    "segment share above 1": (_set_path("gate.min_segment_share", 5), "gate.min_segment_share", "is 5,"),
    "negative stability": (_set_path("gate.min_stability", -0.1), "gate.min_stability", "-0.1"),
    "segment stability above 1": (
        _set_path("gate.min_segment_stability", 1.2),
        "gate.min_segment_stability",
        "1.2",
    ),
    "rejected share above 1": (_set_path("gate.max_rejected_share", 50), "gate.max_rejected_share", "is 50,"),
    "numeric and categorical": (
        _set_path("features.categorical.age", {"encoding": "onehot"}),
        "features.categorical.age",
        "'features.numeric.age'",
    ),
    "same column spelled twice": (
        _set_path("features.numeric.Net Worth", None),
        "features.numeric.Net Worth",
        "'features.numeric.networth'",
    ),
    "id column is a feature by another spelling": (
        _set_path("data.id_column", "Age"),
        "data.id_column",
        "'Age'",
    ),
    "id column is a profile column": (
        _set_path("prepare.profile_columns", ["kyc_status", "Customer ID"]),
        "prepare.profile_columns",
        "'Customer ID'",
    ),
    "order repeated after str": (
        _set_path("features.categorical.risk_id.order", ["1", 1, "2"]),
        "features.categorical.risk_id.order",
        "['1', 1, '2']",
    ),
    "order repeated": (
        _set_path("features.categorical.income_slab.order", ["Low", "Low", "High"]),
        "features.categorical.income_slab.order",
        "['Low', 'Low', 'High']",
    ),
    "order of booleans": (
        _set_path("features.categorical.income_slab.order", [False, True]),
        "features.categorical.income_slab.order",
        "quote Yes, No",
    ),
    "empty word": (
        _set_path("features.numeric.age.words", ["young", " "]),
        "features.numeric.age.words",
        "' '",
    ),
    "k_max above 100": (_set_path("elbow.k_max", 101), "elbow.k_max", "is 101,"),
    "n_clusters above 100": (_set_path("train.n_clusters", 101), "train.n_clusters", "is 101,"),
    "elbow n_init above 1000": (_set_path("elbow.n_init", 1001), "elbow.n_init", "is 1001,"),
    "train n_init above 1000": (_set_path("train.n_init", 1001), "train.n_init", "is 1001,"),
    "max_iter above 100000": (_set_path("train.max_iter", 100_001), "train.max_iter", "is 100001,"),
    "elbow n_bootstrap above 1000": (_set_path("elbow.n_bootstrap", 5000), "elbow.n_bootstrap", "is 5000,"),
    "stability n_bootstrap above 1000": (
        _set_path("stability.n_bootstrap", 1001),
        "stability.n_bootstrap",
        "is 1001,",
    ),
    "n_references above 100": (_set_path("elbow.n_references", 101), "elbow.n_references", "is 101,"),
    "drift bins above 1000": (_set_path("drift.bins", 1001), "drift.bins", "is 1001,"),
    "n_customers above 100 million": (
        _set_path("generate.n_customers", 10**9),
        "generate.n_customers",
        "is 1000000000,",
    ),
    "n_new_customers above 100 million": (
        _set_path("generate.n_new_customers", 100_000_001),
        "generate.n_new_customers",
        "is 100000001,",
    ),
    "silhouette sample above 100000": (
        _set_path("elbow.silhouette_sample", 200_000),
        "elbow.silhouette_sample",
        "is 200000,",
    ),
    "top features above 20": (_set_path("segments.top_features", 21), "segments.top_features", "is 21,"),
    "max categories 1": (_set_path("featurize.max_categories", 1), "featurize.max_categories", "is 1,"),
    "max categories above 1000": (
        _set_path("featurize.max_categories", 1001),
        "featurize.max_categories",
        "is 1001,",
    ),
    "decimal mark semicolon": (_set_path("prepare.decimal_mark", ";"), "prepare.decimal_mark", "';'"),
    "not personal not a list": (
        _set_path("prepare.not_personal", "has_email"),
        "prepare.not_personal",
        "'has_email'",
    ),
}


@pytest.mark.parametrize(("change", "key", "shown"), MISTAKES.values(), ids=MISTAKES.keys())
def test_value_that_can_only_be_a_mistake_is_refused(raw_params, change, key, shown):
    change(raw_params)
    message = _error(raw_params)
    assert message.startswith("params.yaml: ")
    assert f"'{key}'" in message
    assert shown in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("elbow.k_max", 500, "expected an integer between 2 and 100"),
        ("train.n_clusters", 500, "expected an integer between 2 and 100, or auto"),
        ("train.max_iter", 10**6, "expected an integer between 1 and 100000"),
        ("train.tol", -1.0, "expected a finite number >= 0"),
        ("gate.min_segment_share", 2.0, "expected a finite number between 0 and 1"),
        ("prepare.ranges.age", [65, 18], "expected [min, max] with min <= max"),
        ("prepare.decimal_mark", "comma", "expected one of auto, '.', ','"),
    ],
)
def test_refusal_says_what_is_expected(raw_params, key, value, expected):
    _set_path(key, value)(raw_params)
    assert _error(raw_params).endswith(expected)


def test_range_with_equal_bounds_is_allowed(raw_params):
    raw_params["prepare"]["ranges"]["age"] = [30, 30]
    assert parse_params(raw_params).prepare.ranges["age"] == (30, 30)


PERSONAL_ROLES = {
    "profile": (_set_path("prepare.profile_columns", ["Customer Name"]), "profile", "Customer Name"),
    "numeric feature": (_set_path("features.numeric.Mobile-No", None), "feature", "Mobile-No"),
    "categorical feature": (
        _set_path("features.categorical.ZIP CODE", {"encoding": "onehot"}),
        "feature",
        "ZIP CODE",
    ),
    "id": (_set_path("data.id_column", "CRN.Unique.ID"), "id", "CRN.Unique.ID"),
}


@pytest.mark.parametrize(("change", "role", "column"), PERSONAL_ROLES.values(), ids=PERSONAL_ROLES.keys())
def test_personal_column_is_refused_in_every_role_under_any_spelling(raw_params, change, role, column):
    change(raw_params)
    message = _error(raw_params)
    assert message.startswith(f"params.yaml: {role} column {column!r} is personal data (it is '")
    assert message.endswith(
        "' in prepare.personal_columns); personal columns may not be used as id, feature or profile column"
    )


def test_profile_column_named_as_personal_data_is_refused(raw_params):
    raw_params["prepare"]["profile_columns"] = ["Customer Name"]
    assert _error(raw_params) == (
        "params.yaml: profile column 'Customer Name' is personal data (it is 'customer_name' in "
        "prepare.personal_columns); personal columns may not be used as id, feature or profile column"
    )


@pytest.mark.parametrize(
    ("change", "role", "column", "kind"),
    [
        (_set_path("features.numeric.mobile_number", None), "feature", "mobile_number", "a phone number"),
        (_set_path("prepare.profile_columns", ["e-mail"]), "profile", "e-mail", "an e-mail address"),
        (_set_path("data.id_column", "PAN"), "id", "PAN", "a PAN"),
    ],
    ids=["feature", "profile", "id"],
)
def test_column_whose_name_looks_personal_is_refused(raw_params, change, role, column, kind):
    change(raw_params)
    assert _error(raw_params) == (
        f"params.yaml: {role} column {column!r} looks like personal data (its name says {kind}); "
        "remove it, or list it in prepare.not_personal if it is not personal"
    )


def test_not_personal_clears_a_name_that_only_looks_personal(raw_params):
    raw_params["features"]["categorical"]["has_email"] = {"encoding": "yes_no"}
    raw_params["prepare"]["not_personal"] = ["Has Email"]
    parsed = parse_params(raw_params)
    assert "has_email" in parsed.features.columns
    assert parsed.prepare.not_personal == ("Has Email",)


def test_not_personal_cannot_overrule_the_personal_columns(raw_params):
    raw_params["prepare"]["not_personal"] = ["Customer-Name"]
    message = _error(raw_params)
    assert message.startswith(
        "params.yaml: 'prepare.not_personal' lists 'Customer-Name', which is 'customer_name'"
    )


def test_not_personal_does_not_clear_a_listed_personal_column(raw_params):
    raw_params["prepare"]["personal_columns"].append("has_email")
    raw_params["prepare"]["not_personal"] = ["has_email"]
    raw_params["prepare"]["profile_columns"] = ["has_email"]
    assert "'prepare.not_personal' lists 'has_email'" in _error(raw_params)


@pytest.mark.parametrize(("written", "mark"), [("auto", "auto"), (".", "."), ("'.'", "."), ('","', ",")])
def test_decimal_mark_is_read_as_written(tmp_path, root, written, mark):
    text = (root / "params.yaml").read_text(encoding="utf-8")
    assert "  decimal_mark: auto " in text
    path = _write(tmp_path, text.replace("  decimal_mark: auto ", f"  decimal_mark: {written} "))
    assert load_params(path).prepare.decimal_mark == mark


def test_new_settings_are_read(raw_params):
    raw_params["featurize"]["max_categories"] = 1000
    raw_params["prepare"]["not_personal"] = ["has_email"]
    parsed = parse_params(raw_params)
    assert parsed.featurize.max_categories == 1000
    assert parsed.prepare.not_personal == ("has_email",)


def test_new_settings_have_defaults(raw_params):
    del raw_params["featurize"]["max_categories"]
    del raw_params["prepare"]["not_personal"]
    del raw_params["prepare"]["decimal_mark"]
    parsed = parse_params(raw_params)
    assert (parsed.featurize.max_categories, parsed.prepare.not_personal, parsed.prepare.decimal_mark) == (
        20,
        (),
        "auto",
    )
