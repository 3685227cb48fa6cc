"""Derivations: why a conclusion holds, as a tree back to the person's answers.

A node is ``{fact, label, rule, because, source, from}``; its leaves are the
answers a rule tested: ``{answer, value, test, says}`` (``says`` is the answer
in plain words, from content/phrases.yaml). A finding's node is the first
firing that derived it; findings derived later can only rest on facts that
already existed, so the tree never loops (chains 3 and 4 form a loop in the
rules, not in a derivation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .engine import alternatives
from .knowledge import AnswerTest, FindingTest

if TYPE_CHECKING:
    from .answers import Answers
    from .engine import Firing, Inference
    from .knowledge import Knowledge

Node = dict[str, Any]


class Explainer:
    """Builds derivation nodes for one inference, sharing sub-trees."""

    def __init__(self, kb: Knowledge, inference: Inference) -> None:
        self.kb = kb
        self.inference = inference
        self._first = inference.findings
        self._cache: dict[str, Node] = {}

    def finding(self, finding_id: str) -> Node:
        """The derivation of a finding."""
        if finding_id not in self._cache:
            finding = self.kb.findings[finding_id]
            self._cache[finding_id] = self.firing(
                self._first[finding_id], f"finding:{finding_id}", finding.label
            )
        return self._cache[finding_id]

    def firing(self, firing: Firing, fact: str, label: str) -> Node:
        """A node for one rule firing and what it rests on."""
        rule = firing.rule
        children: list[Node] = []
        for test in firing.alternative.facts:
            if isinstance(test, FindingTest):
                children.append(self.finding(test.finding))
            else:
                children.append(self.answer(test))
        children.extend(self.answer(test, negated=True) for test in firing.alternative.negated)
        return {
            "fact": fact,
            "label": label,
            "rule": rule.id,
            "because": rule.because,
            "source": rule.source,
            "from": children,
        }

    def answer(self, test: AnswerTest, negated: bool = False) -> Node:
        """A leaf: the answer a rule tested, with the person's own value and words."""
        words = test.describe().removeprefix(test.answer + " ")
        if negated:
            words = "not " + words
        value = self.inference.answers.get(test.answer)
        leaf: Node = {"answer": test.answer, "value": value, "test": words}
        says = say(self.kb, test, value, negated)
        if says is not None:
            leaf["says"] = says
        return leaf


def say(kb: Knowledge, test: AnswerTest, value: Any, negated: bool = False) -> str | None:
    """The person's answer in plain words, as content/phrases.yaml words it."""
    phrase = kb.phrases.get(test.answer)
    if phrase is None:
        return None
    item = str(test.values()[0]) if test.test in ("includes", "includes_any") else None
    return phrase.says(value, item, negated)


def leaves(node: Node) -> list[Node]:
    """Every answer leaf under a node (repeats included)."""
    if "answer" in node:
        return [node]
    return [leaf for child in node["from"] for leaf in leaves(child)]


def rules_in(node: Node) -> list[str]:
    """Every rule id in a derivation, outermost first."""
    if "answer" in node:
        return []
    return [node["rule"]] + [r for child in node["from"] for r in rules_in(child)]


# --------------------------------------------------------------------------- views


def tree(kb: Knowledge, node: Node, clinician: bool = False) -> list[dict[str, Any]]:
    """A derivation as indented lines, conclusion first, answers last.

    Each line is ``{depth, kind, text, note}``: ``kind`` is ``fact``,
    ``because``, ``answer`` or ``seen`` (a finding already shown above in the
    same tree). Plain words come first; the clinical name is the note.
    """
    lines: list[dict[str, Any]] = []
    shown: set[str] = set()

    def walk(n: Node, depth: int) -> None:
        if "answer" in n:
            text = n.get("says") or f"{n['answer']}: {n['value']}"
            note = f"{n['answer']} = {_value(n['value'])}; rule tested: {n['test']}" if clinician else ""
            lines.append({"depth": depth, "kind": "answer", "text": text, "note": note})
            return
        fact = n["fact"]
        kind, _, ident = fact.partition(":")
        if fact in shown and kind == "finding":
            lines.append({"depth": depth, "kind": "seen", "text": n["label"], "note": "shown above"})
            return
        shown.add(fact)
        note = kb.findings[ident].clinical if kind == "finding" else ""
        lines.append({"depth": depth, "kind": "fact", "text": n["label"], "note": note})
        source = f" [{n['rule']}; {n['source']}]" if clinician else ""
        lines.append({"depth": depth + 1, "kind": "because", "text": n["because"] + source, "note": ""})
        for child in n["from"]:
            walk(child, depth + 1)

    walk(node, 0)
    return lines


