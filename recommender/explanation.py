"""The explanation views: what ``stretchwise explain`` and ``--why-not`` show, as
plain data for the templates and the JSON output (``pipeline`` calls them)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from .conditions import AnswerTest, FindingTest
from .derivation import Explainer, Node, leaves, show, tree
from .recommendation import Adjustment, Recommendation, applied_clear
from .routine import assemble

if TYPE_CHECKING:
    from .answers import Answers
    from .engine import Firing, Inference
    from .knowledge import Knowledge


def explanation(kb: Knowledge, inference: Inference, rec: Recommendation, given: dict[str, Any], clinician: bool) -> dict[str, Any]:
    """Everything ``stretchwise explain`` shows, as plain data for templates and JSON."""
    view: dict[str, Any] = {
        "version": 1,
        "audience": "clinician" if clinician else "person",
        "knowledge_version": kb.version,
        "name": rec.name,
        "referral": {
            "level": rec.referral.level,
            "headline": rec.referral.headline,
            "reasons": [
                {"rule": r.rule, "level": r.level, "message": r.message, "source": r.source, "why": r.why,
                 "lines": tree(kb, r.why, clinician)}
                for r in rec.referral.reasons
            ],
        },
        "exercises": [
            {"id": e.id, "name": e.name, "why": e.why, "lines": tree(kb, e.why, clinician)}
            for e in (rec.routine.exercises if rec.routine else [])
        ],
        "not_chosen": [asdict(n) for n in rec.not_chosen if n.reason != "not_indicated"],
    }
    if clinician:
        view["answers"] = given
        view["firings"] = [_audit(kb, i, f) for i, f in enumerate(inference.firings, 1)]
        view["findings"] = [
            {"id": fid, "label": kb.findings[fid].label, "clinical": kb.findings[fid].clinical,
             "note": kb.findings[fid].note, "source": kb.findings[fid].source}
            for fid in inference.findings
        ]
        view["referral"]["minimal_answers"] = minimal_answers(rec)
    return view


def _audit(kb: Knowledge, n: int, f: Firing) -> dict[str, Any]:
    """One line of the audit trail: which rule fired, on what, concluding what."""
    matched = []
    for test, fact in zip(f.alternative.facts, f.matched):
        if isinstance(test, FindingTest):
            matched.append(f"finding {test.finding}")
        else:
            matched.append(f"{fact['q']} = {show(fact['v'])}")
    matched += [f"not ({t.describe()})" for t in f.alternative.negated]
    then = f.rule.then
    if then.finding:
        concluded = f"finding {then.finding}" + ("" if f.new else " (already known)")
    elif then.indicate:
        concluded = f"indicate {then.indicate} (priority {then.priority})"
    elif then.exclude:
        concluded = f"exclude {then.exclude.describe()}"
    elif then.refer:
        concluded = f"refer {then.refer}"
    else:
        concluded = f"advise {then.advise}"
    return {"n": n, "rule": f.rule.id, "matched": matched, "concluded": concluded, "source": f.rule.source}


def minimal_answers(rec: Recommendation) -> list[Node]:
    """The fewest answers that alone reach the referral level: the leaves of its
    smallest top-level reason (any one reason at the top level is enough)."""
    top = [r for r in rec.referral.reasons if r.level == rec.referral.level]
    if not top:
        return []
    best = min(top, key=lambda r: len({leaf["answer"] for leaf in leaves(r.why)}))
    seen: dict[str, Node] = {}
    for leaf in leaves(best.why):
        seen.setdefault(f"{leaf['answer']}:{leaf['test']}", leaf)
    return list(seen.values())


def why_not(kb: Knowledge, answers: Answers, inference: Inference, rec: Recommendation, exercise_id: str) -> dict[str, Any]:
    """Why one exercise is, or is not, in the routine, in the person's terms."""
    ex = kb.exercises[exercise_id]
    out: dict[str, Any] = {
        "id": ex.id,
        "name": ex.name,
        "rule": None,
        "lines": [],
        "would_need": [],
        "ranked_above": [],
        "minutes_needed": None,
        "rules": [],
    }
    chosen = {e.id: e for e in rec.routine.exercises} if rec.routine else {}
    if ex.id in chosen:
        out.update(status="chosen", detail="It is in your routine.", lines=tree(kb, chosen[ex.id].why))
        return out
    entry = next(n for n in rec.not_chosen if n.id == ex.id)
    out.update(status=entry.reason, detail=entry.detail, rule=entry.rule)
    values = answers.model_dump(mode="json")
    if entry.reason == "excluded":
        referral = next((r for r in rec.referral.reasons if r.rule == entry.rule), None)
        if referral is not None:
            out["lines"] = tree(kb, referral.why)
        else:
            # every rule that blocks a way of doing it, each with its own chain: the real blockers
            blockers = [f for f in inference.of_kind("exclude") if any(
                (ex.id, v.id) in kb.covered[f.rule.id] for v in ex.variants)]
            explainer = Explainer(kb, inference)
            for f in {f.rule.id: f for f in blockers}.values():
                ways = [v.name for v in ex.variants if (ex.id, v.id) in kb.covered[f.rule.id]]
                node = explainer.firing(f, f"exercise:{ex.id}", f"Not {' or '.join(ways).lower()}")
                out["lines"] += tree(kb, node)
            out["rules"] = sorted({f.rule.id for f in blockers})
            if not blockers:  # it goes with an exercise that is left out: why it was called for
                called = [f for f in inference.of_kind("indicate") if f.then.indicate == ex.id]
                if called:
                    out["lines"] = tree(kb, Explainer(kb, inference).firing(called[0], f"exercise:{ex.id}", ex.name))
    elif entry.why is not None:  # called for, and left for the time or for an exercise of its group
        out["lines"] = tree(kb, entry.why)
    if entry.reason == "not_indicated":
        # every route: each rule (and each way its conditions can hold) that would call for it
        routes = _Routes(kb, values, inference)
        out["would_need"] = [
            routes.route(alt, frozenset())
            for rule in kb.rules
            if rule.then.indicate == ex.id
            for alt in kb.alternatives[rule.id]
        ]
    elif entry.reason == "time_budget":
        out["ranked_above"] = [e.name for e in rec.routine.exercises] if rec.routine else []
        for minutes in range(answers.minutes + 1, 61):
            longer = assemble(kb, answers.model_copy(update={"minutes": minutes}), inference)
            if longer.routine and ex.id in {e.id for e in longer.routine.exercises}:
                out["minutes_needed"] = minutes
                break
    return out


