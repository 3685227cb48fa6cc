"""The library's own exceptions; the CLI turns them into exit codes."""

from __future__ import annotations


class StretchwiseError(Exception):
    """Base of every error Stretchwise reports to a user."""


class AnswersError(StretchwiseError):
    """An answers file is missing, unreadable or invalid (exit code 2).

    ``problems`` lists ``{"field", "message"}`` for each invalid field (empty
    when the file as a whole is the problem), for programs such as ``batch``.
    """

    def __init__(self, message: str, problems: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class KnowledgeError(StretchwiseError):
    """A rules or content file is invalid: a bug in the knowledge base."""


class EngineError(StretchwiseError):
    """The rule engine failed while reasoning over one person's answers."""


class OutputError(StretchwiseError):
    """The output cannot be written (a full disk, a closed pipe): exit code 2."""


class PlanError(AnswersError):
    """A clinician's plan is unreadable, invalid or unsafe for these answers (exit code 2).

    A kind of bad input, so every face that reports bad answers reports it the same way.
    """
