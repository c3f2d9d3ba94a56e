"""Read ``params.yaml`` once and turn it into validated, typed settings.

Nothing else in the project parses YAML. A wrong value is reported once, naming the
key, the value and what is allowed. Nothing is taken on trust: an unknown (misspelled) key,
a repeated key, a YAML anchor or alias and a value that can only be a mistake are errors,
never silently ignored or used.

Each section has its ``parse_<section>`` function (``parse_train(raw) -> TrainParams``), reading
its mapping through a :class:`Section`; a key left out gets the default of its dataclass field,
the one place where defaults are written. :func:`parse_params` reads every section, then checks
the settings across sections (no personal or protected column in a role it may not have).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from bankseg.errors import InputError
from bankseg.personal import header_key, listed, personal_name_kind, protected_name, shown_name

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
MAX_QUARTER = 400  # a century of quarters; each step takes time in proportion to the base


@dataclass(frozen=True)
class GenerateParams:
    n_customers: int
    n_new_customers: int
    seed: int
    quarter: int = 1  # 1: the base as drawn; q: the same customers q - 1 quarters later


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
    log: bool | str = "auto"  # True, False or "auto" (log when heavily skewed)
    label: str = ""  # "": the column's name, with spaces for underscores
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
    personal_columns: tuple[str, ...] = ()
    profile_columns: tuple[str, ...] = ()
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
    n_init: int = 5
    silhouette_sample: int = 10000
    method: str = "stable_silhouette"
    random_state: int = 0
    sample_size: int = 20000
    n_references: int = 5
    n_bootstrap: int = 10


@dataclass(frozen=True)
class TrainParams:
    n_clusters: int | str  # or "auto": the elbow stage's suggestion
    n_init: int = 10
    max_iter: int = 300
    tol: float = 1e-4
    algorithm: str = "lloyd"
    random_state: int = 0


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
class MigrationParams:
    min_customers: int = 50  # flows of at least this many customers get a file of their ids


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
    migration: MigrationParams = field(default_factory=MigrationParams)


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
    :func:`~bankseg.personal.header_key`, or else the closest spelling."""
    candidates = [str(c) for c in candidates]
    same = listed(name, candidates)
    if same is not None:
        return same
    close = difflib.get_close_matches(str(name), candidates, n=1)
    return close[0] if close else None


def invalid(key: str, value: Any, expected: str) -> InputError:
    """The one sentence every wrong setting gets: ``params.yaml: 'train.n_init' is 0, expected ...``."""
    return InputError(f"params.yaml: '{key}' is {value!r}, expected {expected}")


# A reader's default when none is passed: the default of the section's dataclass field.
_FIELD: Any = object()


