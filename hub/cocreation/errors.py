"""Why a co-creation write is refused. Each class is one HTTP status (``hub.api.errors``)."""

from __future__ import annotations


class Refused(Exception):
    """A write that cannot be done as asked; ``detail`` tells the caller what to change.
    ``field`` names the body field at fault, when one is."""

    status = 422
    type_ = "invalid-body"
    title = "Invalid request body"

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(Refused):
    """422: the body is well-formed JSON but breaks a rule (text, geometry, status move)."""


class Conflict(Refused):
    """409: the item's state does not allow it (a vote on a closed request, a decision on a
    showcase already decided)."""

    status = 409
    type_ = "conflict"
    title = "Conflict with the item's state"


class TooManyPending(Refused):
    """429: the key has as many items waiting for staff as one key may have."""

    status = 429
    type_ = "too-many-pending"
    title = "Too many pending items"


class PayloadTooLarge(Refused):
    """413: the body (JSON or image) is larger than the hub accepts."""

    status = 413
    type_ = "payload-too-large"
    title = "Payload too large"


class UnsupportedImage(Refused):
    """415: an upload that is not an image of an accepted type."""

    status = 415
    type_ = "unsupported-image"
    title = "Not an accepted image"
