"""A follow-up visit (issue 20): the two visits read together, and the routine that follows.

1. NOW's answers get the recommendation a first visit would (a red flag now
   gives its referral and no routine, as always); EARLIER's answers give back
   the routine done since, which the sheet names.
2. The check-in (pain then and now, the days done, the person's rating, the
   weeks between, the level NOW's answers call for) goes through the rules in
   ``rules/follow_up.yaml``, forward-chained by durable-rules on the process's
   one Host (``engine.run_ruleset``); the most urgent verdict concluded stands.
3. The verdict shapes NOW's routine (``follow_up_routine``), and a physio
   verdict from the check-in joins the referral's reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .content import LEVELS, Level
from .derivation import Node
from .engine import infer, run_ruleset
from .follow_up_routine import Shaper
from .follow_up_rules import VERDICTS, CheckTest, FollowUpRule, NotCheck, SignalTest, Verdict
from .recommendation import AdviceOut, ChangeOut, DoneOut, FollowUpOut, NotChosen, Reason, Recommendation, Referral, Routine
from .routine import assemble, fits

if TYPE_CHECKING:
    from .answers import Answers
    from .engine import Inference
    from .knowledge import Knowledge

CHECK, SIGNAL, PERSON = "c", "s", "p"
#: The weeks between visits when nothing says otherwise: the review date on every sheet.
DEFAULT_WEEKS = 2


@dataclass(frozen=True)
class Fired:
    """One follow-up rule firing: the tests that matched and the guards that held."""

    rule: FollowUpRule
    tests: tuple[CheckTest | SignalTest, ...]
    guards: tuple[CheckTest, ...]


# --------------------------------------------------------------------------- the rules, in the engine


def _single(test: CheckTest, value: Any) -> CheckTest:
    return CheckTest.model_validate({"check": test.check, "is": value})


def _alternatives(rule: FollowUpRule) -> list[tuple[list[CheckTest | SignalTest], list[CheckTest]]]:
    """A rule's conditions as conjunctions: ``one_of`` splits, ``not one_of`` is a ``not`` of each."""
    combos: list[tuple[list[CheckTest | SignalTest], list[CheckTest]]] = [([], [])]
    for cond in rule.when:
        if isinstance(cond, NotCheck):
            t = cond.not_
            negs = [_single(t, v) for v in t.values()] if t.test == "one_of" else [t]
            combos = [(p, n + negs) for p, n in combos]
        elif isinstance(cond, CheckTest) and cond.test == "one_of":
            combos = [(p + [_single(cond, v)], n) for p, n in combos for v in cond.values()]
        else:
            combos = [(p + [cond], n) for p, n in combos]
    return combos


def _pattern(test: CheckTest | SignalTest) -> dict[str, Any]:
    if isinstance(test, SignalTest):
        return {"$and": [{"t": SIGNAL}, {"id": test.signal}]}
    op = {"at_least": "$gte", "at_most": "$lte"}.get(test.test)
    value = test.values()[0]
    return {"$and": [{"t": CHECK}, {"q": test.check}, {op: {"v": value}} if op else {"v": value}]}