class Section:
    """One mapping of params.yaml, read a key at a time by typed readers that name the dotted key
    on error.

    A key that is not written gets a default: the one passed to the reader, or else the default
    of the field of the same name in ``fields`` (the section's dataclass, the one place where
    defaults are written). A key with neither, or with the default ``...``, is required. The
    readers record every key they are asked for; once a section is read, :meth:`refuse_unknown`
    reports any other key, with the nearest known one (a misspelled key would otherwise be
    ignored, and its default silently used).
    """

    def __init__(self, raw: Any, key: str, fields: type | None = None):
        self.key = shown_name(key)
        if not isinstance(raw, dict):
            raise InputError(f"params.yaml: '{self.key}' must be a mapping, got {raw!r}")
        self.raw = raw
        self.asked: list[str] = []
        self._fields = {f.name: f for f in dataclasses.fields(fields)} if fields is not None else {}

    def dotted(self, name: object) -> str:
        """The key as params.yaml writes it: ``train.n_init``."""
        return f"{self.key}.{shown_name(name)}" if self.key else shown_name(name)

    def fail(self, name: object, value: Any, expected: str) -> InputError:
        return invalid(self.dotted(name), value, expected)

    def default(self, name: str) -> Any:
        """The default of the dataclass field ``name``; ``...`` (required) when it has none."""
        spec = self._fields.get(name)
        if spec is None:
            return ...
        if spec.default is not dataclasses.MISSING:
            return spec.default
        if spec.default_factory is not dataclasses.MISSING:
            return spec.default_factory()
        return ...

    def value(self, name: str, default: Any = _FIELD) -> Any:
        """The value of ``name`` as written, unchecked; its default when it is not written."""
        if name not in self.asked:
            self.asked.append(name)
        if name in self.raw:
            return self.raw[name]
        if default is _FIELD:
            default = self.default(name)
        if default is ...:
            raise InputError(f"params.yaml: missing key '{self.dotted(name)}'")
        return default

    def integer(
        self, name: str, *, minimum: int | None = None, maximum: int | None = None, default: Any = _FIELD
    ) -> int:
        value = self.value(name, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
        ):
            raise self.fail(name, value, _bounded("an integer", minimum, maximum))
        return value

    def number(
        self,
        name: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        default: Any = _FIELD,
    ) -> float:
        value = self.value(name, default)
        if (
            not _is_finite_number(value)
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
        ):
            raise self.fail(name, value, _bounded("a finite number", minimum, maximum))
        return float(value)

    def text(self, name: str, *, default: Any = _FIELD) -> str:
        value = self.value(name, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, value, "a non-empty string")
        return value

    def choice(self, name: str, choices: tuple[str, ...], *, default: Any = _FIELD) -> str:
        value = self.text(name, default=default)
        if value not in choices:
            shown = [c if c.isidentifier() else repr(c) for c in choices]
            raise self.fail(name, value, f"one of {', '.join(shown)}")
        return value

    def flag(self, name: str, *, default: Any = _FIELD) -> bool:
        value = self.value(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, value, "true or false")
        return value

    def texts(self, name: str, *, default: Any = _FIELD) -> tuple[str, ...]:
        """A list of non-empty strings (a default may be a tuple)."""
        value = self.value(name, default)
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(name, value, "a list of non-empty strings")
        return tuple(value)

    def refuse_unknown(self) -> None:
        for name in self.raw:
            if name not in self.asked:
                near = _nearest(name, self.asked)
                hint = (
                    f"did you mean '{self.dotted(near)}'?"
                    if near is not None
                    else f"expected one of {', '.join(self.asked)}"
                )
                raise InputError(f"params.yaml: unknown key '{self.dotted(name)}'; {hint}")

    def finish(self, parsed: Any) -> Any:
        """``parsed``, once no key of the section is left unread (:meth:`refuse_unknown`)."""
        self.refuse_unknown()
        return parsed


def _default_label(column: object) -> str:
    return str(column).replace("_", " ")


def _range(sec: Section) -> tuple[float | None, float | None] | None:
    bounds = sec.value("range")
    if bounds is None:
        return None
    ok = (
        isinstance(bounds, list)
        and len(bounds) == 2
        and all(b is None or _is_finite_number(b) for b in bounds)
    )
    if not ok:
        raise sec.fail("range", bounds, "[min, max] with finite numbers or null")
    low, high = bounds
    if low is not None and high is not None and low > high:
        raise sec.fail("range", bounds, "[min, max] with min <= max")
    return (low, high)


def _unit(sec: Section) -> str:
    unit = sec.value("unit")
    if not isinstance(unit, str) or len(unit) > 20:
        raise sec.fail("unit", unit, "money, or a unit of up to 20 characters such as years")
    return unit.strip()


def _words(sec: Section, counts: tuple[int, ...]) -> tuple[str, ...]:
    """Words for low, (middling,) and high values: ``young, middle-aged, senior``; ``counts``
    are the numbers of words allowed (an ordinal feature may have none, its default)."""
    words = sec.value("words")
    ok = isinstance(words, (list, tuple)) and all(isinstance(w, str) and w.strip() for w in words)
    if not ok or len(words) not in counts:
        raise sec.fail(
            "words", words, "[word for low values, (word for middling values,) word for high values]"
        )
    return tuple(w.strip() for w in words)