class _Routes:
    """The routes to a conclusion this person has not reached, and what each lacks.

    A route is one rule alternative: ``{rule, because, missing}``. Each item of
    ``missing`` is ``{text, routes, above}``: an answer the person did not give
    (``routes`` empty), a guard their answers trip (``not this: ...``), or a
    finding they lack, with every route to that finding in turn. A finding's
    routes are written out once; a second mention says ``above``. A route that
    would need a finding on its own path is a loop, not a way in, and is left out.
    """

    def __init__(self, kb: Knowledge, values: dict[str, Any], inference: Inference) -> None:
        self.kb = kb
        self.values = values
        self.inference = inference
        self.shown: set[str] = set()

    def route(self, alt: Any, path: frozenset[str]) -> dict[str, Any]:
        return {"rule": alt.rule.id, "because": alt.rule.because, "missing": self.missing(alt, path)}

    def loops(self, alt: Any, path: frozenset[str]) -> bool:
        return any(isinstance(t, FindingTest) and t.finding in path for t in alt.facts)

    def missing(self, alt: Any, path: frozenset[str]) -> list[dict[str, Any]]:
        kb, values = self.kb, self.values
        out: list[dict[str, Any]] = []
        for test in alt.facts:
            if isinstance(test, FindingTest):
                if test.finding not in self.inference.findings:
                    out.append(self.finding(test.finding, path))
            elif not test.holds(values):
                out.append(_need(f"{_needs(kb, test)} (you answered: {_answered(kb, test, values)})"))
        for test in alt.negated:
            if test.holds(values):
                out.append(_need(f"not this: {_needs(kb, test)} (you answered: {_answered(kb, test, values)})"))
        return out

    def finding(self, finding_id: str, path: frozenset[str]) -> dict[str, Any]:
        label = self.kb.findings[finding_id].label
        if finding_id in self.shown:
            return _need(label, above=True)
        self.shown.add(finding_id)
        inner = path | {finding_id}
        ways = [
            a for r in self.kb.rules if r.then.finding == finding_id
            for a in self.kb.alternatives[r.id] if not self.loops(a, inner)
        ]
        return _need(label, [self.route(a, inner) for a in ways])


def _need(text: str, routes: list[dict[str, Any]] | None = None, above: bool = False) -> dict[str, Any]:
    return {"text": text, "routes": routes or [], "above": above}


