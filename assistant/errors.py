"""The service's own error family.

Each error carries a stable machine code, an HTTP status and a message that is safe to show a
user. Third-party exceptions are translated into these at the boundary where they occur, so the
web layer can answer every failure with a JSON error and never with a stack trace.
"""

from __future__ import annotations


class AssistantError(Exception):
    code = "internal_error"
    status = 500
    public_message = "The service could not complete the request."

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message or self.public_message)
        self.message = message or self.public_message
        self.field = field


class BadRequest(AssistantError):
    code = "bad_request"
    status = 400


class ValidationFailed(AssistantError):
    code = "validation_error"
    status = 422


class NotFound(AssistantError):
    code = "not_found"
    status = 404


class Unauthorized(AssistantError):
    code = "unauthorized"
    status = 401


class IndexUnavailable(AssistantError):
    """The vector store cannot be reached or holds no index; retrying later may succeed."""

    code = "index_unavailable"
    status = 503
    public_message = "The evidence index is not available right now. Please try again shortly."


class StoreUnavailable(AssistantError):
    """The conversation store cannot be reached; retrying later may succeed."""

    code = "store_unavailable"
    status = 503
    public_message = "Conversations cannot be stored or read right now. Please try again shortly."


class CorpusError(AssistantError):
    """A source document could not be read or does not follow the corpus schema."""

    code = "corpus_error"
    status = 422

    def __init__(self, path: str, message: str, *, field: str | None = None) -> None:
        where = f"{path}: {field}: " if field else f"{path}: "
        super().__init__(where + message, field=field)
        self.path = path


class ConfigError(AssistantError):
    code = "config_error"
    status = 500
