"""Segment names a person would give, built from the traits that set each segment apart, and
kept from one run to the next only while they stay true.

A trait is a difference a name may state: a feature (and, for categories, a value) and its
direction, strong enough by the effect-size rule of :mod:`bankseg.reporting.profiling`. Names read like
personas: adjectives from features with ``words`` (``young``, ``affluent``), a noun from a
value with ``people`` (``SIP investors``), then what they have and lack ("Young savers
without active SIP or demat account").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bankseg.params import YES_NO_VALUES, CategoricalFeature, FeatureParams, NumericFeature
from bankseg.reporting.profiling import Effect

log = logging.getLogger(__name__)

# What a segment with no trait strong enough is called.
TYPICAL = "typical customers"
# The noun of a name without a trait that names people.
PEOPLE = "customers"


@dataclass(frozen=True)
class Trait:
    feature: str
    value: str | None  # the category value (Yes or No for a yes/no feature); None for numbers
    sign: int  # +1: more or higher than all customers; -1: less or lower

    def as_dict(self) -> dict:
        return {"feature": self.feature, "value": self.value, "sign": self.sign}

    @classmethod
    def from_dict(cls, data: dict) -> Trait:
        return cls(
            str(data["feature"]), None if data["value"] is None else str(data["value"]), int(data["sign"])
        )


@dataclass(frozen=True)
class Naming:
    names: dict[int, str]
    traits: dict[int, list[Trait]]  # what each name states ([] for a name set in params)
    dropped: dict[int, str] = field(default_factory=dict)  # segment -> why its earlier name went


def trait_words(feature: NumericFeature | CategoricalFeature) -> tuple[str, ...]:
    """The feature's own words for low, (middling,) and high values; () when it has none (a
    numeric feature's default ``low, high`` is no word of its own)."""
    if isinstance(feature, NumericFeature):
        return () if feature.words == ("low", "high") else feature.words
    return feature.words


def extreme_word(words: tuple[str, ...], effect: float, strong_effect: float) -> str | None:
    """The low or high word for a difference of ``effect``; None without words, or when a
    feature with three words is in the middle (below ``strong_effect``)."""
    if not words or (len(words) == 3 and abs(effect) < strong_effect):
        return None
    return words[-1] if effect > 0 else words[0]


def value_text(feature: CategoricalFeature, value: str) -> str:
    """A category value with what it is: ``savings account`` (``values`` of a one-hot feature
    name it whole), ``High income``, ``cautious risk appetite``."""
    shown = feature.values.get(value, value)
    return shown if feature.encoding == "onehot" and value in feature.values else f"{shown} {feature.label}"


def trait(
    effect: Effect, features: FeatureParams, *, min_effect: float, strong_effect: float
) -> Trait | None:
    """The trait a name may state from ``effect``, or None when it is too weak.

    A difference counts from ``min_effect`` standard deviations; a feature with three words
    needs ``strong_effect`` (below it the segment is in the middle, which sets nothing apart);
    an unordered category counts only for a value the segment has more of.
    """
    feature = features.feature(effect.feature)
    if feature is None or abs(effect.effect) < min_effect:
        return None
    sign = 1 if effect.effect > 0 else -1
    if effect.value is not None:
        return Trait(effect.feature, effect.value, 1) if sign > 0 else None
    if isinstance(feature, CategoricalFeature) and feature.encoding == "yes_no":
        return Trait(effect.feature, YES_NO_VALUES[sign > 0], 1)
    if trait_words(feature) and extreme_word(trait_words(feature), effect.effect, strong_effect) is None:
        return None
    return Trait(effect.feature, None, sign)


def _join(items: list[str], word: str) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def phrase(t: Trait, features: FeatureParams) -> str:
    """One trait in a few words: ``young``, ``savers``, ``no demat account``, ``high income``."""
    feature = features.feature(t.feature)
    if isinstance(feature, CategoricalFeature) and t.value is not None:
        if t.value in feature.people:
            return feature.people[t.value]
        if feature.encoding == "yes_no":
            return f"{'with' if t.value == YES_NO_VALUES[1] else 'no'} {feature.label}"
        return value_text(feature, t.value)
    if words := trait_words(feature):
        return words[-1] if t.sign > 0 else words[0]
    return f"{'high' if t.sign > 0 else 'low'} {feature.label}"


