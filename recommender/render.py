"""Turn a recommendation into output: one registry of formats, read everywhere.

Importing this module is cheap (jinja2, WeasyPrint and the models load when a
format is rendered), so the CLI reads ``RENDERERS`` for its ``--format``
choices without slowing ``stretchwise --help``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

    from .recommendation import Adjustment, ChangeOut, FollowUpOut, Recommendation, Referral


@cache
def _env() -> jinja2.Environment:
    import jinja2

    from .cache import template_cache
    from .derivation import show
    from .paths import templates_dir

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        bytecode_cache=template_cache(),
        autoescape=jinja2.select_autoescape(["html", "html.j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = _wrap
    env.filters["md"] = _markdown_escape
    env.filters["show"] = show
    return env


def _wrap(text: str, indent: int = 0, first: str | None = None, width: int = 78) -> str:
    import textwrap

    pad = " " * indent
    return textwrap.fill(
        " ".join(str(text).split()),
        width=width,
        initial_indent=pad if first is None else first,
        subsequent_indent=pad,
        break_on_hyphens=False,
    )


def _markdown_escape(text: str) -> str:
    """Text that Markdown shows as written (names and answers are free text)."""
    out = str(text)
    for ch in "\\`*_[]<>|#":
        out = out.replace(ch, "\\" + ch)
    return " ".join(out.split())


def render_template(name: str, **context: Any) -> str:
    """Render one of templates/ with the given context."""
    return _env().get_template(name).render(**context)


def render_json(rec: Recommendation, today: date | None = None) -> str:
    """The v1 JSON contract, indented by two spaces (orjson writes the records as they stand)."""
    import orjson

    from .recommendation import contract

    return orjson.dumps(contract(rec), option=orjson.OPT_INDENT_2).decode() + "\n"


def json_line(rec: Recommendation) -> str:
    """The v1 JSON contract on one line, as ``stretchwise batch`` writes it."""
    import orjson

    from .recommendation import contract

    return orjson.dumps(contract(rec)).decode()


def render_text(rec: Recommendation, today: date | None = None) -> str:
    """A plain-text routine for the terminal."""
    return render_template("recommend.txt.j2", sheet=sheet_context(rec, today))


def render_markdown(rec: Recommendation, today: date | None = None) -> str:
    """The routine as clean Markdown."""
    return render_template("recommend.md.j2", sheet=sheet_context(rec, today))


def render_html(rec: Recommendation, today: date | None = None) -> str:
    """The printable sheet: one self-contained HTML page (A4 or Letter)."""
    return render_template("sheet.html.j2", sheet=sheet_context(rec, today))


def render_pdf(rec: Recommendation, today: date | None = None) -> bytes:
    """The printable sheet as PDF, laid out by WeasyPrint from the same HTML."""
    import logging

    import weasyprint  # type: ignore[import-untyped]

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    html = render_html(rec, today)
    # No base URL and a fetcher that refuses everything: the sheet loads nothing.
    pdf: bytes = weasyprint.HTML(string=html, url_fetcher=_refuse).write_pdf()
    return pdf


def _refuse(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"the sheet loads nothing from outside ({url})")


#: Output formats by name. The CLI's --format choices, the docs and the tests read this.
RENDERERS: dict[str, Callable[[Recommendation, date | None], str | bytes]] = {
    "html": render_html,
    "json": render_json,
    "md": render_markdown,
    "pdf": render_pdf,
    "text": render_text,
}


def render(rec: Recommendation, fmt: str = "text", today: date | None = None) -> str | bytes:
    """Render a recommendation in one of the ``RENDERERS`` formats (pdf gives bytes)."""
    return RENDERERS[fmt](rec, today)


#: Formats of ``stretchwise explain``, and the template of each (json needs none).
EXPLAIN_TEMPLATES: dict[str, str | None] = {
    "text": "explain.txt.j2",
    "md": "explain.md.j2",
    "html": "explain.html.j2",
    "json": None,
}


def render_explanation(view: dict[str, Any], fmt: str = "text") -> str:
    """Render ``recommender.explain.explanation`` in one of ``EXPLAIN_TEMPLATES``."""
    template = EXPLAIN_TEMPLATES[fmt]
    if template is None:
        return _json(view)
    return render_template(template, view=view)


def render_why_not(answer: dict[str, Any], fmt: str = "text") -> str:
    """Render ``recommender.explain.why_not`` as text (or JSON)."""
    if fmt == "json":
        return _json(answer)
    return render_template("whynot.txt.j2", w=answer)


def _json(data: dict[str, Any]) -> str:
    """JSON of a view, without the lines that only the templates use."""
    import json

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "lines"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(data), indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- the printable sheet

#: Days on the tracker, and so the review date.
TRACKER_DAYS = 14


def figure(exercise_id: str, variant_id: str) -> str | None:
    """The line figure of one variant as inline SVG markup, or None if it has none."""
    from .paths import templates_dir

    path = templates_dir() / "figures" / f"{exercise_id}--{variant_id}.svg"
    try:
        svg = path.read_text(encoding="utf-8")
    except OSError:
        return None
    svg = svg[svg.find("<svg") :]
    unique = f"fig-{exercise_id}-{variant_id}".replace("_", "-")
    return svg.replace('id="t"', f'id="{unique}"').replace('aria-labelledby="t"', f'aria-labelledby="{unique}"')


def why_parts(node: dict[str, Any]) -> tuple[list[str], list[str]]:
    """What one line of why may say: the findings the choice rests on directly
    (the top of its tree) and the person's answers anywhere under it, guards left out.

    Nothing else: the line never strings findings into a chain of its own, so it
    cannot read a cause as an effect; the whole path is what ``explain`` shows.
    """
    from .derivation import reasons, said

    top = [child["label"] for child in node["from"] if "fact" in child]
    answers: list[str] = []
    for leaf in reasons(node):
        text = said(leaf)
        if text not in answers:
            answers.append(text)
    return list(dict.fromkeys(top)), answers


def why_line(node: dict[str, Any]) -> str:
    """One line of why for the sheet: the top finding, then the answers behind the choice.

    "low back pain that may start at the hips (you sit about 9 hours a day; your
    low back hurts)", or the answers alone when the rule rests on no finding.
    """
    findings, answers = why_parts(node)
    given = "; ".join(answers)
    if not findings:
        return given
    top = " and ".join(findings)
    return f"{top} ({given})" if given else top


def sheet_context(rec: Recommendation, today: date | None = None) -> dict[str, Any]:
    """What the sheet, Markdown and text templates read (documented in templates/sheet.html.j2)."""
    import markupsafe

    from .derivation import reasons, said

    today = today or date.today()
    exercises = rec.routine.exercises if rec.routine else []
    tell = []
    for reason in rec.referral.reasons:
        for leaf in reasons(reason.why):  # what made the referral; guards are the clinician's
            text = said(leaf)
            if text not in tell:
                tell.append(text)
    figures = {}
    for ex in exercises:
        svg = figure(ex.id, ex.variant)
        figures[ex.id] = markupsafe.Markup(svg) if svg else None
    ref, say = _seen(rec)
    return {
        "rec": rec,
        # the referral as the sheet words it, and the key of what it says around the routine (levels.j2)
        "ref": ref,
        "say": say,
        "today": _day(today),
        "review": _day(today + timedelta(days=TRACKER_DAYS)),
        "days": [(today + timedelta(days=i)).strftime("%a %d")[:6] for i in range(TRACKER_DAYS)],
        "figures": figures,
        "why": {ex.id: why_line(ex.why) or "your clinician added it" for ex in exercises},
        "tell_the_doctor": tell,
        "urgent": rec.routine is None,
        "exercises": exercises,
        # Under urgent and doctor_first the sheet is the referral alone (issue 15): no habits,
        # no list of what was left out, nothing about equipment.
        "advice": [a for a in rec.advice if a.kind == "habit"] if rec.routine else [],
        # signs that cannot wait (pregnancy's, say): their own box before the routine, not a habit
        "get_help": [a for a in rec.advice if a.kind == "when_to_get_help"] if rec.routine else [],
        "left_out": left_out(rec),
        # a physical therapist's sheet with no routine has no stop rule: it says instead which
        # signs cannot wait for the appointment (content/meta.yaml, safety_net)
        "safety_net": rec.safety_net if rec.referral.level == "physio" and not exercises else None,
        # why the routine is short of the time offered, and each reported area it has nothing for
        # a follow-up visit (issue 20): the "Since last time" box, and the habits first when made simpler
        "since": _since(rec),
        "since_changes": _changes(rec.follow_up.changes if rec.follow_up else []),
        # a referral at a follow-up: the routine from last time stops now, and the doctor sees it
        "stop_routine": rec.follow_up.done_since if rec.follow_up is not None and rec.routine is None else [],
        "advice_first": rec.follow_up is not None and rec.follow_up.verdict == "simplify",
        "about": ([rec.routine.note] if rec.routine and rec.routine.note else [])
        + [u.detail for u in (rec.routine.uncovered if rec.routine else [])],
        **plan_context(rec),
    }


def _seen(rec: Recommendation) -> tuple[Referral, str]:
    """The referral as the sheet words it, and the key of what it says around the routine
    (templates/levels.j2). A clinician whose plan cleared the referral or changed the routine
    has seen the person: the sheet does not send them to book one, and says who did what."""
    applied = [a for a in rec.adjustments or [] if a.applied]
    if rec.adjusted_by is None or rec.routine is None or not applied:
        return rec.referral, rec.referral.level
    who = rec.adjusted_by.clinician
    clear = _clear(rec)
    if clear is not None:
        doctor, on = clear.assessed_by or who, _assessed_on(clear)
        text = (
            f"{who} assessed the reasons below{on} and has cleared you to start the exercises."
            if doctor == who
            else f"{doctor} assessed the reasons below{on}, and {who} has cleared you to start the exercises."
        )
        return dataclasses.replace(rec.referral, headline="Cleared to start", text=text), "cleared"
    first = {
        "physio": "Your answers called for a clinician to choose your exercises:",
        "self_care": "Nothing in your answers needs a clinician first, and",
    }[rec.referral.level]
    return dataclasses.replace(rec.referral, text=f"{first} {who} has adjusted this routine for you."), "adjusted"


def _clear(rec: Recommendation) -> Adjustment | None:
    """``recommendation.applied_clear``, imported when a sheet is made (this module stays cheap to import)."""
    from .recommendation import applied_clear

    return applied_clear(rec)


def _assessed_on(clear: Adjustment) -> str:
    """" on 28 November 2026", the day the doctor assessed the person ("" when not given)."""
    return "" if clear.assessed_on is None else f" on {_day(date.fromisoformat(clear.assessed_on))}"


def _since(rec: Recommendation) -> FollowUpOut | None:
    """The follow-up's "Since last time" box (with a routine only). A clinician who cleared the
    visit's see-a-doctor-first verdict has opened the routine: the box says that, not the verdict."""
    if rec.follow_up is None or rec.routine is None:
        return None
    clear = _clear(rec)
    if rec.follow_up.verdict == "doctor_first" and clear is not None:
        cleared = (
            f"Today's answers called for a doctor first; {clear.assessed_by or 'your clinician'} assessed you"
            f"{_assessed_on(clear)} and it is cleared, so the routine below starts from today's answers."
        )
        return dataclasses.replace(rec.follow_up, sentence=cleared)
    return rec.follow_up


