"""The FHIR Questionnaire made from the questions: what the FHIR model does not check."""

from __future__ import annotations

from ..answers import Answers, field_choices
from ..fhir import questionnaire, walk
from ..fhir_response import model_problems
from ..knowledge import Knowledge


def check_fhir(kb: Knowledge) -> list[str]:
    """What the FHIR model does not check: unique linkIds, enableBehavior, enableWhen order, codes, required."""
    where = "FHIR Questionnaire (from content/questions.yaml)"
    try:
        form = questionnaire(kb)
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
        if link in Answers.model_fields:
            if bool(it.get("required")) != Answers.model_fields[link].is_required():
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
