"""The whole-knowledge checks behind ``stretchwise check``.

Loading already validates each file and the names across files; these check
what only the whole can show: orphans and reachability (``reach``), that every
exclusion really excludes what it names (``coverage``), the questionnaire
against the answers format (``questions``) and the FHIR form made from it
(``fhir``), and that every answer the questionnaire offers is read by some
rule or is listed, with the reason, as deliberately changing nothing
(``answers_read``: an unread value is an error, a deliberate one a note). Each finding is a ``Problem`` with a severity: an ``error`` fails
the check, a ``note`` is information.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .answers_read import check_answers_read
from .coverage import check_contraindications
from .fhir import check_fhir
from .questions import check_questions
from .reach import check_knowledge, check_reachable, witness

if TYPE_CHECKING:
    from ..knowledge import Knowledge

__all__ = ["Problem", "run_checks", "witness"]


@dataclass(frozen=True)
class Problem:
    """One line of ``stretchwise check``."""

    severity: Literal["error", "note"]
    message: str

    def __str__(self) -> str:
        return f"note: {self.message}" if self.severity == "note" else self.message


def run_checks(kb: Knowledge) -> list[Problem]:
    """Every problem and note, errors first; reachability only once the names resolve."""
    errors = check_knowledge(kb) + check_questions(kb) + check_fhir(kb)
    if not errors:
        errors = check_reachable(kb)
    coverage, notes = check_contraindications(kb)
    errors += coverage
    unread, deliberate = check_answers_read(kb)
    errors += unread
    notes = deliberate + notes
    return [Problem("error", m) for m in errors] + [Problem("note", m) for m in notes]