def _changes(changes: list[ChangeOut]) -> list[dict[str, str]]:
    """A follow-up's changes as the box lists them: neighbours that changed the same way for the
    same reason share one line ("Chin Tuck and Hip Flexor Stretch: kept, because ..."), so a
    simpler routine does not repeat its reason for every exercise it kept."""
    lines: list[dict[str, Any]] = []
    for c in changes:
        names, sep, phrase = c.text.partition(": ")
        if names != c.name or not sep:  # not "NAME: what happened": a line of its own
            lines.append({"names": [], "text": c.text, "because": c.because})
            continue
        last = lines[-1] if lines else None
        if last is not None and last["names"] and last["phrase"] == phrase and last["because"] == c.because:
            last["names"].append(c.name)
        else:
            lines.append({"names": [c.name], "phrase": phrase, "because": c.because})
    out = []
    for line in lines:
        names = line["names"]
        text = line["text"] if not names else f"{_and(names)}: {line['phrase']}"
        out.append({"text": text, "because": line["because"]})
    return out


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def plan_context(rec: Recommendation) -> dict[str, Any]:
    """What the sheets show of a clinician's plan (issue 21): who, each changed card's reasons, a cleared referral."""
    by = rec.adjusted_by
    applied = [a for a in rec.adjustments or [] if a.applied]
    changed: dict[str, list[str]] = {}
    for a in applied:
        if a.exercise is not None and a.action != "remove" and a.reason not in changed.get(a.exercise, []):
            changed.setdefault(a.exercise, []).append(a.reason)
    clear = _clear(rec)
    cleared = None
    if by is not None and clear is not None:
        after = "" if clear.assessed_by in (None, by.clinician) else f" after {clear.assessed_by} assessed you{_assessed_on(clear)}"
        cleared = f"cleared by {by.clinician}{after}: {clear.reason}"
    return {
        # None without a plan; ``applied`` is false when the plan changed nothing (an urgent referral)
        "adjusted": None if by is None else {"clinician": by.clinician, "note": by.note, "applied": bool(applied)},
        "changed": changed,
        "cleared": cleared,
    }


def left_out(rec: Recommendation) -> list[dict[str, Any]]:
    """What the person is told was left out of their routine, grouped by the reason.

    Only exercises something called for and that are not in the routine: those
    nothing called for are not news to the person, and a referral that gives no
    routine leaves nothing out (issue 15).
    """
    if rec.routine is None:
        return []
    groups: dict[str, list[str]] = {}
    for n in rec.not_chosen:
        if n.reason != "not_indicated":
            groups.setdefault(n.detail, []).append(n.name)
    return [{"detail": detail, "names": names} for detail, names in groups.items()]


def _day(d: date) -> str:
    return f"{d.day} {d.strftime('%B %Y')}"
