"""Load and validate the knowledge base: ``rules/*.yaml`` and ``content/*.yaml``.

Every file is read by the one strict reader (``reading``: a key given twice is
an error) and checked by a strict pydantic model (``content``); a mistake
names the file, the rule or item id and the field. Cross-file checks (does the
finding a rule names exist?) run here too, so a loaded ``Knowledge`` is always
whole. ``stretchwise check`` adds the checks over the knowledge as a whole
(reachability, coverage) in ``checks/``.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .cache import cached_object
from .conditions import AnyOf, Condition, FindingTest
from .content import Alternative, ContentFile, Rule, RuleFile, alternatives
from .errors import KnowledgeError
from .follow_up_rules import FollowUpFile, problems as follow_up_problems
from .paths import default_root
from . import reading

# --------------------------------------------------------------------------- the whole


class Knowledge:
    """The loaded, validated and cross-checked knowledge base."""

    def __init__(
        self,
        root: Path,
        rules: list[tuple[str, Rule]],
        content: ContentFile,
        digest: str,
        follow_up: FollowUpFile | None = None,
    ) -> None:
        self.root = root
        self.rules = [r for _, r in rules]
        self.rule_files = {r.id: f for f, r in rules}
        self.by_rule = {r.id: r for r in self.rules}
        self.sources = {s.id: s for s in content.sources}
        self.exercises = {e.id: e for e in content.exercises}
        self.findings = {f.id: f for f in content.findings}
        self.advice = {a.id: a for a in content.advice}
        self.phrases = {p.field: p for p in content.phrases}
        # in the order they are asked; the check-in only on a follow-up visit (issue 20)
        self.questions = [q for q in content.questions if not q.follow_up]
        self.check_in = [q for q in content.questions if q.follow_up]
        assert content.meta is not None
        self.meta = content.meta
        self.digest = digest
        #: rules/follow_up.yaml: the check-in rules of a follow-up visit (issue 20)
        self.follow_up = follow_up

    @property
    def version(self) -> str:
        """The knowledge base's version (``content/meta.yaml``)."""
        return self.meta.version

    @cached_property
    def alternatives(self) -> dict[str, list[Alternative]]:
        """Each rule's conditions as conjunctions (``content.alternatives``), by rule id."""
        return {rule.id: alternatives(rule) for rule in self.rules}

    @cached_property
    def covered(self) -> dict[str, frozenset[tuple[str, str]]]:
        """For each exclusion rule, the (exercise, variant) pairs its selector covers."""
        return {
            rule.id: frozenset(
                (ex.id, v.id)
                for ex in self.exercises.values()
                for v in ex.variants
                if rule.then.exclude.matches(ex.properties(v))
            )
            for rule in self.rules
            if rule.then.exclude is not None
        }

    @cached_property
    def exercise_order(self) -> dict[str, int]:
        """Library order, the last tie-break when ranking exercises."""
        return {eid: i for i, eid in enumerate(self.exercises)}



#: The follow-up visit's rules: in rules/, with a shape of their own.
FOLLOW_UP_FILE = "follow_up.yaml"

_SINGULAR = {
    "rules": "rule",
    "exercises": "exercise",
    "findings": "finding",
    "advice": "advice",
    "sources": "source",
    "questions": "question",
    "variants": "variant",
}


def _loc(loc: tuple[Any, ...], data: Any) -> str:
    """A pydantic location in our words, naming list items by their id.

    ``('rules', 0, 'when', 1, 'answer-test', 'at_least')`` becomes
    ``rule 'sitting-tightens-hip-flexors': when[1].at_least``.
    """
    out = ""
    node, parent = data, None
    for item in loc:
        if isinstance(item, str) and ("-" in item or "[" in item):
            continue  # pydantic's names for union members and validators, not keys
        if isinstance(item, int):
            child = node[item] if isinstance(node, list) and 0 <= item < len(node) else None
            ident = child.get("id") if isinstance(child, dict) else None
            if ident and parent is not None and parent in _SINGULAR:
                out = out[: -len(parent)].rstrip(".")
                out += f"{': ' if out and not out.endswith(': ') else ''}{_SINGULAR[parent]} {ident!r}: "
            else:
                out += f"[{item}]"
            node = child
        else:
            out += ("." if out and not out.endswith(": ") else "") + item
            node = node.get(item) if isinstance(node, dict) else None
            parent = item
    return out.rstrip(": ")