def _needs(kb: Knowledge, test: AnswerTest) -> str:
    phrase = kb.phrases.get(test.answer)
    wanted = test.values()[0]
    if phrase is not None and test.test in ("is", "includes", "one_of", "includes_any"):
        item = str(wanted) if test.test.startswith("includes") else None
        words = phrase.says(wanted, item)
        if words and len(test.values()) == 1:
            return words
    return test.describe().replace("_", " ")


def _answered(kb: Knowledge, test: AnswerTest, values: dict[str, Any]) -> str:
    value = values.get(test.answer)
    phrase = kb.phrases.get(test.answer)
    if value is None:
        return "nothing"
    if isinstance(value, list):
        if not value:
            return "none"
        said = [phrase.items.get(str(v), str(v)) if phrase else str(v) for v in value]
        return "; ".join(said)
    words = phrase.says(value) if phrase else None
    return words or show(value)


def with_plan(kb: Knowledge, view: dict[str, Any], rules: Recommendation, adjusted: Recommendation) -> dict[str, Any]:
    """An explanation view with a clinician's plan (issue 21): the rules' choice, then each change in order."""
    assert adjusted.adjusted_by is not None
    view["plan"] = {
        "clinician": adjusted.adjusted_by.clinician,
        "note": adjusted.adjusted_by.note,
        "rules_level": rules.referral.level,
        "rules_choice": [
            {"id": e.id, "name": e.name, "variant": e.variant_name, "dose": e.dose.text}
            for e in (rules.routine.exercises if rules.routine else [])
        ],
        "adjustments": [
            {**asdict(a), "what": _what(a), "name": kb.exercises[a.exercise].name if a.exercise else "Referral"}
            for a in adjusted.adjustments or []
        ],
    }
    clear = applied_clear(adjusted)
    if clear is not None:  # the headline says what the rules said, and who lifted it on whose assessment
        view["referral"]["headline"] = (
            f"See a doctor first, cleared by {adjusted.adjusted_by.clinician}"
            f" after {clear.assessed_by} assessed the person on {clear.assessed_on}"
        )
    return view


def _what(a: Adjustment) -> str:
    """An adjustment's action and object, as the audit lists it: ``override RULE for EXERCISE``."""
    if a.action == "clear":
        return f"clear {a.level}"
    if a.action == "override":
        return f"override {a.rule} for {a.exercise}"
    variant = f" ({a.variant})" if a.variant and a.action == "add" else ""
    return f"{a.action} {a.exercise}{variant}"


# --------------------------------------------------------------------------- a follow-up visit (issue 20)


def follow_up_view(kb: Knowledge, rec: Recommendation, clinician: bool) -> dict[str, Any]:
    """The verdict of a follow-up visit and each change, with their chains back to both visits."""
    f = rec.follow_up
    assert f is not None
    return {
        "verdict": f.verdict,
        "sentence": f.sentence,
        "pain_before": f.pain_before,
        "pain_now": f.pain_now,
        "days_done": f.days_done,
        "overall_change": f.overall_change,
        "weeks_between": f.weeks_between,
        "why": f.why,
        "lines": tree(kb, f.why, clinician),
        "changes": [
            {"exercise": c.exercise, "text": c.text, "because": c.because, "why": c.why, "lines": tree(kb, c.why, clinician)}
            for c in f.changes
        ],
    }


def follow_up_why_not(kb: Knowledge, answers: Answers, inference: Inference, rec: Recommendation, exercise_id: str) -> dict[str, Any]:
    """``--why-not`` at a follow-up: as for one visit, plus the change the follow-up made to it."""
    assert rec.follow_up is not None
    change = next((c for c in rec.follow_up.changes if c.exercise == exercise_id and c.change != "kept"), None)
    listed = exercise_id in {n.id for n in rec.not_chosen} or (
        rec.routine is not None and exercise_id in {e.id for e in rec.routine.exercises}
    )
    if listed:
        out = why_not(kb, answers, inference, rec, exercise_id)
    else:  # taken out by the follow-up itself (made simpler, or stepped up to another exercise)
        ex = kb.exercises[exercise_id]
        out = {"id": ex.id, "name": ex.name, "rule": None, "lines": [], "would_need": [], "ranked_above": [],
               "minutes_needed": None, "rules": [], "status": "follow_up", "detail": change.because if change else ""}
    out["follow_up"] = (
        {"text": change.text, "because": change.because, "lines": tree(kb, change.why)} if change is not None else None
    )
    return out
