"""Read ``params.yaml`` once and turn it into validated, typed settings.

Nothing else in the project parses YAML. A wrong value is reported once, naming the
key, the value and what is allowed. Nothing is taken on trust: an unknown (misspelled) key,
a repeated key, a YAML anchor or alias and a value that can only be a mistake are errors,
never silently ignored or used.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from bankseg.data.personal import header_key, listed, personal_name_kind, protected_name, shown_name
from bankseg.errors import InputError

ENCODINGS = ("ordinal", "yes_no", "onehot")
# What a gap may become, by kind of feature; ``level`` makes it a category value of its own.
NUMERIC_MISSING = ("drop", "median", "mean", "most_frequent", "zero")
CATEGORICAL_MISSING = ("drop", "most_frequent", "level")
SCALERS = ("minmax", "standard", "robust")
# Column names that say a column holds a protected attribute (fairness.protected by default).
PROTECTED = ("gender", "sex", "ethnicity", "race", "religion", "caste", "nationality", "disability")
# The id of a file without an id column (data.id_column: null): the record's number in the file.
RECORD_ID = "record"
K_METHODS = (
    "consensus",
    "knee",
    "silhouette",
    "calinski_harabasz",
    "davies_bouldin",
    "gap",
    "stability",
    "stable_silhouette",
)
KMEANS_ALGORITHMS = ("lloyd", "elkan")
ENGINES = ("sklearn", "spark")
DECIMAL_MARKS = ("auto", ".", ",")
# How large amounts read: 14.7 lakh and 4.03 crore, or 1.47 M and 150 k.
NUMBER_STYLES = ("indian", "international")
CURRENCY_SYMBOLS = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "NONE": ""}
# The values of a yes/no feature after cleaning.
YES_NO_VALUES = ("No", "Yes")
# A params file is a few kilobytes; anything this large is not one.
MAX_PARAMS_BYTES = 1024 * 1024
# Levels of nesting a params file may have (params.yaml needs six); a few hundred would exhaust
# the YAML parser's recursion.
MAX_DEPTH = 50
# numpy and scikit-learn take seeds below 2**32.
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class GenerateParams:
    n_customers: int
    n_new_customers: int
    seed: int


@dataclass(frozen=True)
class DataParams:
    raw: str
    new: str | None  # None, or the same file as raw: no new customers to score
    id_column: str  # RECORD_ID when the file has none (id_generated)
    id_generated: bool = False

    @property
    def has_new(self) -> bool:
        return self.new is not None and self.new != self.raw


@dataclass(frozen=True)
class NumericFeature:
    column: str
    log: bool | str = False  # True, False or "auto" (log when heavily skewed)
    label: str = ""
    words: tuple[str, ...] = ("low", "high")  # low, high; or low, middle, high
    missing: str = "median"
    flag_missing: bool = False  # add a was-missing indicator beside the imputed value
    range: tuple[float | None, float | None] | None = None
    weight: float = 1.0
    unit: str = ""  # money (shown in report.currency), or a unit written after the number


@dataclass(frozen=True)
class CategoricalFeature:
    column: str
    encoding: str
    order: tuple[str, ...] = ()
    label: str = ""
    missing: str = "most_frequent"
    flag_missing: bool = False
    weight: float = 1.0
    words: tuple[str, ...] = ()  # ordinal: adjectives for low, (middling,) high values
    values: dict[str, str] = field(default_factory=dict)  # value -> how reports show it
    people: dict[str, str] = field(default_factory=dict)  # value -> what its customers are called


@dataclass(frozen=True)
class FeatureParams:
    numeric: tuple[NumericFeature, ...]
    categorical: tuple[CategoricalFeature, ...]

    @property
    def columns(self) -> list[str]:
        return [f.column for f in self.numeric] + [f.column for f in self.categorical]

    def with_feature(self, column: str, **changes: Any) -> FeatureParams:
        """These features with ``changes`` to the settings of ``column``."""

        def change(group):
            return tuple(replace(f, **changes) if f.column == column else f for f in group)

        return FeatureParams(change(self.numeric), change(self.categorical))

    @property
    def all(self) -> list[NumericFeature | CategoricalFeature]:
        return [*self.numeric, *self.categorical]

    def feature(self, column: str) -> NumericFeature | CategoricalFeature | None:
        """The settings of the feature ``column``, None when it is not a feature."""
        return next((f for f in self.all if f.column == column), None)

    @property
    def missing(self) -> dict[str, str]:
        """Each feature's rule for a gap: drop (reject the row), an imputation, or level."""
        return {f.column: f.missing for f in self.all}

    @property
    def ranges(self) -> dict[str, tuple[float | None, float | None]]:
        """[min, max] of the numeric features that have one; rows outside are rejected. A
        feature with ``log: true`` is an amount: it has no value below zero."""
        ranges = {f.column: f.range for f in self.numeric if f.range is not None}
        for f in self.numeric:
            if f.log is True:
                low, high = ranges.get(f.column, (None, None))
                ranges[f.column] = (0 if low is None else low, high)
        return ranges