def render(traits: list[Trait], features: FeatureParams) -> str:
    """A persona-style name from ``traits``, strongest first: adjectives, a noun for the people,
    then what they have and what they lack."""
    adjectives: list[str] = []
    nouns: list[str] = []
    having: list[str] = []
    lacking: list[str] = []
    for t in traits:
        feature = features.feature(t.feature)
        if isinstance(feature, CategoricalFeature) and t.value is not None:
            if t.value in feature.people and not nouns:
                nouns.append(feature.people[t.value])
            elif feature.encoding == "yes_no":
                (having if t.value == YES_NO_VALUES[1] else lacking).append(feature.label)
            else:
                having.append(value_text(feature, t.value))
        elif words := trait_words(feature):
            adjectives.append(words[-1] if t.sign > 0 else words[0])
        else:
            having.append(f"{'high' if t.sign > 0 else 'low'} {feature.label}")
    if not traits:
        return TYPICAL[0].upper() + TYPICAL[1:]
    text = " ".join([", ".join(adjectives), nouns[0] if nouns else PEOPLE]).strip()
    if having:
        text += f" with {_join(having, 'and')}"
    if lacking:
        text += f"{',' if having else ''} without {_join(lacking, 'or')}"
    return text[0].upper() + text[1:]


def candidate_traits(
    effects: list[Effect], features: FeatureParams, *, min_effect: float, strong_effect: float
) -> list[tuple[Trait, float]]:
    """The segment's traits with their effect sizes, strongest first, one per feature."""
    seen: set[str] = set()
    found = []
    for e in effects:
        t = trait(e, features, min_effect=min_effect, strong_effect=strong_effect)
        if t is not None and t.feature not in seen:
            seen.add(t.feature)
            found.append((t, abs(e.effect)))
    return found


def false_traits(
    stated: list[Trait], candidates: list[tuple[Trait, float]], *, top_features: int, strong_effect: float
) -> list[Trait]:
    """The ``stated`` traits a segment no longer has, by the rule that makes names: a trait
    holds while it is among the segment's ``top_features`` strongest, or is strong
    (``strong_effect``) in the same direction."""
    top = {t for t, _ in candidates[:top_features]}
    strong = {t for t, size in candidates if size >= strong_effect}
    return [t for t in stated if t not in top | strong]


def name_segments(
    effects: dict[int, list[Effect]],
    features: FeatureParams,
    *,
    top_features: int,
    min_effect: float,
    strong_effect: float,
    overrides: dict[int, str] | None = None,
    earlier: dict[int, dict] | None = None,
) -> Naming:
    """Distinct names for every segment.

    ``overrides`` (``segments.names``) win outright. ``earlier`` holds, per segment, the name
    and stated traits (``{"name": ..., "traits": [...]}``) it had in the reference: the name is
    kept while every stated trait still holds (:func:`false_traits`), and dropped, with the
    reason, otherwise. The
    other segments are named from their ``top_features`` strongest traits, adding traits while
    two names would be the same.
    """
    overrides = {int(k): v for k, v in (overrides or {}).items() if int(k) in effects}
    candidates = {
        seg: candidate_traits(found, features, min_effect=min_effect, strong_effect=strong_effect)
        for seg, found in effects.items()
    }
    names: dict[int, str] = dict(overrides)
    traits: dict[int, list[Trait]] = {seg: [] for seg in overrides}
    dropped: dict[int, str] = {}
    for seg, entry in sorted((earlier or {}).items()):
        if seg in overrides or seg not in effects:
            continue
        if "traits" not in entry:  # pinned before names recorded their traits: nothing to check
            log.warning(
                "segment %d keeps the name '%s' unchecked; pin the segments again to record its traits",
                seg,
                entry["name"],
            )
        stated = [Trait.from_dict(t) for t in entry.get("traits", [])]
        wrong = false_traits(stated, candidates[seg], top_features=top_features, strong_effect=strong_effect)
        if wrong:
            lost = ", ".join(f"'{phrase(t, features)}'" for t in wrong)
            dropped[seg] = f"'{entry['name']}' no longer fits: the segment is no longer {lost}"
        else:
            names[seg], traits[seg] = entry["name"], stated
    for seg in sorted(effects):
        if seg in names:
            continue
        found = [t for t, _ in candidates[seg]]
        n = min(top_features, len(found))
        name = render(found[:n], features)
        while name in names.values() and n < len(found):
            n += 1
            name = render(found[:n], features)
        if name in names.values():
            name = f"{name} (segment {seg})"
        names[seg], traits[seg] = name, found[:n]
    return Naming(dict(sorted(names.items())), dict(sorted(traits.items())), dropped)
