"""A clinician's plan applied to the rules' choice (issue 21): the edit happens, the reason stays.

``adjust`` takes the recommendation the rules assembled and changes it as the
plan says, in this order: clear, remove, override, add, dose. The rest of the
routine stays as the rules chose it (a removal does not pull another exercise
in: add one if you want it). Every entry becomes an ``Adjustment`` with its
reason, applied or not, and why.

What no plan can do, whatever it says:

- change anything under an urgent referral (there is no routine to change);
- change the routine under a doctor-first referral it does not clear;
- put in an exercise, or a way of doing it, that a current answer rules out,
  unless an ``override`` names that exact rule (an error otherwise, exit 2);
- set aside a rule that guards a red flag (``plan.check_plan`` refuses it);
- clearing a referral lifts the referral only: every exclusion still holds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
import math
from datetime import date, timedelta
from typing import TYPE_CHECKING

from .content import KIND_ORDER, LEVELS, Exercise, Level, Variant
from .derivation import Explainer, Node
from .errors import PlanError
from .recommendation import (
    Action,
    AdjustedBy,
    Adjustment,
    ChosenExercise,
    NotChosen,
    Recommendation,
    Referral,
    Routine,
    Uncovered,
)
from .routine import assemble, fits
from .selection import AREA_WORDS, SETUP_SECONDS, chosen_exercise, dose_out, max_exercises, reason_for

if TYPE_CHECKING:
    from .answers import Answers
    from .engine import Firing, Inference
    from .knowledge import Knowledge
    from .plan import Plan

URGENT = "Urgent medical care comes first: a plan cannot change this recommendation."
NOT_CLEARED = (
    "No routine until a doctor has seen the person; this plan does not clear the doctor-first referral."
)

PAUSED = (
    "At this follow-up the routine is paused until a physical therapist has seen the person; once they"
    " have, `stretchwise recommend` with this plan gives the routine to start again."
)


def adjust(
    kb: Knowledge, answers: Answers, inference: Inference, rec: Recommendation, plan: Plan
) -> Recommendation:
    """The rules' recommendation ``rec`` changed by ``plan``; ``PlanError`` when the plan is unsafe for these answers."""
    log: list[Adjustment] = []
    level = rec.referral.level
    if plan.clear is not None:
        c = plan.clear
        assessed = (c.assessed_by, c.assessed_on.isoformat())
        applied = level == "doctor_first"
        if applied:
            _assessed_since_it_began(plan, answers)
            rec = _cleared(kb, answers, inference, rec)
            detail = f"The see-a-doctor-first referral is cleared: {assessed[0]} assessed the person on {assessed[1]}; the routine can start."
        else:
            detail = URGENT if level == "urgent" else "There was no see-a-doctor-first referral to clear."
        log.append(_entry("clear", c.reason, applied, detail, level="doctor_first", assessed=assessed))
    by = AdjustedBy(clinician=plan.clinician, note=plan.note)
    paused = (  # a follow-up that got worse stops the routine until a therapist has seen the person
        rec.follow_up is not None and rec.follow_up.verdict == "physio" and rec.routine is not None and not rec.routine.exercises
    )
    if rec.routine is None or paused:
        detail = PAUSED if paused else URGENT if level == "urgent" else NOT_CLEARED
        log += [
            _entry(
                kind,
                e.reason,
                False,
                detail,
                exercise=e.exercise,
                rule=getattr(e, "rule", None),
                variant=getattr(e, "variant", None),
            )
            for kind in _KINDS
            for e in getattr(plan, kind)
        ]
        return replace(rec, adjusted_by=by, adjustments=log)
    return replace(_Editor(kb, answers, inference, rec, plan, log).run(), adjusted_by=by, adjustments=log)


#: A plan's entries of each kind, in the order they are applied
_KINDS: tuple[Action, ...] = ("remove", "override", "add", "dose")


def _assessed_since_it_began(plan: Plan, answers: Answers) -> None:
    """A doctor's assessment from before this pain began cannot clear a referral for it (a
    week's slack: the answers give whole weeks)."""
    assert plan.clear is not None
    began = date.today() - timedelta(weeks=answers.duration_weeks + 1)
    if plan.clear.assessed_on < began:
        day = plan.clear.assessed_on.isoformat()
        message = (
            f"{day} is before this pain began (it has lasted {answers.duration_weeks} weeks): the doctor must have"
            " assessed the person for this pain"
        )
        raise PlanError(f"{plan.label}: clear: assessed_on: {message}", [{"field": "clear: assessed_on", "message": message}])