@dataclass(frozen=True)
class PrepareParams:
    personal_columns: tuple[str, ...]
    profile_columns: tuple[str, ...]
    not_personal: tuple[str, ...] = ()
    decimal_mark: str = "auto"
    max_rejected_gap: float = 0.1
    missing_values: tuple[str, ...] = ()  # further texts that mean "no value", e.g. unknown


@dataclass(frozen=True)
class Outcome:
    column: str
    label: str = ""
    positive: str | None = None  # the value that is the event (auto: yes, true, 1)


@dataclass(frozen=True)
class FairnessParams:
    protected: tuple[str, ...] = PROTECTED
    use_as_feature: tuple[str, ...] = ()
    max_association: float = 0.3


@dataclass(frozen=True)
class FeaturizeParams:
    scaler: str = "standard"
    feature_range: tuple[float, float] = (0.0, 1.0)
    max_categories: int = 20
    min_frequency: float = 0.05
    balance: bool = True
    skew_threshold: float = 2.0


@dataclass(frozen=True)
class ElbowParams:
    k_min: int
    k_max: int
    n_init: int
    silhouette_sample: int
    method: str
    random_state: int
    sample_size: int = 20000
    n_references: int = 5
    n_bootstrap: int = 10


@dataclass(frozen=True)
class TrainParams:
    n_clusters: int | str
    n_init: int
    max_iter: int
    tol: float
    algorithm: str
    random_state: int


@dataclass(frozen=True)
class StabilityParams:
    n_bootstrap: int = 20
    sample_size: int = 20000
    random_state: int = 0
    threshold: float = 0.75


@dataclass(frozen=True)
class DriftParams:
    bins: int = 10
    psi_threshold: float = 0.2
    share_threshold: float = 0.05


@dataclass(frozen=True)
class GateParams:
    max_silhouette_drop: float = 0.05
    min_segment_share: float = 0.05
    min_stability: float = 0.75
    min_segment_stability: float = 0.6
    max_rejected_share: float = 0.05
    min_outcome_association: float = 0.0  # 0: no outcome check


@dataclass(frozen=True)
class SegmentParams:
    names: dict[int, str] = field(default_factory=dict)
    top_features: int = 3
    reference: str = "models/reference_segments.json"
    match_distance: float = 0.5
    min_effect: float = 0.2
    strong_effect: float = 0.5
    min_share: float = 0.03
    max_feature_share: float = 0.4
    max_category_agreement: float = 0.8


@dataclass(frozen=True)
class ReportParams:
    currency: str = ""  # symbol put before amounts of features with unit: money
    number_style: str = "international"


@dataclass(frozen=True)
class SparkParams:
    master: str = "local[*]"
    sample_size: int = 100000
    config: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Params:
    generate: GenerateParams
    data: DataParams
    features: FeatureParams
    prepare: PrepareParams
    featurize: FeaturizeParams
    elbow: ElbowParams
    train: TrainParams
    segments: SegmentParams
    stability: StabilityParams = field(default_factory=StabilityParams)
    drift: DriftParams = field(default_factory=DriftParams)
    gate: GateParams = field(default_factory=GateParams)
    engine: str = "sklearn"
    spark: SparkParams = field(default_factory=SparkParams)
    outcomes: tuple[Outcome, ...] = ()
    fairness: FairnessParams = field(default_factory=FairnessParams)
    report: ReportParams = field(default_factory=ReportParams)


def _is_finite_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _bounded(kind: str, minimum: float | None, maximum: float | None) -> str:
    """What a bounded setting expects: ``an integer between 2 and 100``, ``a finite number >= 0``."""
    if minimum is not None and maximum is not None:
        return f"{kind} between {minimum} and {maximum}"
    if minimum is not None:
        return f"{kind} >= {minimum}"
    if maximum is not None:
        return f"{kind} <= {maximum}"
    return kind


def _nearest(name: object, candidates: Iterable[object]) -> str | None:
    """The candidate a misspelled ``name`` most likely means: the same column by
    :func:`~bankseg.data.personal.header_key`, or else the closest spelling."""
    candidates = [str(c) for c in candidates]
    same = listed(name, candidates)
    if same is not None:
        return same
    close = difflib.get_close_matches(str(name), candidates, n=1)
    return close[0] if close else None


