"""Derivations: why a conclusion holds, as a tree back to the person's answers.

A node is ``{fact, label, rule, because, source, from}``; its leaves are the
answers a rule tested: ``{answer, value, test}``. A finding's node is the first
firing that derived it; findings derived later can only rest on facts that
already existed, so the tree never loops (chains 3 and 4 form a loop in the
rules, not in a derivation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .knowledge import AnswerTest, FindingTest

if TYPE_CHECKING:
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
        """A leaf: the answer a rule tested, with the person's own value."""
        words = test.describe().removeprefix(test.answer + " ")
        if negated:
            words = "not " + words
        return {"answer": test.answer, "value": self.inference.answers.get(test.answer), "test": words}


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
