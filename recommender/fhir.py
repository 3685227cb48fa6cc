"""HL7 FHIR R4: ``content/questions.yaml`` as a ``Questionnaire``, and answers to
a ``QuestionnaireResponse`` (``fhir_response`` reads one back).

The form is the terminal questionnaire item for item, in its order, one group
per section; each ``linkId`` is an answers field. ``required`` is on the
answerable items only, never on a group: form tools (LHC-Forms among them)
read a required group as wanting an answer of its own, which a group cannot
give, and refuse the completed form. The safety screen is the group
``red_flags`` with one required yes/no item per flag (``red_flags.fever``):
"no red flags" is an explicit no to each, and a screen never answered is an
error, never an empty list. The skip logic is
``enableWhen``; where a field's default satisfies a condition, an ``exists
false`` alternative keeps it in step with the terminal (an unanswered optional
item means the default). Reading is as strict as the answers format, and every
error names the ``linkId``. ``fhir.resources`` (R4B models) is imported only
when needed.
"""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .answers import Answers, field_kind
from .conditions import AnyOf, NotOf, holds
from .errors import AnswersError
from .questions import SECTIONS, Question

if TYPE_CHECKING:
    from .knowledge import Knowledge

#: The canonical address of the questionnaire; it stays the same across versions.
BASE = "https://stretchwise.example/fhir"
URL = f"{BASE}/Questionnaire/stretchwise"
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
CONTROL_CODES = "http://hl7.org/fhir/questionnaire-item-control"
BOUND = "http://hl7.org/fhir/StructureDefinition/{}Value"

#: Where a canonical URL of the questionnaire is set for every command (``--url`` on the fhir commands).
URL_VARIABLE = "STRETCHWISE_FHIR_URL"
ITEM_TYPE = {"yes_no": "boolean", "number": "integer", "one_of": "choice", "any_of": "choice", "text": "string"}
VALUE_KEY = {"boolean": "valueBoolean", "integer": "valueInteger", "choice": "valueCoding", "string": "valueString"}
WORDS = {"boolean": "true or false", "integer": "an integer", "choice": "a coding", "string": "text"}
OPERATOR = {"at_least": ">=", "at_most": "<=", "more_than": ">", "less_than": "<"}
OPPOSITE = {"at_least": "<", "at_most": ">", "more_than": "<=", "less_than": ">="}
COMPARE = {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le}
#: A finished response; an in-progress one is refused (its unanswered items would read as defaults).
FINISHED = ("completed", "amended")

#: Terminal wording, as it should read in a form (which does not stop at the first yes).
IN_A_FORM = {
    r",? or press Enter for none": "",
    r" ?\(Press Enter[^)]*\)": "",
    r" ?Type the numbers[^.]*\.": "",
    r" ?[^.]*the questionnaire stops[^.]*\.": "",
    r"\by or n\b": "yes or no",
}


def _form_words(text: str) -> str:
    for pattern, new in IN_A_FORM.items():
        text = re.sub(pattern, new, text)
    return text.strip()


def code_system(field: str) -> str:
    """The code system of a choice field's codes: Stretchwise's own, whatever URL the questionnaire has."""
    return f"{BASE}/CodeSystem/{field}"


def default_url() -> str:
    """The questionnaire's canonical URL: ``$STRETCHWISE_FHIR_URL`` when set, else the placeholder."""
    return os.environ.get(URL_VARIABLE) or URL


def accepted_urls() -> list[str]:
    """The questionnaire URLs a response may answer: the placeholder and ``$STRETCHWISE_FHIR_URL``."""
    return list(dict.fromkeys([URL, default_url()]))


def check_url(url: str) -> str:
    """A canonical URL as given, or ValueError saying why it cannot be one."""
    if not re.fullmatch(r"https?://[^\s|#?/]+(/[^\s|#]*)?", url):
        raise ValueError(f"{url!r} is not a canonical URL (http:// or https://, no spaces, '|' or '#')")
    return url