class _Section:
    """Typed access to one mapping of params.yaml, naming the dotted key on error.

    It records the keys it is asked for; once a section is parsed, :meth:`refuse_unknown`
    reports any other key, with the nearest known one (a misspelled key would otherwise be
    ignored, and its default silently used).
    """

    def __init__(self, raw: Any, key: str):
        self.key = shown_name(key)
        if not isinstance(raw, dict):
            raise InputError(f"params.yaml: '{self.key}' must be a mapping, got {raw!r}")
        self.raw = raw
        self.asked: list[str] = []

    def _dotted(self, name: object) -> str:
        return f"{self.key}.{shown_name(name)}" if self.key else shown_name(name)

    def _get(self, name: str, default: Any = ...) -> Any:
        if name not in self.asked:
            self.asked.append(name)
        if name not in self.raw:
            if default is ...:
                raise InputError(f"params.yaml: missing key '{self._dotted(name)}'")
            return default
        return self.raw[name]

    def refuse_unknown(self) -> None:
        for name in self.raw:
            if name not in self.asked:
                near = _nearest(name, self.asked)
                hint = (
                    f"did you mean '{self._dotted(near)}'?"
                    if near is not None
                    else f"expected one of {', '.join(self.asked)}"
                )
                raise InputError(f"params.yaml: unknown key '{self._dotted(name)}'; {hint}")

    def _fail(self, name: object, value: Any, expected: str) -> InputError:
        return InputError(f"params.yaml: '{self._dotted(name)}' is {value!r}, expected {expected}")

    def int(
        self, name: str, *, minimum: int | None = None, maximum: int | None = None, default: Any = ...
    ) -> int:
        value = self._get(name, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
        ):
            raise self._fail(name, value, _bounded("an integer", minimum, maximum))
        return value

    def number(
        self,
        name: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        default: Any = ...,
    ) -> float:
        value = self._get(name, default)
        if (
            not _is_finite_number(value)
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
        ):
            raise self._fail(name, value, _bounded("a finite number", minimum, maximum))
        return float(value)

    def str(self, name: str, *, choices: tuple[str, ...] | None = None, default: Any = ...) -> str:
        value = self._get(name, default)
        if not isinstance(value, str) or not value.strip():
            raise self._fail(name, value, "a non-empty string")
        if choices is not None and value not in choices:
            shown = [c if c.isidentifier() else repr(c) for c in choices]
            raise self._fail(name, value, f"one of {', '.join(shown)}")
        return value

    def section(self, name: str, default: Any = ...) -> _Section:
        return _Section(self._get(name, default), self._dotted(name))

    def str_list(self, name: str, *, default: Any = ...) -> tuple[str, ...]:
        value = self._get(name, default)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self._fail(name, value, "a list of non-empty strings")
        return tuple(value)


def _default_label(column: object) -> str:
    return str(column).replace("_", " ")


def _weight(sec: _Section) -> float:
    return sec.number("weight", minimum=0, maximum=100, default=1.0)


def _flag_missing(sec: _Section) -> bool:
    flag = sec._get("flag_missing", False)
    if not isinstance(flag, bool):
        raise sec._fail("flag_missing", flag, "true or false")
    return flag


def _range(sec: _Section) -> tuple[float | None, float | None] | None:
    bounds = sec._get("range", None)
    if bounds is None:
        return None
    ok = (
        isinstance(bounds, list)
        and len(bounds) == 2
        and all(b is None or _is_finite_number(b) for b in bounds)
    )
    if not ok:
        raise sec._fail("range", bounds, "[min, max] with finite numbers or null")
    low, high = bounds
    if low is not None and high is not None and low > high:
        raise sec._fail("range", bounds, "[min, max] with min <= max")
    return (low, high)


def _numeric_features(raw: Any) -> tuple[NumericFeature, ...]:
    if not isinstance(raw, dict):
        raise InputError(
            f"params.yaml: 'features.numeric' is {raw!r}, expected a mapping of column to settings"
        )
    features = []
    for column, settings in raw.items():
        sec = _Section(settings if settings is not None else {}, f"features.numeric.{column}")
        log = sec._get("log", "auto")
        if not (isinstance(log, bool) or log == "auto"):
            raise sec._fail("log", log, "true, false or auto (log when heavily skewed)")
        words = _words(sec, ["low", "high"])
        label = sec.str("label", default=_default_label(column))
        missing = sec.str("missing", choices=NUMERIC_MISSING, default=NumericFeature.missing)
        bounds = _range(sec)
        if log is True and bounds is not None and any(b is not None and b < 0 for b in bounds):
            raise sec._fail(
                "range", list(bounds), "bounds >= 0 with log: true (log: auto handles values below zero)"
            )
        feature = NumericFeature(
            str(column),
            log,
            label,
            tuple(words),
            missing=missing,
            flag_missing=_flag_missing(sec),
            range=bounds,
            weight=_weight(sec),
            unit=_unit(sec),
        )
        sec.refuse_unknown()
        features.append(feature)
    return tuple(features)


