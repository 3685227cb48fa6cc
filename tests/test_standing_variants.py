"""Every seated variant needs a chair, so the seated neck and upper-back
exercises each have a standing way that needs nothing: a person who lists
equipment without a chair keeps them, done standing."""

from __future__ import annotations

from typing import Any

from recommender.answers import field_choices, parse_answers
from recommender.pipeline import recommend

UPPER = {"neck", "upper_back"}


def _seated_only_upper(kb: Any) -> list[Any]:
    """Upper exercises whose only chair-free way would otherwise be none at all."""
    out = []
    for ex in kb.exercises.values():
        if not UPPER & set(ex.areas):
            continue
        seated = [v for v in ex.variants if v.position == "seated"]
        others = [v for v in ex.variants if v.position != "seated" and v.id != "standing"]
        if seated and not others:
            out.append(ex)
    return out


def test_seated_upper_exercises_have_a_standing_way_after_the_seated_one(kb):
    exercises = _seated_only_upper(kb)
    assert len(exercises) >= 12
    for ex in exercises:
        ids = [v.id for v in ex.variants]
        assert "standing" in ids, ex.id
        standing = ex.variants[ids.index("standing")]
        assert standing.position == "standing" and not standing.equipment, ex.id
        assert not set(standing.loads) - set(ex.variants[0].loads), ex.id  # adds no movement
        assert 2 <= len(standing.steps) <= 6, ex.id
        first_seated = min(i for i, v in enumerate(ex.variants) if v.position == "seated")
        assert first_seated < ids.index("standing"), f"{ex.id}: seated stays preferred"


def _answers(equipment: list[str]) -> Any:
    return parse_answers(
        {
            "areas": ["neck", "upper_back"],
            "pain": 4,
            "duration_weeks": 4,
            "red_flags": [],
            "sitting_hours": 9,
            "posture": list(field_choices("posture")),
            "stiff_to_turn_head": True,
            "stress": "high",
            "equipment": equipment,
            "minutes": 60,
        },
        "generated",
    )


def test_without_a_chair_the_neck_and_upper_back_exercises_are_done_standing(kb):
    upper = {ex.id for ex in _seated_only_upper(kb)}
    with_chair = recommend(kb, _answers(["chair", "wall"]))
    without = recommend(kb, _answers(["wall"]))
    assert with_chair.routine is not None and without.routine is not None
    chosen = {e.id: e.variant for e in with_chair.routine.exercises if e.id in upper}
    assert chosen and set(chosen.values()) == {"seated"}
    done = {e.id: e.variant for e in without.routine.exercises if e.id in upper}
    assert done.keys() >= chosen.keys(), "no fewer of them"
    assert set(done.values()) == {"standing"}
    assert not [n.id for n in without.not_chosen if n.id in upper and n.reason == "excluded"]
