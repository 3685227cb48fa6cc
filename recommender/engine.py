"""Forward chaining over one person's answers with durable-rules.

The YAML rules are compiled to one durable-rules ruleset per knowledge base:
each condition list becomes one or more durable rules (``any`` is split into
one rule per alternative, ``not`` becomes a ``$not`` over an answer fact).
Answers are asserted as facts ``{t: a, q: field, v: value}``, one per list
item; a finding a rule derives is asserted as ``{t: f, id: name}`` so other
rules can chain on it. Every other conclusion is recorded in Python, never
asserted: nothing consumes it, and each assert costs a JSON round trip.

durable-rules' traps (see ../shared/notes/durable-rules.md) and what we do:

* one Host per process, used under one lock (the C engine is not thread-safe),
  without the Host's background dispatch threads (they race the caller);
* a fresh sid per person, always deleted; the batch cannot raise because every
  fact kind has a sink rule that never fires;
* actions take exactly ``(c)`` and are closures; an exception inside one is
  caught, recorded and raised after the assert (durable would swallow it);
* a finding derived twice raises MessageObservedException inside the action:
  it is expected, and the first derivation is the one explanations use.
"""

from __future__ import annotations

import copy
import itertools
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .errors import EngineError
from .conditions import AnswerTest, FindingTest
from .content import Alternative, Rule, Then

if TYPE_CHECKING:
    from .answers import Answers
    from .knowledge import Knowledge

# On 3.12+ every action warns about datetime.utcfromtimestamp; with warnings as
# errors the assert would fail before the action and leave the sid locked.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"durable\.engine")

ANSWER, FINDING, PERSON = "a", "f", "p"


@dataclass(frozen=True)
class Firing:
    """One rule firing: which alternative matched which facts, and what it concluded."""

    rule: Rule
    alternative: Alternative
    matched: tuple[dict[str, Any], ...]
    new: bool = True  # False when the finding it concluded was already known

    @property
    def then(self) -> Then:
        return self.rule.then


@dataclass
class Inference:
    """Everything the engine concluded for one person, in firing order."""

    answers: dict[str, Any]
    firings: list[Firing] = field(default_factory=list)

    @cached_property
    def _by_kind(self) -> dict[str, list[Firing]]:
        groups: dict[str, list[Firing]] = {}
        for f in self.firings:
            groups.setdefault(f.rule.then.kind, []).append(f)
        return groups

    def of_kind(self, kind: str) -> list[Firing]:
        """The firings whose conclusion is of one kind (finding, indicate, ...)."""
        return self._by_kind.get(kind, [])

    @cached_property
    def findings(self) -> dict[str, Firing]:
        """Each derived finding with the firing that first derived it."""
        out: dict[str, Firing] = {}
        for f in self.of_kind("finding"):
            assert f.then.finding is not None
            out.setdefault(f.then.finding, f)
        return out


# --------------------------------------------------------------------------- compiling


def _pattern(test: AnswerTest | FindingTest) -> dict[str, Any]:
    if isinstance(test, FindingTest):
        return {"$and": [{"t": FINDING}, {"id": test.finding}]}
    head: list[dict[str, Any]] = [{"t": ANSWER}, {"q": test.answer}]
    value = test.values()[0]
    op = {"at_least": "$gte", "at_most": "$lte", "more_than": "$gt", "less_than": "$lt"}.get(test.test)
    head.append({op: {"v": value}} if op else {"v": value})
    return {"$and": head}


def compile_ruleset(kb: Knowledge) -> tuple[dict[str, Any], dict[str, Alternative]]:
    """The durable-rules ruleset (JSON form) and the alternative behind each action."""
    rules: dict[str, Any] = {}
    actions: dict[str, Alternative] = {}
    for rule in kb.rules:
        for alt in kb.alternatives[rule.id]:
            name = f"{rule.id}#{alt.index}"
            conds: list[dict[str, Any]] = [{f"f{i}": _pattern(t)} for i, t in enumerate(alt.facts)]
            if alt.negated:
                # A rule with a negation also joins the person fact, which is
                # asserted last: it cannot fire before all answers are in, so
                # each $not sees them all. (Positive rules reach the same
                # fixpoint in any order and skip the join.)
                conds.insert(0, {"p": {"t": PERSON}})
                conds += [{f"n{i}$not": _pattern(t)} for i, t in enumerate(alt.negated)]
            rules[name] = {"all": conds, "run": name}
            actions[name] = alt
    # Sinks: every fact must be "handled" or the assert raises; these joins can
    # never complete (no fact has t == "never"), so they accept facts for free.
    for t in (ANSWER, FINDING, PERSON):
        rules[f"sink-{t}"] = {"all": [{"m": {"t": t}}, {"never": {"t": "never"}}], "run": "sink"}
    return rules, actions


