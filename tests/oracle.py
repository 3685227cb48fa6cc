"""The same rules, evaluated by the simplest possible fixpoint loop in plain Python.

Never used to recommend anything: it is the test oracle that the durable-rules
engine must agree with (differential tests), and the floor the benchmark
measures the engine against.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recommender.conditions import AnswerTest
from recommender.content import Alternative

if TYPE_CHECKING:
    from recommender.knowledge import Knowledge


def compile_plain(kb: Knowledge) -> list[Alternative]:
    """Every alternative of every rule, in rule order."""
    return [alt for rule in kb.rules for alt in kb.alternatives[rule.id]]


def evaluate(alts: list[Alternative], answers: dict[str, Any]) -> tuple[set[tuple[str, int]], set[str]]:
    """The (rule id, alternative) pairs that fire, and the findings derived, at the fixpoint."""
    fired: set[tuple[str, int]] = set()
    findings: set[str] = set()
    changed = True
    while changed:
        changed = False
        for alt in alts:
            key = (alt.rule.id, alt.index)
            if key in fired:
                continue
            if all(t.holds(answers) if isinstance(t, AnswerTest) else t.finding in findings for t in alt.facts) and not any(
                t.holds(answers) for t in alt.negated
            ):
                fired.add(key)
                if alt.rule.then.finding is not None:
                    findings.add(alt.rule.then.finding)
                changed = True
    return fired, findings