# --------------------------------------------------------------------------- Questionnaire


def questionnaire(kb: Knowledge, url: str | None = None) -> dict[str, Any]:
    """The FHIR R4 Questionnaire for the knowledge base's questions (a plain JSON dict);
    ``url``: its canonical URL (default: ``default_url()``)."""
    sections: dict[str, list[dict[str, Any]]] = {}
    for q in kb.questions:
        sections.setdefault(q.section, []).append(_item(q))
    groups = [
        {"linkId": f"section-{name}", "text": SECTIONS[name], "type": "group", "item": items}
        for name, items in sections.items()
    ]
    if kb.check_in:
        groups.append(_check_in(kb))
    about = "Questions about a stiff neck, a tight upper back or low back pain, for a stretching routine."
    about += " Each linkId is a field of the Stretchwise answers format (version 1)."
    return {"resourceType": "Questionnaire", "id": "stretchwise", "url": check_url(url or default_url())} | {
        "version": kb.version,
        "name": "Stretchwise", "title": "Stretchwise: neck and back pain", "status": "active",
        "subjectType": ["Patient"], "description": about, "item": groups,
    }


def _item(q: Question) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if q.type == "number":
        item["extension"] = [{"url": BOUND.format(k), "valueInteger": getattr(q, k)} for k in ("min", "max")]
    item |= {"linkId": q.id, "text": _form_words(q.text), "type": ITEM_TYPE[q.type]}
    field = Answers.model_fields.get(q.id)
    if field is not None and field.is_required() and not q.ask_each:  # a group is never required: its items are
        item["required"] = True
    when, behaviour = _enable_when(q)
    item |= ({"enableWhen": when} if when else {}) | ({"enableBehavior": behaviour} if behaviour else {})
    children = [_help(q.id, q.help)]
    if q.ask_each:
        item["type"] = "group"
        children += [
            {"linkId": f"{q.id}.{c.value}", "text": c.text or c.label, "type": "boolean", "required": True}
            | ({"item": [_help(f"{q.id}.{c.value}", c.help)]} if c.help else {})
            for c in q.choices
        ]
    elif q.choices:
        if q.type == "any_of":
            item["repeats"] = True
        # The default is pre-selected, as in the terminal and the web form (an unanswered
        # optional item means the default: for equipment, a typical home).
        chosen = set(q.default if isinstance(q.default, list) else [q.default]) if q.has_default else set()
        item["answerOption"] = [
            {"valueCoding": {"system": code_system(q.id), "code": c.value, "display": c.label}}
            | ({"initialSelected": True} if c.value in chosen else {})
            for c in q.choices
        ]
    if q.type == "text":
        item["maxLength"] = q.max_length
    item["item"] = children
    return item


#: The item that turns the check-in on: a follow-up visit only (issue 20). Not an answers field.
FOLLOW_UP_ITEM = "follow_up_visit"


def _check_in(kb: Knowledge) -> dict[str, Any]:
    """The check-in of a follow-up visit: its items are enabled only when the form says it is one."""
    switch = {
        "linkId": FOLLOW_UP_ITEM,
        "text": "Is this a follow-up visit, two weeks or more after a first one with this form?",
        "type": "boolean",
        "item": [_help(FOLLOW_UP_ITEM, "Answer yes when you bring back the answers of an earlier visit.")],
    }
    when = [{"question": FOLLOW_UP_ITEM, "operator": "=", "answerBoolean": True}]
    items = [_item(q) | {"enableWhen": when} for q in kb.check_in]
    return {"linkId": "section-check_in", "text": SECTIONS["check_in"], "type": "group", "item": [switch, *items]}


def _help(link: str, text: str) -> dict[str, Any]:
    """A help text, which form tools show behind a "?" (the item-control extension)."""
    control = {"coding": [{"system": CONTROL_CODES, "code": "help", "display": "Help-Button"}]}
    extension = [{"url": ITEM_CONTROL, "valueCodeableConcept": control}]
    return {"extension": extension, "linkId": f"{link}.help", "text": _form_words(text), "type": "display"}


