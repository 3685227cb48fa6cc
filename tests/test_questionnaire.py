"""``stretchwise questionnaire`` driven as a person would: through a real
pseudo-terminal (pexpect), and with replies piped in."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import sys
from pathlib import Path

import pexpect

import recommender
from conftest import load_answers
from recommender.cli import cli

#: The folder holding the package under test, so the child runs the same code.
PACKAGE_ROOT = str(Path(recommender.__file__).resolve().parent.parent)
PROGRESS = ".stretchwise-resume.json"
NO_FLAGS = ["n"] * 13

#: A neck and low back person, every step in order (blank: Enter takes the default).
FULL_RUN = [
    ("Where does it hurt?", "1 4"),
    ("how bad was the pain", "5"),
    ("how many weeks", "8"),
    *[("y/n", r) for r in NO_FLAGS],
    ("Do any of these apply to you?", ""),
    ("numbness, tingling", ""),
    ("Turning your head", ""),  # offered: the neck hurts
    ("stiff when you turn your head", "y"),
    ("six weeks or more", "n"),
    ("hours do you spend sitting", "9"),
    ("stand or sit", "1"),
    ("stressed", "2"),
    ("sleep on your stomach", ""),
    ("onto the floor", ""),
    ("kneeling hurt", "n"),
    ("have at home", "1 2 5"),
    ("How many minutes", "15"),
    ("How old are you", ""),
    ("What name", "Sam"),
]


def spawn(cwd: Path, *args: str):
    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT, TERM="dumb")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "recommender", "questionnaire", *args],
        cwd=str(cwd),
        env=env,
        encoding="utf-8",
        timeout=10,
        dimensions=(50, 200),
    )
    child.delaybeforesend = 0.01  # each reply waits for its prompt anyway
    child.logfile_read = io.StringIO()  # the whole conversation, as the person saw it
    return child


def transcript(child) -> str:
    return child.logfile_read.getvalue()


def answer(child, steps) -> None:
    for text, reply in steps:
        child.expect_exact(text)
        child.expect_exact("> ")
        child.sendline(reply)


def finish(child) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_a_full_run_writes_valid_answers_and_the_routine(tmp_path):
    child = spawn(tmp_path, "-o", "answers.yaml", "--recommend", "--html", "sheet.html")
    answer(child, FULL_RUN)
    child.expect_exact("Your answers are saved in answers.yaml")
    child.expect_exact("The printable sheet is in sheet.html")
    child.expect_exact("Stretchwise routine for Sam")
    assert finish(child) == 0
    sheet = (tmp_path / "sheet.html").read_text()
    assert sheet.lstrip().lower().startswith("<!doctype html") and "Sam" in sheet
    person = load_answers(str(tmp_path / "answers.yaml"))
    assert person.areas == ["neck", "low_back"] and person.pain == 5 and person.red_flags == []
    assert person.stiff_to_turn_head is True and person.sitting_hours == 9 and person.minutes == 15
    assert person.equipment == ["chair", "wall", "towel"] and person.name == "Sam"
    assert "red_flags: []" in (tmp_path / "answers.yaml").read_text()  # the screen is written out
    assert not (tmp_path / PROGRESS).exists()


def test_a_red_flag_stops_at_once_and_still_offers_to_save(tmp_path):
    child = spawn(tmp_path)
    answer(child, [("Where does it hurt?", "4"), ("how bad", "6"), ("how many weeks", "1")])
    answer(child, [("back passage", "n"), ("bladder or bowels", "y")])
    child.expect_exact("GET MEDICAL HELP TODAY")
    child.expect_exact("Go to an emergency department")
    child.expect_exact("Save your answers to show a doctor?")
    child.sendline("")
    child.expect_exact("saved in answers.yaml")
    assert finish(child) == 0
    assert "getting weaker" not in transcript(child)  # nothing more was asked
    person = load_answers(str(tmp_path / "answers.yaml"))
    assert person.red_flags == ["bladder_bowel_change"] and person.areas == ["low_back"]
    assert not (tmp_path / PROGRESS).exists()


def test_bad_answers_are_asked_again_with_a_reason_and_help_and_back_work(tmp_path):
    child = spawn(tmp_path)
    child.expect_exact("Where does it hurt?")
    for reply, reason in [("9", "'9' is not one of the choices: type its number (1 to 4)"), ("", "this one needs an answer")]:
        child.expect_exact("> ")
        child.sendline(reply)
        child.expect_exact(reason)
    child.sendline("1")
    child.expect_exact("how bad was the pain")
    for reply, reason in [("eleven", "whole number from 0 to 10"), ("11", "number from 0 to 10")]:
        child.expect_exact("> ")
        child.sendline(reply)
        child.expect_exact(reason)
    child.sendline("?")
    child.expect_exact("the worst pain you can imagine")
    child.sendline("<")
    child.expect_exact("Where does it hurt?")
    child.expect_exact("[1] > ")  # the answer given before is the default now
    child.sendline("")
    child.expect_exact("how bad was the pain")
    child.expect_exact("> ")
    child.sendline("4")
    child.expect_exact("how many weeks")
    child.sendintr()
    assert finish(child) == 130
    data = json.loads((tmp_path / PROGRESS).read_text())
    assert data["answered"] == [["areas", ["neck"]], ["pain", 4]] and data["next"] == "duration_weeks"


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path):
    child = spawn(tmp_path)
    answer(child, FULL_RUN[:5])  # where, how bad, how long, two red flags
    child.expect_exact("getting weaker")
    child.sendintr()
    child.expect_exact(f"Your answers so far are kept in {PROGRESS}")
    child.expect_exact(f"stretchwise questionnaire --resume {PROGRESS}")
    assert finish(child) == 130
    assert len(json.loads((tmp_path / PROGRESS).read_text())["answered"]) == 5

    child = spawn(tmp_path, "--resume", PROGRESS, "-o", "answers.json")
    child.expect_exact("Carrying on where you stopped (5 answers kept")
    answer(child, FULL_RUN[5:])
    child.expect_exact("saved in answers.json")
    assert finish(child) == 0
    person = load_answers(str(tmp_path / "answers.json"))
    assert person.areas == ["neck", "low_back"] and person.name == "Sam" and person.red_flags == []
    assert json.loads((tmp_path / "answers.json").read_text())["version"] == 1
    assert not (tmp_path / PROGRESS).exists()


def test_a_closed_terminal_keeps_the_answers(tmp_path):
    child = spawn(tmp_path)
    answer(child, FULL_RUN[:2])
    child.expect_exact("how many weeks")
    child.kill(signal.SIGHUP)
    child.expect(pexpect.EOF)
    child.close()
    data = json.loads((tmp_path / PROGRESS).read_text())
    assert data["answered"] == [["areas", ["neck", "low_back"]], ["pain", 5]]


def test_end_of_input_in_a_terminal_keeps_the_answers(tmp_path):
    child = spawn(tmp_path)
    answer(child, FULL_RUN[:1])
    child.expect_exact("how bad was the pain")
    child.expect_exact("> ")
    child.sendeof()
    child.expect_exact(f"kept in {PROGRESS}")
    assert finish(child) == 130


def test_unfinished_answers_are_offered_at_the_next_start(tmp_path):
    child = spawn(tmp_path)
    answer(child, FULL_RUN[:3])
    child.expect_exact("back passage")
    child.sendintr()
    assert finish(child) == 130
    child = spawn(tmp_path)
    child.expect_exact("Carry on with them?")
    child.sendline("")
    child.expect_exact("3 answers kept")
    child.expect_exact("back passage")
    child.sendintr()
    assert finish(child) == 130


# ---------------------------------------------------------------- piped input

PIPED = "\n".join(reply for _, reply in FULL_RUN) + "\n"


def test_piped_replies_print_the_answers_without_prompts(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["questionnaire"], input=PIPED)
    assert result.exit_code == 0, result.output
    assert result.stderr == "" and "?" not in result.stdout
    assert result.stdout.startswith("# Stretchwise answers") and "stiff_to_turn_head: true" in result.stdout
    assert not Path(PROGRESS).exists()


def test_piped_replies_can_go_straight_to_the_routine(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["questionnaire", "--recommend", "-o", "a.yaml"], input=PIPED)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Stretchwise routine for Sam")
    assert load_answers("a.yaml").minutes == 15


def test_a_bad_piped_line_is_an_error_that_names_the_line(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["questionnaire"], input="4\n11\n5\n")
    assert result.exit_code == 2
    assert "Error: line 2 (pain): please give a number from 0 to 10 (got '11')" in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""
    assert json.loads(Path(PROGRESS).read_text())["answered"] == [["areas", ["low_back"]]]


def test_piped_input_that_ends_early_is_an_error(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["questionnaire"], input="4\n5\n")
    assert result.exit_code == 2
    assert "input ended before the question 'duration_weeks'" in result.stderr


def test_a_piped_red_flag_stops_with_the_advice_on_stderr(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        cli, ["questionnaire", "--html", "sheet.html"], input="1\n3\n2\nn\nn\nn\nn\nn\ny\nn\nn\n"
    )
    assert result.exit_code == 0, result.output
    # dizziness on moving the neck is a warning sign of the neck's arteries: urgent (issue 16, class 8)
    assert "Get medical help today" in Path("sheet.html").read_text()  # a page to take along
    assert (
        "GET MEDICAL HELP TODAY" in result.stderr
        and "Dizziness when you move or turn your neck" in result.stderr
    )
    assert "red_flags: [dizziness_neck_movement]" in result.stdout


def test_recent_surgery_also_stops_before_the_exercise_questions(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    replies = ["4", "3", "2", *NO_FLAGS, "4", "n"]
    result = runner.invoke(cli, ["questionnaire"], input="\n".join(replies) + "\n")
    assert result.exit_code == 0, result.output
    assert "surgeon" in result.stderr and "conditions: [recent_surgery]" in result.stdout


def test_resume_rejects_a_file_that_is_not_progress(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("x.json").write_text("{}")
    result = runner.invoke(cli, ["questionnaire", "--resume", "x.json"], input="")
    assert result.exit_code == 2 and "x.json: not a questionnaire progress file" in result.stderr


def test_a_knowledge_base_without_questions_is_an_error_not_a_traceback(
    runner, kb_copy, tmp_path, monkeypatch
):
    (kb_copy / "content" / "questions.yaml").unlink()
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["questionnaire", "--knowledge-dir", str(kb_copy)], input="4\n")
    assert result.exit_code == 2 and "content/questions.yaml: no questions" in result.stderr


def test_resume_reads_the_file_through_the_one_reader(runner, tmp_path, monkeypatch):
    # issue 14: a key given twice in a progress file is refused like anywhere else
    monkeypatch.chdir(tmp_path)
    Path("x.json").write_text(
        '{"kind": "stretchwise questionnaire progress", "version": 1,'
        ' "answered": [["red_flags:saddle_numbness", true]], "answered": []}'
    )
    result = runner.invoke(cli, ["questionnaire", "--resume", "x.json"], input="")
    assert result.exit_code == 2 and "x.json: answered: is given twice" in result.stderr


def test_with_recommend_a_red_flag_says_what_to_do_before_offering_to_save(tmp_path):
    child = spawn(tmp_path, "--recommend")
    answer(child, [("Where does it hurt?", "low back"), ("how bad", "6"), ("how many weeks", "1")])
    answer(child, [("back passage", "y")])
    child.expect_exact("GET MEDICAL HELP TODAY")
    child.expect_exact("Go to an emergency department")
    child.expect_exact("Save your answers to show a doctor?")
    child.sendline("n")
    assert finish(child) == 0
    seen = transcript(child)
    assert seen.index("GET MEDICAL HELP TODAY") < seen.index("Save your answers")
    assert seen.count("GET MEDICAL HELP TODAY") == 1


def test_each_question_says_how_many_there_are_for_this_person(tmp_path):
    child = spawn(tmp_path, "-o", "answers.yaml")
    answer(child, FULL_RUN)
    assert finish(child) == 0
    seen = transcript(child)
    counts = [(int(a), int(b)) for a, b in re.findall(r"\((\d+) of (\d+)\)", seen)]
    said = int(re.search(r"about (\d+) short questions", seen).group(1))
    asked = len(counts)
    assert [a for a, _ in counts] == list(range(1, asked + 1))
    assert counts[-1][1] == asked and abs(said - asked) <= 2


# --------------------------------------------------------------------------- a follow-up visit (issue 20)

FIRST_VISIT = Path(__file__).resolve().parent.parent / "examples" / "follow-up" / "first.yaml"


def test_a_follow_up_keeps_the_answers_reasks_pain_and_safety_then_the_check_in(tmp_path):
    child = spawn(tmp_path, "--follow-up", str(FIRST_VISIT), "-o", "now.yaml", "--recommend")
    child.expect_exact("your answers from last time are kept")
    answer(child, [("Where does it hurt?", "")])  # last time's areas offered
    child.expect_exact("how bad was the pain")
    child.expect_exact("[5] > ")  # last time's pain is the default
    child.sendline("3")
    child.expect_exact("how many weeks")
    child.expect_exact("[10] > ")  # two weeks on
    child.sendline("")
    answer(child, [("y/n", r) for r in NO_FLAGS])  # the safety screen, with no defaults
    answer(child, [("Do any of these apply to you?", "")])
    answer(child, [("last 14 days", "12"), ("how is your back or neck overall", "2")])
    child.expect_exact("Your answers are saved in now.yaml")
    child.expect_exact("SINCE LAST TIME")
    child.expect_exact("It is going well")
    assert finish(child) == 0
    said = transcript(child)
    assert "hours do you spend sitting" not in said and "What name" not in said  # carried over, not asked
    now = load_answers(str(tmp_path / "now.yaml"))
    first = load_answers(str(FIRST_VISIT))
    assert (now.pain, now.duration_weeks, now.days_done, now.overall_change) == (3, 10, 12, "better")
    assert (now.sitting_hours, now.equipment, now.name) == (first.sitting_hours, first.equipment, first.name)


def test_a_red_flag_at_a_follow_up_stops_before_the_check_in(tmp_path):
    child = spawn(tmp_path, "--follow-up", str(FIRST_VISIT), "-o", "now.yaml")
    answer(child, [("Where does it hurt?", ""), ("how bad was the pain", ""), ("how many weeks", "")])
    answer(child, [("back passage", "n"), ("bladder or bowels", "y")])
    child.expect_exact("GET MEDICAL HELP TODAY")
    assert finish(child) == 0
    assert "last 14 days" not in transcript(child)
    assert load_answers(str(tmp_path / "now.yaml")).red_flags == ["bladder_bowel_change"]


def test_a_bad_earlier_file_is_exit_2_naming_it(tmp_path):
    bad = tmp_path / "first.yaml"
    bad.write_text("version: 1\nareas: [neck]\npain: 12\nduration_weeks: 1\nred_flags: []\n")
    child = spawn(tmp_path, "--follow-up", str(bad))
    child.expect_exact(f"{bad}: pain: must be between 0 and 10 (got 12)")
    assert finish(child) == 2
