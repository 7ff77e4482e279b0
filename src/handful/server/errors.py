"""Errors the HTTP layer maps to status codes; all are HandfulErrors with one-sentence messages."""

from __future__ import annotations

from ..errors import HandfulError


class NotFoundError(HandfulError, KeyError):
    """A project, example, job or version id that does not exist (HTTP 404)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ConflictError(HandfulError, ValueError):
    """The request clashes with the current state, e.g. a second training job (HTTP 409)."""


class TooLargeError(HandfulError, ValueError):
    """An upload over the configured size limit (HTTP 413)."""


class AuthError(HandfulError, PermissionError):
    """A missing or wrong API token (HTTP 401)."""


class UnavailableError(HandfulError, TimeoutError):
    """The server cannot answer now, e.g. a model that stopped answering; retrying may work (HTTP 503)."""