def _value_texts(sec: Section, name: str, encoding: str, order: tuple[str, ...]) -> dict[str, str]:
    """A mapping of the feature's values to texts (``values``: how a value is shown; ``people``:
    what customers with that value are called). Keys are the values as the file has them;
    unquoted Yes/No, which YAML reads as true/false, are taken as Yes/No for a yes_no feature."""
    raw = sec.value(name) or {}
    known = YES_NO_VALUES if encoding == "yes_no" else order
    expected = "a mapping of value to a non-empty text" + (f" (values: {', '.join(known)})" if known else "")
    if not isinstance(raw, dict):
        raise sec.fail(name, raw, expected)
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
            raise sec.fail(name, raw, expected)
        if known and str(key) not in known:
            raise sec.fail(f"{name}.{key}", text, f"a key among the feature's values {', '.join(known)}")
        texts[str(key)] = text.strip()
    return texts


def parse_numeric_feature(column: object, settings: Any) -> NumericFeature:
    """``features.numeric.<column>``: the settings of one numeric feature (none: all defaults)."""
    sec = Section(settings if settings is not None else {}, f"features.numeric.{column}", NumericFeature)
    log = sec.value("log")
    if not (isinstance(log, bool) or log == "auto"):
        raise sec.fail("log", log, "true, false or auto (log when heavily skewed)")
    words = _words(sec, (2, 3))
    label = sec.text("label", default=_default_label(column))
    missing = sec.choice("missing", NUMERIC_MISSING)
    bounds = _range(sec)
    if log is True and bounds is not None and any(b is not None and b < 0 for b in bounds):
        raise sec.fail(
            "range", list(bounds), "bounds >= 0 with log: true (log: auto handles values below zero)"
        )
    return sec.finish(
        NumericFeature(
            str(column),
            log,
            label,
            words,
            missing=missing,
            flag_missing=sec.flag("flag_missing"),
            range=bounds,
            weight=sec.number("weight", minimum=0, maximum=100),
            unit=_unit(sec),
        )
    )


def category_key(value: object) -> str:
    """An ordinal value compared without case or repeated spaces: a file's ``HIGH`` or
    ``very  high`` is the order's ``High`` or ``Very high``."""
    return " ".join(str(value).split()).casefold()


def _order(sec: Section) -> tuple[str, ...]:
    """The values of an ordinal feature, lowest first: at least two, each once (compared as
    :func:`category_key` compares them)."""
    values = sec.value("order", ...)
    ok = (
        isinstance(values, list)
        and len(values) >= 2
        and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values)
    )
    if not ok:
        raise sec.fail(
            "order",
            values,
            "a list of at least two values (text or numbers; quote Yes, No, On, Off), lowest first",
        )
    order = tuple(str(v) for v in values)
    keys = [category_key(v) for v in order]
    repeated = next((v for i, v in enumerate(order) if keys[i] in keys[:i]), None)
    if repeated is not None:
        raise sec.fail("order", values, f"distinct values, lowest first ({repeated!r} is listed twice)")
    return order


def parse_categorical_feature(column: object, settings: Any) -> CategoricalFeature:
    """``features.categorical.<column>``: the settings of one categorical feature."""
    sec = Section(settings, f"features.categorical.{column}", CategoricalFeature)
    encoding = sec.choice("encoding", ENCODINGS)
    # Other encodings ignore an order: switching encoding in an experiment keeps it valid.
    if encoding == "ordinal":
        order = _order(sec)
    else:  # read, so that it is no unknown key
        sec.value("order", None)
        order = ()
    words = _words(sec, (0, 2, 3))  # other encodings ignore words, as they do an order
    label = sec.text("label", default=_default_label(column))
    missing = sec.choice("missing", CATEGORICAL_MISSING, default="level" if encoding == "onehot" else _FIELD)
    if missing == "level" and encoding != "onehot":
        raise sec.fail(
            "missing", missing, f"drop or most_frequent for encoding {encoding} (level needs onehot)"
        )
    return sec.finish(
        CategoricalFeature(
            str(column),
            encoding,
            order,
            label,
            missing=missing,
            flag_missing=sec.flag("flag_missing"),
            weight=sec.number("weight", minimum=0, maximum=100),
            words=words if encoding == "ordinal" else (),
            values=_value_texts(sec, "values", encoding, order),
            people=_value_texts(sec, "people", encoding, order),
        )
    )


