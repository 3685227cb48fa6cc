"""Reading a FHIR R4 ``QuestionnaireResponse`` to the Stretchwise questionnaire as answers.

Reading is as strict as the answers format: the response is checked against
the questionnaire made from the knowledge base in use (so ``--knowledge-dir``
and the web app's knowledge base count), every value is strictly typed, an
item the form would not enable is refused, and every error names the
``linkId``. The response must answer this questionnaire at its placeholder
URL or at the clinic's own, ``$STRETCHWISE_FHIR_URL`` (any version).
``fhir.resources`` (R4B models) checks the rest (ids, dates,
references) and is imported only when a response is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .answers import MAX_PROBLEMS, Answers, parse_answers
from .errors import AnswersError
from .fhir import (
    FINISHED,
    URL,
    URL_VARIABLE,
    VALUE_KEY,
    WORDS,
    accepted_urls,
    code_system,
    enable_words,
    enabled,
    questionnaire,
    walk,
)
from .reading import key_text, short

if TYPE_CHECKING:
    from .knowledge import Knowledge


def from_response(data: dict[str, Any], label: str, kb: Knowledge) -> Answers:
    """A QuestionnaireResponse to the Stretchwise questionnaire as answers; AnswersError names the linkId."""
    kind, ref, status = data.get("resourceType"), data.get("questionnaire"), data.get("status")
    if kind != "QuestionnaireResponse":
        message = f"a FHIR {key_text(kind)} resource, not answers; expected a QuestionnaireResponse"
        raise _error(label, [{"field": "resourceType", "message": message}], named=False)
    urls = accepted_urls()
    if not isinstance(ref, str) or ref.partition("|")[0] not in urls:
        whose = f"answers another questionnaire ({ref if ref.isprintable() and len(ref) <= 200 else short(ref)})" if isinstance(ref, str) else "missing"
        expected = " or ".join(urls)
        if len(urls) == 1:
            expected += f" (a clinic's own URL is read when ${URL_VARIABLE} is set to it)"
        raise _error(label, [{"field": "questionnaire", "message": f"{whose}; expected {expected}"}], named=False)
    if status not in FINISHED:
        hint = "not finished yet" if status == "in-progress" else "not a finished response"
        message = f"{status!r} is {hint}; only a completed response can be used"
        raise _error(label, [{"field": "status", "message": message}], named=False)
    form = questionnaire(kb, URL)
    items = {it["linkId"]: it for it, _ in walk(form["item"])}
    problems: list[dict[str, str]] = []

    def bad(link: str, message: str) -> None:
        problems.append({"field": link, "message": message})

    seen: dict[str, list[Any]] = {}
    for it, _ in walk(data.get("item"), None, label):
        link, answers = it["linkId"], it.get("answer", [])
        spec = items.get(link)
        if spec is None:
            bad(link, "not an item of the Stretchwise questionnaire")
        elif link in seen:
            bad(link, "appears twice")
        elif not isinstance(answers, list):
            bad(link, "answer must be a list")
        elif spec["type"] in ("group", "display"):
            seen[link] = []
            if answers:
                bad(link, f"a {spec['type']} item takes no answer")
        else:
            read = [_read(spec, a) for a in answers]
            problems += [{"field": link, "message": why} for _, why in read if why]
            if len(read) > 1 and not spec.get("repeats"):
                bad(link, f"takes one answer (got {len(read)})")
            seen[link] = [v for v, _ in read]
    on = enabled(form, seen)
    for link, it in items.items():
        if seen.get(link) and link not in on:
            bad(link, f"answered, but not enabled: it is asked only when {enable_words(it)}")
        elif it.get("required") and it["type"] != "group" and link in on and not seen.get(link):
            bad(link, "required, but not answered")
    if problems:
        raise _error(label, problems)
    out: dict[str, Any] = {}
    for q in kb.questions + kb.check_in:  # the check-in: a follow-up visit only (issue 20)
        if q.ask_each:
            out[q.id] = [c.value for c in q.choices if seen.get(f"{q.id}.{c.value}") == [True]]
        elif seen.get(q.id):
            out[q.id] = seen[q.id] if items[q.id].get("repeats") else seen[q.id][0]
    try:
        person = parse_answers(out, label)
    except AnswersError as e:
        raise _error(label, [{"field": p["field"].split("[")[0], "message": p["message"]} for p in e.problems]) from None
    wrong = model_problems(data, label)  # the rest: ids, dates, references
    if wrong:
        raise AnswersError("\n".join(wrong))
    return person


def _read(spec: dict[str, Any], answer: Any) -> tuple[Any, str | None]:
    """One answer's value, strictly typed (``"5"`` is not an integer), or why it is not one."""
    want = VALUE_KEY[spec["type"]]
    keys = [k for k in answer if k.startswith("value")] if isinstance(answer, dict) else []
    if keys != [want]:
        got = f"{keys[0]} {answer[keys[0]]!r:.40}" if len(keys) == 1 else "no single value"
        return None, f"must be {WORDS[spec['type']]} ({want}), got {got}"
    value = answer[want]
    if spec["type"] == "choice":
        codes, system = [o["valueCoding"]["code"] for o in spec["answerOption"]], code_system(spec["linkId"])
        coding = value if isinstance(value, dict) else {}
        ours = coding.get("system", system) == system
        if coding.get("code") not in codes or not ours:
            shown = repr(coding.get("code")) if ours else f"{coding['system']}|{coding.get('code')}"
            return None, f"{shown} is not one of its answer options ({', '.join(codes)})"
        return coding["code"], None
    kind = {"boolean": bool, "integer": int, "string": str}[spec["type"]]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        return None, f"must be {WORDS[spec['type']]} (got {value!r:.40})"
    return value, None


def _error(label: str, problems: list[dict[str, str]], named: bool = True) -> AnswersError:
    """One error listing the problems; ``named``: the field is a linkId of a response."""
    problems = [p | {"field": f"linkId {p['field']!r}"} for p in problems] if named else problems
    return AnswersError("\n".join(f"{label}: {p['field']}: {p['message']}" for p in problems), problems)


def model_problems(resource: dict[str, Any], where: str) -> list[str]:
    """What the FHIR R4B model of the resource's type finds wrong with it, one line each."""
    import importlib

    from pydantic import ValidationError

    kind = resource["resourceType"]
    try:
        getattr(importlib.import_module(f"fhir.resources.R4B.{kind.lower()}"), kind).model_validate(resource)
    except ValidationError as e:
        found = [f"{where}: {_place(resource, x['loc'])}: {x['msg'].removeprefix('Value error, ')}" for x in e.errors()]
        if len(found) > MAX_PROBLEMS:
            found = found[:MAX_PROBLEMS] + [f"{where}: and {len(found) - MAX_PROBLEMS} more problems like these"]
        return found
    return []


def _place(data: Any, loc: tuple[Any, ...]) -> str:
    """A pydantic location in the resource, named by the nearest linkId."""
    node, link, rest = data, None, list[str]()
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
        if isinstance(node, dict) and isinstance(node.get("linkId"), str):
            link, rest = node["linkId"], []
        else:
            rest.append(f"[{part}]" if isinstance(part, int) else f".{key_text(part)}")
    path = "".join(rest).lstrip(".") or "(top level)"
    return f"linkId {link!r}: {path}" if link else path