def _categorical_features(raw: Any) -> tuple[CategoricalFeature, ...]:
    if not isinstance(raw, dict):
        raise InputError(
            f"params.yaml: 'features.categorical' is {raw!r}, expected a mapping of column to settings"
        )
    features = []
    for column, settings in raw.items():
        sec = _Section(settings, f"features.categorical.{column}")
        encoding = sec.str("encoding", choices=ENCODINGS)
        # Other encodings ignore an order: switching encoding in an experiment keeps it valid.
        values = sec._get("order") if encoding == "ordinal" else sec._get("order", None)
        order: tuple[str, ...] = ()
        if encoding == "ordinal":
            ok = (
                isinstance(values, list)
                and len(values) >= 2
                and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values)
            )
            if not ok:
                raise sec._fail(
                    "order",
                    values,
                    "a list of at least two values (text or numbers; quote Yes, No, On, Off), lowest first",
                )
            order = tuple(str(v) for v in values)
            repeated = next((v for i, v in enumerate(order) if v in order[:i]), None)
            if repeated is not None:
                raise sec._fail(
                    "order", values, f"distinct values, lowest first ({repeated!r} is listed twice)"
                )
        words = _words(sec, [])  # other encodings ignore words, as they do an order
        label = sec.str("label", default=_default_label(column))
        default_missing = "level" if encoding == "onehot" else CategoricalFeature.missing
        missing = sec.str("missing", choices=CATEGORICAL_MISSING, default=default_missing)
        if missing == "level" and encoding != "onehot":
            raise sec._fail(
                "missing", missing, f"drop or most_frequent for encoding {encoding} (level needs onehot)"
            )
        feature = CategoricalFeature(
            str(column),
            encoding,
            order,
            label,
            missing=missing,
            flag_missing=_flag_missing(sec),
            weight=_weight(sec),
            words=words if encoding == "ordinal" else (),
            values=_value_texts(sec, "values", encoding, order),
            people=_value_texts(sec, "people", encoding, order),
        )
        sec.refuse_unknown()
        features.append(feature)
    return tuple(features)


def _unit(sec: _Section) -> str:
    unit = sec._get("unit", "")
    if not isinstance(unit, str) or len(unit) > 20:
        raise sec._fail("unit", unit, "money, or a unit of up to 20 characters such as years")
    return unit.strip()


def _words(sec: _Section, default: list[str]) -> tuple[str, ...]:
    """Words for low, (middling,) and high values: ``young, middle-aged, senior``; an empty
    list (the default of an ordinal feature) for none."""
    words = sec._get("words", default)
    ok = isinstance(words, list) and all(isinstance(w, str) and w.strip() for w in words)
    if not ok or len(words) not in ((0, 2, 3) if not default else (2, 3)):
        raise sec._fail(
            "words", words, "[word for low values, (word for middling values,) word for high values]"
        )
    return tuple(w.strip() for w in words)


def _value_texts(sec: _Section, name: str, encoding: str, order: tuple[str, ...]) -> dict[str, str]:
    """A mapping of the feature's values to texts (``values``: how a value is shown; ``people``:
    what customers with that value are called). Keys are the values as the file has them;
    unquoted Yes/No, which YAML reads as true/false, are taken as Yes/No for a yes_no feature."""
    raw = sec._get(name, {}) or {}
    known = YES_NO_VALUES if encoding == "yes_no" else order
    expected = "a mapping of value to a non-empty text" + (f" (values: {', '.join(known)})" if known else "")
    if not isinstance(raw, dict):
        raise sec._fail(name, raw, expected)
    texts = {}
    for key, text in raw.items():
        if isinstance(key, bool) and encoding == "yes_no":
            key = YES_NO_VALUES[int(key)]
        if (
            isinstance(key, bool)
            or not isinstance(key, (str, int))
            or not isinstance(text, str)
            or not text.strip()
        ):
            raise sec._fail(name, raw, expected)
        if known and str(key) not in known:
            raise sec._fail(f"{name}.{key}", text, f"a key among the feature's values {', '.join(known)}")
        texts[str(key)] = text.strip()
    return texts


def _feature_keys(features: FeatureParams) -> list[tuple[str, str]]:
    """(dotted key, column) of every feature."""
    return [(f"features.numeric.{shown_name(f.column)}", f.column) for f in features.numeric] + [
        (f"features.categorical.{shown_name(f.column)}", f.column) for f in features.categorical
    ]


def feature_key(features: FeatureParams, column: str) -> str:
    """The params key of a feature's settings: ``features.numeric.age``."""
    return next(key for key, c in _feature_keys(features) if c == column)


