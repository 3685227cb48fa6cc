"""The FHIR Questionnaire made from the questions: what the FHIR model does not check."""

from __future__ import annotations

from ..answers import Answers, field_choices
from ..fhir import URL, questionnaire, walk
from ..fhir_response import model_problems
from ..knowledge import Knowledge


def check_fhir(kb: Knowledge) -> list[str]:
    """What the FHIR model does not check: unique linkIds, enableBehavior, enableWhen order, codes, and
    ``required``: as the answers format has it on the answerable items, on every yes/no item of the
    safety screen, and on no group."""
    where = "FHIR Questionnaire (from content/questions.yaml)"
    try:
        form = questionnaire(kb, URL)
    except (ValueError, KeyError) as e:
        return [f"{where}: cannot be written: {e}"]
    problems = model_problems(form, where)
    earlier: dict[str, str] = {}
    for it, _ in walk(form["item"], where=where):
        link, at = it["linkId"], f"{where}: linkId {it['linkId']!r}"
        if link in earlier:
            problems.append(f"{at}: used twice; every linkId must be unique")
        conditions = it.get("enableWhen", [])
        if (len(conditions) > 1) != ("enableBehavior" in it):
            problems.append(f"{at}: enableBehavior goes with two or more enableWhen, and they need it")
        for cond in conditions:
            if earlier.get(cond["question"]) in (None, "group", "display"):
                problems.append(f"{at}: enableWhen looks at {cond['question']!r}, which is not an earlier question")
        if it["type"] == "group" and "required" in it:
            # form tools (LHC-Forms) read a required group as wanting an answer of its own and refuse the form
            problems.append(f"{at}: a group is never required (form tools would want an answer of its own)")
        if link in Answers.model_fields:
            if it["type"] == "group":  # one yes/no item per choice (the safety screen): each is required
                loose = [c["linkId"] for c in it["item"] if c["type"] == "boolean" and c.get("required") is not True]
                if loose:
                    problems.append(f"{at}: its yes/no items {loose} must be required, so that none is left unsaid")
            elif bool(it.get("required")) != Answers.model_fields[link].is_required():
                problems.append(f"{at}: required is {bool(it.get('required'))}, unlike the answers format")
            if it["type"] == "group":
                codes = [c["linkId"].removeprefix(f"{link}.") for c in it["item"] if c["type"] == "boolean"]
            else:
                codes = [o["valueCoding"]["code"] for o in it.get("answerOption", [])]
            if (codes or it["type"] in ("choice", "group")) and sorted(codes) != sorted(map(str, field_choices(link))):
                problems.append(f"{at}: answer codes {codes} differ from the answers format's values")
        earlier[link] = it["type"]
    missing = [f for f in Answers.model_fields if f != "version" and f not in earlier]
    problems += [f"{where}: no item for the answers field {f!r}" for f in missing]
    return problems
