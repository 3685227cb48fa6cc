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
* a person runs through durable-rules' C engine directly (``_Host``), not its
  Python glue; an error mid-cascade is recorded, the pending actions drained,
  and raised after the session is deleted (durable would swallow it);
* a finding derived twice is refused as already known (return code 2): it is
  expected, and the first derivation is the one explanations use;
* one session alive at a time: the C engine crashed (``free(): invalid
  size``) with several.
"""

from __future__ import annotations

import itertools
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

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


class Firing(NamedTuple):
    """One rule firing: which alternative matched which facts, and what it concluded."""

    rule: Rule
    alternative: Alternative
    #: the facts it matched, or the activation as durable-rules sent it (JSON text),
    #: decoded only when ``matched`` is read (the audit view and the tests read it)
    facts: tuple[dict[str, Any], ...] | str
    new: bool = True  # False when the finding it concluded was already known

    @property
    def then(self) -> Then:
        return self.rule.then

    @property
    def matched(self) -> tuple[dict[str, Any], ...]:
        """The facts the rule matched, in the order of its conditions (without the session id)."""
        if not isinstance(self.facts, str):
            return self.facts
        import json

        message = next(iter(json.loads(self.facts).values()))
        return _strip(message, len(self.alternative.facts))


def _strip(message: dict[str, Any], count: int) -> tuple[dict[str, Any], ...]:
    return tuple({k: v for k, v in message[f"f{i}"].items() if k != "sid"} for i in range(count))


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
    """The process's one durable-rules Host and the rulesets registered with it.

    durable-rules registers and compiles the rulesets; a person is then run by
    calling its C engine directly (``_run_direct``): assert the person's facts
    (pre-encoded JSON), then for each activation the C engine hands back, read
    the rule's name from the front of its JSON text, assert the finding it
    concludes ("already known" is the return code), record the firing (its
    matched facts stay JSON text until someone reads them) and ask for the next
    activation; at the end, delete the session. Matching, joins, agenda and
    fact identity stay durable's. durable-rules' own Python glue (a Closure, two
    clock reads, a JSON round trip of the session state per firing) is still
    here, for comparison only: ``stock_host()`` runs through it, and
    tests/test_engine.py checks that both fire exactly the same.

    Only one session is ever alive at a time: the C engine crashed with
    ``free(): invalid size`` when several were.
    """

    #: False: run through durable-rules' own Python glue (``stock_host``)
    lean = True

    def __init__(self) -> None:
        import durable_rules_engine  # type: ignore[import-not-found]
        from durable.engine import Host, MessageObservedException  # type: ignore[import-untyped]

        self._c = durable_rules_engine
        self._observed = MessageObservedException
        self._fire: dict[str, Any] = {}
        self._direct: dict[str, tuple[Alternative, str | None]] = {}
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
        """What happens when one alternative of a rule fires, through durable-rules' own glue."""
        finding = alt.rule.then.finding
        observed = self._observed

        def fire(message: dict[str, Any], sid: str, ruleset: Any) -> None:
            try:
                matched = _strip(message, len(alt.facts))
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

    def ruleset(self, kb: Knowledge) -> str:
        """Register the knowledge base once; returns its ruleset name."""
        name = self._registered.get(kb.digest)
        if name is None:
            name = f"stretchwise-{kb.digest}"
            rules, alts = compile_ruleset(kb)
            self._fire.update({n: self._action(a) for n, a in alts.items()})
            self._fire["sink"] = lambda message, sid, ruleset: None
            self._direct.update({n: (a, _finding_json(a.rule.then.finding)) for n, a in alts.items()})
            self.host.register_rulesets({name: rules})  # takes each rule's "run" out: a fresh dict, no copy needed
            self._registered[kb.digest] = name
        return name

    def handle(self, kb: Knowledge) -> Any:
        """The C engine's handle of the knowledge base's ruleset."""
        return self.host.get_ruleset(self.ruleset(kb))._handle

    def run_other(self, name: str, build: Build, facts: list[dict[str, Any]]) -> tuple[list[Any], list[str]]:
        """Register another ruleset once by name, then run facts through it with durable-rules'
        own glue (a handful of rules, once per follow-up: the direct path is not worth it here)."""
        if name not in self._registered.values():
            rules, fires = build(lambda item: self._records.append(item))
            self._fire.update(fires)
            self._fire.setdefault("sink", lambda message, sid, ruleset: None)
            self.host.register_rulesets({name: rules})
            self._registered[name] = name
        self._records, self._firings, self._errors = [], [], []
        sid = str(next(self._sids))
        self._run_stock(name, [dict(f, sid=sid) for f in facts])
        return self._records, self._errors

    def run(self, ruleset: str, facts: list[dict[str, Any]]) -> tuple[list[Firing], list[str]]:
        """Run one person's facts to the fixpoint in a fresh session: the firings, and any errors."""
        sid = str(next(self._sids))
        self._firings, self._errors = [], []
        if self.lean:
            self._run_direct(self.host.get_ruleset(ruleset)._handle, facts, sid)
        else:
            self._run_stock(ruleset, [dict(f, sid=sid) for f in facts])
        return self._firings, self._errors

    def _run_direct(self, handle: Any, facts: list[dict[str, Any]], sid: str) -> None:
        c, direct, firings = self._c, self._direct, self._firings
        tail = f'"{sid}"}}'
        body = "[" + ",".join(encode(f) + tail for f in facts) + "]"
        state = None
        try:
            code, state = c.assert_facts(handle, body)
            if code != 0:  # 1: a fact no rule handles, 2: the same fact twice (a bug either way)
                raise EngineError(f"durable-rules refused the facts (code {code})")
            result = c.start_action_for_state(handle, state)
            message = result[1] if result else None
            while message:
                name = message[2 : message.index('"', 2)]  # {"rule#0":{...}}
                alt, finding = direct[name]
                new = True
                if finding is not None:
                    code = c.assert_fact(handle, finding + tail)[0]
                    if code == 2:
                        new = False  # derived before by another rule: keep the first derivation
                    elif code != 0:
                        raise EngineError(f"durable-rules refused finding {alt.rule.then.finding!r} (code {code})")
                firings.append(Firing(alt.rule, alt, message, new))
                message = c.complete_and_start_action(handle, state)
        except Exception as e:
            self._errors.append(f"{type(e).__name__}: {e}")
            if state is not None:
                self._drain(handle, state)
        finally:
            c.delete_state(handle, sid)

    def _drain(self, handle: Any, state: Any) -> None:
        """After an error mid-cascade, finish the pending actions, or delete_state would crash."""
        c = self._c
        for _ in range(10_000):  # complete each pending action without running it
            try:
                if c.complete_and_start_action(handle, state):
                    continue
            except Exception:  # noqa: BLE001 - no action was in progress
                pass
            try:
                if not c.start_action_for_state(handle, state):
                    return
            except Exception:  # noqa: BLE001 - the session is gone
                return

    def _run_stock(self, ruleset: str, facts: list[dict[str, Any]]) -> None:
        sid = facts[0]["sid"]
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


