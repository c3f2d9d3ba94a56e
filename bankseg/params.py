"""Read ``params.yaml`` once and turn it into validated, typed settings.

Nothing else in the project parses YAML. A wrong value is reported once, naming the
key, the value and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bankseg.errors import InputError

ENCODINGS = ("ordinal", "yes_no", "onehot")
MISSING_STRATEGIES = ("drop", "median", "mean", "most_frequent", "zero")
SCALERS = ("minmax", "standard", "robust")
K_METHODS = ("consensus", "knee", "silhouette", "calinski_harabasz", "davies_bouldin", "gap", "stability")
KMEANS_ALGORITHMS = ("lloyd", "elkan")
ENGINES = ("sklearn", "spark")


@dataclass(frozen=True)
class GenerateParams:
    n_customers: int
    n_new_customers: int
    seed: int


@dataclass(frozen=True)
class DataParams:
    raw: str
    new: str
    id_column: str


@dataclass(frozen=True)
class NumericFeature:
    column: str
    log: bool = False
    label: str = ""
    words: tuple[str, ...] = ("low", "high")  # low, high; or low, middle, high


@dataclass(frozen=True)
class CategoricalFeature:
    column: str
    encoding: str
    order: tuple[str, ...] = ()
    label: str = ""


@dataclass(frozen=True)
class FeatureParams:
    numeric: tuple[NumericFeature, ...]
    categorical: tuple[CategoricalFeature, ...]

    @property
    def columns(self) -> list[str]:
        return [f.column for f in self.numeric] + [f.column for f in self.categorical]


@dataclass(frozen=True)
class PrepareParams:
    personal_columns: tuple[str, ...]
    profile_columns: tuple[str, ...]
    missing: dict[str, str]
    ranges: dict[str, tuple[float | None, float | None]]
    not_personal: tuple[str, ...] = ()
    decimal_mark: str = "auto"


@dataclass(frozen=True)
class FeaturizeParams:
    scaler: str
    feature_range: tuple[float, float]
    max_categories: int = 20


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
    n_bootstrap: int = 5


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


@dataclass(frozen=True)
class SegmentParams:
    names: dict[int, str] = field(default_factory=dict)
    top_features: int = 3
    reference: str = "models/reference_segments.json"
    match_distance: float = 0.5
    min_effect: float = 0.2
    strong_effect: float = 0.5


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


class _Section:
    """Typed access to one mapping of params.yaml, naming the dotted key on error."""

    def __init__(self, raw: Any, key: str):
        if not isinstance(raw, dict):
            raise InputError(f"params.yaml: '{key}' must be a mapping, got {raw!r}")
        self.raw = raw
        self.key = key

    def _dotted(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def _get(self, name: str, default: Any = ...) -> Any:
        if name not in self.raw:
            if default is ...:
                raise InputError(f"params.yaml: missing key '{self._dotted(name)}'")
            return default
        return self.raw[name]

    def _fail(self, name: str, value: Any, expected: str) -> InputError:
        return InputError(f"params.yaml: '{self._dotted(name)}' is {value!r}, expected {expected}")

    def int(self, name: str, *, minimum: int | None = None, default: Any = ...) -> int:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(name, value, "an integer")
        if minimum is not None and value < minimum:
            raise self._fail(name, value, f"an integer >= {minimum}")
        return value

    def number(self, name: str, *, default: Any = ...) -> float:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._fail(name, value, "a number")
        return float(value)

    def str(self, name: str, *, choices: tuple[str, ...] | None = None, default: Any = ...) -> str:
        value = self._get(name, default)
        if not isinstance(value, str) or not value.strip():
            raise self._fail(name, value, "a non-empty string")
        if choices is not None and value not in choices:
            raise self._fail(name, value, f"one of {', '.join(choices)}")
        return value

    def section(self, name: str, default: Any = ...) -> _Section:
        return _Section(self._get(name, default), self._dotted(name))

    def str_list(self, name: str, *, default: Any = ...) -> tuple[str, ...]:
        value = self._get(name, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(name, value, "a list of strings")
        return tuple(value)


def _default_label(column: object) -> str:
    return str(column).replace("_", " ")


def _numeric_features(raw: Any) -> tuple[NumericFeature, ...]:
    if not isinstance(raw, dict):
        raise InputError(
            f"params.yaml: 'features.numeric' is {raw!r}, expected a mapping of column to settings"
        )
    features = []
    for column, settings in raw.items():
        sec = _Section(settings if settings is not None else {}, f"features.numeric.{column}")
        log = sec._get("log", False)
        if not isinstance(log, bool):
            raise sec._fail("log", log, "true or false")
        words = sec._get("words", ["low", "high"])
        if not (isinstance(words, list) and len(words) in (2, 3) and all(isinstance(w, str) for w in words)):
            raise sec._fail(
                "words", words, "[word for low values, (word for middling values,) word for high values]"
            )
        label = sec.str("label", default=_default_label(column))
        features.append(NumericFeature(str(column), log, label, tuple(words)))
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
        order: tuple[str, ...] = ()
        if encoding == "ordinal":
            values = sec._get("order")
            if not isinstance(values, list) or len(values) < 2:
                raise sec._fail("order", values, "a list of at least two values, lowest first")
            order = tuple(str(v) for v in values)
        label = sec.str("label", default=_default_label(column))
        features.append(CategoricalFeature(str(column), encoding, order, label))
    return tuple(features)


def _ranges(sec: _Section, columns: list[str]) -> dict[str, tuple[float | None, float | None]]:
    ranges = {}
    for column, bounds in sec.raw.items():
        if column not in columns:
            raise sec._fail(column, bounds, f"a numeric feature column ({', '.join(columns)})")
        ok = (
            isinstance(bounds, list)
            and len(bounds) == 2
            and all(b is None or (isinstance(b, (int, float)) and not isinstance(b, bool)) for b in bounds)
        )
        if not ok:
            raise sec._fail(column, bounds, "[min, max] with numbers or null")
        ranges[str(column)] = (bounds[0], bounds[1])
    return ranges


def parse_params(raw: Any) -> Params:
    """Validate the content of params.yaml (already loaded as plain data)."""
    if not isinstance(raw, dict):
        raise InputError(f"params.yaml: expected a mapping of sections (generate, data, ...), got {raw!r}")
    root = _Section(raw, "")
    gen = root.section("generate")
    generate = GenerateParams(
        n_customers=gen.int("n_customers", minimum=1),
        n_new_customers=gen.int("n_new_customers", minimum=1),
        seed=gen.int("seed", minimum=0),
    )
    dat = root.section("data")
    data = DataParams(raw=dat.str("raw"), new=dat.str("new"), id_column=dat.str("id_column"))

    feat = root.section("features")
    features = FeatureParams(
        numeric=_numeric_features(feat._get("numeric", {})),
        categorical=_categorical_features(feat._get("categorical", {})),
    )
    if not features.columns:
        raise InputError("params.yaml: 'features' lists no columns, expected at least one feature")
    if data.id_column in features.columns:
        raise InputError(f"params.yaml: 'data.id_column' {data.id_column!r} is also listed as a feature")

    prep = root.section("prepare")
    personal = prep.str_list("personal_columns", default=[])
    profile = prep.str_list("profile_columns", default=[])
    leaked = sorted(set(personal) & set(features.columns + [data.id_column, *profile]))
    if leaked:
        raise InputError(
            f"params.yaml: column {leaked[0]!r} is in 'prepare.personal_columns' and also used as "
            "id, feature or profile column; personal data must not be used"
        )
    missing_sec = prep.section("missing", {})
    missing = {}
    for column in features.columns:
        strategy = missing_sec.str(column, choices=MISSING_STRATEGIES, default="drop")
        missing[column] = strategy
    unknown = sorted(set(missing_sec.raw) - set(features.columns))
    if unknown:
        raise missing_sec._fail(unknown[0], missing_sec.raw[unknown[0]], "a key naming a feature column")
    numeric_columns = [f.column for f in features.numeric]
    for column, strategy in missing.items():
        if column not in numeric_columns and strategy in ("median", "mean", "zero"):
            raise missing_sec._fail(column, strategy, "drop or most_frequent for a categorical column")
    prepare = PrepareParams(
        personal_columns=personal,
        profile_columns=profile,
        missing=missing,
        ranges=_ranges(prep.section("ranges", {}), numeric_columns),
        not_personal=prep.str_list("not_personal", default=[]),
        decimal_mark=prep.str("decimal_mark", choices=("auto", ".", ","), default="auto"),
    )

    fz = root.section("featurize")
    feature_range = fz._get("feature_range", [0, 1])
    ok = (
        isinstance(feature_range, list)
        and len(feature_range) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in feature_range)
        and feature_range[0] < feature_range[1]
    )
    if not ok:
        raise fz._fail("feature_range", feature_range, "[low, high] with low < high")
    featurize = FeaturizeParams(
        scaler=fz.str("scaler", choices=SCALERS),
        feature_range=(float(feature_range[0]), float(feature_range[1])),
    )

    el = root.section("elbow")
    elbow = ElbowParams(
        k_min=el.int("k_min", minimum=1),
        k_max=el.int("k_max", minimum=2),
        n_init=el.int("n_init", minimum=1, default=5),
        silhouette_sample=el.int("silhouette_sample", minimum=100, default=10000),
        method=el.str("method", choices=K_METHODS, default="consensus"),
        random_state=el.int("random_state", minimum=0, default=0),
        sample_size=el.int("sample_size", minimum=100, default=20000),
        n_references=el.int("n_references", minimum=1, default=5),
        n_bootstrap=el.int("n_bootstrap", minimum=1, default=5),
    )
    if elbow.k_max - elbow.k_min < 2:
        raise el._fail("k_max", elbow.k_max, f"at least k_min + 2 = {elbow.k_min + 2}")
    if elbow.method not in ("knee", "gap") and elbow.k_min < 2:
        raise el._fail("k_min", elbow.k_min, f"at least 2 for method {elbow.method}")

    tr = root.section("train")
    n_clusters = tr._get("n_clusters")
    if n_clusters != "auto" and (
        isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or n_clusters < 2
    ):
        raise tr._fail("n_clusters", n_clusters, "an integer >= 2 or auto")
    train = TrainParams(
        n_clusters=n_clusters,
        n_init=tr.int("n_init", minimum=1, default=10),
        max_iter=tr.int("max_iter", minimum=1, default=300),
        tol=tr.number("tol", default=1e-4),
        algorithm=tr.str("algorithm", choices=KMEANS_ALGORITHMS, default="lloyd"),
        random_state=tr.int("random_state", minimum=0, default=0),
    )

    seg = root.section("segments", {})
    names_raw = seg._get("names", {}) or {}
    if not isinstance(names_raw, dict) or not all(
        isinstance(k, int) and not isinstance(k, bool) and isinstance(v, str) and v.strip()
        for k, v in names_raw.items()
    ):
        raise seg._fail("names", names_raw, "a mapping of segment id (integer) to name")
    segments = SegmentParams(
        names=dict(names_raw),
        top_features=seg.int("top_features", minimum=1, default=3),
        reference=seg.str("reference", default=SegmentParams.reference),
        match_distance=seg.number("match_distance", default=SegmentParams.match_distance),
        min_effect=seg.number("min_effect", default=SegmentParams.min_effect),
        strong_effect=seg.number("strong_effect", default=SegmentParams.strong_effect),
    )
    st = root.section("stability", {})
    stability = StabilityParams(
        n_bootstrap=st.int("n_bootstrap", minimum=2, default=StabilityParams.n_bootstrap),
        sample_size=st.int("sample_size", minimum=100, default=StabilityParams.sample_size),
        random_state=st.int("random_state", minimum=0, default=StabilityParams.random_state),
        threshold=st.number("threshold", default=StabilityParams.threshold),
    )
    if not 0 < stability.threshold <= 1:
        raise st._fail("threshold", stability.threshold, "a number in (0, 1]")
    dr = root.section("drift", {})
    drift = DriftParams(
        bins=dr.int("bins", minimum=2, default=DriftParams.bins),
        psi_threshold=dr.number("psi_threshold", default=DriftParams.psi_threshold),
        share_threshold=dr.number("share_threshold", default=DriftParams.share_threshold),
    )
    ga = root.section("gate", {})
    gate = GateParams(
        **{
            name: ga.number(name, default=getattr(GateParams, name))
            for name in GateParams.__dataclass_fields__
        }
    )
    engine = root.str("engine", choices=ENGINES, default="sklearn")
    sp = root.section("spark", {})
    config = sp._get("config", {}) or {}
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise sp._fail("config", config, "a mapping of Spark setting to value")
    spark = SparkParams(
        master=sp.str("master", default=SparkParams.master),
        sample_size=sp.int("sample_size", minimum=100, default=SparkParams.sample_size),
        config={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in config.items()},
    )
    return Params(
        generate,
        data,
        features,
        prepare,
        featurize,
        elbow,
        train,
        segments,
        stability,
        drift,
        gate,
        engine,
        spark,
    )


def load_params(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read params file ({exc.strerror})") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    return parse_params(raw)
