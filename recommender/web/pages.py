"""The web app's pages, from templates/web/ and the printable sheet.

The routine page *is* the printable sheet: templates/web/routine.html.j2
extends templates/sheet.html.j2 (the template of ``render(rec, "html")``),
keeps its head and body, and adds the buttons, the full "why" of every stretch
and what was left out around them, all marked ``web-only`` so printing gives
exactly the sheet. The sheet's own meta policy (no scripts) gives way to the
server's header policy, which allows the page's inline style by hash.
Inside the sheet it adds, also web-only, the follow-along player under the
header (its data a JSON island from ``recommender.web.follow``) and a
phone-sized tracker of two weeks of seven days.
"""

from __future__ import annotations

import json
from typing import Any

import markupsafe

from ..answers import Answers
from ..derivation import reasons, tree
from ..derivation import said as say
from ..knowledge import Knowledge
from ..render import render_template, sheet_context
from ..recommendation import Recommendation
from .follow import follow_along
from .form import Raw, sections, web_words
from .guard import csp, inline_styles


def form_page(
    kb: Knowledge,
    raw: Raw,
    errors: dict[str, str],
    notice: str = "",
    upload_error: str = "",
    earlier: Answers | None = None,
) -> str:
    """The questionnaire, filled with ``raw`` and with each error beside its field; with
    ``earlier``, a follow-up visit's check-in (issue 20): the first visit's answers carried in
    the page, the check-in questions at the end, and the answers sent to ``/follow-up``."""
    questions = kb.questions + kb.check_in if earlier is not None else kb.questions
    views = sections(questions, raw, errors)
    summary = [
        {"href": "#" + (f.options[0].id if f.options else f.id), "text": f.text, "error": f.error}
        for s in views
        for f in s.fields
        if f.error
    ]
    return render_template(
        "web/form.html.j2",
        sections=views,
        summary=summary,
        notice=notice,
        upload_error=upload_error,
        **({"action": "/follow-up", "earlier": answers_json(earlier)} if earlier is not None else {}),
    )


def routine_page(
    kb: Knowledge,
    rec: Recommendation,
    answers: Answers,
    set_aside: dict[str, str] | None = None,
    earlier: Answers | None = None,
) -> tuple[str, str]:
    """The routine page and its Content-Security-Policy (the page's own inline styles, by hash).

    ``set_aside``: the form's answers that were wrong or missing after a yes on the safety
    screen (``parse_form``); the page names them and carries no answers on. ``earlier``:
    after a check-in, the first visit's answers ride along in its buttons so the PDF is
    the follow-up sheet.
    """
    exercises = rec.routine.exercises if rec.routine else []
    page = render_template(
        "web/routine.html.j2",
        sheet=sheet_context(rec),
        answers="" if set_aside else answers_json(answers),
        set_aside=_question_texts(kb, list(set_aside or {})),
        follow=follow_along(rec),
        stopped=rec.routine is None,
        why=[{"id": ex.id, "name": ex.name, **_why(kb, ex.why)} for ex in exercises],
        referral=[{"message": r.message, **_why(kb, r.why)} for r in rec.referral.reasons],
        left_out=[n for n in rec.not_chosen if n.reason != "not_indicated"],
        **({"earlier": answers_json(earlier)} if earlier is not None else {}),
    )
    return page, csp(styles=inline_styles(page))


def _question_texts(kb: Knowledge, keys: list[str]) -> list[str]:
    """The form's fields (step keys: ``pain``, ``red_flags:fever``) as the page asks them."""
    texts = {}
    for q in kb.questions:
        texts[q.id] = web_words(q.text)
        for c in q.choices if q.ask_each else []:
            texts[f"{q.id}:{c.value}"] = c.text or c.label
    return [texts.get(k, k) for k in keys]


def _why(kb: Knowledge, node: dict[str, Any]) -> dict[str, Any]:
    """One reason, three ways: what it does, the answers it rests on, and the whole chain."""
    said: list[str] = []
    for leaf in reasons(node):  # the answers that made the choice; guards stay in the clinician view
        text = say(leaf)
        if text not in said:
            said.append(text)
    return {"does": node["because"], "said": said, "lines": tree(kb, node)[2:]}


def message_page(title: str, text: str) -> str:
    """A short page for something that went wrong outside the form."""
    return render_template("web/message.html.j2", title=title, text=text)


def docs_page(openapi: dict[str, Any], base: str) -> str:
    """The API described from the OpenAPI document, with nothing loaded from elsewhere."""
    operations = []
    for path, methods in openapi.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": _code(op.get("description", "")),
                    "request": json.dumps(body.get("schema"), indent=2) if body.get("schema") else "",
                    "example": json.dumps(body.get("example"), indent=2) if body.get("example") else "",
                    "responses": [
                        {"code": code, "description": r.get("description", "")}
                        for code, r in op.get("responses", {}).items()
                    ],
                }
            )
    info = {**openapi.get("info", {})}
    info["description"] = _code(info.get("description", ""))
    return render_template("web/docs.html.j2", info=info, operations=operations, base=base)


def _code(text: str) -> markupsafe.Markup:
    """Markdown's `code` spans (as OpenAPI descriptions write them) as <code>, the rest escaped."""
    parts = text.split("`")
    return markupsafe.Markup("").join(
        markupsafe.Markup("<code>{}</code>").format(part) if i % 2 else markupsafe.escape(part)
        for i, part in enumerate(parts)
    )


def answers_json(answers: Answers) -> str:
    """The answers as compact JSON, carried in the routine page's buttons."""
    return json.dumps(answers.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False)


def answers_file(answers: Answers) -> str:
    """The answers file to save: YAML, fields in the order of the answers format."""
    import yaml

    data = answers.model_dump(mode="json")
    for key, empty in (("name", ""), ("age", None)):
        if data.get(key) == empty:
            del data[key]  # a name left off and an age skipped mean the same as leaving them out
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, allow_unicode=True, width=1000)
    return (
        "# Stretchwise answers (format version 1), saved from the web page.\n"
        "# Load this file on the questions page to come back, or run: stretchwise recommend FILE\n" + body
    )
