"""bankseg.params: params.yaml is validated once, and a wrong value names the key and the value."""

from __future__ import annotations

import dataclasses
import time

import pytest
import yaml

from bankseg.errors import InputError
from bankseg.params import (
    MOVED_KEYS,
    PROTECTED,
    RECORD_ID,
    YAML_PARSER,
    DriftParams,
    FairnessParams,
    FeaturizeParams,
    GateParams,
    Outcome,
    PurePythonParser,
    SegmentParams,
    StabilityParams,
    load_params,
    parse_params,
    strict_loader,
)


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
    assert age.log == "auto"  # not set: log when heavily skewed
    assert age.label == "age"  # default label: the column name
    assert networth.log is True
    assert networth.label == "net worth"
    risk = next(f for f in params.features.categorical if f.column == "risk_id")
    assert risk.encoding == "ordinal"
    assert risk.order == ("1", "2", "3", "4")
    assert params.featurize.scaler == "standard"
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
    assert params.featurize == FeaturizeParams(feature_range=(1.0, 10.0))  # the file repeats the defaults
    assert params.prepare.max_rejected_gap == 0.1
    assert params.outcomes == ()
    assert params.fairness == FairnessParams()
    assert (params.data.new, params.data.id_generated) == ("data/raw/new_customers.csv", False)
    assert params.data.has_new


def test_missing_policy_is_read_from_each_feature(params):
    assert params.features.missing == {
        "age": "median",
        "networth": "median",
        "sip_amount": "zero",
        "income_slab": "most_frequent",  # not set: the default of an ordinal feature
        "risk_id": "drop",
        "sip_status": "drop",
        "has_demat_account": "drop",
        "account_type": "drop",
    }
    assert params.features.numeric[2].missing == "zero"


def test_missing_policy_defaults_by_kind_of_feature(raw_params):
    for kind in ("numeric", "categorical"):
        for settings in raw_params["features"][kind].values():
            settings.pop("missing", None)
    assert parse_params(raw_params).features.missing == {
        "age": "median",
        "networth": "median",
        "sip_amount": "median",
        "income_slab": "most_frequent",
        "risk_id": "most_frequent",
        "sip_status": "most_frequent",
        "has_demat_account": "most_frequent",
        "account_type": "level",  # onehot: a gap is a value of its own
    }


def test_ranges_keep_null_as_no_bound(params):
    assert params.features.ranges == {"age": (18, 100), "networth": (0, None), "sip_amount": (0, None)}
    assert params.features.numeric[0].range == (18, 100)


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
        "stable_silhouette",
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
    assert (sip.log, sip.label, sip.words) == ("auto", "sip amount", ("low", "high"))
    assert (sip.missing, sip.flag_missing, sip.range, sip.weight) == ("median", False, None, 1.0)


def test_segment_name_overrides_have_integer_keys(tmp_path, raw_params):
    raw_params["segments"]["names"] = {0: "Young savers", 3: "Retirees"}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw_params), encoding="utf-8")
    assert load_params(path).segments.names == {0: "Young savers", 3: "Retirees"}


def _set(section: str, key: str, value):
    def change(raw: dict) -> None:
        raw[section][key] = value

    return change


def _set_path(path: str, value):
    """Set the value at a dotted ``path`` (keys of nested mappings)."""

    def change(raw: dict) -> None:
        *parents, name = path.split(".")
        mapping = raw
        for parent in parents:
            mapping = mapping[parent]
        mapping[name] = value

    return change


def _add_personal(column: str):
    def change(raw: dict) -> None:
        raw["prepare"]["personal_columns"].append(column)

    return change


