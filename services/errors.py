"""Domain errors of the services: a code and parameters that the templates turn into text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ServiceError(Exception):
    """A use case that could not be carried out; nothing of it was stored."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params: Mapping[str, Any] = params
        super().__init__(f"{code} {params}" if params else code)


class Refused(ServiceError):
    """The actor may not do this (wrong role, another unit, inactive account)."""


class NotFound(ServiceError):
    """The thing acted on does not exist (or is not visible to the actor)."""


class Invalid(ServiceError):
    """The request itself is wrong: a bad date, an empty text, a state that does not allow it."""
