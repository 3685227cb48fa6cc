"""The recommendation for one person: the output records of the v1 JSON contract
(the README documents each field). Fields are only ever added.

The records are frozen dataclasses, not pydantic models: our own code builds
them from validated knowledge and answers, so there is nothing to validate, and
orjson writes a dataclass as it stands (issue 22: building and writing them
through pydantic was a third of a person's time). ``contract`` is the JSON's
top-level object; mypy checks the types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .answers import Answers
from .content import Level
from .derivation import Node

FORMAT_VERSION = 1

#: What a clinician's plan does to the rules' choice
Action = Literal["remove", "add", "dose", "override", "clear"]


@dataclass(frozen=True, kw_only=True)
class Reason:
    rule: str
    message: str
    source: str
    level: Level
    why: Node


@dataclass(frozen=True, kw_only=True)
class Referral:
    level: Level
    headline: str
    text: str
    reasons: list[Reason]


@dataclass(frozen=True, kw_only=True)
class FindingOut:
    id: str
    label: str
    clinical: str
    why: Node


@dataclass(frozen=True, kw_only=True)
class DoseOut:
    hold_seconds: int | None
    reps: int
    each_side: bool
    sets: int
    text: str


@dataclass(frozen=True, kw_only=True)
class ChosenExercise:
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


@dataclass(frozen=True, kw_only=True)
class Uncovered:
    """A reported area the routine has nothing for, and why."""

    area: str
    detail: str


@dataclass(frozen=True, kw_only=True)
class Routine:
    minutes: int
    estimated_minutes: int
    exercises: list[ChosenExercise]
    uncovered: list[Uncovered] = field(default_factory=list)
    note: str | None = None  # why the routine is shorter than the time offered, when it is


@dataclass(frozen=True, kw_only=True)
class NotChosen:
    id: str
    name: str
    reason: Literal["excluded", "not_indicated", "time_budget", "same_movement", "removed"]
    detail: str
    rule: str | None
    why: Node | None = None  # for same_movement and time_budget: why it was called for


@dataclass(frozen=True, kw_only=True)
class AdviceOut:
    id: str
    kind: Literal["habit", "when_to_get_help"]
    title: str
    text: str
    why: Node


@dataclass(frozen=True, kw_only=True)
class Adjustment:
    """One change a clinician's plan made, or would have made, to the rules' choice (issue 21)."""

    action: Action
    exercise: str | None = None
    variant: str | None = None
    rule: str | None = None  # override: the exclusion rule set aside
    level: Level | None = None  # clear: the referral level cleared
    assessed_by: str | None = None  # clear: the doctor who assessed the person
    assessed_on: str | None = None  # clear: the day they did, YYYY-MM-DD
    reason: str
    applied: bool
    detail: str  # what happened, in plain words


@dataclass(frozen=True, kw_only=True)
class AdjustedBy:
    """Who adjusted the routine, and their note for the person."""

    clinician: str
    note: str | None


@dataclass(frozen=True, kw_only=True)
class ChangeOut:
    """One change a follow-up visit made to the routine, and why (issue 20)."""

    exercise: str
    name: str
    change: Literal["longer_hold", "more_reps", "next_variant", "other_variant", "added", "removed", "kept"]
    before: str | None
    after: str | None
    text: str
    because: str
    why: Node


@dataclass(frozen=True, kw_only=True)
class DoneOut:
    id: str
    name: str
    variant_name: str
    dose: str


@dataclass(frozen=True, kw_only=True)
class FollowUpOut:
    """What a follow-up visit concluded from the two visits together (``stretchwise follow-up``)."""

    weeks_between: int
    pain_before: int
    pain_now: int
    days_done: int | None
    overall_change: str | None
    verdict: Literal["continue", "progress", "simplify", "physio", "doctor_first", "urgent"]
    sentence: str
    why: Node
    done_since: list[DoneOut]
    changes: list[ChangeOut]


@dataclass(frozen=True, kw_only=True)
class Recommendation:
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
    #: When to get medical help today, in words that fit what the person already feels
    #: (content/meta.yaml, safety_net). The sheets print it where a physical therapist's
    #: referral gives no routine, and so no stop rule; it is not part of the JSON contract.
    safety_net: str | None = None
    #: A clinician's plan applied to the rules' choice (issue 21): who, and every change with its
    #: reason, in the plan's order. Both are left out of the JSON when no plan was given (None).
    adjusted_by: AdjustedBy | None = None
    adjustments: list[Adjustment] | None = None
    #: Only on a follow-up visit (issue 20); absent from a first visit's JSON.
    follow_up: FollowUpOut | None = None


#: Left out of the JSON: always (the sheets' words), or when not given (None)
_NOT_IN_JSON = ("safety_net",)
_ONLY_WHEN_GIVEN = ("adjusted_by", "adjustments", "follow_up")


def contract(rec: Recommendation) -> dict[str, Any]:
    """The v1 JSON contract's top-level object; the records under it are written as they stand."""
    out = {k: v for k, v in rec.__dict__.items() if k not in _NOT_IN_JSON}
    for k in _ONLY_WHEN_GIVEN:
        if out[k] is None:
            del out[k]
    return out


def applied_clear(rec: Recommendation) -> Adjustment | None:
    """The clear of the doctor-first referral, when a clinician's plan made one."""
    return next((a for a in rec.adjustments or [] if a.action == "clear" and a.applied), None)


def answers_digest(answers: Answers) -> str:
    """A short hash of the answers: the same answers (and knowledge) give the same sheet. The
    check-in fields count only when given, so a first visit's digest is what it always was."""
    import hashlib

    from .answers import canonical_json

    return hashlib.sha256(canonical_json(answers).encode()).hexdigest()[:12]