def _features(root: _Section, id_column: str) -> FeatureParams:
    feat = root.section("features")
    features = FeatureParams(
        numeric=_numeric_features(feat._get("numeric", {})),
        categorical=_categorical_features(feat._get("categorical", {})),
    )
    feat.refuse_unknown()
    if not features.columns:
        raise InputError("params.yaml: 'features' lists no columns, expected at least one feature")
    first: dict[str, str] = {}
    for key, column in _feature_keys(features):
        earlier = first.setdefault(header_key(column), key)
        if earlier != key:
            raise InputError(
                f"params.yaml: '{key}' is the same column as '{earlier}' (names are compared without "
                "case, spaces, underscores, hyphens or dots); expected each feature column once"
            )
        if header_key(column) == header_key(id_column):
            raise InputError(
                f"params.yaml: 'data.id_column' {id_column!r} is also listed as a feature ('{key}')"
            )
    return features


def _did_you_mean(sec: _Section, name: object, candidates: list[str]) -> str:
    near = _nearest(name, candidates)
    return f"; did you mean '{sec._dotted(near)}'?" if near is not None else ""


# Keys of an older params layout, and where each setting lives now.
MOVED_KEYS = {
    "missing": "features.<numeric|categorical>.<column>.missing",
    "ranges": "features.numeric.<column>.range",
}


def _refuse_moved(sec: _Section) -> None:
    """A key of the older layout is named, with where its settings go now (one edit per column)."""
    for key, now in MOVED_KEYS.items():
        if key in sec.raw:
            raise InputError(
                f"params.yaml: '{sec._dotted(key)}' has moved: every setting of a feature sits under "
                f"the feature now; write it as {now}"
            )


def _prepare(root: _Section, data: DataParams, features: FeatureParams) -> PrepareParams:
    prep = root.section("prepare")
    profile = prep.str_list("profile_columns", default=[])
    same_as_id = listed(data.id_column, profile)
    if same_as_id is not None:
        raise InputError(
            f"params.yaml: 'prepare.profile_columns' lists {same_as_id!r}, the same column as "
            f"'data.id_column' {data.id_column!r}; expected columns other than the id"
        )
    _refuse_moved(prep)
    prepare = PrepareParams(
        personal_columns=prep.str_list("personal_columns", default=[]),
        profile_columns=profile,
        not_personal=prep.str_list("not_personal", default=[]),
        decimal_mark=prep.str("decimal_mark", choices=DECIMAL_MARKS, default=PrepareParams.decimal_mark),
        max_rejected_gap=prep.number(
            "max_rejected_gap", minimum=0, maximum=1, default=PrepareParams.max_rejected_gap
        ),
        missing_values=prep.str_list("missing_values", default=[]),
    )
    prep.refuse_unknown()
    return prepare


def _refuse_personal(
    data: DataParams, features: FeatureParams, prepare: PrepareParams, outcomes: tuple[Outcome, ...]
) -> None:
    """No personal column is used as id, feature or profile column, however it is spelled.

    The list ``prepare.personal_columns`` always wins; a name that merely looks personal
    (:func:`~bankseg.data.personal.personal_name_kind`) can be cleared in ``prepare.not_personal``.
    """
    for column in prepare.not_personal:
        entry = listed(column, prepare.personal_columns)
        if entry is not None:
            raise InputError(
                f"params.yaml: 'prepare.not_personal' lists {column!r}, which is {entry!r} in "
                "prepare.personal_columns; expected a column in at most one of the two"
            )
    roles = (
        ([] if data.id_generated else [("id", data.id_column)])
        + [("feature", column) for column in features.columns]
        + [("profile", column) for column in prepare.profile_columns]
        + [("outcome", outcome.column) for outcome in outcomes]
    )
    for role, column in roles:
        entry = listed(column, prepare.personal_columns)
        if entry is not None:
            raise InputError(
                f"params.yaml: {role} column {column!r} is personal data (it is {entry!r} in "
                "prepare.personal_columns); personal columns may not be used as id, feature, profile or outcome column"
            )
        kind = personal_name_kind(column)
        if kind is not None and listed(column, prepare.not_personal) is None:
            raise InputError(
                f"params.yaml: {role} column {column!r} looks like personal data (its name says {kind}); "
                "remove it, or list it in prepare.not_personal if it is not personal"
            )


def _outcomes(root: _Section) -> tuple[Outcome, ...]:
    raw = root._get("outcomes", {}) or {}
    if not isinstance(raw, dict):
        raise root._fail("outcomes", raw, "a mapping of outcome column to settings (label, positive)")
    outcomes = []
    for column, settings in raw.items():
        sec = _Section(settings if settings is not None else {}, f"outcomes.{column}")
        positive = sec._get("positive", None)
        if positive is not None and (
            isinstance(positive, bool) or not isinstance(positive, (str, int, float))
        ):
            raise sec._fail("positive", positive, "the value that counts as the event, e.g. 'yes' or 1")
        outcomes.append(
            Outcome(
                str(column),
                label=sec.str("label", default=_default_label(column)),
                positive=None if positive is None else str(positive),
            )
        )
        sec.refuse_unknown()
    return tuple(outcomes)


