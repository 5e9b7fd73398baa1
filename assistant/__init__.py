"""Ketamine Evidence Assistant: grounded, cited answers about ketamine and esketamine in depression."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(settings: Any = None) -> Flask:
    """The Flask app; imported lazily so that domain modules never pull in Flask."""
    from assistant.web import create_app as factory

    return factory(settings)