def _feature_keys(features: FeatureParams) -> list[tuple[str, str]]:
    """(dotted key, column) of every feature."""
    return [(f"features.numeric.{shown_name(f.column)}", f.column) for f in features.numeric] + [
        (f"features.categorical.{shown_name(f.column)}", f.column) for f in features.categorical
    ]


def feature_key(features: FeatureParams, column: str) -> str:
    """The params key of a feature's settings: ``features.numeric.age``."""
    return next(key for key, c in _feature_keys(features) if c == column)


def _feature_mapping(sec: Section, kind: str) -> dict:
    raw = sec.value(kind, {})
    if not isinstance(raw, dict):
        raise sec.fail(kind, raw, "a mapping of column to settings")
    return raw


def parse_features(raw: Any, *, id_column: str) -> FeatureParams:
    """``features``: at least one column, each once however it is spelled, none the id column."""
    sec = Section(raw, "features")
    features = FeatureParams(
        numeric=tuple(parse_numeric_feature(c, s) for c, s in _feature_mapping(sec, "numeric").items()),
        categorical=tuple(
            parse_categorical_feature(c, s) for c, s in _feature_mapping(sec, "categorical").items()
        ),
    )
    sec.refuse_unknown()
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


# Keys of an older params layout, and where each setting lives now.
MOVED_KEYS = {
    "missing": "features.<numeric|categorical>.<column>.missing",
    "ranges": "features.numeric.<column>.range",
}


def _refuse_moved(sec: Section) -> None:
    """A key of the older layout is named, with where its settings go now (one edit per column)."""
    for key, now in MOVED_KEYS.items():
        if key in sec.raw:
            raise InputError(
                f"params.yaml: '{sec.dotted(key)}' has moved: every setting of a feature sits under "
                f"the feature now; write it as {now}"
            )


def parse_prepare(raw: Any, *, id_column: str) -> PrepareParams:
    """``prepare``: which columns are personal data, and how raw values are read."""
    sec = Section(raw, "prepare", PrepareParams)
    profile = sec.texts("profile_columns")
    same_as_id = listed(id_column, profile)
    if same_as_id is not None:
        raise InputError(
            f"params.yaml: 'prepare.profile_columns' lists {same_as_id!r}, the same column as "
            f"'data.id_column' {id_column!r}; expected columns other than the id"
        )
    _refuse_moved(sec)
    return sec.finish(
        PrepareParams(
            personal_columns=sec.texts("personal_columns"),
            profile_columns=profile,
            not_personal=sec.texts("not_personal"),
            decimal_mark=sec.choice("decimal_mark", DECIMAL_MARKS),
            max_rejected_gap=sec.number("max_rejected_gap", minimum=0, maximum=1),
            missing_values=sec.texts("missing_values"),
        )
    )


def _refuse_personal(
    data: DataParams, features: FeatureParams, prepare: PrepareParams, outcomes: tuple[Outcome, ...]
) -> None:
    """No personal column is used as id, feature or profile column, however it is spelled.

    The list ``prepare.personal_columns`` always wins; a name that merely looks personal
    (:func:`~bankseg.personal.personal_name_kind`) can be cleared in ``prepare.not_personal``.
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


def parse_outcomes(raw: Any) -> tuple[Outcome, ...]:
    """``outcomes``: the columns the segments are judged by (none when empty or null)."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise invalid("outcomes", raw, "a mapping of outcome column to settings (label, positive)")
    outcomes = []
    for column, settings in raw.items():
        sec = Section(settings if settings is not None else {}, f"outcomes.{column}", Outcome)
        positive = sec.value("positive")
        if positive is not None and (
            isinstance(positive, bool) or not isinstance(positive, (str, int, float))
        ):
            raise sec.fail("positive", positive, "the value that counts as the event, e.g. 'yes' or 1")
        outcome = Outcome(
            str(column),
            label=sec.text("label", default=_default_label(column)),
            positive=None if positive is None else str(positive),
        )
        outcomes.append(sec.finish(outcome))
    return tuple(outcomes)