def _builder(kb: Knowledge) -> Any:
    assert kb.follow_up is not None
    rules_in = kb.follow_up.rules

    def build(record: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        from durable.engine import MessageObservedException  # type: ignore[import-untyped]

        rules: dict[str, Any] = {}
        fires: dict[str, Any] = {}
        for rule in rules_in:
            for i, (pos, neg) in enumerate(_alternatives(rule)):
                name = f"follow-up:{kb.digest}:{rule.id}#{i}"
                conds: list[dict[str, Any]] = [{f"f{j}": _pattern(t)} for j, t in enumerate(pos)]
                if neg:  # as in engine.compile_ruleset: the person fact comes last, so each $not sees all
                    conds.insert(0, {"p": {"t": PERSON}})
                    conds += [{f"n{j}$not": _pattern(t)} for j, t in enumerate(neg)]
                rules[name] = {"all": conds, "run": name}
                fires[name] = _fire(Fired(rule, tuple(pos), tuple(neg)), record, MessageObservedException)
        for t in (CHECK, SIGNAL, PERSON):
            rules[f"sink-{t}"] = {"all": [{"m": {"t": t}}, {"never": {"t": "never"}}], "run": "sink"}
        return rules, fires

    return build


def _fire(fired: Fired, record: Any, observed: type[Exception]) -> Any:
    signal = fired.rule.then.signal

    def fire(message: dict[str, Any], sid: str, ruleset: Any) -> None:
        if signal is not None:
            try:
                ruleset.assert_fact({"t": SIGNAL, "id": signal, "sid": sid})
            except observed:
                pass  # concluded before by another rule: the first one explains it
        record(fired)

    return fire


def check_in(earlier: Answers, now: Answers, weeks: int, level_now: Level) -> dict[str, Any]:
    """The values the follow-up rules test; an unsaid check-in answer is left out."""
    values: dict[str, Any] = {
        "level_now": level_now,
        "pain_before": earlier.pain,
        "pain_now": now.pain,
        "pain_change": now.pain - earlier.pain,
        "weeks_between": weeks,
    }
    if now.days_done is not None:
        values["days_done"] = now.days_done
    if now.overall_change is not None:
        values["overall_change"] = now.overall_change
    return values


def fire_rules(kb: Knowledge, values: dict[str, Any]) -> list[Fired]:
    """The follow-up rules over one check-in, to their fixpoint, in firing order."""
    facts: list[dict[str, Any]] = [{"t": CHECK, "q": q, "v": v} for q, v in values.items()]
    facts.append({"t": PERSON})
    records = run_ruleset(f"stretchwise-follow-up-{kb.digest}", _builder(kb), facts)
    return [r for r in records if isinstance(r, Fired)]


# --------------------------------------------------------------------------- why


class _Why:
    """Derivation nodes for the follow-up, in the shape of ``derivation``: leaves are answers."""

    def __init__(self, kb: Knowledge, values: dict[str, Any], fired: list[Fired], rec_now: Recommendation) -> None:
        assert kb.follow_up is not None
        self.says = kb.follow_up.says
        self.signals = kb.follow_up.signals
        self.values = values
        self.fired = fired
        self.rec_now = rec_now

    def leaf(self, test: CheckTest, negated: bool = False) -> list[Node]:
        if test.check == "level_now" and not negated and self.rec_now.referral.reasons:
            # reaches back to today's own answers through the referral's own derivation
            return [r.why for r in self.rec_now.referral.reasons if r.level == self.rec_now.referral.level]
        v = self.values
        template = self.says.get(test.check, "{check}: {value}")
        text = template.format(
            check=test.check, value=_words(v.get(test.check)), before=v["pain_before"], now=v["pain_now"]
        )
        words = ("not " if negated else "") + test.describe()
        # negated or not, the text says the value as it is, which is what made the test hold
        answer = {"pain_before": "pain", "pain_now": "pain"}.get(test.check, test.check)
        visit = {"pain_before": "earlier", "pain_change": "both", "weeks_between": "both"}.get(test.check, "now")
        return [{"answer": answer, "value": v.get(test.check), "test": words, "says": text, "visit": visit}]

    def node(self, fired: Fired, fact: str, label: str) -> Node:
        children: list[Node] = []
        for t in fired.tests:
            if isinstance(t, SignalTest):
                first = next(f for f in self.fired if f.rule.then.signal == t.signal)
                children.append(self.node(first, f"signal:{t.signal}", self.signals[t.signal]))
            else:
                children.extend(self.leaf(t))
        for g in fired.guards:
            children.extend(self.leaf(g, negated=True))
        return {
            "fact": fact,
            "label": label,
            "rule": fired.rule.id,
            "because": fired.rule.because,
            "source": fired.rule.source,
            "from": children,
        }


def _words(value: Any) -> str:
    return str(value).replace("_", " ") if value is not None else "unsaid"


# --------------------------------------------------------------------------- the visit


def follow_up(
    kb: Knowledge, earlier: Answers, now: Answers, weeks: int = DEFAULT_WEEKS, inference: Inference | None = None
) -> Recommendation:
    """NOW's recommendation, shaped by what the two visits say together (``inference``: NOW's,
    when the caller has it already)."""
    if kb.follow_up is None:
        from .errors import KnowledgeError

        raise KnowledgeError("rules/follow_up.yaml: missing; a follow-up visit needs it")
    inference = inference or infer(kb, now)
    rec_now = assemble(kb, now, inference)
    before = assemble(kb, earlier, infer(kb, earlier))
    values = check_in(earlier, now, weeks, rec_now.referral.level)
    fired = fire_rules(kb, values)
    verdicts = [f for f in fired if f.rule.then.verdict is not None]
    # the most urgent verdict; of equals, one that pauses the routine, then the first concluded
    top = max(verdicts, key=lambda f: (VERDICTS.index(_verdict(f)), f.rule.then.pause))
    verdict = _verdict(top)
    why = _Why(kb, values, fired, rec_now)
    sentence = top.rule.then.sentence or kb.follow_up.verdicts[verdict]
    verdict_node = why.node(top, f"verdict:{verdict}", sentence)
    shaper = Shaper(kb, now, inference, rec_now, before, verdict_node)
    routine, changes, dropped_ids = shaper.shape(verdict, top.rule.then.pause)
    referral = _referral(kb, rec_now.referral, top, verdict, verdict_node)
    done = before.routine.exercises if before.routine else []
    out = FollowUpOut(
        weeks_between=weeks,
        pain_before=earlier.pain,
        pain_now=now.pain,
        days_done=now.days_done,
        overall_change=now.overall_change,
        verdict=verdict,
        sentence=sentence,
        why=verdict_node,
        done_since=[DoneOut(id=e.id, name=e.name, variant_name=e.variant_name, dose=e.dose.text) for e in done],
        changes=changes,
    )
    not_chosen = _restated(kb, [n for n in rec_now.not_chosen if n.id not in dropped_ids], routine, changes, verdict)
    kept = {e.id for e in routine.exercises} if routine else set()
    advice = [_shorter(kb, a) if verdict == "simplify" else a for a in rec_now.advice if fits(kb, a.id, kept)]
    return replace(rec_now, referral=referral, routine=routine, not_chosen=not_chosen, advice=advice, follow_up=out)


def _shorter(kb: Knowledge, advice: AdviceOut) -> AdviceOut:
    """A habit in one line, for the simpler routine of someone who hardly did the last one
    (advice about when to get help has no short form and stays whole)."""
    short = kb.advice[advice.id].short
    return advice if short is None else replace(advice, text=short)


def _restated(
    kb: Knowledge, not_chosen: list[NotChosen], routine: Routine | None, changes: list[ChangeOut], verdict: Verdict
) -> list[NotChosen]:
    """What was left out, as it stands after this visit's changes: an exercise the visit took out
    is left out with the visit's reason; one that was left for a partner of its movement
    group no longer says that partner is in the routine when the visit took the partner out;
    a simpler routine does not say the rest "did not fit" the time (it is short on purpose);
    and a paused routine does not explain what was left out by the routine it no longer gives."""
    if routine is None:
        return not_chosen
    kept = {kb.exercises[e.id].group for e in routine.exercises}
    taken = {kb.exercises[c.exercise].group: c.name for c in changes if c.change == "removed"}
    out = []
    for n in not_chosen:
        group = kb.exercises[n.id].group
        if not routine.exercises and _about_the_routine(kb, n):  # the routine is paused: none of it holds
            n = replace(n, detail="Not given: no exercises until a physical therapist has seen you.")
        elif n.reason == "same_movement" and group not in kept:
            partner = taken.get(group)
            detail = (
                f"Left out along with {partner}, which works the same movement."
                if partner
                else "Left out with the exercise of the same movement, which this visit took out."
            )
            n = replace(n, detail=detail)
        elif n.reason == "time_budget" and verdict == "simplify":
            n = replace(n, detail="Left out while the routine is kept short, so that it gets done.")
        out.append(n)
    for c in changes:
        if c.change == "removed" and routine.exercises:  # a paused routine says so as a whole
            out.append(NotChosen(id=c.exercise, name=c.name, reason="removed", detail=f"Taken out at this visit. {c.because}", rule=None, why=c.why))
    return out


def _about_the_routine(kb: Knowledge, n: NotChosen) -> bool:
    """True when the reason an exercise was left out speaks of the routine (no room in it, an
    exercise of its movement in it, a partner not in it), not of the person's answers."""
    partner_missing = n.reason == "excluded" and n.rule is not None and kb.by_rule[n.rule].then.indicate is not None
    return n.reason in ("same_movement", "time_budget") or partner_missing


def _verdict(f: Fired) -> Verdict:
    assert f.rule.then.verdict is not None
    return f.rule.then.verdict


def _referral(kb: Knowledge, referral: Referral, top: Fired, verdict: Verdict, node: Node) -> Referral:
    """A physio verdict from the check-in joins the referral's reasons, in the person's own terms."""
    if verdict != "physio" or any(isinstance(t, CheckTest) and t.check == "level_now" for t in top.tests):
        return referral
    assert top.rule.then.message is not None
    reason = Reason(rule=top.rule.id, message=top.rule.then.message, source=top.rule.source, level="physio", why=node)
    level: Level = max(referral.level, "physio", key=LEVELS.index)
    text = kb.meta.levels[level]
    reasons_ = sorted([reason, *referral.reasons], key=lambda r: -LEVELS.index(r.level))
    return Referral(level=level, headline=text.headline, text=text.text, reasons=reasons_)