def _read_yaml(path: Path, label: str) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise KnowledgeError(f"{label}: cannot read: {e.strerror}") from None
    text = reading.decode(raw, label, reading.KNOWLEDGE, KnowledgeError)
    return reading.load_yaml(text, label, reading.KNOWLEDGE, KnowledgeError)


def _validate(model: type[BaseModel], data: Any, label: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            where = _loc(tuple(err["loc"]), data)
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{label}: {where}: {msg}" if where else f"{label}: {msg}")
        raise KnowledgeError("\n".join(dict.fromkeys(lines))) from None


def load_knowledge(root: str | Path | None = None) -> Knowledge:
    """Load and validate ``rules/`` and ``content/`` under ``root``."""
    base = Path(root) if root is not None else default_root()
    rules_dir, content_dir = base / "rules", base / "content"
    for d in (rules_dir, content_dir):
        if not d.is_dir():
            raise KnowledgeError(f"{d}: no such folder (the knowledge base needs rules/ and content/)")
    files = [("rules", p) for p in sorted(rules_dir.glob("*.yaml"))]
    files += [("content", p) for p in sorted(content_dir.glob("*.yaml"))]
    digest = hashlib.sha256()
    for folder, path in files:
        try:
            digest.update(f"{folder}/{path.name}\0".encode() + path.read_bytes() + b"\0")
        except OSError as e:
            raise KnowledgeError(f"{folder}/{path.name}: cannot read: {e.strerror}") from None
    key = digest.hexdigest()[:12]
    kb = cached_object(f"knowledge-{key}-{_models_digest()}", lambda: _load(base, files, key))
    kb.root = base
    return kb


def _models_digest() -> str:
    """A hash of the modules that define what a loaded knowledge base holds: a cached copy
    made by other code (a changed model, in development) is never read back."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in ("answers.py", "conditions.py", "questions.py", "content.py", "follow_up_rules.py", "knowledge.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:8]


def _load(base: Path, files: list[tuple[str, Path]], digest: str) -> Knowledge:
    problems: list[str] = []  # every file is checked before any error is raised

    def parse(path: Path, label: str, model: type[BaseModel]) -> Any:
        try:
            data = _read_yaml(path, label)
            return _validate(model, data, label)
        except KnowledgeError as e:
            problems.append(str(e))
            return None

    rules: list[tuple[str, Rule]] = []
    follow_up = None
    for path in (p for folder, p in files if folder == "rules"):
        label = f"rules/{path.name}"
        if path.name == FOLLOW_UP_FILE:  # its own shape: check-in rules (follow_up_rules)
            follow_up = parse(path, label, FollowUpFile)
            continue
        parsed = parse(path, label, RuleFile)
        if parsed is not None:
            rules.extend((label, r) for r in parsed.rules)
    merged: dict[str, list[Any]] = {}
    meta = None
    for path in (p for folder, p in files if folder == "content"):
        label = f"content/{path.name}"
        parsed_c = parse(path, label, ContentFile)
        if parsed_c is None:
            continue
        for key in ("sources", "exercises", "findings", "advice", "phrases", "questions"):
            merged.setdefault(key, []).extend((label, x) for x in getattr(parsed_c, key))
        if parsed_c.meta is not None:
            if meta is not None:
                problems.append(f"{label}: meta is defined twice")
            meta = parsed_c.meta
    if problems:
        raise KnowledgeError("\n".join(problems))
    if meta is None:
        raise KnowledgeError("content/: no file defines meta (version, levels, stop_rule)")
    content = ContentFile(**{k: [x for _, x in v] for k, v in merged.items()}, meta=meta)
    _cross_check(rules, merged, content)
    if follow_up is not None:
        found = follow_up_problems(follow_up, {s.id for s in content.sources}, {e.id: e for e in content.exercises}, f"rules/{FOLLOW_UP_FILE}")
        if found:
            raise KnowledgeError("\n".join(found))
    kb = Knowledge(base, rules, content, digest, follow_up)
    # Derived tables, worked out once here so that the cached copy carries them.
    for table in ("alternatives", "covered", "exercise_order"):
        getattr(kb, table)
    return kb


def _cross_check(rules: list[tuple[str, Rule]], merged: dict[str, list[Any]], content: ContentFile) -> None:
    """What one file cannot check alone: unique ids, and names that must exist."""
    problems: list[str] = []
    for key, items in [("rule", rules)] + [(k.rstrip("s"), v) for k, v in merged.items()]:
        seen: dict[str, str] = {}
        for label, item in items:
            ident = str(getattr(item, "id", None) or getattr(item, "field", ""))
            if ident in seen:
                problems.append(f"{label}: {key} {ident!r}: already defined in {seen[ident]}")
            seen[ident] = label
    sources = {s.id for s in content.sources}
    findings = {f.id for f in content.findings}
    exercises = {e.id: e for e in content.exercises}
    advice = {a.id for a in content.advice}
    assert content.meta is not None
    equipment = set(content.meta.equipment)
    cited = ("exercises", "findings", "advice")
    for label, item in [(lb, x) for k, v in merged.items() if k in cited for lb, x in v]:
        if item.source not in sources:
            problems.append(f"{label}: {item.id!r}: source: {item.source!r} is not in content/sources.yaml")
    for label, item in merged.get("advice", []):
        for eid in item.goes_with:
            if eid not in exercises:
                problems.append(f"{label}: {item.id!r}: goes_with: unknown exercise {eid!r}")
    movements = set(content.meta.movements)
    for label, ex in merged.get("exercises", []):
        if ex.followed_by is not None and (ex.followed_by not in exercises or ex.followed_by == ex.id):
            problems.append(f"{label}: {ex.id!r}: followed_by: {ex.followed_by!r} is not another exercise")
        for ld in sorted(set(ex.loads).union(*(v.loads for v in ex.variants)) - movements):
            problems.append(f"{label}: {ex.id!r}: loads: {ld!r} is not a movement in content/meta.yaml")
        for v in ex.variants:
            for eq in v.equipment:
                if eq not in equipment:
                    problems.append(f"{label}: {ex.id!r}: variant {v.id!r}: unknown equipment {eq!r}")
    for label, rule in rules:
        where = f"{label}: rule {rule.id!r}"
        if rule.source not in sources:
            problems.append(f"{where}: source: {rule.source!r} is not in content/sources.yaml")
        for name in _finding_names(rule.when):
            if name not in findings:
                problems.append(f"{where}: when: unknown finding {name!r}")
        t = rule.then
        if t.finding is not None and t.finding not in findings:
            problems.append(f"{where}: then.finding: unknown finding {t.finding!r}")
        if t.indicate is not None and t.indicate not in exercises:
            problems.append(f"{where}: then.indicate: unknown exercise {t.indicate!r}")
        if t.requires is not None and (t.requires not in exercises or t.requires == t.indicate):
            problems.append(f"{where}: then.requires: {t.requires!r} is not another exercise")
        if t.advise is not None and t.advise not in advice:
            problems.append(f"{where}: then.advise: unknown advice {t.advise!r}")
        if t.exclude is not None:
            for eid in t.exclude.id or ():
                if eid not in exercises:
                    problems.append(f"{where}: then.exclude.id: unknown exercise {eid!r}")
            for eq in t.exclude.equipment or ():
                if eq not in equipment:
                    problems.append(f"{where}: then.exclude.equipment: unknown equipment {eq!r}")
            for ld in t.exclude.loads or ():
                if ld not in movements:
                    problems.append(f"{where}: then.exclude.loads: {ld!r} is not a movement in content/meta.yaml")
    if problems:
        raise KnowledgeError("\n".join(problems))


def _finding_names(conditions: list[Condition]) -> list[str]:
    names: list[str] = []
    for c in conditions:
        if isinstance(c, FindingTest):
            names.append(c.finding)
        elif isinstance(c, AnyOf):
            names.extend(_finding_names(c.any))
    return names
