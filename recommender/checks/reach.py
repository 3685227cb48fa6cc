"""Orphans and reachability: checks over the knowledge base as a whole.

Besides the orphan checks, every exercise, finding and piece of advice must be
reachable: ``witness`` builds, by chaining backward through the rules, one set
of answers that should reach it, and the check runs the real engine and
routine on those answers to prove it does.
"""

from __future__ import annotations

from typing import Any

from ..answers import LIST_FIELDS, field_choices, field_kind, parse_answers
from ..conditions import AnswerTest, FindingTest
from ..content import Alternative
from ..errors import AnswersError
from ..knowledge import Knowledge
from ..pipeline import recommend
from ..render import figure

#: Where witnesses start: the mildest valid answers, with time and equipment to spare.
_START: dict[str, Any] = {
    "areas": [],
    "pain": 3,
    "duration_weeks": 2,
    "red_flags": [],
    "minutes": 60,
}


def check_knowledge(kb: Knowledge) -> list[str]:
    """Every problem, one line each."""
    problems: list[str] = []
    concluded = {r.then.finding for r in kb.rules if r.then.finding}
    indicated = {r.then.indicate for r in kb.rules if r.then.indicate}
    advised = {r.then.advise for r in kb.rules if r.then.advise}
    for fid in kb.findings:
        if fid not in concluded:
            problems.append(f"content: finding {fid!r}: no rule concludes it")
    for eid in kb.exercises:
        if eid not in indicated:
            problems.append(f"content: exercise {eid!r}: no rule indicates it")
    for aid in kb.advice:
        if aid not in advised:
            problems.append(f"content: advice {aid!r}: no rule gives it")
    for rule in kb.rules:
        waiting = sorted(
            {t.finding for alt in kb.alternatives[rule.id] for t in alt.facts if isinstance(t, FindingTest)} - concluded
        )
        if waiting:
            problems.append(
                f"{kb.rule_files[rule.id]}: rule {rule.id!r}: can never fire: no rule concludes {', '.join(waiting)}"
            )
    problems += _unsayable(kb)
    problems += _pictureless(kb)
    return problems


def check_reachable(kb: Knowledge) -> list[str]:
    """Every exercise, finding and advice is reached by the answers built for it (run on the real engine)."""
    problems: list[str] = []
    for kind, ident, reached in _targets(kb):
        answers = witness(kb, kind, ident)
        if answers is None:
            problems.append(f"content: {kind} {ident!r}: no valid answers reach it")
        elif not reached(answers):
            problems.append(f"content: {kind} {ident!r}: the answers built to reach it do not: {answers}")
        else:
            problems += _one_per_group(kb, answers)
    return sorted(set(problems))


def _one_per_group(kb: Knowledge, answers: dict[str, Any]) -> list[str]:
    """The routine for a witness holds at most one exercise of each movement group."""
    rec = recommend(kb, parse_answers(answers, "witness"))
    groups: dict[str, str] = {}
    problems = []
    for e in rec.routine.exercises if rec.routine else []:
        group = kb.exercises[e.id].group
        if group in groups:
            problems.append(f"content: group {group!r}: {groups[group]!r} and {e.id!r} in one routine: {answers}")
        groups[group] = e.id
    return problems


def _targets(kb: Knowledge) -> list[tuple[str, str, Any]]:
    def run(answers: dict[str, Any]) -> Any:
        return recommend(kb, parse_answers(answers, "witness"))

    def chosen(eid: str) -> Any:
        def reached(answers: dict[str, Any]) -> bool:
            # chosen, or chosen and then left for an exercise of its movement group that
            # ranks higher (the same work is in the routine)
            rec = run(answers)
            if rec.routine is None:
                return False
            same = {n.id for n in rec.not_chosen if n.reason == "same_movement"}
            return eid in {e.id for e in rec.routine.exercises} | same

        return reached

    def found(fid: str) -> Any:
        return lambda a: fid in {f.id for f in run(a).findings}

    def advised(aid: str) -> Any:
        return lambda a: aid in {x.id for x in run(a).advice}

    return (
        [("exercise", e, chosen(e)) for e in kb.exercises]
        + [("finding", f, found(f)) for f in kb.findings]
        + [("advice", a, advised(a)) for a in kb.advice]
    )


