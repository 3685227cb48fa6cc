"""FHIR R4: the Questionnaire made from the questions, and answers to and from a QuestionnaireResponse."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import pytest
from conftest import BASE, EXAMPLES, ROOT, answers_dicts
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from hypothesis import given

from conftest import load_answers
from recommender import fhir
from recommender.answers import Answers, field_choices
from recommender.checks import fhir as fhir_check
from recommender.knowledge import load_knowledge
from recommender.reader import answers_from
from recommender.batch import score_line
from recommender.cli import cli
from recommender.errors import AnswersError
from recommender.questions import next_step
from recommender.pipeline import recommend

def parse_answers(data: dict[str, Any], label: str) -> Answers:
    """Answers or a QuestionnaireResponse, read as the one reader reads them (with the bundled knowledge)."""
    return answers_from(data, label, load_knowledge())


DEFAULTS = {n: f.default for n, f in Answers.model_fields.items() if not f.is_required()}


@pytest.fixture(scope="module")
def form(kb):
    return fhir.questionnaire(kb)


def items(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {it["linkId"]: it for it, _ in fhir.walk(resource["item"])}


def asked(kb: Any, data: dict[str, Any]) -> set[str]:
    """The questions the terminal questionnaire asks when every reply is taken from ``data``
    (its skip logic, without the stop at the first yes, which the form does not have)."""
    full = parse_answers(data, "test").model_dump(mode="json")
    given_: dict[str, Any] = {}
    out = set()
    while (step := next_step(kb.questions, given_)) is not None:
        q = step.question
        out.add(q.id)
        given_[step.key] = step.item.value in full[q.id] if step.item is not None else full[q.id]
    return out


def askable(kb: Any, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as the terminal questionnaire could write it: every field it would not ask taken
    out (so it keeps its default), and the red flags in the order they are asked."""
    keep = asked(kb, sayable(data))
    return {k: v for k, v in sayable(data).items() if k in keep} | {"red_flags": in_asked_order(kb, data["red_flags"])}