def _entry(
    action: Action,
    reason: str,
    applied: bool,
    detail: str,
    exercise: str | None = None,
    variant: str | None = None,
    rule: str | None = None,
    level: Level | None = None,
    assessed: tuple[str, str] | None = None,  # clear: the doctor, and the day (YYYY-MM-DD)
) -> Adjustment:
    return Adjustment(
        action=action,
        exercise=exercise,
        variant=variant,
        rule=rule,
        level=level,
        assessed_by=assessed[0] if assessed else None,
        assessed_on=assessed[1] if assessed else None,
        reason=reason,
        applied=applied,
        detail=detail,
    )


def _cleared(kb: Knowledge, answers: Answers, inference: Inference, rec: Recommendation) -> Recommendation:
    """The recommendation as if no doctor-first rule had fired, with every original reason kept.

    The level is at least ``physio``: the person is in a clinician's care.
    """
    rest = dataclasses.replace(
        inference, firings=[f for f in inference.firings if f.then.refer != "doctor_first"]
    )
    opened = assemble(kb, answers, rest)
    level: Level = max(opened.referral.level, "physio", key=LEVELS.index)
    text = kb.meta.levels[level]
    referral = Referral(level=level, headline=text.headline, text=text.text, reasons=rec.referral.reasons)
    return replace(opened, referral=referral, follow_up=rec.follow_up)


