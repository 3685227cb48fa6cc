"""The library's own exceptions; the CLI turns them into exit codes."""

from __future__ import annotations


class StretchwiseError(Exception):
    """Base of every error Stretchwise reports to a user."""


class AnswersError(StretchwiseError):
    """An answers file is missing, unreadable or invalid (exit code 2)."""


class KnowledgeError(StretchwiseError):
    """A rules or content file is invalid: a bug in the knowledge base."""


class EngineError(StretchwiseError):
    """The rule engine failed while reasoning over one person's answers."""
