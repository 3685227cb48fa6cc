"""Derivations: why a conclusion holds, as a tree back to the person's answers.

A node is ``{fact, label, rule, because, source, from}`` (or, for an exercise
a clinician's plan added that no rule called for, ``{fact, label, clinician,
because, from: []}``: issue 21); its leaves are the
answers a rule tested: ``{answer, value, test, says}`` (``says`` is the answer
in plain words, from content/phrases.yaml). A leaf whose ``test`` starts with
"not " is a guard: an answer the rule required to be absent. A guard let the
rule fire but did not make the choice, so the person-facing views leave it out
(``reasons``, ``tree``) and only the clinician's view and the JSON keep it. A finding's node is the first
firing that derived it; findings derived later can only rest on facts that
already existed, so the tree never loops (chains 3 and 4 form a loop in the
rules, not in a derivation).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from .conditions import AnswerTest, FindingTest

if TYPE_CHECKING:
    from .engine import Firing, Inference
    from .knowledge import Knowledge

Node = dict[str, Any]

#: A leaf's words for each (test, negated, value), per knowledge base: the same for everyone
#: who gave that value, so worked out once (strings only; each person gets their own leaf).
_WORDS: weakref.WeakKeyDictionary[Knowledge, dict[tuple[int, bool, Any], tuple[str, str | None]]] = (
    weakref.WeakKeyDictionary()
)


class Explainer:
    """Builds derivation nodes for one inference, sharing sub-trees."""

    def __init__(self, kb: Knowledge, inference: Inference) -> None:
        self.kb = kb
        self.inference = inference
        self._first = inference.findings
        self._cache: dict[str, Node] = {}
        self._leaves: dict[tuple[int, bool], Node] = {}  # by (id of the test, negated): one person's answers

    def finding(self, finding_id: str) -> Node:
        """The derivation of a finding."""
        try:
            return self._cache[finding_id]
        except KeyError:
            node = self._cache[finding_id] = self.firing(
                self._first[finding_id], f"finding:{finding_id}", self.kb.findings[finding_id].label
            )
            return node

    def firing(self, firing: Firing, fact: str, label: str) -> Node:
        """A node for one rule firing and what it rests on."""
        rule, alt = firing.rule, firing.alternative
        children = [self.finding(t.finding) if isinstance(t, FindingTest) else self.answer(t) for t in alt.facts]
        if alt.negated:
            children += [self.answer(t, True) for t in alt.negated]
        return {
            "fact": fact,
            "label": label,
            "rule": rule.id,
            "because": rule.because,
            "source": rule.source,
            "from": children,
        }

    def answer(self, test: AnswerTest, negated: bool = False) -> Node:
        """A leaf: the answer a rule tested, with the person's own value and words (made once
        per test, and shared like the findings' sub-trees)."""
        key = (id(test), negated)
        try:
            return self._leaves[key]
        except KeyError:
            leaf = self._leaves[key] = self._answer(test, negated)
            return leaf

    def _answer(self, test: AnswerTest, negated: bool) -> Node:
        value = self.inference.answers.get(test.answer)
        key = (id(test), negated, tuple(value) if isinstance(value, list) else value)
        words = _WORDS.get(self.kb)
        if words is None:
            words = _WORDS[self.kb] = {}
        try:
            text, says = words[key]
        except KeyError:  # the kb holds its tests for as long as it lives, so an id stays theirs
            text = test.describe().removeprefix(test.answer + " ")
            text, says = words[key] = ("not " + text if negated else text), say(self.kb, test, value, negated)
        leaf: Node = {"answer": test.answer, "value": value, "test": text}
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
    """Every answer leaf under a node (repeats included), guards too."""
    if "answer" in node:
        return [node]
    return [leaf for child in node["from"] for leaf in leaves(child)]


def is_guard(leaf: Node) -> bool:
    """True for a negated answer test: something the rule needed to be absent."""
    return "answer" in leaf and str(leaf["test"]).startswith("not ")


def reasons(node: Node) -> list[Node]:
    """The answer leaves that made a choice: every leaf but the guards."""
    return [leaf for leaf in leaves(node) if not is_guard(leaf)]


def said(leaf: Node) -> str:
    """An answer leaf in the person's words (the field and value when no phrase is written)."""
    text: str = leaf.get("says") or f"{leaf['answer']}: {_value(leaf['value'])}"
    return text


def rules_in(node: Node) -> list[str]:
    """Every rule id in a derivation, outermost first."""
    if "answer" in node:
        return []
    own = [node["rule"]] if "rule" in node else []  # a clinician's addition rests on no rule
    return own + [r for child in node["from"] for r in rules_in(child)]


# --------------------------------------------------------------------------- as lines


def tree(kb: Knowledge, node: Node, clinician: bool = False) -> list[dict[str, Any]]:
    """A derivation as indented lines, conclusion first, answers last.

    Each line is ``{depth, kind, text, note}``: ``kind`` is ``fact``,
    ``because``, ``answer`` or ``seen`` (a finding already shown above in the
    same tree). Plain words come first; the clinical name is the note. Guards
    (negated answer tests) are shown to the clinician only.
    """
    lines: list[dict[str, Any]] = []
    shown: set[str] = set()

    def walk(n: Node, depth: int) -> None:
        if "answer" in n:
            if is_guard(n) and not clinician:
                return
            text = said(n)
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
        source = f" [{n['rule']}; {n['source']}]" if clinician and "rule" in n else ""
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