# --------------------------------------------------------------------------- running


class _Host:
    """The process's one durable-rules Host, with our actions bound in closures.

    Each ruleset's action flush is replaced (``_install_flush``): durable-rules'
    per-firing Python glue (a Closure, two clock reads, a JSON round trip of the
    session state) becomes the three calls that matter: run our action, tell
    the C engine it completed, and decode the next activation. Matching, joins,
    agenda and fact identity stay durable's. Our actions never change the
    session state, so there is nothing to write back. tests/test_engine.py
    keeps durable's own flush in a subclass and checks both give the same firings.
    """

    def __init__(self) -> None:
        from durable.engine import Host, MessageObservedException  # type: ignore[import-untyped]

        self._observed = MessageObservedException
        self._fire: dict[str, Any] = {}
        self._firings: list[Firing] = []
        self._errors: list[str] = []
        self._sids = itertools.count(1)
        self._registered: dict[str, str] = {}
        self._records: list[Any] = []  # what the actions of other rulesets record (run_ruleset)
        outer = self

        class _Bound(Host):  # type: ignore[misc]
            def get_action(self, action_name: str) -> Any:
                fire = outer._fire[action_name]

                def action(c: Any) -> None:  # exactly one parameter: durable's sync signature
                    fire(c._m, c.s.sid, c._ruleset)

                return action

            def _run(self) -> None:
                # Host.__init__ starts two timer threads that call dispatch() every
                # 0.2 s and so run pending actions on another thread, racing the
                # assert in progress: about one person in a few thousand lost
                # firings silently (a red flag with a routine). We use no timers
                # and every cascade completes inside assert_facts, so: no threads.
                pass

        self.host = _Bound()

    def _action(self, alt: Alternative) -> Any:
        """What happens when one alternative of a rule fires."""
        names = [f"f{i}" for i in range(len(alt.facts))]
        finding = alt.rule.then.finding
        observed = self._observed

        def fire(message: dict[str, Any], sid: str, ruleset: Any) -> None:
            try:
                matched = tuple({k: v for k, v in message[n].items() if k != "sid"} for n in names)
                new = True
                if finding is not None:
                    try:
                        ruleset.assert_fact({"t": FINDING, "id": finding, "sid": sid})
                    except observed:
                        new = False  # derived before by another rule: keep the first derivation
                self._firings.append(Firing(alt.rule, alt, matched, new))
            except Exception as e:  # noqa: BLE001 - recorded and raised after the assert
                self._errors.append(f"rule {alt.rule.id!r}: {type(e).__name__}: {e}")

        return fire

    def _install_flush(self, ruleset: Any) -> None:
        ruleset._flush_actions = self._lean_flush(ruleset)

    def _lean_flush(self, ruleset: Any) -> Any:
        import json

        import durable_rules_engine as c_engine  # type: ignore[import-not-found]

        fire = self._fire
        handle = ruleset._handle

        def flush(state: dict[str, Any], container: dict[str, Any], state_handle: Any, complete: Any) -> None:
            sid = state["sid"]
            try:
                while "message" in container:
                    name, message = next(iter(container.pop("message").items()))
                    fire[name](message, sid, ruleset)
                    result = c_engine.complete_and_start_action(handle, state_handle)
                    if result:
                        container["message"] = json.loads(result)
                complete(None, state)
            except BaseException as e:  # noqa: BLE001 - handed to the caller, as durable does
                c_engine.abandon_action(handle, state_handle)
                complete(e, None)

        return flush

    def ruleset(self, kb: Knowledge) -> str:
        """Register the knowledge base once; returns its ruleset name."""
        name = self._registered.get(kb.digest)
        if name is None:
            name = f"stretchwise-{kb.digest}"
            rules, alts = compile_ruleset(kb)
            self._fire.update({n: self._action(a) for n, a in alts.items()})
            self._fire["sink"] = lambda message, sid, ruleset: None
            self.host.register_rulesets({name: copy.deepcopy(rules)})
            self._install_flush(self.host.get_ruleset(name))
            self._registered[kb.digest] = name
        return name

    def run_other(self, name: str, build: Build, facts: list[dict[str, Any]]) -> tuple[list[Any], list[str]]:
        """Register another ruleset once by name, then run facts through it."""
        if name not in self._registered.values():
            rules, fires = build(lambda item: self._records.append(item))
            self._fire.update(fires)
            self._fire.setdefault("sink", lambda message, sid, ruleset: None)
            self.host.register_rulesets({name: copy.deepcopy(rules)})
            self._install_flush(self.host.get_ruleset(name))
            self._registered[name] = name
        self._records = []
        _, errors = self.run(name, facts)
        return self._records, errors

    def run(self, ruleset: str, facts: list[dict[str, Any]]) -> tuple[list[Firing], list[str]]:
        sid = str(next(self._sids))
        for fact in facts:
            fact["sid"] = sid
        self._firings, self._errors = [], []
        raised = False
        try:
            self.host.assert_facts(ruleset, facts)
            state = self.host.get_state(ruleset, sid)
            if "exception" in state:
                self._errors.append(str(state["exception"])[:300])
        except Exception as e:  # a batch that raised leaves actions pending
            raised = True
            self._errors.append(f"{type(e).__name__}: {e}")
        finally:
            if raised:
                rs = self.host.get_ruleset(ruleset)
                for _ in range(10_000):  # drain, or delete_state would crash the process
                    before = len(self._firings) + len(self._errors)
                    rs.dispatch()
                    if len(self._firings) + len(self._errors) == before:
                        break
            self.host.delete_state(ruleset, sid)
        return self._firings, self._errors


