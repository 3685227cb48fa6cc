"""Follow along: the routine as a sequence to do in time, for the routine page's "Start".

The page's script (templates/web/follow.js) only plays this sequence: every
hold, rep count, side and rest comes from the Recommendation the server
rendered, so the page and the sheet can never disagree about a dose. The
sequence goes into the page as a JSON island (``<script type="application/json">``,
which no browser runs); nothing about it is sent back or stored on the server.
"""

from __future__ import annotations

import json
from typing import Any

import markupsafe

from ..recommendation import ChosenExercise, Recommendation

#: The pause between two sets, as ``content.Dose.seconds`` counts it in the routine's time.
SET_REST_SECONDS = 15
#: A moment to let go between two holds (the steps say to ease off before the next one),
#: and to get into place when the side changes. Not counted in the routine's time.
LET_GO_SECONDS = 3
GET_READY_SECONDS = 5
#: The order the sides are done in, and how the page names them.
SIDES = ("left", "right")


def follow_along(rec: Recommendation) -> markupsafe.Markup:
    """The follow-along data of a routine as a JSON island's text (empty when there is no routine)."""
    if rec.routine is None:
        return markupsafe.Markup("")
    data = {
        "version": 1,
        "exercises": [_exercise(ex) for ex in rec.routine.exercises],
    }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # inside <script>, "</" and "<!--" must not appear: escape every < > & as JSON allows
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return markupsafe.Markup(text)


def _exercise(ex: ChosenExercise) -> dict[str, Any]:
    return {
        "id": ex.id,
        "name": ex.name,
        "variant": ex.variant_name,
        "dose": ex.dose.text,
        "steps": ex.steps,
        "cautions": ex.cautions,
        "sequence": sequence(ex),
    }


def sequence(ex: ChosenExercise) -> list[dict[str, Any]]:
    """What to do, one step at a time. A step with ``seconds`` is a countdown (``hold``,
    ``let_go`` between holds, ``rest`` between sets, ``ready`` when the side changes); one
    without waits for the person: ``begin`` (get into place, then Go) and ``reps`` (a
    counter to tap, up to ``reps``). ``say`` is what the page announces.
    """
    dose = ex.dose
    sides: tuple[str | None, ...] = SIDES if dose.each_side else (None,)
    out = [_step("begin", None, f"Get into place for the {ex.name}, then press Go.")]
    for set_no in range(1, dose.sets + 1):
        sets = f"Set {set_no} of {dose.sets}. " if dose.sets > 1 else ""
        if set_no > 1:
            rest = f"Rest for {SET_REST_SECONDS} seconds."
            out.append(_step("rest", SET_REST_SECONDS, rest, set=set_no - 1))
        for i, side in enumerate(sides):
            if side and (i > 0 or set_no > 1):
                now = f"{sets}Now the {side} side."
                out.append(_step("ready", GET_READY_SECONDS, now, side=side, set=set_no))
            start = f"{sets}Start with the {side} side. " if side and i == 0 and set_no == 1 else ""
            if not side:
                start = sets
            if dose.hold_seconds is None:
                what = f"{dose.reps} times" if dose.reps > 1 else "once"
                do = f"{start}Do it {what}."
                out.append(_step("reps", None, do, side=side, set=set_no, reps=dose.reps))
                continue
            for rep in range(1, dose.reps + 1):
                if rep > 1:
                    out.append(_step("let_go", LET_GO_SECONDS, "Let go.", side=side, set=set_no))
                count = f" {rep} of {dose.reps}" if dose.reps > 1 else ""
                said = f"{start if rep == 1 else ''}Hold{count}: {dose.hold_seconds} seconds."
                out.append(
                    _step("hold", dose.hold_seconds, said, side=side, set=set_no, rep=rep, reps=dose.reps)
                )
    return out


def _step(kind: str, seconds: int | None, say: str, **where: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"kind": kind, "say": say}
    if seconds is not None:
        step["seconds"] = seconds
    step.update({k: v for k, v in where.items() if v is not None})
    return step