def stock_host() -> _Host:
    """A Host that runs every firing through durable-rules' own Python glue, to compare
    with the direct path (tests/test_engine.py, benchmarks/run.py). Use it from the
    thread that uses the engine, one session at a time."""
    host = _Host()
    host.lean = False
    return host


def _finding_json(finding: str | None) -> str | None:
    """A derived finding's fact as JSON, up to its session id."""
    import json

    return None if finding is None else '{"t":"' + FINDING + '","id":' + json.dumps(finding) + ',"sid":'


_ENCODED: dict[tuple[str, type, Any], str] = {}


def encode(fact: dict[str, Any]) -> str:
    """A fact as JSON, up to its session id: ``{"t":"a","q":"pain","v":5,"sid":`` (remembered:
    answers take few distinct values)."""
    key = (fact.get("q", ""), type(fact.get("v")), fact.get("v"))
    text = _ENCODED.get(key)
    if text is None:
        import json

        text = json.dumps(fact, ensure_ascii=False)[:-1] + ',"sid":'
        if len(_ENCODED) < 10_000:
            _ENCODED[key] = text
    return text


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

    return _facts(answer_items(answers), fields)


def _facts(items: dict[str, Any], fields: frozenset[str] | None) -> list[dict[str, Any]]:
    facts: list[dict[str, Any]] = []
    for q, v in items.items():
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
    items = answer_items(answers)
    facts = _facts(items, fields)
    with _LOCK:
        if _HOST is None:
            _HOST = _Host()
        name = _HOST.ruleset(kb)
        firings, errors = _HOST.run(name, facts)
    if errors:
        raise EngineError("the rule engine failed: " + "; ".join(errors))
    return Inference(items, list(firings))


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
