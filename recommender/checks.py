"""Checks over the knowledge base as a whole, beyond what loading validates."""

from __future__ import annotations

from .engine import alternatives
from .knowledge import FindingTest, Knowledge


def check_knowledge(kb: Knowledge) -> list[str]:
    """Every problem, one line each: orphans, and rules that can never fire."""
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
        missing = [t.finding for alt in alternatives(rule) for t in alt.facts if isinstance(t, FindingTest)]
        dead = sorted({f for f in missing if f not in concluded})
        if dead:
            problems.append(f"{kb.rule_files[rule.id]}: rule {rule.id!r}: can never fire: no rule concludes {', '.join(dead)}")
    return problems