def parse_fairness(raw: Any) -> FairnessParams:
    sec = Section(raw, "fairness", FairnessParams)
    return sec.finish(
        FairnessParams(
            protected=sec.texts("protected"),
            use_as_feature=sec.texts("use_as_feature"),
            max_association=sec.number("max_association", minimum=0, maximum=1),
        )
    )


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


def parse_generate(raw: Any) -> GenerateParams:
    sec = Section(raw, "generate", GenerateParams)
    return sec.finish(
        GenerateParams(
            n_customers=sec.integer("n_customers", minimum=1, maximum=100_000_000),
            n_new_customers=sec.integer("n_new_customers", minimum=1, maximum=100_000_000),
            seed=sec.integer("seed", minimum=0, maximum=MAX_SEED),
            quarter=sec.integer("quarter", minimum=1, maximum=MAX_QUARTER),
        )
    )


def parse_data(raw: Any) -> DataParams:
    """``data``: the files; without ``new`` no new customers are scored, without ``id_column``
    a customer's id is its record number (:data:`RECORD_ID`)."""
    sec = Section(raw, "data", DataParams)
    raw_file = sec.text("raw")
    new = None if sec.value("new", None) is None else sec.text("new")
    generated = sec.value("id_column", None) is None
    id_column = RECORD_ID if generated else sec.text("id_column")
    return sec.finish(DataParams(raw=raw_file, new=new, id_column=id_column, id_generated=generated))


def parse_featurize(raw: Any) -> FeaturizeParams:
    sec = Section(raw, "featurize", FeaturizeParams)
    feature_range = sec.value("feature_range")
    ok = (
        isinstance(feature_range, (list, tuple))
        and len(feature_range) == 2
        and all(_is_finite_number(v) for v in feature_range)
        and feature_range[0] < feature_range[1]
    )
    if not ok:
        raise sec.fail("feature_range", feature_range, "[low, high] with finite numbers, low < high")
    balance = sec.flag("balance")
    return sec.finish(
        FeaturizeParams(
            scaler=sec.choice("scaler", SCALERS),
            feature_range=(float(feature_range[0]), float(feature_range[1])),
            max_categories=sec.integer("max_categories", minimum=2, maximum=1000),
            min_frequency=sec.number("min_frequency", minimum=0, maximum=0.5),
            balance=balance,
            skew_threshold=sec.number("skew_threshold", minimum=0),
        )
    )


def parse_elbow(raw: Any) -> ElbowParams:
    """``elbow``: at least three K to score; K = 1 only for the methods that can choose it."""
    sec = Section(raw, "elbow", ElbowParams)
    elbow = sec.finish(
        ElbowParams(
            k_min=sec.integer("k_min", minimum=1),
            k_max=sec.integer("k_max", minimum=2, maximum=100),
            n_init=sec.integer("n_init", minimum=1, maximum=1000),
            silhouette_sample=sec.integer("silhouette_sample", minimum=100, maximum=100_000),
            method=sec.choice("method", K_METHODS),
            random_state=sec.integer("random_state", minimum=0, maximum=MAX_SEED),
            sample_size=sec.integer("sample_size", minimum=100),
            n_references=sec.integer("n_references", minimum=1, maximum=100),
            n_bootstrap=sec.integer("n_bootstrap", minimum=1, maximum=1000),
        )
    )
    if elbow.k_max - elbow.k_min < 2:
        raise sec.fail("k_max", elbow.k_max, f"at least k_min + 2 = {elbow.k_min + 2}")
    if elbow.method not in ("knee", "gap") and elbow.k_min < 2:
        raise sec.fail("k_min", elbow.k_min, f"at least 2 for method {elbow.method}")
    return elbow


