"""What the contraindication rules cover, proved from the knowledge base alone.

``check_contraindications`` runs without any answers file. For each rule that
excludes (``then.exclude``) it

1. works out afresh, from the exercises' own fields, which exercise variants
   the selector names, and compares that with ``Knowledge.covered`` (the
   table the routine uses);
2. proves that the routine honours it: ``routine.assemble`` is given an
   inference in which only that rule and an indication of one exercise have
   fired, for every exercise in turn. An exercise whose variants are all
   covered must come out excluded by that rule; any other must be done in its
   first variant that is not covered. The same is done once with every
   exclusion firing together;
3. reports a selector that covers no variant at all (the rule could never
   change a routine).

Then it lists, as notes, the exercises that no contraindication rule can
reach: none of their variants is covered by any exclusion that selects on
something other than equipment. Equipment rules only say what the person has,
so they are not counted as safety rules here.

Problems and notes come back apart; a note is information, not a failure: a gentle exercise (shoulder-blade squeezes, shrugs) may
rightly have no contraindication in the movement vocabulary, and a red flag
still stops every exercise through the referral level. ``stretchwise check``
fails on problems only.
"""

from __future__ import annotations

from typing import Any

from ..answers import answer_items, parse_answers
from ..conditions import AnswerTest
from ..content import Exercise, Rule, Selector, Variant, alternatives
from ..engine import Firing, Inference
from ..knowledge import Knowledge
from ..routine import assemble

#: A person with time to spare: any one exercise fits the budget.
_PERSON: dict[str, Any] = {"areas": ["low_back"], "pain": 3, "duration_weeks": 2, "red_flags": [], "minutes": 60}


def check_contraindications(kb: Knowledge) -> tuple[list[str], list[str]]:
    """The coverage problems of the exclusion rules, and the notes (which do not fail), one line each."""
    problems: list[str] = []
    notes: list[str] = []
    person = parse_answers(dict(_PERSON), "check")
    values = answer_items(person)
    exclusions = [r for r in kb.rules if r.then.exclude is not None]
    firing = {r.id: _firing(r) for r in exclusions}
    indicate = {eid: _indication(kb, eid) for eid in kb.exercises}

    def run(rules: list[Rule], eid: str) -> Any:
        fired = [firing[r.id] for r in rules] + [indicate[eid]]
        return assemble(kb, person, Inference(dict(values), fired))

    for rule in exclusions:
        where = f"{kb.rule_files[rule.id]}: rule {rule.id!r}"
        selector = rule.then.exclude
        assert selector is not None
        fresh = {(ex.id, v.id) for ex in kb.exercises.values() for v in ex.variants if _selects(selector, ex, v)}
        if not fresh:
            problems.append(f"{where}: exclude {{{selector.describe()}}} covers no exercise variant")
        if fresh != set(kb.covered.get(rule.id, ())):
            missed = sorted(fresh - set(kb.covered.get(rule.id, ())))
            extra = sorted(set(kb.covered.get(rule.id, ())) - fresh)
            problems.append(f"{where}: the coverage table disagrees with the selector: misses {missed}, adds {extra}")
        for key in Selector.KEYS:
            for value in getattr(selector, key) or ():
                if not any(value in _props(ex, v)[key] for ex in kb.exercises.values() for v in ex.variants):
                    notes.append(f"{where}: exclude.{key} {value!r} matches no exercise variant")
        for ex in kb.exercises.values():
            problems += _honoured(ex, fresh, run([rule], ex.id), {rule.id}, where)

    union = {(ex.id, v.id) for r in exclusions for ex in kb.exercises.values() for v in ex.variants
             if _selects(r.then.exclude, ex, v)}  # type: ignore[arg-type]
    for ex in kb.exercises.values():
        problems += _honoured(ex, union, run(exclusions, ex.id), {r.id for r in exclusions}, "every exclusion at once")

    safety = [r for r in exclusions if any(getattr(r.then.exclude, k) for k in Selector.KEYS if k != "equipment")]
    for ex in kb.exercises.values():
        if not any(_selects(r.then.exclude, ex, v) for r in safety for v in ex.variants):  # type: ignore[arg-type]
            notes.append(
                f"content: exercise {ex.id!r}: no contraindication rule reaches any of its variants"
                f" ({', '.join(v.id for v in ex.variants)})"
            )
    return problems, notes


def _props(ex: Exercise, v: Variant) -> dict[str, set[str]]:
    """A variant's properties, from the exercise's fields (not ``Exercise.properties``)."""
    return {
        "id": {ex.id},
        "kind": {ex.kind},
        "position": {v.position},
        "equipment": set(v.equipment),
        "loads": set(ex.loads) | set(v.loads),
    }


def _selects(selector: Selector, ex: Exercise, v: Variant) -> bool:
    props = _props(ex, v)
    return any(value in props[key] for key in Selector.KEYS for value in getattr(selector, key) or ())


def _honoured(ex: Exercise, covered: set[tuple[str, str]], rec: Any, rules: set[str], where: str) -> list[str]:
    """Whether one assembled recommendation treats one exercise as the coverage says."""
    left = [v for v in ex.variants if (ex.id, v.id) not in covered]
    chosen = {e.id: e for e in rec.routine.exercises} if rec.routine is not None else {}
    missing = {n.id: n for n in rec.not_chosen}
    if not left:
        gone = missing.get(ex.id)
        if ex.id in chosen or gone is None or gone.reason != "excluded" or gone.rule not in rules:
            got = f"chosen as {chosen[ex.id].variant!r}" if ex.id in chosen else repr(gone)
            return [f"{where}: exercise {ex.id!r}: every variant is covered, yet the routine has it {got}"]
        return []
    if ex.id not in chosen:
        why = missing.get(ex.id)
        return [f"{where}: exercise {ex.id!r}: variant {left[0].id!r} is not covered, yet it was left out: {why!r}"]
    if chosen[ex.id].variant != left[0].id:
        done_as, first = chosen[ex.id].variant, left[0].id
        return [f"{where}: exercise {ex.id!r}: done as {done_as!r}, but the first variant not covered is {first!r}"]
    return []


def _firing(rule: Rule) -> Firing:
    alt = alternatives(rule)[0]
    return Firing(rule, alt, tuple({} for _ in alt.facts))


def _indication(kb: Knowledge, eid: str) -> Firing:
    """A stand-in rule that indicates one exercise from an answer every person gives."""
    rule = Rule.model_validate(
        {
            "id": "check-indicates-" + eid.replace("_", "-"),
            "when": [AnswerTest.model_validate({"answer": "pain", "at_least": 0})],
            "then": {"indicate": eid, "priority": 1},
            "because": "Stand-in indication for the contraindication check.",
            "source": next(iter(kb.sources)),
        }
    )
    return _firing(rule)
