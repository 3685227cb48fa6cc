"""A follow-up visit (issue 20): the two visits read together, and the routine that follows.

1. NOW's answers get the recommendation a first visit would (a red flag now
   gives its referral and no routine, as always); EARLIER's answers give back
   the routine done since, which the sheet names.
2. The check-in (pain then and now, the days done, the person's rating, the
   weeks between, the level NOW's answers call for) goes through the rules in
   ``rules/follow_up.yaml``, forward-chained by durable-rules on the process's
   one Host (``engine.run_ruleset``); the most urgent verdict concluded stands.
3. The verdict shapes NOW's routine: ``progress`` steps each exercise done
   since up by one step (a harder variant the person can do, else a longer
   hold, else more repetitions, to a cap) within a time allowance, then adds an
   exercise left out for time if there is room; ``simplify`` keeps the
   strongest few; the others keep NOW's routine. Nothing here adds anything
   NOW's answers rule out: every exercise and variant put in is checked
   against NOW's exclusions and equipment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .content import KIND_ORDER, LEVELS, Dose, Exercise, Level, Variant
from .derivation import Node, reasons, said
from .engine import Inference, infer, run_ruleset
from .follow_up_rules import VERDICTS, CheckTest, FollowUpRule, NotCheck, SignalTest, Verdict
from .recommendation import (
    ChangeOut,
    ChosenExercise,
    DoneOut,
    DoseOut,
    FollowUpOut,
    Reason,
    Recommendation,
    Referral,
    Routine,
)
from .routine import assemble
from .selection import SETUP_SECONDS, max_exercises

if TYPE_CHECKING:
    from .answers import Answers
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
        if negated:
            text = f"not: {text}"
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


def _answers_in(node: Node) -> str:
    return "; ".join(dict.fromkeys(said(leaf) for leaf in reasons(node)))


# --------------------------------------------------------------------------- the visit


def follow_up(kb: Knowledge, earlier: Answers, now: Answers, weeks: int = DEFAULT_WEEKS) -> Recommendation:
    """NOW's recommendation, shaped by what the two visits say together."""
    if kb.follow_up is None:
        from .errors import KnowledgeError

        raise KnowledgeError("rules/follow_up.yaml: missing; a follow-up visit needs it")
    inference = infer(kb, now)
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
    shaper = _Shaper(kb, now, inference, rec_now, before, verdict_node)
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
    not_chosen = [n for n in rec_now.not_chosen if n.id not in dropped_ids]
    return rec_now.model_copy(update={"referral": referral, "routine": routine, "not_chosen": not_chosen, "follow_up": out})


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