def parse_train(raw: Any) -> TrainParams:
    sec = Section(raw, "train", TrainParams)
    n_clusters = sec.value("n_clusters")
    if n_clusters != "auto" and (
        isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or not 2 <= n_clusters <= 100
    ):
        raise sec.fail("n_clusters", n_clusters, "an integer between 2 and 100, or auto")
    return sec.finish(
        TrainParams(
            n_clusters=n_clusters,
            n_init=sec.integer("n_init", minimum=1, maximum=1000),
            max_iter=sec.integer("max_iter", minimum=1, maximum=100_000),
            tol=sec.number("tol", minimum=0),
            algorithm=sec.choice("algorithm", KMEANS_ALGORITHMS),
            random_state=sec.integer("random_state", minimum=0, maximum=MAX_SEED),
        )
    )


def parse_segments(raw: Any) -> SegmentParams:
    sec = Section(raw, "segments", SegmentParams)
    names = sec.value("names") or {}
    if not isinstance(names, dict) or not all(
        isinstance(k, int) and not isinstance(k, bool) and isinstance(v, str) and v.strip()
        for k, v in names.items()
    ):
        raise sec.fail("names", names, "a mapping of segment id (integer) to name")
    return sec.finish(
        SegmentParams(
            names=dict(names),
            top_features=sec.integer("top_features", minimum=1, maximum=20),
            reference=sec.text("reference"),
            match_distance=sec.number("match_distance", minimum=0),
            min_effect=sec.number("min_effect", minimum=0),
            strong_effect=sec.number("strong_effect", minimum=0),
            min_share=sec.number("min_share", minimum=0, maximum=0.5),
            max_feature_share=sec.number("max_feature_share", minimum=0, maximum=1),
            max_category_agreement=sec.number("max_category_agreement", minimum=0, maximum=1),
        )
    )


def parse_stability(raw: Any) -> StabilityParams:
    sec = Section(raw, "stability", StabilityParams)
    stability = sec.finish(
        StabilityParams(
            n_bootstrap=sec.integer("n_bootstrap", minimum=2, maximum=1000),
            sample_size=sec.integer("sample_size", minimum=100),
            random_state=sec.integer("random_state", minimum=0, maximum=MAX_SEED),
            threshold=sec.number("threshold"),
        )
    )
    if not 0 < stability.threshold <= 1:
        raise sec.fail("threshold", stability.threshold, "a number in (0, 1]")
    return stability


def parse_drift(raw: Any) -> DriftParams:
    sec = Section(raw, "drift", DriftParams)
    return sec.finish(
        DriftParams(
            bins=sec.integer("bins", minimum=2, maximum=1000),
            psi_threshold=sec.number("psi_threshold", minimum=0),
            share_threshold=sec.number("share_threshold", minimum=0, maximum=1),
        )
    )


# (minimum, maximum) of each gate threshold: shares and stabilities are fractions.
GATE_BOUNDS = {
    "max_silhouette_drop": (0, None),
    "min_segment_share": (0, 1),
    "min_stability": (0, 1),
    "min_segment_stability": (0, 1),
    "max_rejected_share": (0, 1),
    "min_outcome_association": (0, 1),
}


def parse_gate(raw: Any) -> GateParams:
    sec = Section(raw, "gate", GateParams)
    thresholds = {
        name: sec.number(name, minimum=low, maximum=high) for name, (low, high) in GATE_BOUNDS.items()
    }
    return sec.finish(GateParams(**thresholds))


def parse_migration(raw: Any) -> MigrationParams:
    """``migration``: settings of ``python -m bankseg migration``; no stage reads them."""
    sec = Section(raw, "migration", MigrationParams)
    return sec.finish(MigrationParams(min_customers=sec.integer("min_customers", minimum=1)))


def _currency(sec: Section) -> str:
    value = sec.value("currency")
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not value.strip() or len(value) > 8:
        raise sec.fail(
            "currency", value, "a currency code such as INR, USD, EUR, or a symbol of up to 8 characters"
        )
    return CURRENCY_SYMBOLS.get(value.strip().upper(), value.strip())


