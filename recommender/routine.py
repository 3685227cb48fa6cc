"""From the engine's conclusions to a recommendation: referral, routine, what was left out.

"Indicated and not excluded" is a set difference taken here, after the engine
has reached its fixpoint (the engine has no truth maintenance, so no rule
negates a derived fact). The steps:

1. the referral level is the most urgent one any rule concluded;
2. for each exercise, the first variant that no exclusion covers is the one
   to do; an exercise with none left is excluded, with the rule;
3. the session is chosen from the candidates (``selection``): ranked, one
   exercise per movement group, each reported area served first, within the
   time and a count a person will keep up, then ordered.
"""

from __future__ import annotations

import weakref

from .answers import Answers
from .content import LEVELS, Exercise, Level, Variant
from .derivation import Explainer
from .engine import Firing, Inference
from .knowledge import Knowledge
from .recommendation import (
    FORMAT_VERSION,
    AdviceOut,
    FindingOut,
    NotChosen,
    Reason,
    Recommendation,
    Referral,
    answers_digest,
)
from .selection import Candidate, choose


def fits(kb: Knowledge, advice_id: str, done: set[str]) -> bool:
    """True when the advice is given with a routine of these exercises: advice that refers to
    exercises (``goes_with``) only when one of them is in it."""
    goes_with = kb.advice[advice_id].goes_with
    return not goes_with or not done.isdisjoint(goes_with)


def assemble(kb: Knowledge, answers: Answers, inference: Inference) -> Recommendation:
    """The recommendation from an inference (pure: no engine, no I/O)."""
    why = Explainer(kb, inference)
    referral = _referral(kb, inference, why)
    findings = [
        FindingOut(id=fid, label=kb.findings[fid].label, clinical=kb.findings[fid].clinical, why=why.finding(fid))
        for fid in inference.findings
    ]
    # each (exercise, variant) with the first exclusion that covers it, indexed once per person
    blocked: dict[tuple[str, str], Firing] = {}
    for f in inference.of_kind("exclude"):
        for key in kb.covered[f.rule.id]:
            blocked.setdefault(key, f)
    indications: dict[str, list[Firing]] = {}
    for f in inference.of_kind("indicate"):
        assert f.then.indicate is not None
        indications.setdefault(f.then.indicate, []).append(f)

    not_chosen: list[NotChosen] = []
    candidates: list[Candidate] = []
    unasked = _not_indicated(kb)
    for ex in kb.exercises.values():
        if ex.id not in indications:  # "left out" is for what something called for
            not_chosen.append(unasked[ex.id])
            continue
        variant, replaced, blocker = _pick_variant(kb, ex, blocked)
        if variant is None:
            assert blocker is not None
            # every variant's own blocker, so the reason is the real one for each way of doing it
            detail = _blockers(replaced, len(ex.variants))
            not_chosen.append(NotChosen(id=ex.id, name=ex.name, reason="excluded", rule=blocker.rule.id, detail=detail))
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
        routine, dropped = choose(kb, answers, candidates, indications, why)
        not_chosen.extend(dropped)

    not_chosen.sort(key=lambda n: (_LEFT_OUT_ORDER[n.reason], kb.exercise_order[n.id]))
    # advice comes after the routine: advice that refers to exercises only when one is in it
    done = {e.id for e in routine.exercises} if routine else set()
    advice: list[AdviceOut] = []
    # under urgent and doctor_first nothing is to be done at home until a doctor has seen the
    # person: no habits either (a habit can be an exercise in disguise: free weights)
    for f in inference.of_kind("advise") if routine is not None else []:
        aid = f.then.advise
        assert aid is not None
        item = kb.advice[aid]
        if aid not in {a.id for a in advice} and fits(kb, aid, done):
            advice.append(
                AdviceOut(id=aid, kind=item.kind, title=item.title, text=item.text, why=why.firing(f, f"advice:{aid}", item.title))
            )
    return Recommendation(
        version=FORMAT_VERSION,
        knowledge_version=kb.version,
        name=answers.name,
        referral=referral,
        findings=findings,
        routine=routine,
        not_chosen=not_chosen,
        advice=advice,
        stop_rule=kb.meta.stop_rule[answers.numbness_or_tingling],  # what the person already feels
        answers_digest=answers_digest(answers),
        safety_net=kb.meta.safety_net[answers.numbness_or_tingling],
    )


#: The order of the left-out list: excluded first, then what the routine had no room for
_LEFT_OUT_ORDER = {"excluded": 0, "same_movement": 1, "time_budget": 2, "not_indicated": 3}

_UNASKED: weakref.WeakKeyDictionary[Knowledge, dict[str, NotChosen]] = weakref.WeakKeyDictionary()


def _not_indicated(kb: Knowledge) -> dict[str, NotChosen]:
    """Each exercise's record for "nothing called for it": the same for everyone, so made once
    per knowledge base (the records are frozen)."""
    records = _UNASKED.get(kb)
    if records is None:
        records = _UNASKED[kb] = {
            ex.id: NotChosen(id=ex.id, name=ex.name, reason="not_indicated", rule=None, detail="Nothing in your answers called for it.")
            for ex in kb.exercises.values()
        }
    return records


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
    kb: Knowledge, ex: Exercise, blocked: dict[tuple[str, str], Firing]
) -> tuple[Variant | None, list[dict[str, str]], Firing | None]:
    """The first variant no exclusion covers (``blocked``: each covered variant's first
    exclusion), the variants passed over and why."""
    replaced: list[dict[str, str]] = []
    first_blocker = None
    for variant in ex.variants:
        blocker = blocked.get((ex.id, variant.id))
        if blocker is None:
            return variant, replaced, None
        first_blocker = first_blocker or blocker
        replaced.append({"variant": variant.id, "name": variant.name, "rule": blocker.rule.id, "because": blocker.rule.because})
    return None, replaced, first_blocker


def _blockers(replaced: list[dict[str, str]], variants: int) -> str:
    """Each reason once, with the ways of doing the exercise it rules out when they differ."""
    ways: dict[str, list[str]] = {}
    for r in replaced:
        ways.setdefault(r["because"], []).append(r["name"])
    if len(ways) == 1 or variants == 1:
        return " ".join(ways)
    return " ".join(f"{', '.join(names)}: {because}" for because, names in ways.items())