class _Shaper:
    """The routine a verdict gives, and each change with its reason."""

    def __init__(
        self, kb: Knowledge, now: Answers, inference: Inference, rec_now: Recommendation, before: Recommendation, verdict_node: Node
    ) -> None:
        assert kb.follow_up is not None
        self.kb, self.now, self.rec_now, self.verdict_node = kb, now, rec_now, verdict_node
        self.rules = kb.follow_up
        self.exclusions = inference.of_kind("exclude")
        self.indications: dict[str, list[Any]] = {}
        for f in inference.of_kind("indicate"):
            self.indications.setdefault(str(f.then.indicate), []).append(f)
        self.before = {e.id: e for e in (before.routine.exercises if before.routine else [])}

    def shape(self, verdict: Verdict, pause: bool = False) -> tuple[Routine | None, list[ChangeOut], set[str]]:
        routine = self.rec_now.routine
        if routine is None:
            return None, [], set()
        if pause:
            return self._pause(routine)
        if verdict == "progress":
            return self._progress(routine)
        if verdict == "simplify":
            return self._simplify(routine)
        return routine, self._diff(routine.exercises), set()

    # ---------------------------------------------------------------- helpers

    def _change(self, ex: ChosenExercise | Any, kind: str, before: str | None, after: str | None, text: str, because: str, source: str, also: Node | None = None) -> ChangeOut:
        why = {
            "fact": f"change:{ex.id}",
            "label": text,
            "rule": self.verdict_node["rule"],
            "because": because,
            "source": source,
            "from": [self.verdict_node] + ([also] if also is not None else []),
        }
        return ChangeOut(exercise=ex.id, name=ex.name, change=kind, before=before, after=after, text=text, because=because, why=why)  # type: ignore[arg-type]

    def _diff(self, exercises: list[ChosenExercise], skip: frozenset[str] = frozenset()) -> list[ChangeOut]:
        """What today's answers changed by themselves: exercises that came or went."""
        out = []
        now_ids = {e.id for e in exercises} | skip
        for e in exercises:
            if self.before and e.id not in self.before and e.id not in skip:
                because = f"Today's answers call for it ({_answers_in(e.why)})."
                out.append(self._change(e, "added", None, e.dose.text, f"{e.name}: new", because, self._source(e.id), e.why))
        left = {n.id: n for n in self.rec_now.not_chosen}
        for eid, e in self.before.items():
            if eid not in now_ids:
                n = left.get(eid)
                because = n.detail if n is not None else "Today's answers do not call for it."
                node = n.why if n is not None and n.why is not None else None
                out.append(self._change(e, "removed", e.dose.text, None, f"{e.name}: left out now", because, self._source(eid), node))
        return out

    def _source(self, eid: str) -> str:
        return self.kb.exercises[eid].source

    def _allowed(self, ex: Exercise, variant: Variant) -> bool:
        """True when nothing in today's answers rules this way of doing it out."""
        key = (ex.id, variant.id)
        if any(key in self.kb.covered[f.rule.id] for f in self.exclusions):
            return False
        return set(variant.equipment) <= set(self.now.equipment)

    def _rank(self, eid: str) -> tuple[int, int, int]:
        fired = self.indications.get(eid, [])
        return (min((f.then.priority for f in fired), default=9), -len({f.rule.id for f in fired}), self.kb.exercise_order[eid])

    # ---------------------------------------------------------------- pause

    def _pause(self, routine: Routine) -> tuple[Routine, list[ChangeOut], set[str]]:
        """Worse on the routine: no exercises until a therapist has seen the person (the sheet lists
        what was done, for them)."""
        because = "It got worse on the routine, so it waits until a physical therapist has seen you."
        source = self.verdict_node["source"]
        changes = [
            self._change(e, "removed", e.dose.text, None, f"{e.name}: paused", because, source, e.why)
            for e in routine.exercises
        ]
        note = "No exercises until a physical therapist has seen you: it got worse on the routine."
        return routine.model_copy(update={"exercises": [], "estimated_minutes": 0, "note": note}), changes, set()

    # ---------------------------------------------------------------- simplify

    def _simplify(self, routine: Routine) -> tuple[Routine, list[ChangeOut], set[str]]:
        keep = self.rules.simplify.keep
        by_id = {e.id: e for e in routine.exercises}
        kept: list[str] = []
        for eid in sorted(by_id, key=self._rank):
            if len(kept) >= keep:
                break
            if eid in kept:
                continue
            kept.append(eid)
            partner = self.kb.exercises[eid].followed_by  # a source pairs them: both or neither
            if partner in by_id and partner not in kept:
                kept.append(partner)
        # an exercise whose every indication needs another one stands only with it
        kept = [
            k for k in kept
            if not self.indications.get(k) or any(f.then.requires in (None, *kept) for f in self.indications[k])
        ]
        exercises = [e for e in routine.exercises if e.id in kept]
        s = self.rules.simplify
        changes = [self._change(e, "kept", e.dose.text, e.dose.text, f"{e.name}: kept", s.because, s.source, e.why) for e in exercises]
        for e in routine.exercises:
            if e.id not in kept:
                because = f"A shorter routine is easier to keep up: it was done on {self.now.days_done} of the last 14 days."
                changes.append(self._change(e, "removed", e.dose.text, None, f"{e.name}: left out for now", because, s.source, e.why))
        seconds = sum(e.seconds for e in exercises)
        new = routine.model_copy(update={"exercises": exercises, "estimated_minutes": -(-seconds // 60), "note": None})
        return new, changes, set()

    # ---------------------------------------------------------------- progress

    def _progress(self, routine: Routine) -> tuple[Routine, list[ChangeOut], set[str]]:
        p = self.rules.progression
        budget = p.extra_seconds
        exercises = list(routine.exercises)
        changes: list[ChangeOut] = []
        taken: set[str] = set()  # exercises brought in, to be removed from not_chosen
        stepped_from: set[str] = set()
        groups = {self.kb.exercises[e.id].group for e in exercises}
        steps = []
        for i, e in enumerate(exercises):
            if e.id not in self.before:
                continue  # only what was done since steps up
            stepped = self._step(e, groups)
            if stepped is not None:
                steps.append((stepped[0].seconds - e.seconds, i, stepped))
        # the smallest steps first, so that the time allowed spreads over as many exercises as it can
        for extra, i, (new, kind, text, because, source) in sorted(steps, key=lambda s: (s[0], s[1])):
            e = exercises[i]
            if extra > budget or (new.id != e.id and self.kb.exercises[new.id].group in groups - {self.kb.exercises[e.id].group}):
                continue
            budget -= extra
            exercises[i] = new
            if new.id != e.id:
                groups.add(self.kb.exercises[new.id].group)
                taken.add(new.id)
                stepped_from.add(e.id)
            changes.append(self._change(new, kind, e.dose.text, new.dose.text, text, because, source, e.why))
        added = self._add_dropped(exercises, groups, budget)
        if added is not None:
            new, change = added
            exercises.append(new)
            exercises.sort(key=lambda x: KIND_ORDER.index(self.kb.exercises[x.id].kind))  # stable: kind order kept
            taken.add(new.id)
            changes.append(change)
        seconds = sum(e.seconds for e in exercises)
        note = routine.note
        if changes:
            note = None
            if seconds > routine.minutes * 60:
                note = (
                    f"Stepping up takes a little more time: about {-(-seconds // 60)} minutes rather than"
                    f" {routine.minutes}."
                )
        out = routine.model_copy(update={"exercises": exercises, "estimated_minutes": -(-seconds // 60), "note": note})
        return out, changes + self._diff(exercises, frozenset(taken | stepped_from)), taken

    def _step(self, e: ChosenExercise, groups: set[str]) -> tuple[ChosenExercise, str, str, str, str] | None:
        """One step up for one exercise: a harder variant, else a longer hold, else more repetitions."""
        p = self.rules.progression
        ex = self.kb.exercises[e.id]
        for step in p.next:
            if step.exercise != e.id or (step.variant is not None and step.variant != e.variant):
                continue
            target = self.kb.exercises[step.to_exercise]
            if target.id != ex.id and target.group in groups and target.group != ex.group:
                continue
            options = [v for v in target.variants if step.to_variant in (None, v.id)]
            variant = next((v for v in options if self._allowed(target, v)), None)
            if variant is None or (target.id == ex.id and variant.id == e.variant):
                continue
            base = target.dose if target.id != ex.id else _dose(ex, e)
            dose = base.model_copy(update={"sets": max(base.sets, e.dose.sets)})
            new = _chosen(target, variant, dose, e.why, e.replaced if target.id == ex.id else [])
            text = f"{e.name}: {variant.name.lower()}" if target.id == ex.id else f"{e.name}: {target.name} instead"
            return new, "next_variant", text, step.because, step.source
        cap = p.cap_for(ex.id)
        dose = _dose(ex, e)
        if dose.hold_seconds and cap.hold_seconds and dose.hold_seconds < cap.hold_seconds:
            longer = dose.model_copy(update={"hold_seconds": min(cap.hold_seconds, dose.hold_seconds + p.hold_step)})
            text = f"{e.name}: hold {longer.hold_seconds} s instead of {dose.hold_seconds} s"
            return _chosen(ex, _variant(ex, e.variant), longer, e.why, e.replaced), "longer_hold", text, p.because, p.source
        if dose.reps < cap.reps:
            more = dose.model_copy(update={"reps": min(cap.reps, dose.reps + p.reps_step)})
            text = f"{e.name}: {more.reps} times instead of {dose.reps}"
            return _chosen(ex, _variant(ex, e.variant), more, e.why, e.replaced), "more_reps", text, p.because, p.source
        return None

    def _add_dropped(self, exercises: list[ChosenExercise], groups: set[str], budget: int) -> tuple[ChosenExercise, ChangeOut] | None:
        """The first exercise left out for time, when the session has room for one more."""
        if len(exercises) >= max_exercises(self.now.minutes):
            return None
        for n in self.rec_now.not_chosen:
            if n.reason != "time_budget":
                continue
            ex = self.kb.exercises[n.id]
            variant = next((v for v in ex.variants if self._allowed(ex, v)), None)
            if variant is None or ex.group in groups or n.why is None:
                continue
            new = _chosen(ex, variant, ex.dose, n.why, [])
            if new.seconds > budget:
                continue
            p = self.rules.progression
            because = f"{p.because} There is room now for one more exercise your answers call for ({_answers_in(n.why)})."
            return new, self._change(new, "added", None, new.dose.text, f"{ex.name}: added", because, p.source, n.why)
        return None


def _dose(ex: Exercise, e: ChosenExercise) -> Dose:
    return ex.dose.model_copy(update={"hold_seconds": e.dose.hold_seconds, "reps": e.dose.reps, "sets": e.dose.sets})


def _variant(ex: Exercise, vid: str) -> Variant:
    return next(v for v in ex.variants if v.id == vid)


def _chosen(ex: Exercise, variant: Variant, dose: Dose, why: Node, replaced: list[dict[str, str]]) -> ChosenExercise:
    return ChosenExercise(
        id=ex.id,
        name=ex.name,
        kind=ex.kind,
        variant=variant.id,
        variant_name=variant.name,
        position=variant.position,
        equipment=list(variant.equipment),
        dose=DoseOut(
            hold_seconds=dose.hold_seconds, reps=dose.reps, each_side=dose.each_side, sets=dose.sets, text=dose.describe()
        ),
        seconds=dose.seconds() + SETUP_SECONDS,
        steps=list(variant.steps),
        cautions=list(ex.cautions),
        why=why,
        replaced=replaced,
    )