def show(value: Any) -> str:
    """An answer's value as a person would write it in the answers file."""
    return _value(value)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def explanation(kb: Knowledge, inference: Inference, rec: Any, given: dict[str, Any], clinician: bool) -> dict[str, Any]:
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
        "not_chosen": [n.model_dump() for n in rec.not_chosen if n.reason != "not_indicated"],
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
            matched.append(f"{fact['q']} = {_value(fact['v'])}")
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


def minimal_answers(rec: Any) -> list[Node]:
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


def why_not(kb: Knowledge, answers: Answers, inference: Inference, rec: Any, exercise_id: str) -> dict[str, Any]:
    """Why one exercise is, or is not, in the routine, in the person's terms."""
    from .routine import assemble

    ex = kb.exercises[exercise_id]
    out: dict[str, Any] = {
        "id": ex.id,
        "name": ex.name,
        "rule": None,
        "lines": [],
        "would_need": [],
        "ranked_above": [],
        "minutes_needed": None,
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
            firing = next(f for f in inference.of_kind("exclude") if f.rule.id == entry.rule)
            node = Explainer(kb, inference).firing(firing, f"exercise:{ex.id}", f"{ex.name} is left out")
            out["lines"] = tree(kb, node)
    elif entry.reason == "not_indicated":
        out["would_need"] = [
            {"rule": alt.rule.id, "because": alt.rule.because, "missing": _missing(kb, alt, values, inference, set())}
            for rule in kb.rules
            if rule.then.indicate == ex.id
            for alt in alternatives(rule)
        ]
    else:  # time_budget
        out["ranked_above"] = [e.name for e in rec.routine.exercises]
        for minutes in range(answers.minutes + 1, 61):
            longer = assemble(kb, answers.model_copy(update={"minutes": minutes}), inference)
            if longer.routine and ex.id in {e.id for e in longer.routine.exercises}:
                out["minutes_needed"] = minutes
                break
    return out


def _missing(kb: Knowledge, alt: Any, values: dict[str, Any], inference: Inference, seen: set[str]) -> list[str]:
    """What an alternative of a rule lacks for this person, in words."""
    missing = []
    for test in alt.facts:
        if isinstance(test, FindingTest):
            if test.finding in inference.findings:
                continue
            label = kb.findings[test.finding].label
            if test.finding in seen:
                missing.append(f"{label} (see above)")
                continue
            seen.add(test.finding)
            deeper = [
                _missing(kb, a, values, inference, seen)
                for r in kb.rules
                if r.then.finding == test.finding
                for a in alternatives(r)
            ]
            easiest = min(deeper, key=len) if deeper else []
            missing.append(f"{label}, which needs: " + "; ".join(easiest) if easiest else label)
        elif not test.holds(values):
            missing.append(f"{_needs(kb, test)} (you answered: {_answered(kb, test, values)})")
    for test in alt.negated:
        if test.holds(values):
            missing.append(f"not: {_needs(kb, test)} (you answered: {_answered(kb, test, values)})")
    return missing


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
    if isinstance(value, list):
        if not value:
            return "none"
        said = [phrase.items.get(str(v), str(v)) if phrase else str(v) for v in value]
        return "; ".join(said)
    words = phrase.says(value) if phrase else None
    return words or _value(value)