def witness(kb: Knowledge, kind: str, ident: str) -> dict[str, Any] | None:
    """Answers that should reach a conclusion, or None if backward chaining finds none."""
    field = {"exercise": "indicate", "finding": "finding", "advice": "advise"}[kind]
    for rule in kb.rules:
        if getattr(rule.then, field) != ident:
            continue
        for alt in kb.alternatives[rule.id]:
            state = _Partial()
            if state.satisfy(kb, alt, frozenset()):
                answers = state.answers()
                if kind == "exercise" and "equipment" not in state.values and not state.negated_on("equipment"):
                    answers["equipment"] = list(kb.meta.equipment)
                try:
                    parse_answers(answers, "witness")
                except AnswersError:
                    continue
                return answers
    return None


class _Partial:
    """Answers under construction: chosen values, and tests that must stay false."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.negated: list[AnswerTest] = []

    def negated_on(self, field: str) -> bool:
        return any(t.answer == field for t in self.negated)

    def satisfy(self, kb: Knowledge, alt: Alternative, visiting: frozenset[str]) -> bool:
        for test in alt.facts:
            if isinstance(test, FindingTest):
                if not self._derive(kb, test.finding, visiting):
                    return False
            elif not self._assign(test):
                return False
        self.negated.extend(alt.negated)
        return not any(t.holds(self.answers()) for t in self.negated)

    def _derive(self, kb: Knowledge, finding: str, visiting: frozenset[str]) -> bool:
        if finding in visiting:
            return False
        for rule in kb.rules:
            if rule.then.finding != finding:
                continue
            for alt in kb.alternatives[rule.id]:
                saved = (dict(self.values), list(self.negated))
                if self.satisfy(kb, alt, visiting | {finding}):
                    return True
                self.values, self.negated = saved
        return False

    def _assign(self, test: AnswerTest) -> bool:
        field, value = test.answer, test.values()[0]
        if field in LIST_FIELDS:
            items = self.values.setdefault(field, [])
            if value not in items:
                items.append(value)
            return True
        if field in self.values:
            return test.holds(self.answers())
        bound = {"more_than": 1, "less_than": -1}.get(test.test, 0)
        self.values[field] = value + bound if isinstance(value, int) and not isinstance(value, bool) else value
        if field_kind(field) == "choice" and self.values[field] not in field_choices(field):
            return False
        return test.holds(self.answers())

    def answers(self) -> dict[str, Any]:
        merged = {**_START, **self.values}
        if not merged["areas"]:
            merged["areas"] = ["low_back"]
        return merged


def _unsayable(kb: Knowledge) -> list[str]:
    """Answer tests that an explanation could not say in plain words."""
    problems = []
    for rule in kb.rules:
        for alt in kb.alternatives[rule.id]:
            for test, negated in [(t, False) for t in alt.facts if isinstance(t, AnswerTest)] + [
                (t, True) for t in alt.negated
            ]:
                phrase = kb.phrases.get(test.answer)
                kind = field_kind(test.answer)
                if kind == "list":
                    values: list[Any] = [None]
                    item: str | None = str(test.values()[0])
                else:
                    item = None
                    choices: dict[str, list[Any]] = {
                        "bool": [True, False],
                        "int": [0],
                        "choice": list(field_choices(test.answer)),
                    }
                    values = choices[kind]
                    if not negated and kind != "int":
                        values = test.values() if kind == "choice" else values
                missing = phrase is None or any(phrase.says(v, item, negated) is None for v in values)
                if missing:
                    words = f"{'not ' if negated else ''}{test.describe()}"
                    problems.append(
                        f"{kb.rule_files[rule.id]}: rule {rule.id!r}: content/phrases.yaml cannot say {words!r}"
                    )
    return sorted(set(problems))


def _pictureless(kb: Knowledge) -> list[str]:
    """Exercise variants with no line figure for the printed sheet."""
    return [
        f"templates/figures/{ex.id}--{v.id}.svg: missing: every variant needs a picture for the sheet"
        for ex in kb.exercises.values()
        for v in ex.variants
        if figure(ex.id, v.id) is None
    ]