class _Editor:
    """The routine edits, in order, on a working copy of the routine."""

    def __init__(
        self,
        kb: Knowledge,
        answers: Answers,
        inference: Inference,
        rec: Recommendation,
        plan: Plan,
        log: list[Adjustment],
    ) -> None:
        assert rec.routine is not None
        self.kb, self.answers, self.inference, self.rec, self.plan, self.log = (
            kb,
            answers,
            inference,
            rec,
            plan,
            log,
        )
        self.cards = list(rec.routine.exercises)
        self.not_chosen = list(rec.not_chosen)
        self.removed: list[NotChosen] = []
        self.fixed: set[str] = set()  # cards whose sets the clinician chose: the time budget leaves them
        self.set_aside: dict[
            str, dict[str, str]
        ] = {}  # exercise -> {exclusion rule an override set aside: reason}

    def run(self) -> Recommendation:
        for r in self.plan.remove:
            self._remove(r.exercise, r.reason)
        for o in self.plan.override:
            self._override(o.exercise, o.rule, o.reason)
        added = {a.exercise for a in self.plan.add}
        for a in self.plan.add:
            self._add(a.exercise, a.variant, a.reason)
        for ex_id in self.set_aside:  # an override with no add of its own puts its exercise in
            if ex_id not in added:
                self._add(ex_id, None, None)  # its override entry says why
        for d in self.plan.dose:
            self._dose(d.exercise, d.hold_seconds, d.reps, d.sets, d.reason)
        return self._finish()

    # ----------------------------------------------------------------- the edits

    def _card(self, ex_id: str) -> ChosenExercise | None:
        return next((c for c in self.cards if c.id == ex_id), None)

    def _remove(self, ex_id: str, reason: str) -> None:
        card = self._card(ex_id)
        if card is None:
            self.log.append(_entry("remove", reason, False, "It was not in the routine.", exercise=ex_id))
            return
        self.cards.remove(card)
        detail = f"Taken out by your clinician: {reason}"
        self.removed.append(NotChosen(id=ex_id, name=card.name, reason="removed", detail=detail, rule=None))
        self.log.append(_entry("remove", reason, True, "Taken out of the routine.", exercise=ex_id))

    def _blockers(self, ex: Exercise, variant: Variant) -> list[Firing]:
        """The exclusions that fired for these answers and rule out this way of doing it, one per rule."""
        found = {
            f.rule.id: f
            for f in self.inference.of_kind("exclude")
            if (ex.id, variant.id) in self.kb.covered[f.rule.id]
        }
        return list(found.values())

    def _override(self, ex_id: str, rule_id: str, reason: str) -> None:
        ex = self.kb.exercises[ex_id]
        fired = {f.rule.id for v in ex.variants for f in self._blockers(ex, v)}
        if rule_id not in fired:
            detail = f"Rule {rule_id} did not rule out {ex.name} for these answers: nothing to set aside."
            self.log.append(_entry("override", reason, False, detail, exercise=ex_id, rule=rule_id))
            return
        self.set_aside.setdefault(ex_id, {})[rule_id] = reason
        because = self.kb.by_rule[rule_id].because
        detail = f"Set aside for {ex.name} only, which goes in the routine (the rule says: {because})"
        self.log.append(_entry("override", reason, True, detail, exercise=ex_id, rule=rule_id))

    def _variant(self, ex: Exercise, variant_id: str | None) -> Variant:
        """The way of doing it: the one asked for, or the first one allowed; ``PlanError`` if the answers rule it out."""
        aside = self.set_aside.get(ex.id, {})
        ways = [v for v in ex.variants if variant_id in (None, v.id)]
        for v in ways:
            if all(f.rule.id in aside for f in self._blockers(ex, v)):
                return v
        # name what the nearest way of doing it needs: the fewest rules still to set aside
        need = {v.id: [f for f in self._blockers(ex, v) if f.rule.id not in aside] for v in ways}
        nearest = min(ways, key=lambda v: len(need[v.id]))
        rules = {f.rule.id: f.rule.because.rstrip(".") for f in need[nearest.id]}
        named = "; ".join(f"rule {rid}: {because}" for rid, because in rules.items())
        if variant_id or len(ex.variants) == 1:
            what = f"{ex.id} ({nearest.id}): {named}"
        else:
            what = f"every way of doing {ex.id}; the nearest ({nearest.id}) is ruled out by {named}"
        raise PlanError(
            f"{self.plan.label}: add {ex.id}: the answers rule out {what}."
            f" To add it anyway the plan needs an override naming {' and '.join(rules)}"
            f" for {ex.id}, with a reason; a rule that guards a red flag can never be set aside.",
            [{"field": f"add {ex.id}", "message": f"ruled out by {', '.join(rules)}"}],
        )

    def _add(self, ex_id: str, variant_id: str | None, reason: str | None) -> None:
        ex = self.kb.exercises[ex_id]
        variant = self._variant(ex, variant_id)
        card = self._card(ex_id)
        if reason is None:  # put in by an override, whose entry says why
            if card is None:
                self._insert(self._new_card(ex, variant, "; ".join(self.set_aside[ex_id].values())))
            return
        if card is not None and card.variant == variant.id:
            self.log.append(
                _entry(
                    "add",
                    reason,
                    False,
                    f"Already in the routine ({variant.name.lower()}).",
                    exercise=ex_id,
                    variant=variant.id,
                )
            )
            return
        if card is not None:  # another way of doing an exercise already in the routine: same dose, same why
            moved = replace(self._new_card(ex, variant, reason), why=card.why, dose=card.dose, seconds=card.seconds)
            self.cards[self.cards.index(card)] = moved
            self.log.append(
                _entry(
                    "add",
                    reason,
                    True,
                    f"Done {variant.name.lower()} instead.",
                    exercise=ex_id,
                    variant=variant.id,
                )
            )
            return
        self._insert(self._new_card(ex, variant, reason))
        self.log.append(
            _entry(
                "add", reason, True, f"Added ({variant.name.lower()}).", exercise=ex_id, variant=variant.id
            )
        )

    def _new_card(self, ex: Exercise, variant: Variant, reason: str) -> ChosenExercise:
        called = [f for f in self.inference.of_kind("indicate") if f.then.indicate == ex.id]
        why: Node
        if called:  # the rules called for it: their reason stays the why
            why = Explainer(self.kb, self.inference).firing(reason_for(called), f"exercise:{ex.id}", ex.name)
        else:
            why = {
                "fact": f"exercise:{ex.id}",
                "label": ex.name,
                "clinician": self.plan.clinician,
                "because": f"Added by {self.plan.clinician}: {reason}",
                "from": [],
            }
        dose = ex.dose
        replaced = [
            {"variant": v.id, "name": v.name, "rule": b[0].rule.id, "because": b[0].rule.because}
            for v in ex.variants[: ex.variants.index(variant)]
            if (b := self._blockers(ex, v))
        ]
        return chosen_exercise(ex, variant, dose, why, replaced)

    def _insert(self, card: ChosenExercise) -> None:
        """After the last card of its kind (mobility, stretch, strength), so the order still holds."""
        kind = KIND_ORDER.index(self.kb.exercises[card.id].kind)
        at = sum(1 for c in self.cards if KIND_ORDER.index(self.kb.exercises[c.id].kind) <= kind)
        self.cards.insert(at, card)
        self.not_chosen = [n for n in self.not_chosen if n.id != card.id]

    def _dose(self, ex_id: str, hold: int | None, reps: int | None, sets: int | None, reason: str) -> None:
        card = self._card(ex_id)
        if card is None:
            self.log.append(_entry("dose", reason, False, "It is not in the routine.", exercise=ex_id))
            return
        ex = self.kb.exercises[ex_id]
        update = {
            "hold_seconds": hold or card.dose.hold_seconds,
            "reps": reps or card.dose.reps,
            "sets": sets or card.dose.sets,
        }
        dose = ex.dose.model_copy(update=update)
        self.cards[self.cards.index(card)] = replace(card, dose=dose_out(dose), seconds=dose.seconds() + SETUP_SECONDS)
        if sets is not None:
            self.fixed.add(ex_id)
        self.log.append(
            _entry("dose", reason, True, f"Now {dose.describe()} (was {card.dose.text}).", exercise=ex_id)
        )

    # ----------------------------------------------------------------- the time budget

    def _finish(self) -> Recommendation:
        assert self.rec.routine is not None
        if self.removed and not self.cards:
            # the sheet would say "nothing in your answers points to a stretch", which is not so
            message = "takes every exercise out of the routine, which leaves no routine to print; keep or add one"
            raise PlanError(f"{self.plan.label}: remove: {message}", [{"field": "remove", "message": message}])
        budget = self.answers.minutes * 60
        changed = {a.exercise for a in self.log if a.applied and a.exercise}
        before = {c.id: c.dose.sets for c in self.cards}
        self._trim(budget, changed)
        trimmed = ", ".join(
            f"{c.name} ({before[c.id]} sets to {c.dose.sets})" for c in self.cards if c.dose.sets < before[c.id]
        )
        used = sum(c.seconds for c in self.cards)
        note = self.rec.routine.note if self.cards else None
        if used > budget:
            note = (
                f"With your clinician's changes this routine takes about {math.ceil(used / 60)} minutes, more than"
                f" the {self.answers.minutes} you set aside; nothing was dropped to make it fit"
                + (f", though some exercises have fewer sets: {trimmed}." if trimmed else ".")
            )
        elif trimmed:
            note = f"Fewer sets, to make room for your clinician's changes in {self.answers.minutes} minutes: {trimmed}."
        elif changed and self.cards and used < 0.6 * budget:
            note = f"With your clinician's changes this routine takes about {math.ceil(used / 60)} of your {self.answers.minutes} minutes."
        done = {c.id for c in self.cards}
        routine = Routine(
            minutes=self.answers.minutes,
            estimated_minutes=math.ceil(used / 60),
            exercises=self.cards,
            uncovered=self._uncovered(),
            note=note,
        )
        not_chosen = [self._restated(n, done) for n in self.not_chosen]
        advice = [a for a in self.rec.advice if fits(self.kb, a.id, done)]
        return replace(self.rec, routine=routine, not_chosen=self.removed + not_chosen, advice=advice)

    def _restated(self, n: NotChosen, done: set[str]) -> NotChosen:
        """Left for an exercise of its movement group that the clinician then took out: say so.
        Left out for time from a routine the clinician made longer than a session's usual
        count: say so, without the count the routine no longer keeps."""
        if n.reason == "time_budget" and len(done) > max_exercises(self.answers.minutes):
            return replace(n, detail=f"Did not fit in {self.answers.minutes} minutes with the exercises ranked above it and your clinician's changes.")
        if n.reason != "same_movement":
            return n
        group = self.kb.exercises[n.id].group
        holders = [self.kb.exercises[c].name for c in done if self.kb.exercises[c].group == group]
        if holders:
            return n
        gone = [r.name for r in self.removed if self.kb.exercises[r.id].group == group]
        if not gone:
            return n
        detail = f"It works the same movement as {gone[0]}, which your clinician took out of the routine."
        return replace(n, detail=detail)

    def _trim(self, budget: int, changed: set[str]) -> None:
        """Extra sets the rules gave to fill the time go first, last card first, when the changes overrun it."""
        for i in reversed(range(len(self.cards))):
            card = self.cards[i]
            ex = self.kb.exercises[card.id]
            while card.id not in self.fixed and card.id not in changed and card.dose.sets > ex.dose.sets:
                if sum(c.seconds for c in self.cards) <= budget:
                    return
                dose = ex.dose.model_copy(update={"sets": card.dose.sets - 1})
                card = replace(card, dose=dose_out(dose), seconds=dose.seconds() + SETUP_SECONDS)
                self.cards[i] = card

    def _uncovered(self) -> list[Uncovered]:
        assert self.rec.routine is not None
        before = {u.area: u for u in self.rec.routine.uncovered}
        out = []
        for area in self.answers.areas:
            if any(area in self.kb.exercises[c.id].areas for c in self.cards):
                continue
            detail = f"Your clinician's changes leave no exercise for your {AREA_WORDS[area]}."
            out.append(before.get(area) or Uncovered(area=area, detail=detail))
        return out


