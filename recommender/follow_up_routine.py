"""The routine a follow-up verdict gives (issue 20), and each change with its reason.

``progress`` steps each exercise done since up by one step (a harder variant
the person can do now, else a longer hold, else more repetitions, to a cap),
smallest steps first within a time allowance, then adds an exercise left out
for time if there is room; ``simplify`` keeps the strongest few; a pausing
``physio`` verdict gives no exercises; the others keep today's routine. Every
exercise and variant put in is checked against today's exclusions and
equipment, so nothing a current answer rules out is ever added.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .content import KIND_ORDER, Dose, Exercise, Variant
from .derivation import Node, reasons, said
from .follow_up_rules import Verdict
from .recommendation import ChangeOut, ChosenExercise, Recommendation, Routine
from .selection import chosen_exercise, max_exercises

if TYPE_CHECKING:
    from .answers import Answers
    from .engine import Inference
    from .knowledge import Knowledge


def _answers_in(node: Node) -> str:
    return "; ".join(dict.fromkeys(said(leaf) for leaf in reasons(node)))


class Shaper:
    """The routine a verdict gives, and each change with its reason."""

    def __init__(
        self, kb: Knowledge, now: Answers, inference: Inference, rec_now: Recommendation, before: Recommendation, verdict_node: Node
    ) -> None:
        assert kb.follow_up is not None
        self.kb, self.now, self.rec_now, self.verdict_node = kb, now, rec_now, verdict_node
        self.rules = kb.follow_up
        self.exclusions = inference.of_kind("exclude")
        self.indications: dict[str, list[Any]] = {}
        for f in inference.of_kind("indicate"):
            self.indications.setdefault(str(f.then.indicate), []).append(f)
        self.before = {e.id: e for e in (before.routine.exercises if before.routine else [])}

    def shape(self, verdict: Verdict, pause: bool = False) -> tuple[Routine | None, list[ChangeOut], set[str]]:
        routine = self.rec_now.routine
        if routine is None:
            return None, [], set()
        if pause:
            return self._pause(routine)
        if verdict == "progress":
            return self._progress(routine)
        if verdict == "simplify":
            return self._simplify(routine)
        return routine, self._diff(routine.exercises), set()

    # ---------------------------------------------------------------- helpers

    def _change(self, ex: ChosenExercise | Any, kind: str, before: str | None, after: str | None, text: str, because: str, source: str, also: Node | None = None) -> ChangeOut:
        why = {
            "fact": f"change:{ex.id}",
            "label": text,
            "rule": self.verdict_node["rule"],
            "because": because,
            "source": source,
            "from": [self.verdict_node] + ([also] if also is not None else []),
        }
        return ChangeOut(exercise=ex.id, name=ex.name, change=kind, before=before, after=after, text=text, because=because, why=why)  # type: ignore[arg-type]

    def _diff(self, exercises: list[ChosenExercise], skip: frozenset[str] = frozenset()) -> list[ChangeOut]:
        """What today's answers changed by themselves: exercises that came or went, and ones
        now done another way (kneeling hurts now: the cushion variant)."""
        out = []
        now_ids = {e.id for e in exercises} | skip
        for e in exercises:
            if self.before and e.id not in self.before and e.id not in skip:
                because = f"Today's answers call for it ({_answers_in(e.why)})."
                out.append(self._change(e, "added", None, e.dose.text, f"{e.name}: new", because, self._source(e.id), e.why))
            elif e.id in self.before and e.id not in skip and self.before[e.id].variant != e.variant:
                out.append(self._switched(self.before[e.id], e))
        left = {n.id: n for n in self.rec_now.not_chosen}
        for eid, e in self.before.items():
            if eid not in now_ids:
                n = left.get(eid)
                because = n.detail if n is not None else "Today's answers do not call for it."
                node = n.why if n is not None and n.why is not None else None
                out.append(self._change(e, "removed", e.dose.text, None, f"{e.name}: left out now", because, self._source(eid), node))
        return out

    def _switched(self, was: ChosenExercise, e: ChosenExercise) -> ChangeOut:
        """The same exercise done another way, because of today's answers."""
        blocked = next((r for r in e.replaced if r["variant"] == was.variant), None)
        if blocked is not None:
            because = f"Today's answers rule out the way you did it before: {blocked['because']}"
        else:
            because = "Today's answers no longer rule out the usual way of doing it."
        text = f"{e.name}: {e.variant_name.lower()} now, not {was.variant_name.lower()}"
        return self._change(e, "other_variant", was.dose.text, e.dose.text, text, because, self._source(e.id), e.why)

    def _source(self, eid: str) -> str:
        return self.kb.exercises[eid].source

    def _allowed(self, ex: Exercise, variant: Variant) -> bool:
        """True when nothing in today's answers rules this way of doing it out."""
        key = (ex.id, variant.id)
        if any(key in self.kb.covered[f.rule.id] for f in self.exclusions):
            return False
        return set(variant.equipment) <= set(self.now.equipment)

    def _rank(self, eid: str) -> tuple[int, int, int]:
        fired = self.indications.get(eid, [])
        return (min((f.then.priority for f in fired), default=9), -len({f.rule.id for f in fired}), self.kb.exercise_order[eid])

    # ---------------------------------------------------------------- pause

    def _pause(self, routine: Routine) -> tuple[Routine, list[ChangeOut], set[str]]:
        """Worse on the routine: no exercises until a therapist has seen the person (the sheet lists
        what was done, for them)."""
        because = "It got worse on the routine, so it waits until a physical therapist has seen you."
        source = self.verdict_node["source"]
        changes = [
            self._change(e, "removed", e.dose.text, None, f"{e.name}: paused", because, source, e.why)
            for e in routine.exercises
        ]
        note = "No exercises until a physical therapist has seen you: it got worse on the routine."
        return replace(routine, exercises=[], estimated_minutes=0, note=note), changes, set()

    # ---------------------------------------------------------------- simplify

    def _simplify(self, routine: Routine) -> tuple[Routine, list[ChangeOut], set[str]]:
        keep = self.rules.simplify.keep
        by_id = {e.id: e for e in routine.exercises}
        kept: list[str] = []
        for eid in sorted(by_id, key=self._rank):
            if len(kept) >= keep:
                break
            if eid in kept:
                continue
            kept.append(eid)
            partner = self.kb.exercises[eid].followed_by  # a source pairs them: both or neither
            if partner in by_id and partner not in kept:
                kept.append(partner)
        # an exercise whose every indication needs another one stands only with it
        kept = [
            k for k in kept
            if not self.indications.get(k) or any(f.then.requires in (None, *kept) for f in self.indications[k])
        ]
        exercises = [e for e in routine.exercises if e.id in kept]
        s = self.rules.simplify
        changes = [self._change(e, "kept", e.dose.text, e.dose.text, f"{e.name}: kept", s.because, s.source, e.why) for e in exercises]
        for e in routine.exercises:
            if e.id not in kept:
                because = "Only the few that matter most are kept."
                changes.append(self._change(e, "removed", e.dose.text, None, f"{e.name}: left out for now", because, s.source, e.why))
        seconds = sum(e.seconds for e in exercises)
        new = replace(routine, exercises=exercises, estimated_minutes=-(-seconds // 60), note=None)
        return new, changes, set()

    # ---------------------------------------------------------------- progress

    def _progress(self, routine: Routine) -> tuple[Routine, list[ChangeOut], set[str]]:
        p = self.rules.progression
        budget = p.extra_seconds
        exercises = list(routine.exercises)
        changes: list[ChangeOut] = []
        taken: set[str] = set()  # exercises brought in, to be removed from not_chosen
        stepped_from: set[str] = set()
        groups = {self.kb.exercises[e.id].group for e in exercises}
        steps = []
        for i, e in enumerate(exercises):
            if e.id not in self.before:
                continue  # only what was done since steps up
            stepped = self._step(e, groups)
            if stepped is not None:
                steps.append((stepped[0].seconds - e.seconds, i, stepped))
        # the smallest step first: one exercise steps up per visit
        for extra, i, (new, kind, text, because, source) in sorted(steps, key=lambda s: (s[0], s[1])):
            e = exercises[i]
            if extra > budget or (new.id != e.id and self.kb.exercises[new.id].group in groups - {self.kb.exercises[e.id].group}):
                continue
            budget -= extra
            exercises[i] = new
            if new.id != e.id:
                groups.add(self.kb.exercises[new.id].group)
                taken.add(new.id)
                stepped_from.add(e.id)
            changes.append(self._change(new, kind, e.dose.text, new.dose.text, text, because, source, e.why))
            break  # one step a visit: the smallest that fits (a review found three at once too much)
        added = None if changes else self._add_dropped(exercises, groups, budget)
        if added is not None:
            new, change = added
            exercises.append(new)
            exercises.sort(key=lambda x: KIND_ORDER.index(self.kb.exercises[x.id].kind))  # stable: kind order kept
            taken.add(new.id)
            changes.append(change)
        seconds = sum(e.seconds for e in exercises)
        note = routine.note
        if changes:
            note = None
            if seconds > routine.minutes * 60:
                note = (
                    f"Stepping up takes a little more time: about {-(-seconds // 60)} minutes rather than"
                    f" {routine.minutes}."
                )
        out = replace(routine, exercises=exercises, estimated_minutes=-(-seconds // 60), note=note)
        has_change = {c.exercise for c in changes}
        return out, changes + self._diff(exercises, frozenset(taken | stepped_from | has_change)), taken

    def _step(self, e: ChosenExercise, groups: set[str]) -> tuple[ChosenExercise, str, str, str, str] | None:
        """One step up for one exercise: a harder variant, else a longer hold, else more repetitions."""
        p = self.rules.progression
        ex = self.kb.exercises[e.id]
        for step in p.next:
            if step.exercise != e.id or (step.variant is not None and step.variant != e.variant):
                continue
            target = self.kb.exercises[step.to_exercise]
            if target.id != ex.id and target.group in groups and target.group != ex.group:
                continue
            options = [v for v in target.variants if step.to_variant in (None, v.id)]
            variant = next((v for v in options if self._allowed(target, v)), None)
            if variant is None or (target.id == ex.id and variant.id == e.variant):
                continue
            base = target.dose if target.id != ex.id else _dose(ex, e)
            dose = base.model_copy(update={"sets": max(base.sets, e.dose.sets)})
            new = _chosen(target, variant, dose, e.why, e.replaced if target.id == ex.id else [])
            text = f"{e.name}: {variant.name.lower()}" if target.id == ex.id else f"{e.name}: {target.name} instead"
            return new, "next_variant", text, step.because, step.source
        cap = p.cap_for(ex.id)
        dose = _dose(ex, e)
        if dose.hold_seconds and cap.hold_seconds and dose.hold_seconds < cap.hold_seconds:
            longer = dose.model_copy(update={"hold_seconds": min(cap.hold_seconds, dose.hold_seconds + p.hold_step)})
            text = f"{e.name}: hold {longer.hold_seconds} s instead of {dose.hold_seconds} s"
            return _chosen(ex, _variant(ex, e.variant), longer, e.why, e.replaced), "longer_hold", text, p.because, p.source
        if dose.reps < cap.reps:
            more = dose.model_copy(update={"reps": min(cap.reps, dose.reps + p.reps_step)})
            text = f"{e.name}: {more.reps} times instead of {dose.reps}"
            return _chosen(ex, _variant(ex, e.variant), more, e.why, e.replaced), "more_reps", text, p.because, p.source
        return None

    def _add_dropped(self, exercises: list[ChosenExercise], groups: set[str], budget: int) -> tuple[ChosenExercise, ChangeOut] | None:
        """The first exercise left out for time, when the session has room for one more."""
        if len(exercises) >= max_exercises(self.now.minutes):
            return None
        for n in self.rec_now.not_chosen:
            if n.reason != "time_budget":
                continue
            ex = self.kb.exercises[n.id]
            variant = next((v for v in ex.variants if self._allowed(ex, v)), None)
            if variant is None or ex.group in groups or n.why is None:
                continue
            new = _chosen(ex, variant, ex.dose, n.why, [])
            if new.seconds > budget:
                continue
            p = self.rules.progression
            because = f"{p.because} There is room now for one more exercise your answers call for ({_answers_in(n.why)})."
            return new, self._change(new, "added", None, new.dose.text, f"{ex.name}: added", because, p.source, n.why)
        return None


def _dose(ex: Exercise, e: ChosenExercise) -> Dose:
    return ex.dose.model_copy(update={"hold_seconds": e.dose.hold_seconds, "reps": e.dose.reps, "sets": e.dose.sets})


def _variant(ex: Exercise, vid: str) -> Variant:
    return next(v for v in ex.variants if v.id == vid)


def _chosen(ex: Exercise, variant: Variant, dose: Dose, why: Node, replaced: list[dict[str, str]]) -> ChosenExercise:
    return chosen_exercise(ex, variant, dose, why, replaced)
