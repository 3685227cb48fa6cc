"""Choosing the session: which indicated exercises go in, at what dose, in what order.

The rules say what is called for and what is ruled out; this module turns the
exercises left into a session a person will actually do:

1. candidates are ranked: the most urgent indication first, then how many
   rules call for it (how strongly the chains point at it), then library order;
2. an exercise a source says to follow with another forms a unit with it
   (``followed_by``): both go in, or neither; an indication that ``requires``
   another exercise stands only when that one goes in too;
3. each reported area first gets its best-ranked exercise, then the rest are
   added by rank, while they fit the time, at most one exercise of each
   movement group (two of one group do the same work twice), and at most
   ``max_exercises`` of them (adherence falls as exercises pile up);
4. the time left is used by adding sets, up to three of each, in rank order;
5. the order is mobility, then stretches, then strength (source 000: joints
   first, then the muscles, then strength), and within that the floor is
   visited once: floor mobility last, floor stretches and strength first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .conditions import FindingTest
from .content import KIND_ORDER, Dose, Exercise, Variant
from .recommendation import ChosenExercise, DoseOut, NotChosen, Routine, Uncovered

if TYPE_CHECKING:
    from .answers import Answers
    from .derivation import Explainer, Node
    from .engine import Firing
    from .knowledge import Knowledge

#: Seconds to get into position for each exercise, added to its dose.
SETUP_SECONDS = 20
#: Sets an exercise may be given to use the time offered.
MAX_SETS = 3
#: Positions on the floor, in the order a person gets up through them.
FLOOR = ("supine", "side_lying", "prone", "all_fours", "kneeling", "floor_sitting")
AREA_WORDS = {"neck": "neck", "upper_back": "upper back", "mid_back": "mid back", "low_back": "low back"}

Candidate = tuple[Exercise, Variant, list[dict[str, str]]]


def max_exercises(minutes: int) -> int:
    """At most 5 exercises in a 10-minute session; one more for each 5 minutes past 10."""
    return 5 + max(0, minutes - 10) // 5


@dataclass(eq=False)  # a unit is itself: `in kept` compares identities, not exercises field by field
class _Unit:
    members: list[Candidate]
    rank: tuple[int, int, int]
    sets: dict[str, int]

    @property
    def lead(self) -> Exercise:
        return self.members[0][0]

    def seconds(self) -> int:
        return sum(_seconds(ex, self.sets[ex.id]) for ex, _, _ in self.members)


def _seconds(ex: Exercise, sets: int) -> int:
    return ex.dose.seconds(sets) + SETUP_SECONDS


def reason_for(fired: list[Firing], kept: set[str] | None = None) -> Firing:
    """The indication to explain an exercise by: one whose requirement is met, the most
    urgent, then the one resting on the most findings."""
    met = [f for f in fired if f.then.requires is None or kept is None or f.then.requires in kept]
    return min(met or fired, key=lambda f: (f.then.priority, -_depth(f)))


def _depth(f: Firing) -> int:
    return sum(1 for t in f.alternative.facts if isinstance(t, FindingTest))


def choose(
    kb: Knowledge,
    answers: Answers,
    candidates: list[Candidate],
    indications: dict[str, list[Firing]],
    why: Explainer,
) -> tuple[Routine, list[NotChosen]]:
    """The session for these candidates, and every candidate left out with its reason."""
    ids = {c[0].id for c in candidates}
    # an indication that needs another exercise cannot stand when that one is not even a candidate
    orphans = [c for c in candidates if all(f.then.requires not in (None, *ids) for f in indications[c[0].id])]
    candidates = [c for c in candidates if c not in orphans]
    units = _units(kb, candidates, indications)
    kept, dropped = _select(kb, answers, units, indications)
    dropped = [
        replace(d, why=why.firing(reason_for(indications[d.id]), f"exercise:{d.id}", d.name))
        if d.reason in ("same_movement", "time_budget")
        else d
        for d in dropped
    ]
    cap = max_exercises(answers.minutes)
    dropped += [_left_out(kb, c[0], answers, {}, cap, indications, set(), orphan=True) for c in orphans]
    _fill(kept, answers.minutes * 60)
    kept.sort(key=_order)
    ids = {ex.id for u in kept for ex, _, _ in u.members}
    exercises = [_chosen(ex, v, replaced, u.sets[ex.id], why, indications, ids) for u in kept for ex, v, replaced in u.members]
    used = sum(u.seconds() for u in kept)
    routine = Routine(
        minutes=answers.minutes,
        estimated_minutes=math.ceil(used / 60),
        exercises=exercises,
        uncovered=_uncovered(kb, answers, kept, candidates, dropped),
        note=_note(answers, used, exercises),
    )
    return routine, dropped


def _units(kb: Knowledge, candidates: list[Candidate], indications: dict[str, list[Firing]]) -> list[_Unit]:
    def rank(ex: Exercise) -> tuple[int, int, int]:
        fired = indications[ex.id]
        return (min(f.then.priority for f in fired), -len({f.rule.id for f in fired}), kb.exercise_order[ex.id])

    by_id = {c[0].id: c for c in candidates}
    ranks = {eid: rank(c[0]) for eid, c in by_id.items()}
    carried = {c[0].followed_by for c in candidates if c[0].followed_by in by_id}
    units = []
    for c in sorted(candidates, key=lambda c: ranks[c[0].id]):
        if c[0].id in carried:
            continue  # travels with the exercise it follows
        partner = c[0].followed_by
        members = [c] + ([by_id[partner]] if partner in by_id else [])
        units.append(_Unit(members, ranks[c[0].id], {m[0].id: m[0].dose.sets for m in members}))
    return units


def _select(
    kb: Knowledge, answers: Answers, units: list[_Unit], indications: dict[str, list[Firing]]
) -> tuple[list[_Unit], list[NotChosen]]:
    budget, cap = answers.minutes * 60, max_exercises(answers.minutes)
    kept: list[_Unit] = []
    groups: dict[str, str] = {}  # movement group -> the exercise that holds it

    count = used = 0  # exercises and seconds kept so far

    def fits(u: _Unit) -> bool:
        if any(ex.group in groups for ex, _, _ in u.members) or count + len(u.members) > cap:
            return False
        return used + u.seconds() <= budget

    def keep(u: _Unit) -> None:
        nonlocal count, used
        kept.append(u)
        count, used = count + len(u.members), used + u.seconds()
        groups.update({ex.group: ex.name for ex, _, _ in u.members})

    for area in answers.areas:  # each reported area first gets its best exercise
        if not any(area in ex.areas for k in kept for ex, _, _ in k.members):
            best = next((u for u in units if u not in kept and area in u.lead.areas and fits(u)), None)
            if best is not None:
                keep(best)
    for u in units:
        if u not in kept and fits(u):
            keep(u)
    # an indication that needs another exercise stands only when that one went in
    ids = {ex.id for k in kept for ex, _, _ in k.members}
    for k in list(kept):
        for ex, _, _ in k.members:
            if all(f.then.requires is not None and f.then.requires not in ids for f in indications[ex.id]):
                k.members = [m for m in k.members if m[0].id != ex.id]
        if not k.members:
            kept.remove(k)
    ids = {ex.id for k in kept for ex, _, _ in k.members}
    dropped = [
        _left_out(kb, ex, answers, groups, cap, indications, ids)
        for u in units
        for ex, _, _ in u.members
        if ex.id not in ids
    ]
    return kept, dropped


def _left_out(
    kb: Knowledge,
    ex: Exercise,
    answers: Answers,
    groups: dict[str, str],
    cap: int,
    indications: dict[str, list[Firing]],
    ids: set[str],
    orphan: bool = False,
) -> NotChosen:
    fired = indications[ex.id]
    if orphan:  # every indication needs an exercise that is ruled out or not called for
        partner = kb.exercises[next(f.then.requires for f in fired if f.then.requires is not None)].name
        detail = f"It goes with {partner}, which is not in your routine."
        return NotChosen(id=ex.id, name=ex.name, reason="excluded", rule=fired[0].rule.id, detail=detail)
    rule = reason_for(fired).rule.id
    if ex.group in groups and groups[ex.group] != ex.name:
        detail = f"{groups[ex.group]} in your routine works the same movement."
        return NotChosen(id=ex.id, name=ex.name, reason="same_movement", rule=rule, detail=detail)
    detail = (
        f"Did not fit in {answers.minutes} minutes after the exercises ranked above it"
        f" (a {answers.minutes}-minute session keeps at most {cap} exercises, so that it gets done)."
    )
    return NotChosen(id=ex.id, name=ex.name, reason="time_budget", rule=rule, detail=detail)


def _fill(kept: list[_Unit], budget: int) -> None:
    """Use the time left: one more set at a time, in rank order, up to ``MAX_SETS``."""
    used = sum(u.seconds() for u in kept)
    grew = True
    while grew:
        grew = False
        for u in sorted(kept, key=lambda u: u.rank):
            for ex, _, _ in u.members:
                extra = _seconds(ex, u.sets[ex.id] + 1) - _seconds(ex, u.sets[ex.id])
                if u.sets[ex.id] < MAX_SETS and used + extra <= budget:
                    u.sets[ex.id] += 1
                    used += extra
                    grew = True


def _order(u: _Unit) -> tuple[int, int, int, tuple[int, int, int]]:
    lead = u.lead
    positions = [v.position for _, v, _ in u.members]
    on_floor = positions[0] in FLOOR
    kind = KIND_ORDER.index(lead.kind)
    # mobility ends on the floor, stretches and strength start there: one trip down;
    # on the floor, from lying on the back up to kneeling (a unit counts by its last position)
    floor_key = (1 if on_floor else 0) if lead.kind == "mobility" else (0 if on_floor else 1)
    level = max(FLOOR.index(p) for p in positions if p in FLOOR) if on_floor else -1
    return (kind, floor_key, level, u.rank)


def _chosen(
    ex: Exercise,
    variant: Variant,
    replaced: list[dict[str, str]],
    sets: int,
    why: Explainer,
    indications: dict[str, list[Firing]],
    ids: set[str],
) -> ChosenExercise:
    node = why.firing(reason_for(indications[ex.id], ids), f"exercise:{ex.id}", ex.name)
    return chosen_exercise(ex, variant, ex.dose, node, replaced, sets=sets)


def chosen_exercise(
    ex: Exercise, variant: Variant, dose: Dose, why: Node, replaced: list[dict[str, str]], sets: int | None = None
) -> ChosenExercise:
    """One card of the routine: the exercise done this way, at this dose (in ``sets`` sets when
    given), for this reason. (The rules' choice, a follow-up's step and a clinician's addition
    all build it here.)"""
    return ChosenExercise(
        id=ex.id,
        name=ex.name,
        kind=ex.kind,
        variant=variant.id,
        variant_name=variant.name,
        position=variant.position,
        equipment=list(variant.equipment),
        dose=dose_out(dose, sets),
        seconds=dose.seconds(sets) + SETUP_SECONDS,
        steps=list(variant.steps),
        cautions=list(ex.cautions),
        why=why,
        replaced=replaced,
    )


def dose_out(dose: Dose, sets: int | None = None) -> DoseOut:
    """A dose as the output shows it (in ``sets`` sets when given), with its words."""
    sets = dose.sets if sets is None else sets
    return DoseOut(hold_seconds=dose.hold_seconds, reps=dose.reps, each_side=dose.each_side, sets=sets, text=dose.describe(sets))


def _uncovered(
    kb: Knowledge, answers: Answers, kept: list[_Unit], candidates: list[Candidate], dropped: list[NotChosen]
) -> list[Uncovered]:
    """Each reported area the routine has nothing for, with the reason in plain words."""
    out = []
    for area in answers.areas:
        if any(area in ex.areas for u in kept for ex, _, _ in u.members):
            continue
        words = AREA_WORDS[area]
        if any(area in c[0].areas for c in candidates):
            detail = f"The exercises for your {words} did not fit in {answers.minutes} minutes; see what was left out."
        elif any(area in ex.areas for ex in kb.exercises.values()):
            detail = f"Nothing in your answers called for an exercise for your {words} that is safe for you to do at home."
        else:
            detail = f"The library has no exercise for your {words}."
        out.append(Uncovered(area=area, detail=detail))
    return out


def _note(answers: Answers, used: int, exercises: list[ChosenExercise]) -> str | None:
    """Why the routine takes much less than the time offered, when it does."""
    if not exercises or used >= 0.6 * answers.minutes * 60:
        return None
    return (
        f"This routine takes about {math.ceil(used / 60)} of your {answers.minutes} minutes: every exercise"
        " your answers call for is in it, at up to three sets. Doing more of the same would not add much."
    )
