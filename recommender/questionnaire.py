"""``stretchwise questionnaire``: ask the questions in a terminal, or read the
replies from a pipe, and write an answers file.

In a terminal the conversation goes to stderr (so ``--recommend > routine.txt``
still shows the questions), Enter takes the answer in [brackets], ``?`` shows
the help and ``<`` goes back one step. Progress is saved after every answer
(JSON, written atomically), so Ctrl-C, Ctrl-D or a closed terminal loses
nothing; ``--resume FILE`` carries on. When stdin is not a terminal, each line
is the reply to the next question asked, without prompts; a bad line is an
error (exit 2), as is input that ends early.

A yes in the safety section stops the questionnaire at once with the advice of
the real pipeline (``pipeline.recommend``) on the answers so far.
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .answers import Answers
from .atomic import write_atomic
from .errors import AnswersError, KnowledgeError
from .knowledge import Knowledge
from .pipeline import follow_up, recommend
from .reader import answers_from, read_document, read_input
from .render import render
from .recommendation import Recommendation
from .questions import SECTIONS, Invalid, Question, Step, answers_so_far, next_step, steps_ahead

DEFAULT_PROGRESS = ".stretchwise-resume.json"
PROGRESS_KIND = "stretchwise questionnaire progress"
BACK = ("<", "back")
HELP = ("?", "help")


@dataclass
class Options:
    output: str | None = None
    recommend: bool = False
    html: str | None = None  # the printable sheet
    resume: str | None = None
    progress_file: str = DEFAULT_PROGRESS
    interactive: bool = True
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    #: A follow-up visit (issue 20): the first visit's answers, kept but for the pain, safety and check-in
    earlier: Answers | None = None


class _Stop(Exception):
    """Leave the questionnaire with an exit code (the message is already shown)."""

    def __init__(self, code: int) -> None:
        self.code = code


class Session:
    """One run: the steps answered so far, and where to keep them."""

    def __init__(self, kb: Knowledge, opts: Options) -> None:
        self.kb, self.opts = kb, opts
        self.questions: list[Question] = kb.questions
        self.carried: dict[str, Any] = {}
        if opts.earlier is not None:
            self.questions, self.carried = follow_up_questions(kb, opts.earlier)
        self.history: list[tuple[str, Any]] = []  # (step key, value), in the order answered
        self.previous: dict[str, Any] = {}  # answers undone by going back, offered again as the default
        self.progress = Path(opts.progress_file)
        self.line = 0
        self.section: str | None = None
        self.warned = False

    # ------------------------------------------------------------------ output

    def say(self, text: str = "", indent: int = 0, first: str | None = None) -> None:
        """Wrapped text on the terminal (nothing when reading a pipe)."""
        if not self.opts.interactive:
            return
        width = max(40, min(shutil.get_terminal_size((80, 24)).columns, 88) - 2)
        pad = " " * indent
        lines = [
            textwrap.fill(p, width, initial_indent=pad if first is None else first, subsequent_indent=pad)
            if p
            else ""
            for p in text.split("\n")
        ]
        self.opts.stderr.write("\n".join(lines) + "\n")
        self.opts.stderr.flush()

    def tell(self, text: str, indent: int = 0, first: str | None = None) -> None:
        """A message that shows in both modes (stderr; unwrapped when piped)."""
        if self.opts.interactive:
            self.say(text, indent, first)
        else:
            self.opts.stderr.write((first or "") + text + "\n")

    # ------------------------------------------------------------------ input

    def read(self, prompt: str) -> str:
        if self.opts.interactive:
            self.opts.stderr.write(prompt)
            self.opts.stderr.flush()
        try:
            line = self.opts.stdin.readline()
        except OSError:  # the terminal went away
            line = ""
        if not line:
            raise EOFError
        self.line += 1
        return line.rstrip("\r\n")

    # ------------------------------------------------------------------ progress

    def given(self) -> dict[str, Any]:
        return dict(self.history)

    def answers(self) -> dict[str, Any]:
        return {**self.carried, **answers_so_far(self.questions, self.given())}

    def save_progress(self) -> bool:
        step = next_step(self.questions, self.given())
        data = {
            "kind": PROGRESS_KIND,
            "version": 1,
            "knowledge_version": self.kb.version,
            "next": step.key if step else None,
        }
        # One answer a line, so the file reads as the conversation did.
        pairs = ",\n  ".join(json.dumps(list(pair)) for pair in self.history)
        text = json.dumps(data, indent=1)[:-2] + f',\n "answered": [\n  {pairs}\n ]\n}}\n'
        try:
            write_atomic(self.progress, text)
            return True
        except OSError as e:
            if not self.warned:
                self.tell(
                    f"(Cannot keep progress in {self.progress}: {e.strerror};"
                    " your answers are kept only until you stop.)"
                )
                self.warned = True
            return False

    def load_progress(self, path: str) -> None:
        """Replay a progress file; stop replaying where the questions no longer match it."""
        raw, label = read_input(path)  # the one reader: limits, repeated keys, encoding
        data = read_document(raw, label, json_only=True)
        try:
            if data.get("kind") != PROGRESS_KIND:
                raise ValueError
            answered = [(str(k), v) for k, v in data["answered"]]
        except (ValueError, KeyError, TypeError):
            raise AnswersError(f"{path}: not a questionnaire progress file") from None
        for key, value in answered:
            step = next_step(self.questions, self.given())
            try:
                if step is None or step.key != key:
                    raise Invalid("the questions have changed")
                self.history.append((key, step.accept(value)))
            except Invalid:
                self.tell(f"The questions have changed since {path} was saved; carrying on from there.")
                break

    # ------------------------------------------------------------------ asking

    def run(self) -> str:
        """Ask until done or stopped by a safety answer; returns ``done`` or ``stopped``."""
        while True:
            if self._stopped():
                return "stopped"
            step = next_step(self.questions, self.given())
            if step is None:
                return "done"
            self.ask(step)

    def ask(self, step: Step) -> None:
        self.show(step)
        default, has_default = step.question.default, step.has_default
        if step.key in self.previous:
            default, has_default = self.previous[step.key], True
        shown = f" [{step.show(default)}]" if has_default else ""
        prompt = f"  {step.hint()}{shown} > "
        while True:
            reply = self.read(prompt)
            word = reply.strip().lower()
            if word in HELP:
                self.say(step.help, indent=2)
                if not self.opts.interactive:
                    self.opts.stderr.write(f"{step.key}: {step.help}\n")
                continue
            if word in BACK:
                if not self.history:
                    self.say("  This is the first question.")
                    continue
                key, value = self.history.pop()
                self.previous[key] = value
                self.section = None
                self._keep()
                return
            try:
                value = step.parse(reply, default, has_default)
            except Invalid as e:
                if not self.opts.interactive:
                    self.opts.stderr.write(
                        f"Error: line {self.line} ({step.key}): {e} (got {reply.strip()!r})\n"
                    )
                    raise _Stop(2) from None
                self.say(f"  Sorry, {e}.")
                continue
            self.history.append((step.key, value))
            self.previous.pop(step.key, None)
            self._keep()
            return

    def _keep(self) -> None:
        if self.opts.interactive:
            self.save_progress()

    def show(self, step: Step) -> None:
        q = step.question
        if q.section != self.section:
            self.section = q.section
            title = SECTIONS[q.section]
            self.say(f"\n{title}\n{'-' * len(title)}")
        if step.first_item:
            self.say(q.text)
        done = len(self.history)
        count = f"({done + 1} of {done + steps_ahead(self.questions, self.given())}) "
        self.say(f"\n{count}{step.text}")
        if step.item is not None:
            return
        for i, c in enumerate(step.choices, 1):
            self.say(c.label, indent=6, first=f"{i:>4}  ")

    def _stopped(self) -> bool:
        """After a safety answer: does the pipeline already say that no routine can be given?"""
        safety = {q.id for q in self.questions if q.section == "safety"}
        if not self.history or self.history[-1][0].split(":", 1)[0] not in safety:
            return False
        rec = self.recommendation()
        return rec is not None and rec.routine is None

    def recommendation(self) -> Recommendation | None:
        data = self.answers()
        if "red_flags" not in data:
            return None
        now = answers_from({"version": 1, **data}, "answers", self.kb)
        if self.opts.earlier is not None:
            return follow_up(self.kb, self.opts.earlier, now)
        return recommend(self.kb, now)


# --------------------------------------------------------------------------- files


def answers_text(answers: dict[str, Any], as_json: bool) -> str:
    """The answers file: YAML (or JSON), fields in the order of the answers format."""
    from .answers import Answers

    # A name left blank and an age skipped mean the same as leaving them out.
    ordered = {"version": 1, **{k: answers[k] for k in Answers.model_fields if k in answers}}
    for key, empty in (("name", ""), ("age", None)):
        if key in ordered and ordered[key] == empty:
            del ordered[key]
    if as_json:
        return json.dumps(ordered, indent=2) + "\n"
    import yaml

    body = yaml.safe_dump(ordered, sort_keys=False, default_flow_style=None, allow_unicode=True, width=1000)
    return (
        "# Stretchwise answers (format version 1), from `stretchwise questionnaire`.\n"
        "# `stretchwise recommend FILE` turns them into a routine.\n" + body
    )


# --------------------------------------------------------------------------- the run


def run(kb: Knowledge, opts: Options) -> int:
    """Run the questionnaire; returns the exit code."""
    if not any(q.id == "red_flags" for q in kb.questions):
        raise KnowledgeError(
            "content/questions.yaml: no questions (or no safety screen);"
            " `stretchwise check` says what is missing"
        )
    s = Session(kb, opts)
    resume = opts.resume
    if resume is None and opts.interactive and s.progress.is_file():
        s.say(f"You have unfinished answers from earlier in {s.progress}.")
        try:
            if _yes_no(s, "Carry on with them?", True):
                resume = str(s.progress)
        except (EOFError, KeyboardInterrupt):
            s.say("")
            return 130
    if resume is not None:
        s.load_progress(resume)
        if s.history:
            s.say(f"Carrying on where you stopped ({len(s.history)} answers kept; type < to go back).")
    elif opts.interactive and opts.earlier is not None:
        s.say(
            "Stretchwise check-in: your answers from last time are kept. The pain and safety questions"
            " are asked again (last time's answers in [brackets]), then two about the last two weeks."
        )
    elif opts.interactive:
        s.say(
            f"Stretchwise questionnaire: about {steps_ahead(s.questions, {})} short questions, most of"
            " them a quick yes or no or a number. The count beside each question follows your"
            " answers, so it can change by one or two as you go.\n"
            "Press Enter to take the answer shown in [brackets], type ? to learn more"
            " about a question, or < to go back one. Ctrl-C stops; your answers are kept."
        )
    try:
        outcome = s.run()
    except _Stop as stop:
        _keep_for_later(s, reason=None)
        return stop.code
    except (KeyboardInterrupt, EOFError) as e:
        if opts.interactive:
            return _keep_for_later(s, reason="Stopped.")
        step = next_step(s.questions, s.given())
        what = f"the question {step.key!r}" if step else "the end"
        opts.stderr.write(f"Error: <stdin>: input ended before {what}\n")
        _keep_for_later(s, reason=None)
        return 2 if isinstance(e, EOFError) else 130
    try:
        return _finish(s, outcome)
    except (KeyboardInterrupt, EOFError):
        return _keep_for_later(s, reason="Stopped.")


def _keep_for_later(s: Session, reason: str | None) -> int:
    """Save progress (if any) and say how to carry on."""
    if not s.history:
        if reason:
            s.say(f"\n{reason} Nothing was answered yet.")
        return 130
    if s.save_progress():
        s.tell(
            f"\n{reason + ' ' if reason else ''}Your answers so far are kept in {s.progress}.\n"
            f"To carry on: stretchwise questionnaire --resume {s.progress}"
        )
    return 130


def _finish(s: Session, outcome: str) -> int:
    opts = s.opts
    rec = s.recommendation()
    assert rec is not None, "the safety screen is asked before the questionnaire can finish"
    if outcome == "stopped":  # what to do comes first; saving the answers is offered after it
        if opts.recommend:
            _write_routine(s, rec)
        else:
            level = s.kb.meta.levels[rec.referral.level]
            s.tell(f"\n{level.headline.upper()}\n{level.text}")
            for reason in rec.referral.reasons:
                s.tell(reason.message, indent=4, first="  - ")
        s.tell("The questionnaire stops here: no stretching routine is given until a doctor has seen you.")

    def text_of(path: str | Path) -> str:
        return answers_text(s.answers(), as_json=str(path).endswith(".json"))

    saved: str | None = None
    if opts.output:
        try:
            write_atomic(Path(opts.output), text_of(opts.output))
        except OSError as e:
            s.tell(f"Error: {opts.output}: cannot write: {e.strerror}")
            _keep_for_later(s, reason=None)
            return 2
        saved = opts.output
    elif opts.interactive:
        saved = _offer_to_save(s, text_of, stopped=outcome == "stopped")
    elif not opts.recommend:
        opts.stdout.write(text_of("-"))
    if opts.interactive or opts.resume:
        s.progress.unlink(missing_ok=True)
        if opts.resume and Path(opts.resume) != s.progress:
            Path(opts.resume).unlink(missing_ok=True)
    if saved:
        s.tell(f"\nYour answers are saved in {saved}.")
    if opts.html:
        try:
            write_atomic(Path(opts.html), str(render(rec, "html")))
        except OSError as e:
            s.tell(f"Error: {opts.html}: cannot write: {e.strerror}")
            return 2
        s.tell(f"The printable sheet is in {opts.html}.")
    if opts.recommend and outcome == "done":
        _write_routine(s, rec)
    elif saved and outcome == "done":
        s.say(f"Next: stretchwise recommend {saved}")
    return 0


def _write_routine(s: Session, rec: Recommendation) -> None:
    s.opts.stdout.write(str(render(rec, "text")))
    s.opts.stdout.flush()


def _offer_to_save(s: Session, text_of: Any, stopped: bool) -> str | None:
    why = " to show a doctor" if stopped else ""
    s.say("")
    while True:
        reply = s.read(f"Save your answers{why}? File name, or n for no [answers.yaml] > ").strip()
        if reply.lower() in ("n", "no"):
            return None
        path = Path(reply or "answers.yaml")
        if path.is_dir():
            s.say(f"  Sorry, {path} is a folder; give a file name.")
            continue
        if path.exists() and not _yes_no(s, f"{path} already exists. Replace it?", False):
            continue
        try:
            write_atomic(path, text_of(path))
        except OSError as e:
            s.say(f"  Sorry, cannot write {path}: {e.strerror}.")
            continue
        return str(path)


def _yes_no(s: Session, text: str, default: bool) -> bool:
    while True:
        reply = s.read(f"{text} y/n [{'yes' if default else 'no'}] > ").strip().lower()
        if not reply:
            return default
        if reply in ("y", "yes", "n", "no"):
            return reply.startswith("y")
        s.say("  Sorry, please answer y or n.")


def follow_up_questions(kb: Knowledge, earlier: Answers) -> tuple[list[Question], dict[str, Any]]:
    """A follow-up visit's questions and the answers carried over from EARLIER (issue 20).

    The pain questions are asked again with last time's answers as the defaults
    (the weeks grown by the two weeks to the review date); the safety screen is
    asked again as on any visit, with no defaults; then the check-in. Every
    other answer is carried over as it was.
    """
    from .answers import CHECK_IN_FIELDS

    given = earlier.model_dump(mode="json", exclude_unset=True)
    questions: list[Question] = []
    for q in kb.questions:
        if q.section == "pain" and q.id in given:
            default = given[q.id] + 2 if q.id == "duration_weeks" else given[q.id]
            questions.append(q.model_copy(update={"default": default}))
        elif q.section == "safety" and q.has_default and q.id in given:  # the red flags have none
            questions.append(q.model_copy(update={"default": given[q.id]}))
        elif q.section in ("pain", "safety"):
            questions.append(q)
    asked = {q.id for q in questions} | set(CHECK_IN_FIELDS) | {"version"}
    return questions + list(kb.check_in), {k: v for k, v in given.items() if k not in asked}