def parse_report(raw: Any) -> ReportParams:
    sec = Section(raw, "report", ReportParams)
    return sec.finish(
        ReportParams(currency=_currency(sec), number_style=sec.choice("number_style", NUMBER_STYLES))
    )


def parse_spark(raw: Any) -> SparkParams:
    sec = Section(raw, "spark", SparkParams)
    config = sec.value("config") or {}
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise sec.fail("config", config, "a mapping of Spark setting to value")
    return sec.finish(
        SparkParams(
            master=sec.text("master"),
            sample_size=sec.integer("sample_size", minimum=100),
            config={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in config.items()},
        )
    )


def parse_params(raw: Any) -> Params:
    """Validate the content of params.yaml (already loaded as plain data): each section by its
    ``parse_<section>``, then the checks across sections. Sections other than generate, data,
    features, prepare, elbow and train may be left out."""
    if not isinstance(raw, dict):
        raise InputError(f"params.yaml: expected a mapping of sections (generate, data, ...), got {raw!r}")
    root = Section(raw, "", Params)
    generate = parse_generate(root.value("generate"))
    data = parse_data(root.value("data"))
    features = parse_features(root.value("features"), id_column=data.id_column)
    prepare = parse_prepare(root.value("prepare"), id_column=data.id_column)
    outcomes = parse_outcomes(root.value("outcomes", {}))
    fairness = parse_fairness(root.value("fairness", {}))
    _refuse_personal(data, features, prepare, outcomes)
    _check_roles(features, outcomes, fairness, data)
    return root.finish(
        Params(
            generate,
            data,
            features,
            prepare,
            featurize=parse_featurize(root.value("featurize", {})),
            elbow=parse_elbow(root.value("elbow")),
            train=parse_train(root.value("train")),
            segments=parse_segments(root.value("segments", {})),
            stability=parse_stability(root.value("stability", {})),
            drift=parse_drift(root.value("drift", {})),
            gate=parse_gate(root.value("gate", {})),
            engine=root.choice("engine", ENGINES),
            spark=parse_spark(root.value("spark", {})),
            outcomes=outcomes,
            fairness=fairness,
            report=parse_report(root.value("report", {})),
            migration=parse_migration(root.value("migration", {})),
        )
    )


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


class PurePythonParser(Reader, Scanner, Parser):
    """PyYAML's own parser, written in Python: the events of a YAML text."""

    def __init__(self, stream: str):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)


try:  # libyaml's parser gives the same events several times faster
    from yaml.cyaml import CParser as YAML_PARSER
except ImportError:  # a PyYAML built without libyaml
    YAML_PARSER = PurePythonParser


class _StrictLoader(Composer, SafeConstructor, Resolver):
    """PyYAML's safe loader, refusing repeated keys, anchors, aliases and merge keys, on the events
    of a parser (:func:`strict_loader`).

    A repeated key silently wins over the first; an alias can expand a kilobyte file to
    gigabytes (a "billion laughs"), and params.yaml never needs one. An anchor or alias is
    refused while the file is composed (by PyYAML's composer, in Python, on the parser's events),
    before anything is expanded; so is nesting deeper than :data:`MAX_DEPTH`, and a value PyYAML
    cannot construct (a date such as 2024-13-45, an integer too long to be shown in a message).
    """

    def __init__(self) -> None:
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
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


def strict_loader(parser: type) -> type:
    """The strict loader on the events of ``parser`` (libyaml's or PyYAML's)."""

    class Loader(_StrictLoader, parser):
        def __init__(self, stream: str):
            parser.__init__(self, stream)
            _StrictLoader.__init__(self)

    return Loader


_ParamsLoader = strict_loader(YAML_PARSER)


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
        return yaml.load(text, Loader=_ParamsLoader)  # SafeConstructor: builds plain data only
    except _Refused as exc:
        raise InputError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc


def load_params(path: str | Path = "params.yaml") -> Params:
    return parse_params(read_yaml(path))
