"""Message and report templates (Chinese first, English second) and the default plan preset."""

from templates.catalog import LANGUAGES, has_message, normalise_language, render

__all__ = ["LANGUAGES", "has_message", "normalise_language", "render"]