#: What builds another ruleset (the follow-up rules): given a ``record`` callback, the ruleset
#: in durable's JSON form and an action ``fire(message, sid, ruleset)`` for each rule name.
Build = Callable[[Callable[[Any], None]], tuple[dict[str, Any], dict[str, Callable[[dict[str, Any], str, Any], None]]]]

_HOST: _Host | None = None
_LOCK = threading.Lock()
_FIELDS: dict[str, frozenset[str]] = {}


def tested_fields(kb: Knowledge) -> frozenset[str]:
    """The answer fields some rule tests: the only ones worth asserting."""
    fields: set[str] = set()
    for rule in kb.rules:
        for alt in kb.alternatives[rule.id]:
            fields.update(t.answer for t in alt.facts + alt.negated if isinstance(t, AnswerTest))
    return frozenset(fields)


def facts_for(answers: Answers, fields: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """The answers as engine facts: one per scalar answer, one per list item."""
    from .answers import answer_items

    facts: list[dict[str, Any]] = []
    for q, v in answer_items(answers).items():
        if v is None or (fields is not None and q not in fields):
            continue
        for item in v if isinstance(v, list) else [v]:
            facts.append({"t": ANSWER, "q": q, "v": item})
    # Last, on purpose: negation in durable-rules is checked when a join
    # completes, and a $not over a fact that arrives later is never undone.
    facts.append({"t": PERSON})
    return facts


def infer(kb: Knowledge, answers: Answers) -> Inference:
    """Run the rules over one person's answers to their fixpoint."""
    global _HOST
    from .answers import answer_items

    fields = _FIELDS.get(kb.digest)
    if fields is None:
        fields = _FIELDS[kb.digest] = tested_fields(kb)
    facts = facts_for(answers, fields)
    with _LOCK:
        if _HOST is None:
            _HOST = _Host()
        name = _HOST.ruleset(kb)
        firings, errors = _HOST.run(name, facts)
    if errors:
        raise EngineError("the rule engine failed: " + "; ".join(errors))
    return Inference(answer_items(answers), list(firings))


def run_ruleset(name: str, build: Build, facts: list[dict[str, Any]]) -> list[Any]:
    """Run facts through another ruleset (``follow_up``) on the process's one Host, under its lock.

    The ruleset is built and registered the first time ``name`` is seen; a
    fact of each kind needs a sink rule, as in ``compile_ruleset``. Returns what
    its actions recorded, in firing order.
    """
    global _HOST
    with _LOCK:
        if _HOST is None:
            _HOST = _Host()
        records, errors = _HOST.run_other(name, build, facts)
    if errors:
        raise EngineError("the rule engine failed: " + "; ".join(errors))
    return records