def _fairness(root: _Section) -> FairnessParams:
    fa = root.section("fairness", {})
    fairness = FairnessParams(
        protected=fa.str_list("protected", default=list(PROTECTED)),
        use_as_feature=fa.str_list("use_as_feature", default=[]),
        max_association=fa.number(
            "max_association", minimum=0, maximum=1, default=FairnessParams.max_association
        ),
    )
    fa.refuse_unknown()
    return fairness


def _check_roles(
    features: FeatureParams, outcomes: tuple[Outcome, ...], fairness: FairnessParams, data: DataParams
) -> None:
    """An outcome is never a feature; a protected column is a feature only when opted in."""
    for outcome in outcomes:
        feature = listed(outcome.column, features.columns)
        if feature is not None:
            raise InputError(
                f"params.yaml: outcome column {outcome.column!r} is also a feature ({feature!r}); an "
                "outcome is what the segments are judged by, expected it under outcomes only"
            )
        if header_key(outcome.column) == header_key(data.id_column):
            raise InputError(f"params.yaml: outcome column {outcome.column!r} is the id column")
    for column in features.columns:
        entry = protected_name(column, fairness.protected)
        if entry is not None and listed(column, fairness.use_as_feature) is None:
            raise InputError(
                f"params.yaml: feature {column!r} is a protected attribute ({entry!r} in fairness.protected); "
                "remove it from features, or list it in fairness.use_as_feature to use it knowingly "
                "(the report then says so)"
            )


def _generate(root: _Section) -> GenerateParams:
    gen = root.section("generate")
    generate = GenerateParams(
        n_customers=gen.int("n_customers", minimum=1, maximum=100_000_000),
        n_new_customers=gen.int("n_new_customers", minimum=1, maximum=100_000_000),
        seed=gen.int("seed", minimum=0, maximum=MAX_SEED),
    )
    gen.refuse_unknown()
    return generate


def _data(root: _Section) -> DataParams:
    dat = root.section("data")
    raw = dat.str("raw")
    new = None if dat._get("new", None) is None else dat.str("new")
    generated = dat._get("id_column", None) is None
    id_column = RECORD_ID if generated else dat.str("id_column")
    data = DataParams(raw=raw, new=new, id_column=id_column, id_generated=generated)
    dat.refuse_unknown()
    return data


def _featurize(root: _Section) -> FeaturizeParams:
    fz = root.section("featurize", {})
    feature_range = fz._get("feature_range", [0, 1])
    ok = (
        isinstance(feature_range, list)
        and len(feature_range) == 2
        and all(_is_finite_number(v) for v in feature_range)
        and feature_range[0] < feature_range[1]
    )
    if not ok:
        raise fz._fail("feature_range", feature_range, "[low, high] with finite numbers, low < high")
    balance = fz._get("balance", FeaturizeParams.balance)
    if not isinstance(balance, bool):
        raise fz._fail("balance", balance, "true or false")
    featurize = FeaturizeParams(
        scaler=fz.str("scaler", choices=SCALERS, default=FeaturizeParams.scaler),
        feature_range=(float(feature_range[0]), float(feature_range[1])),
        max_categories=fz.int(
            "max_categories", minimum=2, maximum=1000, default=FeaturizeParams.max_categories
        ),
        min_frequency=fz.number(
            "min_frequency", minimum=0, maximum=0.5, default=FeaturizeParams.min_frequency
        ),
        balance=balance,
        skew_threshold=fz.number("skew_threshold", minimum=0, default=FeaturizeParams.skew_threshold),
    )
    fz.refuse_unknown()
    return featurize


def _elbow(root: _Section) -> ElbowParams:
    el = root.section("elbow")
    elbow = ElbowParams(
        k_min=el.int("k_min", minimum=1),
        k_max=el.int("k_max", minimum=2, maximum=100),
        n_init=el.int("n_init", minimum=1, maximum=1000, default=5),
        silhouette_sample=el.int("silhouette_sample", minimum=100, maximum=100_000, default=10000),
        method=el.str("method", choices=K_METHODS, default="stable_silhouette"),
        random_state=el.int("random_state", minimum=0, maximum=MAX_SEED, default=0),
        sample_size=el.int("sample_size", minimum=100, default=20000),
        n_references=el.int("n_references", minimum=1, maximum=100, default=5),
        n_bootstrap=el.int("n_bootstrap", minimum=1, maximum=1000, default=ElbowParams.n_bootstrap),
    )
    el.refuse_unknown()
    if elbow.k_max - elbow.k_min < 2:
        raise el._fail("k_max", elbow.k_max, f"at least k_min + 2 = {elbow.k_min + 2}")
    if elbow.method not in ("knee", "gap") and elbow.k_min < 2:
        raise el._fail("k_min", elbow.k_min, f"at least 2 for method {elbow.method}")
    return elbow