def _enable_when(q: Question) -> tuple[list[dict[str, Any]], str | None]:
    """``ask_when`` (all must hold) as enableWhen: one condition with alternatives, or several plain ones."""
    alternatives = [_alternatives(c) for c in q.ask_when]
    if len(alternatives) <= 1:
        return (alternatives or [[]])[0], "any" if alternatives and len(alternatives[0]) > 1 else None
    if all(len(a) == 1 for a in alternatives):
        return [a[0] for a in alternatives], "all"
    raise ValueError(
        f"question {q.id!r}: its ask_when needs both 'all' and 'any', which one enableWhen list cannot say"
    )


def _alternatives(cond: Any) -> list[dict[str, Any]]:
    """One ``ask_when`` condition as enableWhen entries of which any one must hold."""
    if isinstance(cond, AnyOf):
        return [e for c in cond.any for e in _alternatives(c)]
    test = cond.not_ if isinstance(cond, NotOf) else cond
    field, kind, values = test.answer, field_kind(test.answer), test.values()
    pairs: list[tuple[str, Any]]
    if isinstance(cond, NotOf):
        if kind == "bool":
            pairs = [("=", not values[0])]
        elif test.test in OPPOSITE:
            pairs = [(OPPOSITE[test.test], values[0])]
        else:
            raise ValueError(f"'not {test.describe()}' cannot be written as enableWhen")
    else:
        pairs = [(OPERATOR.get(test.test, "="), v) for v in values]
    key = {"bool": "answerBoolean", "int": "answerInteger"}.get(kind, "answerCoding")
    out = [
        {"question": field, "operator": op, key: v if key != "answerCoding" else {"system": code_system(field), "code": v}}
        for op, v in pairs
    ]
    model = Answers.model_fields[field]
    if not model.is_required() and holds(cond, {field: model.default}):
        out.append({"question": field, "operator": "exists", "answerBoolean": False})
    return out


# --------------------------------------------------------------------------- enableWhen


def walk(items: Any, parent: str | None = None, where: str = "") -> Iterator[tuple[dict[str, Any], str | None]]:
    """Every item of a Questionnaire or QuestionnaireResponse with its parent's linkId, in document order."""
    if items is None:
        return
    if not isinstance(items, list):
        raise AnswersError(f"{where}: item must be a list")
    for it in items:
        if not isinstance(it, dict) or not isinstance(it.get("linkId"), str):
            raise AnswersError(f"{where}: every item needs a linkId (text)")
        yield it, parent
        link = it["linkId"]
        yield from walk(it.get("item"), link, f"{where}: linkId {link!r}")
        answers = it.get("answer")
        for a in answers if isinstance(answers, list) else []:
            if isinstance(a, dict):
                yield from walk(a.get("item"), link, f"{where}: linkId {link!r}")


def enabled(form: dict[str, Any], answered: dict[str, list[Any]]) -> set[str]:
    """The linkIds enabled under FHIR's enableWhen rules, given each item's answer values (booleans,
    integers, text, codes). A disabled item counts as unanswered for the items that look at it."""
    items = {it["linkId"]: (it, parent) for it, parent in walk(form["item"])}
    memo: dict[str, bool] = {}

    def on(link: str) -> bool:
        if link not in memo:
            memo[link] = False  # a cycle (which check reports) reads as disabled
            it, parent = items[link]
            tests = [holds_when(e) for e in it.get("enableWhen", [])]
            ok = any(tests) if it.get("enableBehavior") == "any" else all(tests)
            memo[link] = ok and (parent is None or on(parent))
        return memo[link]

    def holds_when(e: dict[str, Any]) -> bool:
        link = e["question"]
        values = answered.get(link, []) if link in items and on(link) else []
        if e["operator"] == "exists":
            return bool(values) is bool(e["answerBoolean"])
        key = next(k for k in e if k.startswith("answer"))
        target = e[key]["code"] if key == "answerCoding" else e[key]
        return any(_compare(v, e["operator"], target) for v in values)

    return {link for link in items if on(link)}


