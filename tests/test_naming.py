"""bankseg.reporting.naming: persona-style names from traits, kept only while their traits hold."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bankseg.reporting.naming import Trait, false_traits, name_segments, render, trait
from bankseg.reporting.profiling import Effect


def _name(effects, params, **settings):
    options = {"top_features": 3, "min_effect": 0.2, "strong_effect": 0.5} | settings
    return name_segments(effects, params.features, **options)


def test_a_persona_name_has_adjectives_a_noun_and_what_they_lack(params):
    effects = {
        0: [
            Effect("sip_status", None, -1.1, "no active SIP"),
            Effect("age", None, -1.0, "young"),
            Effect("account_type", "Savings", 0.9, "Savings account"),
            Effect("has_demat_account", None, -0.8, "no demat account"),
        ]
    }
    # savers: features.categorical.account_type.people; young: features.numeric.age.words
    assert _name(effects, params, top_features=4).names == {
        0: "Young savers without active SIP or demat account"
    }


def test_people_of_a_yes_no_feature_and_words_of_an_ordered_one(params):
    effects = {
        0: [
            Effect("risk_id", None, 0.9, "bold"),
            Effect("has_demat_account", None, 0.8, "with demat account"),
        ]
    }
    assert _name(effects, params).names == {0: "Bold demat holders"}


def test_the_strongest_people_trait_is_the_noun_and_the_next_one_what_they_have(params):
    effects = {
        0: [
            Effect("has_demat_account", None, 1.0, "with demat account"),
            Effect("sip_status", None, 0.9, "with active SIP"),
            Effect("sip_amount", None, 0.7, "high monthly SIP"),
        ]
    }
    assert _name(effects, params).names == {0: "Demat holders with active SIP and high monthly SIP"}


def test_a_middle_word_is_not_a_trait_and_weak_differences_are_left_out(params):
    # age has three words: below strong_effect the segment is in the middle, nothing to name
    assert (
        trait(Effect("age", None, 0.4, "middle-aged"), params.features, min_effect=0.2, strong_effect=0.5)
        is None
    )
    assert trait(
        Effect("age", None, 0.6, "senior"), params.features, min_effect=0.2, strong_effect=0.5
    ) == Trait("age", None, 1)
    assert (
        trait(Effect("networth", None, -0.1, "x"), params.features, min_effect=0.2, strong_effect=0.5) is None
    )
    # an unordered value counts only when the segment has more of it
    assert (
        trait(
            Effect("account_type", "Current", -2.0, "x"), params.features, min_effect=0.2, strong_effect=0.5
        )
        is None
    )


def test_a_segment_without_traits_is_typical(params):
    assert _name({0: []}, params).names == {0: "Typical customers"}


def test_clashing_names_get_more_traits_then_the_segment_id(params):
    effects = {
        0: [
            Effect("age", None, 1.0, ""),
            Effect("networth", None, 0.5, ""),
            Effect("sip_amount", None, 0.3, ""),
        ],
        1: [
            Effect("age", None, 0.9, ""),
            Effect("networth", None, 0.4, ""),
            Effect("sip_amount", None, -0.3, ""),
        ],
        2: [Effect("age", None, 0.8, ""), Effect("networth", None, 0.3, "")],
    }
    names = _name(effects, params, top_features=2).names
    assert names == {
        0: "Senior, affluent customers",
        1: "Senior, affluent customers with low monthly SIP",
        2: "Senior, affluent customers (segment 2)",
    }


def test_overrides_win_and_automatic_names_avoid_them(params):
    effects = {
        0: [Effect("age", None, 1.0, "")],
        1: [Effect("age", None, 0.9, ""), Effect("sip_amount", None, -0.5, "")],
    }
    naming = _name(effects, params, top_features=1, overrides={0: "Senior customers", 7: "No such segment"})
    assert naming.names == {0: "Senior customers", 1: "Senior customers with low monthly SIP"}
    assert naming.traits[0] == []


def test_labels_and_words_come_from_params(params):
    age = replace(params.features.numeric[0], words=("junior", "elder"))
    features = replace(params.features, numeric=(age, *params.features.numeric[1:]))
    assert render([Trait("age", None, 1)], features) == "Elder customers"
    assert render([Trait("age", None, -1), Trait("sip_status", "Yes", 1)], features) == "Junior SIP investors"


EARLIER = {
    "name": "SIP investors without demat account",
    "traits": [Trait("sip_status", "Yes", 1).as_dict(), Trait("has_demat_account", "No", 1).as_dict()],
}


def test_an_earlier_name_is_kept_while_its_traits_hold(params):
    effects = {0: [Effect("sip_status", None, 1.0, ""), Effect("has_demat_account", None, -0.9, "")]}
    naming = _name(effects, params, earlier={0: EARLIER})
    assert naming.names == {0: EARLIER["name"]} and naming.dropped == {}


def test_an_earlier_name_whose_trait_is_gone_is_dropped_with_the_reason(params):
    """Merged with demat holders, the segment's demat difference is small and not among its
    strongest: the name no longer describes it."""
    effects = {
        0: [
            Effect("sip_status", None, 0.9, ""),
            Effect("risk_id", None, 0.74, ""),
            Effect("account_type", "Savings", 0.44, ""),
            Effect("has_demat_account", None, -0.22, ""),
        ]
    }
    naming = _name(effects, params, earlier={0: EARLIER})
    assert naming.names == {0: "Bold SIP investors with savings account"}
    assert naming.dropped == {
        0: "'SIP investors without demat account' no longer fits: the segment is no longer 'no demat account'"
    }


@pytest.mark.parametrize(
    ("demat", "kept"),
    [(-0.9, True), (0.9, False), (-0.55, True)],  # strong in the same direction, reversed, strong but not top
)
def test_a_stated_trait_holds_when_among_the_strongest_or_strong(params, demat, kept):
    candidates = [
        (Trait("sip_status", "Yes", 1), 1.0),
        (Trait("age", None, 1), 0.9),
        (Trait("networth", None, 1), 0.8),
    ]
    value = "No" if demat < 0 else "Yes"
    candidates.append((Trait("has_demat_account", value, 1), abs(demat)))
    stated = [Trait("has_demat_account", "No", 1)]
    assert (false_traits(stated, candidates, top_features=3, strong_effect=0.5) == []) is kept


def test_user_overrides_beat_earlier_names(params):
    effects = {0: [Effect("sip_status", None, 1.0, ""), Effect("has_demat_account", None, -0.9, "")]}
    assert _name(effects, params, earlier={0: EARLIER}, overrides={0: "Mine"}).names == {0: "Mine"}
