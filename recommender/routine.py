"""From the engine's conclusions to a recommendation: referral, routine, what was left out.

"Indicated and not excluded" is a set difference taken here, after the engine
has reached its fixpoint (the engine has no truth maintenance, so no rule
negates a derived fact). The steps:

1. the referral level is the most urgent one any rule concluded;
2. for each exercise, the first variant that no exclusion covers is the one
   to do; an exercise with none left is excluded, with the rule;
3. candidates are ranked (priority, then how many rules call for it, then
   library order) and added while they fit the time budget;
4. the routine is ordered mobility, then stretches, then strength (chain 11).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .answers import Answers
from .conditions import FindingTest
from .content import KIND_ORDER, LEVELS, Exercise, Level, Variant
from .derivation import Explainer, Node
from .engine import Firing, Inference
from .knowledge import Knowledge

#: Seconds to get into position for each exercise, added to its dose.
SETUP_SECONDS = 20
FORMAT_VERSION = 1


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Reason(_Out):
    rule: str
    message: str
    source: str
    level: Level
    why: Node


class Referral(_Out):
    level: Level
    headline: str
    text: str
    reasons: list[Reason]


class FindingOut(_Out):
    id: str
    label: str
    clinical: str
    why: Node


class DoseOut(_Out):
    hold_seconds: int | None
    reps: int
    each_side: bool
    sets: int
    text: str


class ChosenExercise(_Out):
    id: str
    name: str
    kind: str
    variant: str
    variant_name: str
    position: str
    equipment: list[str]
    dose: DoseOut
    seconds: int
    steps: list[str]
    cautions: list[str]
    why: Node
    replaced: list[dict[str, str]]


class Routine(_Out):
    minutes: int
    estimated_minutes: int
    exercises: list[ChosenExercise]


class NotChosen(_Out):
    id: str
    name: str
    reason: Literal["excluded", "not_indicated", "time_budget"]
    detail: str
    rule: str | None


class AdviceOut(_Out):
    id: str
    title: str
    text: str
    why: Node


class Recommendation(_Out):
    """The result for one person: the v1 JSON contract (README documents each field)."""

    version: int
    knowledge_version: str
    name: str
    referral: Referral
    findings: list[FindingOut]
    routine: Routine | None
    not_chosen: list[NotChosen]
    advice: list[AdviceOut]
    stop_rule: str
    answers_digest: str


def answers_digest(answers: Answers) -> str:
    """A short hash of the answers: the same answers (and knowledge) give the same sheet."""
    import hashlib
    import json

    canonical = json.dumps(answers.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def assemble(kb: Knowledge, answers: Answers, inference: Inference) -> Recommendation:
    """The recommendation from an inference (pure: no engine, no I/O)."""
    why = Explainer(kb, inference)
    referral = _referral(kb, inference, why)
    findings = [
        FindingOut(id=fid, label=kb.findings[fid].label, clinical=kb.findings[fid].clinical, why=why.finding(fid))
        for fid in inference.findings
    ]
    exclusions = inference.of_kind("exclude")
    indications: dict[str, list[Firing]] = {}
    for f in inference.of_kind("indicate"):
        assert f.then.indicate is not None
        indications.setdefault(f.then.indicate, []).append(f)

    not_chosen: list[NotChosen] = []
    candidates: list[tuple[Exercise, Variant, list[dict[str, str]]]] = []
    for ex in kb.exercises.values():
        variant, replaced, blocker = _pick_variant(kb, ex, exclusions)
        if variant is None:
            assert blocker is not None
            not_chosen.append(
                NotChosen(
                    id=ex.id, name=ex.name, reason="excluded", rule=blocker.rule.id, detail=blocker.rule.because
                )
            )
        elif ex.id not in indications:
            not_chosen.append(
                NotChosen(
                    id=ex.id,
                    name=ex.name,
                    reason="not_indicated",
                    rule=None,
                    detail="Nothing in your answers called for it.",
                )
            )
        else:
            candidates.append((ex, variant, replaced))

    routine = None
    if LEVELS.index(referral.level) >= LEVELS.index("doctor_first"):
        first = referral.reasons[0]
        for ex, _, _ in candidates:
            not_chosen.append(
                NotChosen(
                    id=ex.id,
                    name=ex.name,
                    reason="excluded",
                    rule=first.rule,
                    detail="No exercises until a doctor has seen you. " + first.message,
                )
            )
    else:
        routine, dropped = _fit(kb, answers, candidates, indications, why)
        not_chosen.extend(dropped)

    not_chosen.sort(key=lambda n: (("excluded", "time_budget", "not_indicated").index(n.reason), kb.exercise_order[n.id]))
    advice: list[AdviceOut] = []
    for f in inference.of_kind("advise"):
        aid = f.then.advise
        assert aid is not None
        if aid not in {a.id for a in advice}:
            item = kb.advice[aid]
            advice.append(AdviceOut(id=aid, title=item.title, text=item.text, why=why.firing(f, f"advice:{aid}", item.title)))
    return Recommendation(
        version=FORMAT_VERSION,
        knowledge_version=kb.version,
        name=answers.name,
        referral=referral,
        findings=findings,
        routine=routine,
        not_chosen=not_chosen,
        advice=advice,
        stop_rule=kb.meta.stop_rule,
        answers_digest=answers_digest(answers),
    )


def _referral(kb: Knowledge, inference: Inference, why: Explainer) -> Referral:
    reasons = []
    seen = set()
    for f in inference.of_kind("refer"):
        if f.rule.id in seen:  # a rule with several alternatives may fire more than once
            continue
        seen.add(f.rule.id)
        said = f.then.refer
        assert said is not None and f.then.message is not None
        reasons.append(
            Reason(
                rule=f.rule.id,
                message=f.then.message,
                source=f.rule.source,
                level=said,
                why=why.firing(f, f"referral:{said}", kb.meta.levels[said].headline),
            )
        )
    reasons.sort(key=lambda r: -LEVELS.index(r.level))  # stable: firing order within a level
    level: Level = reasons[0].level if reasons else "self_care"
    text = kb.meta.levels[level]
    return Referral(level=level, headline=text.headline, text=text.text, reasons=reasons)


def _pick_variant(
    kb: Knowledge, ex: Exercise, exclusions: list[Firing]
) -> tuple[Variant | None, list[dict[str, str]], Firing | None]:
    """The first variant no exclusion covers, the variants passed over and why."""
    replaced: list[dict[str, str]] = []
    first_blocker = None
    for variant in ex.variants:
        key = (ex.id, variant.id)
        blocker = next((f for f in exclusions if key in kb.covered[f.rule.id]), None)
        if blocker is None:
            return variant, replaced, None
        first_blocker = first_blocker or blocker
        replaced.append({"variant": variant.id, "name": variant.name, "rule": blocker.rule.id, "because": blocker.rule.because})
    return None, replaced, first_blocker


def _smallest_budgets(cost: list[int], minutes: int) -> dict[int, int]:
    """For each unit, the fewest whole minutes (up to 60) at which the ranked fit keeps it."""
    first: dict[int, int] = {}
    for budget in range(minutes, 61):
        used = 0
        for i, seconds in enumerate(cost):
            if used + seconds <= budget * 60:
                used += seconds
                first.setdefault(i, budget)
        if len(first) == len(cost):
            break
    return first


def _reason(fired: list[Firing]) -> Firing:
    """The indication to explain an exercise by: the most urgent, then the longest chain."""
    return min(fired, key=lambda f: (f.then.priority, -_depth(f)))


def _depth(f: Firing) -> int:
    """How many findings the firing rests on directly (a cheap proxy for chain length)."""
    return sum(1 for t in f.alternative.facts if isinstance(t, FindingTest))


def _fit(
    kb: Knowledge,
    answers: Answers,
    candidates: list[tuple[Exercise, Variant, list[dict[str, str]]]],
    indications: dict[str, list[Firing]],
    why: Explainer,
) -> tuple[Routine, list[NotChosen]]:
    """Rank the candidates, keep what fits the time budget, order what is kept."""

    def rank(c: tuple[Exercise, Variant, Any]) -> tuple[int, int, int]:
        ex = c[0]
        fired = indications[ex.id]
        return (min(f.then.priority for f in fired), -len({f.rule.id for f in fired}), kb.exercise_order[ex.id])

    # An exercise a source says to follow with another (flexion in lying, then
    # extension in lying: 004) forms a unit with it: both fit, or neither.
    ranked = sorted(candidates, key=rank)
    by_id = {c[0].id: c for c in ranked}
    carried = {c[0].followed_by for c in ranked if c[0].followed_by in by_id}
    units = []
    for c in ranked:
        if c[0].id in carried:
            continue  # travels with the exercise it follows
        units.append([c] + ([by_id[c[0].followed_by]] if c[0].followed_by in by_id else []))
    cost = [sum(c[0].dose.seconds() + SETUP_SECONDS for c in unit) for unit in units]
    budget = answers.minutes * 60
    used = 0
    kept: list[tuple[Exercise, Variant, list[dict[str, str]], int]] = []
    order: dict[str, tuple[Any, ...]] = {}
    dropped: list[NotChosen] = []
    needs: dict[int, int] | None = None  # computed at the first unit that does not fit
    for i, unit in enumerate(units):
        if used + cost[i] <= budget:
            used += cost[i]
            for j, (ex, variant, replaced) in enumerate(unit):
                kept.append((ex, variant, replaced, ex.dose.seconds() + SETUP_SECONDS))
                lead = unit[0][0]
                order[ex.id] = (KIND_ORDER.index(lead.kind), rank(unit[0]), j)
            continue
        if needs is None:
            needs = _smallest_budgets(cost, answers.minutes)
        need = needs.get(i)
        more = f"about {need} minutes would include it" if need else "it would not fit even in 60 minutes"
        for ex, _, _ in unit:
            dropped.append(
                NotChosen(
                    id=ex.id,
                    name=ex.name,
                    reason="time_budget",
                    rule=_reason(indications[ex.id]).rule.id,
                    detail=f"Did not fit in {answers.minutes} minutes after the exercises ranked above it; {more}.",
                )
            )
    kept.sort(key=lambda k: order[k[0].id])
    exercises = [
        ChosenExercise(
            id=ex.id,
            name=ex.name,
            kind=ex.kind,
            variant=variant.id,
            variant_name=variant.name,
            position=variant.position,
            equipment=list(variant.equipment),
            dose=DoseOut(
                hold_seconds=ex.dose.hold_seconds,
                reps=ex.dose.reps,
                each_side=ex.dose.each_side,
                sets=ex.dose.sets,
                text=ex.dose.describe(),
            ),
            seconds=seconds,
            steps=list(variant.steps),
            cautions=list(ex.cautions),
            why=why.firing(_reason(indications[ex.id]), f"exercise:{ex.id}", ex.name),
            replaced=replaced,
        )
        for ex, variant, replaced, seconds in kept
    ]
    return Routine(minutes=answers.minutes, estimated_minutes=math.ceil(used / 60), exercises=exercises), dropped
