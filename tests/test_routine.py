"""From inference to routine: variants, exclusions, time budget, order, referral."""

from __future__ import annotations

import pytest
from conftest import person

from recommender.content import KIND_ORDER
from recommender.pipeline import recommend


def chosen(rec):
    return {e.id: e for e in rec.routine.exercises} if rec.routine else {}


def not_chosen(rec):
    return {n.id: n for n in rec.not_chosen}


def desk_worker(**more):
    base = dict(sitting_hours=9, areas=["low_back", "neck"], stiff_to_turn_head=True,
                equipment=["chair", "wall", "pillow"], minutes=60)
    return person(**{**base, **more})


def test_long_sitting_and_low_back_pain_get_the_hip_flexor_stretch_kneeling(kb):
    rec = recommend(kb, desk_worker())
    assert chosen(rec)["hip_flexor_stretch"].variant == "kneeling"
    assert rec.referral.level == "self_care"


def test_kneeling_hurts_gives_the_padded_variant_and_says_why(kb):
    # source 000: padding under the knee when kneeling is uncomfortable
    ex = chosen(recommend(kb, desk_worker(kneeling_hurts=True)))["hip_flexor_stretch"]
    assert ex.variant == "kneeling_padded" and ex.position == "kneeling"
    assert {r["rule"] for r in ex.replaced} == {"kneeling-hurts-pad-the-knee"}


def test_kneeling_hurts_without_a_cushion_gives_the_standing_variant(kb):
    ex = chosen(recommend(kb, desk_worker(kneeling_hurts=True, equipment=["chair"])))["hip_flexor_stretch"]
    assert ex.variant == "standing" and ex.position == "standing"
    assert {r["rule"] for r in ex.replaced} == {"kneeling-hurts-pad-the-knee", "no-pillow"}


def test_kneeling_hurts_and_no_chair_or_cushion_excludes_it_with_the_rule(kb):
    rec = recommend(kb, desk_worker(kneeling_hurts=True, equipment=[]))
    assert "hip_flexor_stretch" not in chosen(rec)
    n = not_chosen(rec)["hip_flexor_stretch"]
    assert n.reason == "excluded" and n.rule == "kneeling-hurts-pad-the-knee"


def test_no_floor_leaves_only_standing_seated_or_chair_versions(kb):
    rec = recommend(kb, desk_worker(floor_ok=False))
    assert rec.routine.exercises
    assert all(e.position in ("standing", "seated") for e in rec.routine.exercises)


@pytest.mark.parametrize("minutes", [5, 6, 8, 10, 15, 60])
def test_time_budget_is_respected_and_what_was_dropped_is_listed(kb, minutes):
    rec = recommend(kb, desk_worker(minutes=minutes))
    assert rec.routine.estimated_minutes <= minutes
    assert sum(e.seconds for e in rec.routine.exercises) <= minutes * 60
    full = recommend(kb, desk_worker(minutes=60))
    # what is called for and safe is the same at any budget: chosen, or left out for time or
    # for an exercise of the same movement group
    left = {n.id for n in rec.not_chosen if n.reason in ("time_budget", "same_movement")}
    full_left = {n.id for n in full.not_chosen if n.reason == "same_movement"}
    assert set(chosen(rec)) | left == set(chosen(full)) | full_left


def test_priority_one_survives_the_shortest_budget(kb):
    rec = recommend(kb, desk_worker(minutes=5))
    assert "hip_flexor_stretch" in chosen(rec)
    dropped = [n for n in rec.not_chosen if n.reason == "time_budget"]
    assert dropped and "Did not fit in 5 minutes" in dropped[0].detail


def test_order_is_mobility_then_stretch_then_strength(kb):
    rec = recommend(kb, desk_worker())
    kinds = [KIND_ORDER.index(e.kind) for e in rec.routine.exercises]
    assert kinds == sorted(kinds) and len(set(kinds)) >= 2


@pytest.mark.parametrize("flag,level", [("saddle_numbness", "urgent"), ("fever", "doctor_first"), ("trauma", "doctor_first")])
def test_red_flags_give_no_routine_and_every_exercise_is_not_chosen(kb, flag, level):
    rec = recommend(kb, desk_worker(red_flags=[flag]))
    assert rec.routine is None and rec.referral.level == level
    assert rec.referral.reasons[0].rule.startswith("red-flag-")
    assert {n.id for n in rec.not_chosen} == set(kb.exercises)


def test_physio_level_keeps_a_gentle_routine_with_the_reasons_on_top(kb):
    rec = recommend(kb, desk_worker(duration_weeks=20, worse_with=["bending_forward"]))
    assert rec.referral.level == "physio" and rec.routine.exercises
    assert {r.rule for r in rec.referral.reasons} >= {"direction-needs-physio", "long-lasting-pain"}


def test_the_most_urgent_reason_comes_first(kb):
    rec = recommend(kb, desk_worker(red_flags=["fever", "saddle_numbness"], pain=9))
    levels = [r.level for r in rec.referral.reasons]
    assert levels[0] == "urgent" and levels[-1] == "physio"


def test_contraindications_exclude_by_movement_and_show_in_not_chosen(kb):
    rec = recommend(kb, desk_worker(conditions=["hypermobility"]))
    for e in rec.routine.exercises:
        assert "end_range_passive" not in kb.exercises[e.id].loads
    excluded = [n for n in rec.not_chosen if n.reason == "excluded"]
    assert excluded and all(n.rule == "hypermobility-no-passive-end-range" for n in excluded
                            if "end_range_passive" in kb.exercises[n.id].loads)


def test_every_library_exercise_is_accounted_for_exactly_once(kb):
    rec = recommend(kb, desk_worker(minutes=5))
    ids = [e.id for e in rec.routine.exercises] + [n.id for n in rec.not_chosen]
    assert sorted(ids) == sorted(kb.exercises)


def test_each_chosen_exercise_says_why_back_to_the_answers(kb):
    rec = recommend(kb, desk_worker())
    hip = chosen(rec)["hip_flexor_stretch"]
    assert hip.why["fact"] == "exercise:hip_flexor_stretch"
    from recommender.derivation import leaves, rules_in

    assert {"answer": "sitting_hours", "value": 9, "test": "at least 6", "says": "you sit about 9 hours a day"} in leaves(
        hip.why
    )
    assert rules_in(hip.why)[-1] == "sitting-tightens-hip-flexors"