def _feature_setting(kind: str, column: str, key: str, value):
    def change(raw: dict) -> None:
        raw["features"][kind][column][key] = value

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
        _feature_setting("categorical", "risk_id", "missing", "median"),
        "features.categorical.risk_id.missing",
        "'median'",
    ),
    "unknown missing strategy": (
        _feature_setting("numeric", "age", "missing", "guess"),
        "features.numeric.age.missing",
        "'guess'",
    ),
    "level of a number": (
        _feature_setting("numeric", "age", "missing", "level"),
        "features.numeric.age.missing",
        "'level'",
    ),
    "range with one bound": (
        _feature_setting("numeric", "age", "range", [18]),
        "features.numeric.age.range",
        "[18]",
    ),
    "range of a category": (
        _feature_setting("categorical", "income_slab", "range", [0, 1]),
        "features.categorical.income_slab.range",
        "unknown key",
    ),
    "flag_missing not a boolean": (
        _feature_setting("numeric", "age", "flag_missing", "yes"),
        "features.numeric.age.flag_missing",
        "'yes'",
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
    "range of a feature": (
        _rename("features.numeric.age.range", "rnage"),
        "features.numeric.age.rnage",
        "features.numeric.age.range",
    ),
    "missing of a feature, capitalised": (
        _rename("features.numeric.sip_amount.missing", "Missing"),
        "features.numeric.sip_amount.Missing",
        "features.numeric.sip_amount.missing",
    ),
    "missing of a categorical feature": (
        _rename("features.categorical.risk_id.missing", "mising"),
        "features.categorical.risk_id.mising",
        "features.categorical.risk_id.missing",
    ),
    "flag_missing of a feature": (
        _set_path("features.numeric.age.flag-missing", True),
        "features.numeric.age.flag-missing",
        "features.numeric.age.flag_missing",
    ),
    "weight of a categorical feature": (
        _set_path("features.categorical.account_type.wieght", 2),
        "features.categorical.account_type.wieght",
        "features.categorical.account_type.weight",
    ),
    "new featurize setting": (
        _set_path("featurize.skew_treshold", 3),
        "featurize.skew_treshold",
        "featurize.skew_threshold",
    ),
    "new segments setting": (
        _set_path("segments.min_shares", 0.1),
        "segments.min_shares",
        "segments.min_share",
    ),
    "fairness setting": (
        _set_path("fairness.use_as_features", ["gender"]),
        "fairness.use_as_features",
        "fairness.use_as_feature",
    ),
    "outcome setting": (
        _set_path("outcomes", {"term_deposit": {"postive": "yes"}}),
        "outcomes.term_deposit.postive",
        "outcomes.term_deposit.positive",
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


@pytest.mark.parametrize("key", list(MOVED_KEYS))
def test_key_of_the_older_layout_is_refused_saying_where_it_moved(raw_params, key):
    """``prepare.missing`` and ``prepare.ranges`` held every feature's gap rule and bounds;
    a file still using them gets one line naming the key and where to write each setting."""
    raw_params["prepare"][key] = {"age": "median"} if key == "missing" else {"age": [18, 100]}
    message = _error(raw_params)
    where = {
        "missing": "features.<numeric|categorical>.<column>.missing",
        "ranges": "features.numeric.<column>.range",
    }
    assert message == (
        f"params.yaml: 'prepare.{key}' has moved: every setting of a feature sits under the feature now; "
        f"write it as {where[key]}"
    )


def test_params_of_the_older_layout_get_one_line(raw_params):
    raw_params["prepare"]["missing"] = {"age": "median", "sip_amount": "zero"}
    raw_params["prepare"]["ranges"] = {"age": [18, 100], "networth": [0, None]}
    message = _error(raw_params)
    assert len(message.splitlines()) == 1
    assert message.startswith("params.yaml: 'prepare.missing' has moved")
    assert "features.<numeric|categorical>.<column>.missing" in message


def test_empty_moved_key_is_refused_too(raw_params):
    raw_params["prepare"]["ranges"] = {}
    assert _error(raw_params).startswith("params.yaml: 'prepare.ranges' has moved")


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
            "outcomes:\n  churned: {}\n  churned: {label: churn}\n",
            "line 3: duplicate key 'outcomes.churned'",
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


def test_both_yaml_parsers_give_the_same_data_and_refusals(root):
    """params.yaml is parsed by libyaml where PyYAML has it, by PyYAML's own parser elsewhere:
    the same data, and the same refusal on the same line, either way."""
    assert YAML_PARSER is not PurePythonParser  # the pinned PyYAML has libyaml
    texts = [
        (root / "params.yaml").read_text(encoding="utf-8"),
        (root / "dvc.yaml").read_text(encoding="utf-8"),
        "a: 1\nb: {c: 2, c: 3}\n",
        "a: &x 1\nb: *x\n",
        "a:\n  <<: {b: 1}\n",
        "a: " + "[" * 60 + "]" * 60 + "\n",
        "a:\n  b: 2024-13-45\n",
        "a: [1, 2\n",
    ]
    for text in texts:
        results = []
        for parser in (YAML_PARSER, PurePythonParser):
            try:
                results.append(yaml.load(text, Loader=strict_loader(parser)))
            except yaml.YAMLError:
                results.append("not valid YAML")
            except Exception as exc:  # a refusal of the strict loader, with its line
                results.append(str(exc))
        assert results[0] == results[1], text[:40]


@pytest.mark.parametrize("key", ['"a\\nb"', '"a\\u2028b"', '"a\\x85b"'])
def test_key_with_a_line_break_is_shown_on_one_line(tmp_path, raw_params, key):
    """A key or column name holding a line break made a message of two lines."""
    written = key.strip('"')
    path = _write(tmp_path, yaml.safe_dump(raw_params) + f"{key}: 1\n")
    assert _load_error(path).startswith(f"params.yaml: unknown key '{written}'; expected one of generate,")
    lines = _load_error(_write(tmp_path, f"{key}: 1\n{key}: 2\n")).splitlines()
    assert lines == [f"{tmp_path / 'params.yaml'}: line 2: duplicate key '{written}' (first on line 1)"]
    raw_params["features"]["numeric"][yaml.safe_load(key)] = {"rnage": [0, 1]}
    message = _error(raw_params)
    assert message == (
        f"params.yaml: unknown key 'features.numeric.{written}.rnage'; "
        f"did you mean 'features.numeric.{written}.range'?"
    )


NAN, INF = float("nan"), float("inf")

# (change, the dotted key the message must name, the value as the message must show it)
MISTAKES = {
    "tol nan": (_set_path("train.tol", NAN), "train.tol", "is nan,"),
    "match distance inf": (_set_path("segments.match_distance", INF), "segments.match_distance", "is inf,"),
    "psi threshold inf": (_set_path("drift.psi_threshold", INF), "drift.psi_threshold", "is inf,"),
    "gate nan": (_set_path("gate.min_stability", NAN), "gate.min_stability", "is nan,"),
    "min effect -inf": (_set_path("segments.min_effect", -INF), "segments.min_effect", "is -inf,"),
    "range bound inf": (
        _set_path("features.numeric.age.range", [18, INF]),
        "features.numeric.age.range",
        "[18, inf]",
    ),
    "range bound nan": (
        _set_path("features.numeric.age.range", [NAN, 100]),
        "features.numeric.age.range",
        "[nan, 100]",
    ),
    "feature range inf": (
        _set_path("featurize.feature_range", [0, INF]),
        "featurize.feature_range",
        "[0, inf]",
    ),
    "range reversed": (
        _set_path("features.numeric.age.range", [100, 18]),
        "features.numeric.age.range",
        "[100, 18]",
    ),
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
    "order repeated in another case or spacing": (
        _set_path("features.categorical.income_slab.order", ["Low", "LOW", "High"]),
        "features.categorical.income_slab.order",
        "'LOW' is listed twice",
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
        ("features.numeric.age.range", [65, 18], "expected [min, max] with min <= max"),
        ("features.numeric.age.range", "18-100", "expected [min, max] with finite numbers or null"),
        (
            "features.numeric.networth.range",
            [-1, None],
            "expected bounds >= 0 with log: true (log: auto handles values below zero)",
        ),
        ("features.numeric.age.log", 1, "expected true, false or auto (log when heavily skewed)"),
        ("features.numeric.age.weight", 101, "expected a finite number between 0 and 100"),
        (
            "features.categorical.sip_status.missing",
            "level",
            "expected drop or most_frequent for encoding yes_no (level needs onehot)",
        ),
        ("features.categorical.sip_status.missing", "zero", "expected one of drop, most_frequent, level"),
        ("features.numeric.age.missing", "level", "expected one of drop, median, mean, most_frequent, zero"),
        ("prepare.decimal_mark", "comma", "expected one of auto, '.', ','"),
    ],
)
def test_refusal_says_what_is_expected(raw_params, key, value, expected):
    _set_path(key, value)(raw_params)
    assert _error(raw_params).endswith(expected)


def test_range_with_equal_bounds_is_allowed(raw_params):
    raw_params["features"]["numeric"]["age"]["range"] = [30, 30]
    assert parse_params(raw_params).features.ranges["age"] == (30, 30)


PERSONAL_ROLES = {
    "profile": (_set_path("prepare.profile_columns", ["Customer Name"]), "profile", "Customer Name"),
    "numeric feature": (_set_path("features.numeric.Mobile-No", None), "feature", "Mobile-No"),
    "categorical feature": (
        _set_path("features.categorical.ZIP CODE", {"encoding": "onehot"}),
        "feature",
        "ZIP CODE",
    ),
    "id": (_set_path("data.id_column", "CRN.Unique.ID"), "id", "CRN.Unique.ID"),
    "outcome": (
        _set_path("outcomes", {"Demat Account No": {"positive": "yes"}}),
        "outcome",
        "Demat Account No",
    ),
}


@pytest.mark.parametrize(("change", "role", "column"), PERSONAL_ROLES.values(), ids=PERSONAL_ROLES.keys())
def test_personal_column_is_refused_in_every_role_under_any_spelling(raw_params, change, role, column):
    change(raw_params)
    message = _error(raw_params)
    assert message.startswith(f"params.yaml: {role} column {column!r} is personal data (it is '")
    assert message.endswith(
        "' in prepare.personal_columns); personal columns may not be used as id, feature, profile or "
        "outcome column"
    )


def test_profile_column_named_as_personal_data_is_refused(raw_params):
    raw_params["prepare"]["profile_columns"] = ["Customer Name"]
    assert _error(raw_params) == (
        "params.yaml: profile column 'Customer Name' is personal data (it is 'customer_name' in "
        "prepare.personal_columns); personal columns may not be used as id, feature, profile or "
        "outcome column"
    )


@pytest.mark.parametrize(
    ("change", "role", "column", "kind"),
    [
        (_set_path("features.numeric.mobile_number", None), "feature", "mobile_number", "a phone number"),
        (_set_path("prepare.profile_columns", ["e-mail"]), "profile", "e-mail", "an e-mail address"),
        (_set_path("data.id_column", "PAN"), "id", "PAN", "a PAN"),
        (_set_path("outcomes", {"email_id": {}}), "outcome", "email_id", "an e-mail address"),
    ],
    ids=["feature", "profile", "id", "outcome"],
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


# --- protected attributes and outcomes ----------------------------------------------------------


def _protected_message(column: str, entry: str) -> str:
    return (
        f"params.yaml: feature {column!r} is a protected attribute ({entry!r} in fairness.protected); "
        "remove it from features, or list it in fairness.use_as_feature to use it knowingly "
        "(the report then says so)"
    )


@pytest.mark.parametrize(
    ("column", "entry"),
    [
        ("gender", "gender"),
        ("CODE_GENDER", "gender"),
        ("customerEthnicity", "ethnicity"),
        ("Religion", "religion"),
    ],
)
def test_protected_attribute_is_refused_as_a_feature(raw_params, column, entry):
    raw_params["features"]["categorical"][column] = {"encoding": "onehot"}
    assert _error(raw_params) == _protected_message(column, entry)


def test_protected_attribute_as_a_numeric_feature_is_refused(raw_params):
    raw_params["features"]["numeric"]["disability_score"] = None
    assert _error(raw_params) == _protected_message("disability_score", "disability")


@pytest.mark.parametrize(
    ("column", "listed_as"),
    [("gender", "gender"), ("CODE_GENDER", "code gender"), ("customerEthnicity", "customer_ethnicity")],
)
def test_protected_attribute_listed_in_use_as_feature_is_accepted(raw_params, column, listed_as):
    raw_params["features"]["categorical"][column] = {"encoding": "onehot"}
    raw_params["fairness"]["use_as_feature"] = [listed_as]
    parsed = parse_params(raw_params)
    assert column in parsed.features.columns
    assert parsed.fairness.use_as_feature == (listed_as,)


def test_use_as_feature_clears_only_the_column_it_lists(raw_params):
    raw_params["features"]["categorical"]["CODE_GENDER"] = {"encoding": "onehot"}
    raw_params["fairness"]["use_as_feature"] = ["gender"]
    assert _error(raw_params) == _protected_message("CODE_GENDER", "gender")


@pytest.mark.parametrize("column", ["trace_id", "racecourse_visits", "sextant", "nation"])
def test_name_only_containing_a_protected_word_is_a_feature(raw_params, column):
    raw_params["features"]["numeric"][column] = None
    assert column in parse_params(raw_params).features.columns


def test_protected_list_is_the_one_in_params(raw_params):
    assert PROTECTED == (
        "gender",
        "sex",
        "ethnicity",
        "race",
        "religion",
        "caste",
        "nationality",
        "disability",
    )
    del raw_params["fairness"]
    assert parse_params(raw_params).fairness == FairnessParams(protected=PROTECTED)
    raw_params["features"]["categorical"]["gender"] = {"encoding": "onehot"}
    raw_params["fairness"] = {"protected": []}
    assert "gender" in parse_params(raw_params).features.columns
    raw_params["fairness"] = {"protected": ["income"]}
    assert _error(raw_params) == _protected_message("income_slab", "income")


def test_outcomes_are_read_with_label_and_positive(raw_params):
    raw_params["outcomes"] = {
        "term_deposit": {"positive": "yes", "label": "took a term deposit"},
        "defaulted": {"positive": 1},
        "balance_band": None,
    }
    assert parse_params(raw_params).outcomes == (
        Outcome("term_deposit", "took a term deposit", "yes"),
        Outcome("defaulted", "defaulted", "1"),
        Outcome("balance_band", "balance band", None),
    )


def test_outcomes_default_to_none(raw_params):
    del raw_params["outcomes"]
    assert parse_params(raw_params).outcomes == ()


@pytest.mark.parametrize(
    ("outcomes", "key", "shown"),
    [
        ({"term_deposit": {"positive": True}}, "outcomes.term_deposit.positive", "True"),
        ({"term_deposit": {"positive": ["yes"]}}, "outcomes.term_deposit.positive", "['yes']"),
        ({"term_deposit": {"label": ""}}, "outcomes.term_deposit.label", "''"),
        (["term_deposit"], "outcomes", "['term_deposit']"),
        ({"term_deposit": "yes"}, "outcomes.term_deposit", "'yes'"),
    ],
    ids=["positive boolean", "positive list", "empty label", "list", "settings not a mapping"],
)
def test_wrong_outcome_settings_are_refused(raw_params, outcomes, key, shown):
    raw_params["outcomes"] = outcomes
    message = _error(raw_params)
    assert f"'{key}'" in message
    assert shown in message


@pytest.mark.parametrize("column", ["age", "Net Worth", "ACCOUNT-TYPE"])
def test_outcome_that_is_also_a_feature_is_refused(raw_params, column):
    raw_params["outcomes"] = {column: {"positive": "yes"}}
    feature = {"age": "age", "Net Worth": "networth", "ACCOUNT-TYPE": "account_type"}[column]
    assert _error(raw_params) == (
        f"params.yaml: outcome column {column!r} is also a feature ({feature!r}); an outcome is what "
        "the segments are judged by, expected it under outcomes only"
    )


def test_outcome_that_is_the_id_column_is_refused(raw_params):
    raw_params["outcomes"] = {"Customer ID": {}}
    assert _error(raw_params) == "params.yaml: outcome column 'Customer ID' is the id column"


def test_outcome_may_be_a_protected_attribute(raw_params):
    """Protected attributes are refused as features; as an outcome, a segment rate is shown."""
    raw_params["outcomes"] = {"gender": {}}
    assert parse_params(raw_params).outcomes == (Outcome("gender", "gender"),)


# --- data -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("new", ["absent", None])
def test_data_new_is_optional(raw_params, new):
    if new == "absent":
        del raw_params["data"]["new"]
    else:
        raw_params["data"]["new"] = new
    data = parse_params(raw_params).data
    assert data.new is None
    assert not data.has_new


def test_data_new_the_same_as_raw_has_no_new_customers(raw_params):
    raw_params["data"]["new"] = raw_params["data"]["raw"]
    assert not parse_params(raw_params).data.has_new


def test_data_new_empty_is_refused(raw_params):
    raw_params["data"]["new"] = ""
    assert _error(raw_params) == "params.yaml: 'data.new' is '', expected a non-empty string"


@pytest.mark.parametrize("id_column", ["absent", None])
def test_without_an_id_column_the_record_number_is_the_id(raw_params, id_column):
    if id_column == "absent":
        del raw_params["data"]["id_column"]
    else:
        raw_params["data"]["id_column"] = id_column
    data = parse_params(raw_params).data
    assert RECORD_ID == "record"
    assert (data.id_column, data.id_generated) == ("record", True)


def test_generated_id_is_not_checked_as_a_personal_column(raw_params):
    raw_params["data"]["id_column"] = None
    raw_params["prepare"]["personal_columns"].append("record")
    assert parse_params(raw_params).data.id_generated


# --- settings under a feature --------------------------------------------------------------------


@pytest.mark.parametrize("log", [True, False, "auto"])
def test_log_is_true_false_or_auto(raw_params, log):
    raw_params["features"]["numeric"]["age"]["log"] = log
    assert parse_params(raw_params).features.numeric[0].log == log


@pytest.mark.parametrize("log", [1, 0, "yes", "Auto", 1.0, None])
def test_other_log_values_are_refused(raw_params, log):
    raw_params["features"]["numeric"]["age"]["log"] = log
    assert _error(raw_params) == (
        f"params.yaml: 'features.numeric.age.log' is {log!r}, expected true, false or auto (log when heavily skewed)"
    )


@pytest.mark.parametrize("kind", ["numeric", "categorical"])
@pytest.mark.parametrize("weight", [0, 0.25, 1, 100])
def test_weight_between_0_and_100_is_accepted(raw_params, kind, weight):
    column = {"numeric": "age", "categorical": "account_type"}[kind]
    raw_params["features"][kind][column]["weight"] = weight
    feature = next(f for f in parse_params(raw_params).features.all if f.column == column)
    assert feature.weight == weight
    assert isinstance(feature.weight, float)


@pytest.mark.parametrize("kind", ["numeric", "categorical"])
@pytest.mark.parametrize("weight", [-0.1, 100.5, True, float("nan"), "2"])
def test_weight_outside_0_to_100_is_refused(raw_params, kind, weight):
    column = {"numeric": "age", "categorical": "account_type"}[kind]
    raw_params["features"][kind][column]["weight"] = weight
    assert _error(raw_params) == (
        f"params.yaml: 'features.{kind}.{column}.weight' is {weight!r}, expected a finite number between 0 and 100"
    )


@pytest.mark.parametrize("flag", [True, False])
def test_flag_missing_is_read(raw_params, flag):
    raw_params["features"]["numeric"]["age"]["flag_missing"] = flag
    raw_params["features"]["categorical"]["account_type"]["flag_missing"] = flag
    features = parse_params(raw_params).features
    assert features.numeric[0].flag_missing is flag
    assert features.categorical[-1].flag_missing is flag


@pytest.mark.parametrize("flag", [1, "yes", None])
def test_flag_missing_not_a_boolean_is_refused(raw_params, flag):
    raw_params["features"]["categorical"]["account_type"]["flag_missing"] = flag
    assert _error(raw_params) == (
        f"params.yaml: 'features.categorical.account_type.flag_missing' is {flag!r}, expected true or false"
    )


@pytest.mark.parametrize(("column", "encoding"), [("income_slab", "ordinal"), ("sip_status", "yes_no")])
def test_missing_level_needs_onehot(raw_params, column, encoding):
    raw_params["features"]["categorical"][column]["missing"] = "level"
    assert _error(raw_params) == (
        f"params.yaml: 'features.categorical.{column}.missing' is 'level', expected drop or most_frequent "
        f"for encoding {encoding} (level needs onehot)"
    )


def test_missing_level_of_a_onehot_feature_is_accepted(raw_params):
    raw_params["features"]["categorical"]["account_type"]["missing"] = "level"
    assert parse_params(raw_params).features.missing["account_type"] == "level"


@pytest.mark.parametrize("column", ["age", "networth"])
@pytest.mark.parametrize("low", [-1, -0.001])
def test_log_true_with_a_negative_minimum_is_refused(raw_params, column, low):
    raw_params["features"]["numeric"][column].update(log=True, range=[low, None])
    assert _error(raw_params) == (
        f"params.yaml: 'features.numeric.{column}.range' is [{low}, None], expected bounds >= 0 with "
        "log: true (log: auto handles values below zero)"
    )


@pytest.mark.parametrize("log", [False, "auto"])
def test_negative_minimum_without_log_true_is_accepted(raw_params, log):
    raw_params["features"]["numeric"]["networth"].update(log=log, range=[-500, None])
    assert parse_params(raw_params).features.ranges["networth"] == (-500, None)


@pytest.mark.parametrize(
    ("log", "bounds", "expected"),
    [
        (True, None, (0, None)),
        (True, [None, 1e6], (0, 1e6)),
        (True, [0, None], (0, None)),
        (True, [5, 10], (5, 10)),
        ("auto", None, None),
        (False, None, None),
        ("auto", [None, 10], (None, 10)),
    ],
)
def test_ranges_give_a_log_true_feature_a_lower_bound_of_zero(raw_params, log, bounds, expected):
    networth = raw_params["features"]["numeric"]["networth"]
    networth.pop("range")
    networth["log"] = log
    if bounds is not None:
        networth["range"] = bounds
    features = parse_params(raw_params).features
    assert features.ranges.get("networth") == expected
    assert features.numeric[1].range == (None if bounds is None else tuple(bounds))


def test_log_true_with_a_negative_maximum_is_refused(raw_params):
    raw_params["features"]["numeric"]["networth"].update(log=True, range=[None, -5])
    assert _error(raw_params).startswith("params.yaml: 'features.numeric.networth.range' is [None, -5]")


def test_missing_and_ranges_are_built_from_the_features(params):
    features = params.features.with_feature("age", missing="drop", range=None, log=True)
    assert features.missing["age"] == "drop"
    assert features.ranges["age"] == (0, None)
    assert params.features.missing["age"] == "median"  # the original is unchanged
    assert params.features.ranges["age"] == (18, 100)
    assert features.numeric[1:] == params.features.numeric[1:]
    assert features.categorical == params.features.categorical


def test_with_feature_changes_a_categorical_feature(params):
    features = params.features.with_feature("account_type", weight=2.0, flag_missing=True)
    account = features.categorical[-1]
    assert (account.column, account.weight, account.flag_missing) == ("account_type", 2.0, True)
    assert features.numeric == params.features.numeric
    assert features.categorical[:-1] == params.features.categorical[:-1]


# --- featurize, segments, prepare and fairness settings ------------------------------------------


def test_featurize_is_optional(raw_params):
    del raw_params["featurize"]
    featurize = parse_params(raw_params).featurize
    assert featurize == FeaturizeParams()
    assert (featurize.scaler, featurize.feature_range, featurize.balance) == ("standard", (0.0, 1.0), True)
    assert (featurize.min_frequency, featurize.max_categories, featurize.skew_threshold) == (0.05, 20, 2.0)


def test_segments_and_prepare_new_settings_have_defaults(raw_params):
    for key in ("min_share", "max_feature_share", "max_category_agreement"):
        del raw_params["segments"][key]
    del raw_params["prepare"]["max_rejected_gap"]
    parsed = parse_params(raw_params)
    assert (parsed.segments.min_share, parsed.segments.max_feature_share) == (0.03, 0.4)
    assert parsed.segments.max_category_agreement == 0.8
    assert parsed.segments == SegmentParams(
        top_features=3, reference="models/reference_segments.json", match_distance=0.5
    )
    assert parsed.prepare.max_rejected_gap == 0.1


# (dotted key, values accepted at the bounds, values refused, what the message expects)
BOUNDED = {
    "featurize.min_frequency": ([0, 0.5], [-0.01, 0.51, True], "a finite number between 0 and 0.5"),
    "featurize.skew_threshold": ([0, 50], [-0.1, float("inf"), "2"], "a finite number >= 0"),
    "segments.min_share": ([0, 0.5], [-0.01, 0.6], "a finite number between 0 and 0.5"),
    "segments.max_feature_share": ([0, 1], [-0.1, 1.01], "a finite number between 0 and 1"),
    "segments.max_category_agreement": ([0, 1], [-1, 1.5, None], "a finite number between 0 and 1"),
    "prepare.max_rejected_gap": ([0, 1], [-0.1, 2], "a finite number between 0 and 1"),
    "fairness.max_association": ([0, 1], [-0.3, 1.1], "a finite number between 0 and 1"),
}


@pytest.mark.parametrize(("key", "accepted"), [(k, v) for k, (vs, _, _) in BOUNDED.items() for v in vs])
def test_new_bounded_setting_accepts_its_bounds(raw_params, key, accepted):
    _set_path(key, accepted)(raw_params)
    section, name = key.split(".")
    assert getattr(getattr(parse_params(raw_params), section), name) == accepted


@pytest.mark.parametrize(
    ("key", "refused", "expected"), [(k, v, e) for k, (_, vs, e) in BOUNDED.items() for v in vs]
)
def test_new_bounded_setting_refuses_values_outside(raw_params, key, refused, expected):
    _set_path(key, refused)(raw_params)
    assert _error(raw_params) == f"params.yaml: '{key}' is {refused!r}, expected {expected}"


@pytest.mark.parametrize("balance", [True, False])
def test_featurize_balance_is_read(raw_params, balance):
    raw_params["featurize"]["balance"] = balance
    assert parse_params(raw_params).featurize.balance is balance


@pytest.mark.parametrize("balance", [1, "yes", None])
def test_featurize_balance_not_a_boolean_is_refused(raw_params, balance):
    raw_params["featurize"]["balance"] = balance
    assert _error(raw_params) == f"params.yaml: 'featurize.balance' is {balance!r}, expected true or false"


@pytest.mark.parametrize(
    ("key", "value"), [("fairness.protected", "gender"), ("fairness.use_as_feature", [""])]
)
def test_fairness_lists_must_be_lists_of_names(raw_params, key, value):
    _set_path(key, value)(raw_params)
    assert _error(raw_params) == f"params.yaml: '{key}' is {value!r}, expected a list of non-empty strings"