def sayable(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without what a response cannot say: an empty list for a question whose default is
    not empty (``equipment: []``; an unanswered item means the default, a typical home)."""
    return {k: v for k, v in data.items() if not (v == [] and k in DEFAULTS and DEFAULTS[k] != [])}


def in_asked_order(kb: Any, flags: list[str]) -> list[str]:
    return [c.value for q in kb.questions if q.id == "red_flags" for c in q.choices if c.value in flags]


def values(response: dict[str, Any]) -> dict[str, list[Any]]:
    """Each answered linkId's values, as fhir.enabled takes them."""
    out = {}
    for it, _ in fhir.walk(response["item"]):
        found = [next(v for k, v in a.items() if k.startswith("value")) for a in it.get("answer", [])]
        out[it["linkId"]] = [v["code"] if isinstance(v, dict) else v for v in found]
    return out


# --------------------------------------------------------------------------- the Questionnaire


def test_the_questionnaire_is_valid_fhir_r4_and_passes_the_extra_checks(kb, form):
    parsed = Questionnaire.model_validate(form)
    assert parsed.url == fhir.URL and parsed.version == kb.version
    assert fhir_check.check_fhir(kb) == []


def test_one_item_per_question_in_the_terminal_order(kb, form):
    questions = [it["linkId"] for it, _ in fhir.walk(form["item"]) if it["linkId"] in Answers.model_fields]
    # then the check-in, enabled only on a follow-up visit (issue 20)
    assert questions == [q.id for q in kb.questions + kb.check_in]
    # the three questions about the pain, then the safety screen, as in the terminal
    assert questions[:4] == ["areas", "pain", "duration_weeks", "red_flags"]


def test_item_types_codes_and_required(form):
    by = items(form)
    assert by["areas"]["type"] == "choice" and by["areas"]["repeats"] is True and by["areas"]["required"] is True
    assert [o["valueCoding"]["code"] for o in by["stress"]["answerOption"]] == ["low", "moderate", "high"]
    assert by["stress"]["answerOption"][2]["valueCoding"]["display"] == "A lot"
    assert "repeats" not in by["stress"] and "required" not in by["stress"]
    assert by["pain"]["type"] == "integer" and [e["valueInteger"] for e in by["pain"]["extension"]] == [0, 10]
    assert by["name"]["type"] == "string" and by["name"]["maxLength"] == 80
    flags = by["red_flags"]
    assert flags["type"] == "group" and "required" not in flags
    children = [c for c in flags["item"] if c["type"] == "boolean"]
    assert len(children) == len(field_choices("red_flags")) and all(c["required"] for c in children)
    assert children[0]["linkId"] == "red_flags.saddle_numbness"
    assert not any(it.get("required") for link, it in by.items() if link in DEFAULTS)


def test_no_group_is_required(form):
    """Form tools (LHC-Forms) read a required group as wanting an answer of its own and refuse a
    completed form: required goes on the answerable items."""
    groups = [it for it, _ in fhir.walk(form["item"]) if it["type"] == "group"]
    assert groups and not any("required" in g for g in groups)
    assert {link for link, it in items(form).items() if it.get("required") and "." not in link} == {
        n for n, f in Answers.model_fields.items() if f.is_required() and n != "red_flags"
    }


def test_enable_when_codings_carry_the_options_system(form):
    """LHC-Forms matches an answerCoding to an option only when both have the same system."""
    by = items(form)
    conditions = [e for it in by.values() for e in it.get("enableWhen", []) if "answerCoding" in e]
    assert conditions
    for e in conditions:
        systems = {o["valueCoding"]["system"] for o in by[e["question"]]["answerOption"]}
        assert systems == {e["answerCoding"]["system"]} == {fhir.code_system(e["question"])}


def test_skip_logic_is_enable_when(form):
    by = items(form)
    assert by["stiff_to_turn_head"]["enableWhen"] == [
        {"question": "areas", "operator": "=", "answerCoding": {"system": fhir.code_system("areas"), "code": "neck"}}
    ]
    assert by["home_care_not_helping"]["enableWhen"] == [
        {"question": "duration_weeks", "operator": ">=", "answerInteger": 6}
    ]
    # floor_ok defaults to true, so an unanswered floor_ok still asks about kneeling, as in the terminal
    assert by["kneeling_hurts"]["enableBehavior"] == "any"
    assert by["kneeling_hurts"]["enableWhen"] == [
        {"question": "floor_ok", "operator": "=", "answerBoolean": True},
        {"question": "floor_ok", "operator": "exists", "answerBoolean": False},
    ]


def test_terminal_words_are_left_out_of_the_form(form):
    text = json.dumps(form)
    assert "press Enter" not in text and "Press Enter" not in text and "y or n" not in text
    assert items(form)["age"]["text"] == "How old are you?"


def test_the_shipped_questionnaire_is_up_to_date(form):
    shipped = json.loads((EXAMPLES / "stretchwise-questionnaire.json").read_text(encoding="utf-8"))
    assert shipped == form, "run: stretchwise fhir questionnaire -o examples/stretchwise-questionnaire.json"


def test_the_shipped_response_is_the_desk_worker(runner):
    person = load_answers(str(EXAMPLES / "desk-worker.yaml"))
    shipped = json.loads((EXAMPLES / "response.json").read_text(encoding="utf-8"))
    assert shipped == fhir.to_response(person, load_knowledge())
    QuestionnaireResponse.model_validate(shipped)
    assert load_answers(str(EXAMPLES / "response.json")) == person
    a = runner.invoke(cli, ["recommend", str(EXAMPLES / "response.json"), "-f", "json"])
    b = runner.invoke(cli, ["recommend", str(EXAMPLES / "desk-worker.yaml"), "-f", "json"])
    assert a.exit_code == 0 and a.output == b.output


# --------------------------------------------------------------------------- round trip


@given(answers_dicts)
def test_round_trip_gives_the_same_answers_and_recommendation(kb, data):
    data = askable(kb, data)
    person = parse_answers(data, "test")
    response = fhir.to_response(person, kb)
    QuestionnaireResponse.model_validate(response)
    back = parse_answers(json.loads(json.dumps(response)), "response")
    assert back.model_dump() == person.model_dump()
    assert recommend(kb, back) == recommend(kb, person)


@given(answers_dicts)
def test_red_flags_come_back_as_the_same_answers(kb, data):
    """One yes/no item per flag keeps which flags; a list answer is read in the format's own order,
    so the order the questionnaire asks them in does not change the answers."""
    data = askable(kb, data) | {"red_flags": data["red_flags"]}
    person = parse_answers(data, "test")
    back = parse_answers(fhir.to_response(person, kb), "response")
    assert set(back.red_flags) == set(in_asked_order(kb, person.red_flags))
    assert back == person
    assert recommend(kb, back).referral.level == recommend(kb, person).referral.level


@given(answers_dicts)
def test_answers_the_form_would_not_ask_for_are_refused_by_name(kb, data):
    data = sayable(data)
    person = parse_answers(data, "test")
    full = person.model_dump(mode="json")
    on = asked(kb, data)
    skipped = {k for k in Answers.model_fields if k != "version" and k not in on}
    carried = sorted(k for k in skipped if full[k] != DEFAULTS[k])
    if not carried:
        back = parse_answers(fhir.to_response(person, kb), "r")
        assert back.model_dump(exclude={"red_flags"}) == person.model_dump(exclude={"red_flags"})
        return
    with pytest.raises(AnswersError) as e:
        fhir.to_response(person, kb, "a.yaml")
    assert sorted(p["field"] for p in e.value.problems) == carried
    assert all(line.startswith("a.yaml: ") and ": not asked with these answers" in line for line in str(e.value).splitlines())


@given(answers_dicts)
def test_enabled_items_are_the_questions_the_terminal_asks(kb, form, data):
    """The FHIR enableWhen rules, evaluated on the answers given, enable exactly the questions
    the terminal's skip logic asks (an unanswered optional item standing for its default)."""
    person = parse_answers(data, "test")
    given_values: dict[str, list[Any]] = {f"red_flags.{c}": [c in person.red_flags] for c in field_choices("red_flags")}
    for key, value in data.items():
        if key != "red_flags" and value not in (None, [], ""):
            given_values[key] = value if isinstance(value, list) else [value]
    on = fhir.enabled(form, given_values)
    assert {link for link in on if link in Answers.model_fields} == asked(kb, data)


# --------------------------------------------------------------------------- bad responses


def _find(resource: dict[str, Any], link: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    for it, _ in fhir.walk(resource["item"]):
        for child in it.get("item", []):
            if child["linkId"] == link:
                return child, it["item"]
    raise KeyError(link)


def _set(link: str, answer: list[Any]) -> Any:
    def change(r: dict[str, Any]) -> None:
        _find(r, link)[0]["answer"] = answer

    return change


def _drop(link: str) -> Any:
    def change(r: dict[str, Any]) -> None:
        item, siblings = _find(r, link)
        siblings.remove(item)

    return change


def _add(link: str, answer: list[Any]) -> Any:
    def change(r: dict[str, Any]) -> None:
        r["item"][0]["item"].append({"linkId": link, "answer": answer})

    return change


def _top(key: str, value: Any) -> Any:
    return lambda r: r.update({key: value})


BAD = {
    "another questionnaire": (_top("questionnaire", "http://example.org/Questionnaire/phq9|1"), "questionnaire: answers another questionnaire (http://example.org/Questionnaire/phq9|1)"),
    "a control character in the questionnaire": (_top("questionnaire", "a\x07b"), "questionnaire: answers another questionnaire ('a\\x07b')"),
    "no questionnaire": (lambda r: r.pop("questionnaire"), "questionnaire: missing"),
    "in progress": (_top("status", "in-progress"), "status: 'in-progress' is not finished yet"),
    "unknown linkId": (_add("mood", [{"valueInteger": 3}]), "linkId 'mood': not an item of the Stretchwise questionnaire"),
    "text for a number": (_set("pain", [{"valueInteger": "high"}]), "linkId 'pain': must be an integer (got 'high')"),
    "quoted number": (_set("pain", [{"valueInteger": "5"}]), "linkId 'pain': must be an integer (got '5')"),
    "boolean for a number": (_set("pain", [{"valueInteger": True}]), "linkId 'pain': must be an integer (got True)"),
    "string value": (_set("pain", [{"valueString": "5"}]), "linkId 'pain': must be an integer (valueInteger), got valueString '5'"),
    "out of range": (_set("pain", [{"valueInteger": 11}]), "linkId 'pain': must be between 0 and 10 (got 11)"),
    "two answers": (_set("pain", [{"valueInteger": 1}, {"valueInteger": 2}]), "linkId 'pain': takes one answer (got 2)"),
    "unknown code": (_set("stress", [{"valueCoding": {"system": fhir.code_system("stress"), "code": "extreme"}}]), "linkId 'stress': 'extreme' is not one of its answer options (low, moderate, high)"),
    "another code system": (_set("stress", [{"valueCoding": {"system": "http://snomed.info/sct", "code": "low"}}]), "linkId 'stress': http://snomed.info/sct|low is not one of"),
    "missing required": (_drop("pain"), "linkId 'pain': required, but not answered"),
    "missing red flag": (_drop("red_flags.fever"), "linkId 'red_flags.fever': required, but not answered"),
    "red flag not yes/no": (_set("red_flags.fever", [{"valueBoolean": "no"}]), "linkId 'red_flags.fever': must be true or false (got 'no')"),
    "answer to a disabled item": (_set("floor_ok", [{"valueBoolean": False}]), "linkId 'kneeling_hurts': answered, but not enabled: it is asked only when floor_ok = true or floor_ok is unanswered"),
    "twice": (_add("pain", [{"valueInteger": 3}]), "linkId 'pain': appears twice"),
    "bad date": (_top("authored", "yesterday"), "authored: DateTime value string does not match"),
}


@pytest.fixture
def good():
    return fhir.to_response(load_answers(str(EXAMPLES / "desk-worker.yaml")), load_knowledge())


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_response_is_exit_2_naming_the_link_id(runner, tmp_path, good, case):
    change, message = BAD[case]
    response = copy.deepcopy(good)
    change(response)
    path = tmp_path / "response.json"
    path.write_text(json.dumps(response), encoding="utf-8")
    for command in ("recommend", "explain"):
        result = runner.invoke(cli, [command, str(path)])
        assert result.exit_code == 2, result.output
        assert f"Error: {path}: {message}" in result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize("reference", [fhir.URL, f"{fhir.URL}|0.0.1"])
def test_any_version_of_the_questionnaire_is_read(good, reference):
    """The linkIds and codes are the answers format's (version 1), whatever the knowledge version."""
    assert parse_answers(good | {"questionnaire": reference}, "r").name == "Sam"


def test_a_response_in_a_batch_line(kb, good):
    line = json.dumps(good).encode()
    assert json.loads(score_line(kb, 1, line).text)["name"] == "Sam"
    bad = copy.deepcopy(good)
    BAD["text for a number"][0](bad)
    scored = score_line(kb, 7, json.dumps(bad).encode())
    assert scored.error == "line 7: linkId 'pain': must be an integer (got 'high')"
    assert json.loads(scored.text)["error"]["problems"] == [
        {"field": "linkId 'pain'", "message": "must be an integer (got 'high')"}
    ]


def test_another_resource_type_is_named(runner):
    result = runner.invoke(cli, ["recommend", "-"], input='{"resourceType": "Patient"}')
    assert result.exit_code == 2
    assert "<stdin>: resourceType: a FHIR Patient resource, not answers; expected a QuestionnaireResponse" in result.output


def test_an_unanswered_screen_is_not_no_red_flags(good):
    response = copy.deepcopy(good)
    flags, _ = _find(response, "red_flags")
    flags["item"] = []
    with pytest.raises(AnswersError) as e:
        parse_answers(response, "r.json")
    assert len(e.value.problems) == len(field_choices("red_flags"))


def test_no_to_every_flag_is_no_red_flags_and_a_yes_is_read(kb, good):
    assert parse_answers(good, "r").red_flags == []
    response = copy.deepcopy(good)
    _set("red_flags.fever", [{"valueBoolean": True}])(response)
    person = parse_answers(response, "r")
    assert person.red_flags == ["fever"] and recommend(kb, person).routine is None


def test_unanswered_optional_items_take_the_defaults(good):
    response = copy.deepcopy(good)
    _drop("minutes")(response)
    _drop("sitting_hours")(response)
    person = parse_answers(response, "r")
    assert (person.minutes, person.sitting_hours) == (10, 0)


# --------------------------------------------------------------------------- the commands


def test_fhir_questionnaire_command(runner, tmp_path, form):
    out = tmp_path / "q.json"
    result = runner.invoke(cli, ["fhir", "questionnaire", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8")) == form


CLINIC = "https://fhir.clinic.example/Questionnaire/back-pain"


def test_a_clinic_sets_its_own_url(runner, tmp_path, form, monkeypatch):
    monkeypatch.delenv(fhir.URL_VARIABLE, raising=False)
    made = runner.invoke(cli, ["fhir", "questionnaire", "--url", CLINIC])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output) == form | {"url": CLINIC}
    path = tmp_path / "response.json"
    written = runner.invoke(cli, ["fhir", "response", str(EXAMPLES / "desk-worker.yaml"), "--url", CLINIC, "-o", str(path)])
    assert written.exit_code == 0, written.output
    assert json.loads(path.read_text(encoding="utf-8"))["questionnaire"] == f"{CLINIC}|{form['version']}"
    # read where STRETCHWISE_FHIR_URL names the clinic's URL (the placeholder is read as well) ...
    refused = runner.invoke(cli, ["recommend", str(path)])
    assert refused.exit_code == 2
    assert f"answers another questionnaire ({CLINIC}|{form['version']}); expected {fhir.URL}" in refused.output
    assert "STRETCHWISE_FHIR_URL" in refused.output
    monkeypatch.setenv(fhir.URL_VARIABLE, CLINIC)
    by_clinic = runner.invoke(cli, ["recommend", str(path), "-f", "json"])
    by_file = runner.invoke(cli, ["recommend", str(EXAMPLES / "desk-worker.yaml"), "-f", "json"])
    assert by_clinic.exit_code == 0 and by_clinic.output == by_file.output
    assert runner.invoke(cli, ["recommend", str(EXAMPLES / "response.json")]).exit_code == 0
    # ... and the variable is the commands' default URL
    assert json.loads(runner.invoke(cli, ["fhir", "questionnaire"]).output)["url"] == CLINIC


@pytest.mark.parametrize("url", ["stretchwise", "ftp://x.example/q", "https://x.example/q|2", "https://x .example/q"])
def test_a_url_that_is_not_canonical_is_exit_2(runner, url):
    result = runner.invoke(cli, ["fhir", "questionnaire", "--url", url])
    assert result.exit_code == 2 and "is not a canonical URL" in result.output


def test_the_url_help_names_the_placeholder():
    from recommender.cli.faces import PLACEHOLDER_URL

    assert PLACEHOLDER_URL == fhir.URL


def test_fhir_response_command(runner):
    result = runner.invoke(cli, ["fhir", "response", str(EXAMPLES / "physio.json")])
    assert result.exit_code == 0, result.output
    response = json.loads(result.output)
    QuestionnaireResponse.model_validate(response)
    assert parse_answers(response, "r") == load_answers(str(EXAMPLES / "physio.json"))


def test_fhir_response_refuses_what_a_response_cannot_hold(runner, tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({**BASE, "floor_ok": False, "kneeling_hurts": True}), encoding="utf-8")
    result = runner.invoke(cli, ["fhir", "response", str(path)])
    assert result.exit_code == 2
    assert f"{path}: kneeling_hurts: not asked with these answers (only when floor_ok = true or floor_ok is unanswered)" in result.output


def test_fhir_response_bad_answers_are_exit_2(runner):
    result = runner.invoke(cli, ["fhir", "response", "-"], input='{"areas": ["neck"]}')
    assert result.exit_code == 2 and "<stdin>: pain: is required" in result.output


def test_fhir_is_imported_only_when_used():
    code = (
        "import sys, recommender.cli, recommender.checks, recommender.reader as r, recommender.knowledge as k;"
        "r.read_answers('{\"areas\": [\"neck\"], \"pain\": 1, \"duration_weeks\": 1, \"red_flags\": []}', 'x',"
        " k.load_knowledge());"
        "print(sorted(m for m in sys.modules if m.startswith('fhir')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- the extra checks


def _broken(monkeypatch, kb, change) -> list[str]:
    made = fhir.questionnaire(kb)
    change(made)
    monkeypatch.setattr(fhir_check, "questionnaire", lambda _kb, _url=None: made)
    return fhir_check.check_fhir(kb)


def test_check_finds_a_linkid_used_twice(monkeypatch, kb):
    problems = _broken(monkeypatch, kb, lambda f: f["item"][0]["item"].append({"linkId": "pain", "type": "boolean"}))
    assert any("linkId 'pain': used twice" in p for p in problems)


def test_check_finds_several_enable_when_without_behaviour(monkeypatch, kb):
    problems = _broken(monkeypatch, kb, lambda f: items(f)["kneeling_hurts"].pop("enableBehavior"))
    assert any("linkId 'kneeling_hurts': enableBehavior goes with two or more enableWhen" in p for p in problems)


def test_check_finds_enable_when_on_a_later_item(monkeypatch, kb):
    def change(f: dict[str, Any]) -> None:
        items(f)["stiff_to_turn_head"]["enableWhen"][0]["question"] = "minutes"

    problems = _broken(monkeypatch, kb, change)
    assert any("enableWhen looks at 'minutes', which is not an earlier question" in p for p in problems)


def test_check_finds_codes_unlike_the_answers_format(monkeypatch, kb):
    problems = _broken(monkeypatch, kb, lambda f: items(f)["stress"]["answerOption"].pop())
    assert any("linkId 'stress': answer codes ['low', 'moderate'] differ" in p for p in problems)


def test_check_finds_a_required_group_and_a_loose_red_flag(monkeypatch, kb):
    def change(f: dict[str, Any]) -> None:
        f["item"][0]["required"] = True
        items(f)["red_flags.fever"].pop("required")

    problems = _broken(monkeypatch, kb, change)
    assert any("linkId 'section-pain': a group is never required" in p for p in problems)
    assert any("linkId 'red_flags': its yes/no items ['red_flags.fever'] must be required" in p for p in problems)


def test_check_finds_what_the_model_rejects(monkeypatch, kb):
    problems = _broken(monkeypatch, kb, lambda f: items(f)["pain"].update(repeats="sometimes"))
    assert any("linkId 'pain': repeats" in p for p in problems)


def test_check_reports_skip_logic_enable_when_cannot_say(runner, kb_copy):
    path = kb_copy / "content" / "questions.yaml"
    text = path.read_text(encoding="utf-8")
    old = "      - {answer: floor_ok, is: true}\n"
    assert old in text
    both = old + "      - {any: [{answer: sitting_hours, at_least: 4}, {answer: sleeps_on_stomach, is: true}]}\n"
    path.write_text(text.replace(old, both), encoding="utf-8")
    result = runner.invoke(cli, ["check", "--knowledge-dir", str(kb_copy)])
    assert result.exit_code == 1
    assert "question 'kneeling_hurts': its ask_when needs both 'all' and 'any'" in result.output