def _train(root: _Section) -> TrainParams:
    tr = root.section("train")
    n_clusters = tr._get("n_clusters")
    if n_clusters != "auto" and (
        isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or not 2 <= n_clusters <= 100
    ):
        raise tr._fail("n_clusters", n_clusters, "an integer between 2 and 100, or auto")
    train = TrainParams(
        n_clusters=n_clusters,
        n_init=tr.int("n_init", minimum=1, maximum=1000, default=10),
        max_iter=tr.int("max_iter", minimum=1, maximum=100_000, default=300),
        tol=tr.number("tol", minimum=0, default=1e-4),
        algorithm=tr.str("algorithm", choices=KMEANS_ALGORITHMS, default="lloyd"),
        random_state=tr.int("random_state", minimum=0, maximum=MAX_SEED, default=0),
    )
    tr.refuse_unknown()
    return train


def _segments(root: _Section) -> SegmentParams:
    seg = root.section("segments", {})
    names_raw = seg._get("names", {}) or {}
    if not isinstance(names_raw, dict) or not all(
        isinstance(k, int) and not isinstance(k, bool) and isinstance(v, str) and v.strip()
        for k, v in names_raw.items()
    ):
        raise seg._fail("names", names_raw, "a mapping of segment id (integer) to name")
    segments = SegmentParams(
        names=dict(names_raw),
        top_features=seg.int("top_features", minimum=1, maximum=20, default=3),
        reference=seg.str("reference", default=SegmentParams.reference),
        match_distance=seg.number("match_distance", minimum=0, default=SegmentParams.match_distance),
        min_effect=seg.number("min_effect", minimum=0, default=SegmentParams.min_effect),
        strong_effect=seg.number("strong_effect", minimum=0, default=SegmentParams.strong_effect),
        min_share=seg.number("min_share", minimum=0, maximum=0.5, default=SegmentParams.min_share),
        max_feature_share=seg.number(
            "max_feature_share", minimum=0, maximum=1, default=SegmentParams.max_feature_share
        ),
        max_category_agreement=seg.number(
            "max_category_agreement", minimum=0, maximum=1, default=SegmentParams.max_category_agreement
        ),
    )
    seg.refuse_unknown()
    return segments


def _stability(root: _Section) -> StabilityParams:
    st = root.section("stability", {})
    stability = StabilityParams(
        n_bootstrap=st.int("n_bootstrap", minimum=2, maximum=1000, default=StabilityParams.n_bootstrap),
        sample_size=st.int("sample_size", minimum=100, default=StabilityParams.sample_size),
        random_state=st.int(
            "random_state", minimum=0, maximum=MAX_SEED, default=StabilityParams.random_state
        ),
        threshold=st.number("threshold", default=StabilityParams.threshold),
    )
    st.refuse_unknown()
    if not 0 < stability.threshold <= 1:
        raise st._fail("threshold", stability.threshold, "a number in (0, 1]")
    return stability


def _drift(root: _Section) -> DriftParams:
    dr = root.section("drift", {})
    drift = DriftParams(
        bins=dr.int("bins", minimum=2, maximum=1000, default=DriftParams.bins),
        psi_threshold=dr.number("psi_threshold", minimum=0, default=DriftParams.psi_threshold),
        share_threshold=dr.number(
            "share_threshold", minimum=0, maximum=1, default=DriftParams.share_threshold
        ),
    )
    dr.refuse_unknown()
    return drift


# (minimum, maximum) of each gate threshold: shares and stabilities are fractions.
GATE_BOUNDS = {
    "max_silhouette_drop": (0, None),
    "min_segment_share": (0, 1),
    "min_stability": (0, 1),
    "min_segment_stability": (0, 1),
    "max_rejected_share": (0, 1),
    "min_outcome_association": (0, 1),
}


def _gate(root: _Section) -> GateParams:
    ga = root.section("gate", {})
    gate = GateParams(
        **{
            name: ga.number(name, minimum=low, maximum=high, default=getattr(GateParams, name))
            for name, (low, high) in GATE_BOUNDS.items()
        }
    )
    ga.refuse_unknown()
    return gate


def _currency(sec: _Section) -> str:
    value = sec._get("currency", "")
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not value.strip() or len(value) > 8:
        raise sec._fail(
            "currency", value, "a currency code such as INR, USD, EUR, or a symbol of up to 8 characters"
        )
    return CURRENCY_SYMBOLS.get(value.strip().upper(), value.strip())


def _report(root: _Section) -> ReportParams:
    sec = root.section("report", {})
    report = ReportParams(
        currency=_currency(sec),
        number_style=sec.str("number_style", choices=NUMBER_STYLES, default=ReportParams.number_style),
    )
    sec.refuse_unknown()
    return report


def _spark(root: _Section) -> SparkParams:
    sp = root.section("spark", {})
    config = sp._get("config", {}) or {}
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise sp._fail("config", config, "a mapping of Spark setting to value")
    spark = SparkParams(
        master=sp.str("master", default=SparkParams.master),
        sample_size=sp.int("sample_size", minimum=100, default=SparkParams.sample_size),
        config={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in config.items()},
    )
    sp.refuse_unknown()
    return spark


