"""The recommendation for one person: the output models of the v1 JSON contract
(the README documents each field). Fields are only ever added."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .answers import Answers
from .content import Level
from .derivation import Node

FORMAT_VERSION = 1


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Reason(_Out):
    rule: str
    message: str
    source: str
    level: Level
    why: Node


class Referral(_Out):
    level: Level
    headline: str
    text: str
    reasons: list[Reason]


class FindingOut(_Out):
    id: str
    label: str
    clinical: str
    why: Node


class DoseOut(_Out):
    hold_seconds: int | None
    reps: int
    each_side: bool
    sets: int
    text: str


class ChosenExercise(_Out):
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


class Uncovered(_Out):
    """A reported area the routine has nothing for, and why."""

    area: str
    detail: str


class Routine(_Out):
    minutes: int
    estimated_minutes: int
    exercises: list[ChosenExercise]
    uncovered: list[Uncovered] = []
    note: str | None = None  # why the routine is shorter than the time offered, when it is


class NotChosen(_Out):
    id: str
    name: str
    reason: Literal["excluded", "not_indicated", "time_budget", "same_movement", "removed"]
    detail: str
    rule: str | None
    why: Node | None = None  # for same_movement and time_budget: why it was called for


class AdviceOut(_Out):
    id: str
    title: str
    text: str
    why: Node


class Adjustment(_Out):
    """One change a clinician's plan made, or would have made, to the rules' choice (issue 21)."""

    action: Literal["remove", "add", "dose", "override", "clear"]
    exercise: str | None = None
    variant: str | None = None
    rule: str | None = None  # override: the exclusion rule set aside
    level: Level | None = None  # clear: the referral level cleared
    reason: str
    applied: bool
    detail: str  # what happened, in plain words


class AdjustedBy(_Out):
    """Who adjusted the routine, and their note for the person."""

    clinician: str
    note: str | None


class ChangeOut(_Out):
    """One change a follow-up visit made to the routine, and why (issue 20)."""

    exercise: str
    name: str
    change: Literal["longer_hold", "more_reps", "next_variant", "added", "removed", "kept"]
    before: str | None
    after: str | None
    text: str
    because: str
    why: Node


class DoneOut(_Out):
    id: str
    name: str
    variant_name: str
    dose: str


class FollowUpOut(_Out):
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


class Recommendation(_Out):
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
    safety_net: str | None = Field(None, exclude=True)
    #: A clinician's plan applied to the rules' choice (issue 21): who, and every change with its
    #: reason, in the plan's order. Both are left out of the JSON when no plan was given (None);
    #: a field-level exclude, not a wrapping serializer, which halved the JSON's time.
    adjusted_by: AdjustedBy | None = Field(default=None, exclude_if=lambda v: v is None)
    adjustments: list[Adjustment] | None = Field(default=None, exclude_if=lambda v: v is None)
    #: Only on a follow-up visit (issue 20); absent from a first visit's JSON.
    follow_up: FollowUpOut | None = Field(default=None, exclude_if=lambda v: v is None)


def answers_digest(answers: Answers) -> str:
    """A short hash of the answers: the same answers (and knowledge) give the same sheet."""
    import hashlib
    import json

    from .answers import CHECK_IN_FIELDS

    # the check-in fields count only when given, so a first visit's digest is what it always was
    unsaid = {f for f in CHECK_IN_FIELDS if getattr(answers, f) is None}
    canonical = json.dumps(answers.model_dump(mode="json", exclude=unsaid), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]
