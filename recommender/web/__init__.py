"""The web app of ``stretchwise serve``: the questionnaire page, the routine page and a JSON API."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