def _compare(value: Any, operator: str, target: Any) -> bool:
    if type(value) is not type(target):  # True is not 1
        return operator == "!="
    if operator in ("=", "!="):
        return bool(value == target) is (operator == "=")
    return isinstance(value, int) and COMPARE[operator](value, target) is True


def enable_words(it: dict[str, Any]) -> str:
    parts = []
    for e in it.get("enableWhen", []):
        key = next(k for k in e if k.startswith("answer"))
        value = e[key]["code"] if key == "answerCoding" else str(e[key]).lower()
        op = e["operator"]
        parts.append(f"{e['question']} {'is unanswered' if (op, value) == ('exists', 'false') else f'{op} {value}'}")
    return f" {it.get('enableBehavior', 'all').replace('all', 'and').replace('any', 'or')} ".join(parts)


# --------------------------------------------------------------------------- QuestionnaireResponse


def _answer(it: dict[str, Any], value: Any) -> dict[str, Any]:
    if it["type"] == "choice":
        return {"valueCoding": next(o["valueCoding"] for o in it["answerOption"] if o["valueCoding"]["code"] == value)}
    return {VALUE_KEY[it["type"]]: value}


def to_response(answers: Answers, kb: Knowledge, label: str = "answers", url: str | None = None) -> dict[str, Any]:
    """Answers as a completed QuestionnaireResponse to the questionnaire at ``url`` (default:
    ``default_url()``). A field the questionnaire would not ask with these answers must hold
    its default: a response cannot carry it."""
    form = questionnaire(kb, url)
    data = answers.model_dump(mode="json")
    given = answers.model_fields_set | {n for n, f in Answers.model_fields.items() if f.is_required()}
    answered: dict[str, list[Any]] = {}
    problems = []
    for q in kb.questions + kb.check_in:
        if q.ask_each:
            answered |= {f"{q.id}.{c.value}": [c.value in data[q.id]] for c in q.choices}
        elif q.id in given and data[q.id] not in (None, [], ""):
            answered[q.id] = data[q.id] if isinstance(data[q.id], list) else [data[q.id]]
        elif q.id in given and data[q.id] == [] and q.has_default and q.default != []:
            # An item with no answer reads as its default, so "none of these" cannot be said.
            why = f"an empty list reads back as the default {q.default!r}"
            problems.append({"field": q.id, "message": f"{why}, so a QuestionnaireResponse cannot hold []"})
    if any(q.id in answered for q in kb.check_in):  # a follow-up visit says so
        answered[FOLLOW_UP_ITEM] = [True]
    on = enabled(form, answered)
    items = {it["linkId"]: it for it, _ in walk(form["item"])}
    for link in [k for k in answered if k not in on]:
        del answered[link]
        if link in Answers.model_fields and data[link] != Answers.model_fields[link].default:
            why = f"not asked with these answers (only when {enable_words(items[link])})"
            problems.append({"field": link, "message": f"{why}, so a QuestionnaireResponse cannot hold {data[link]!r}"})
    if problems:
        raise AnswersError("\n".join(f"{label}: {p['field']}: {p['message']}" for p in problems), problems)

    def fill(children: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for it in children:
            base = {"linkId": it["linkId"], "text": it["text"]}
            if it["type"] == "group" and (inner := fill(it["item"])):
                out.append(base | {"item": inner})
            elif it["linkId"] in answered:
                out.append(base | {"answer": [_answer(it, v) for v in answered[it["linkId"]]]})
        return out

    reference = f"{form['url']}|{form['version']}"
    return {"resourceType": "QuestionnaireResponse", "questionnaire": reference, "status": "completed"} | {
        "item": fill(form["item"])
    }