def parse_params(raw: Any) -> Params:
    """Validate the content of params.yaml (already loaded as plain data)."""
    if not isinstance(raw, dict):
        raise InputError(f"params.yaml: expected a mapping of sections (generate, data, ...), got {raw!r}")
    root = _Section(raw, "")
    generate = _generate(root)
    data = _data(root)
    features = _features(root, data.id_column)
    prepare = _prepare(root, data, features)
    outcomes = _outcomes(root)
    fairness = _fairness(root)
    _refuse_personal(data, features, prepare, outcomes)
    _check_roles(features, outcomes, fairness, data)
    params = Params(
        generate,
        data,
        features,
        prepare,
        _featurize(root),
        _elbow(root),
        _train(root),
        _segments(root),
        _stability(root),
        _drift(root),
        _gate(root),
        root.str("engine", choices=ENGINES, default="sklearn"),
        _spark(root),
        outcomes,
        fairness,
        _report(root),
    )
    root.refuse_unknown()
    return params


class _Refused(Exception):
    """Something params.yaml may not contain, with its line: ``line 3: ...``."""

    def __init__(self, mark: yaml.Mark, problem: str):
        super().__init__(f"line {mark.line + 1}: {problem}")


_SCALAR_KINDS = {
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:timestamp": "a date",
}


def _reason(exc: ValueError) -> str:
    """Python's reason, without its advice to programmers (``use sys.set_int_max_str_digits()``)."""
    return str(exc).split(";")[0].strip()


class _ParamsLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing repeated keys, anchors, aliases and merge keys.

    A repeated key silently wins over the first; an alias can expand a kilobyte file to
    gigabytes (a "billion laughs"), and params.yaml never needs one. An anchor or alias is
    refused while the file is composed, before anything is expanded; so is nesting deeper
    than :data:`MAX_DEPTH`, and a value PyYAML cannot construct (a date such as 2024-13-45,
    an integer too long to be shown in a message).
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self._path: list[str] = []  # the keys leading to the node being composed
        self._mapping_keys: dict[yaml.Node, str] = {}  # the dotted key of each mapping
        self._depth = 0  # nodes being composed, one inside the other

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(event.start_mark, "YAML anchors and aliases (&, *) are not allowed")
        if self._depth >= MAX_DEPTH:
            raise _Refused(
                event.start_mark, f"nested more than {MAX_DEPTH} levels deep, expected a few levels"
            )
        key = index.value if isinstance(index, yaml.ScalarNode) else None  # a mapping's value
        if key is not None:
            self._path.append(key)
        dotted = ".".join(self._path)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if key is not None:
                self._path.pop()
        if isinstance(node, yaml.MappingNode):
            self._mapping_keys[node] = dotted
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            value = super().construct_object(node, deep=deep)
            if isinstance(value, int) and value.bit_length() > 64:
                str(value)  # Python refuses to show an integer of more than 4300 digits
        except ValueError as exc:  # PyYAML's int, float and date constructors, on a value like 2024-13-45
            if not isinstance(node, yaml.ScalarNode):
                raise
            kind = _SCALAR_KINDS.get(node.tag, "a value of its type")
            raise _Refused(node.start_mark, f"cannot read the value as {kind} ({_reason(exc)})") from None
        return value

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            first_line: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise _Refused(key_node.start_mark, "YAML merge keys (<<) are not allowed")
                key = self.construct_object(key_node, deep=deep)
                try:
                    repeated = key in first_line
                except TypeError:  # unhashable: PyYAML reports it
                    break
                if repeated:
                    written = key_node.value if isinstance(key_node, yaml.ScalarNode) else key
                    dotted = shown_name(
                        ".".join(filter(None, [self._mapping_keys.get(node, ""), str(written)]))
                    )
                    raise _Refused(
                        key_node.start_mark, f"duplicate key '{dotted}' (first on line {first_line[key]})"
                    )
                first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path, *, max_bytes: int = MAX_PARAMS_BYTES) -> Any:
    """A YAML file as plain data, read by the strict loader (no repeated keys, anchors, aliases
    or deep nesting), at most ``max_bytes`` long; every problem is one line naming the file."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            content = file.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise InputError(f"{path}: file not found") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    if len(content) > max_bytes:
        raise InputError(
            f"{path}: larger than {max_bytes // (1 << 20)} MB, expected at most {max_bytes} bytes"
        )
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded)") from None
    try:
        return yaml.load(text, Loader=_ParamsLoader)  # a SafeLoader
    except _Refused as exc:
        raise InputError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc


def load_params(path: str | Path = "params.yaml") -> Params:
    return parse_params(read_yaml(path))
