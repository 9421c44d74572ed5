"""RFC 9457 problem details for every error, through the ``fastapi-problem`` library.

Our domain exceptions (bad query, unknown dataset, withdrawn version) are mapped to problems
here, so routes simply raise them. Unexpected exceptions become a 500 problem without
internals in the body (they are logged).
"""

from __future__ import annotations

import errno
import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi_problem.error import Problem
from fastapi_problem.handler import add_exception_handler, new_exception_handler
from sqlalchemy.exc import DBAPIError

from hub.api.ratelimit import RateLimited
from hub.api.uploads import BadUpload, UploadTooLarge
from hub.catalog import DefinitionError
from hub.cocreation.contributions import InvalidContribution
from hub.cocreation.dataset_drafts import DefinitionExists, InvalidDraft, ProposalError
from hub.cocreation.errors import Refused
from hub.cocreation.publishing import UnknownDataset, WithdrawRefused
from hub.data import Gone, NotFound
from hub.db.events import UnknownEventType
from hub.people.keys import InvalidKeyRequest
from hub.people.principal import Forbidden, Unauthenticated
from hub.query.model import QueryError, UnknownReference
from hub.webhooks.targets import RefusedTarget

logger = logging.getLogger("hub.api")



class NotAcceptable(Exception):
    """The client asked for a representation we cannot produce."""


class PublishRefused(Exception):
    """The publish pipeline refused an uploaded file (422); ``outcome`` is the answer's body
    (the report, and ``errors``: each error with file, row, column, value, rule, message)."""

    def __init__(self, outcome: dict[str, Any], reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


class UnreadableUpload(Exception):
    """An uploaded file could not be read as a table at all (422); ``outcome`` says what did
    not happen ("not published", "not proposed")."""

    def __init__(self, file: str, message: str, outcome: str = "not published") -> None:
        super().__init__(message)
        self.file = file
        self.message = message
        self.outcome = outcome


def _query_error(_eh: object, _request: Request, exc: QueryError) -> Problem:
    extras = {"parameter": exc.parameter} if exc.parameter else {}
    return Problem(title="Invalid query parameter", type_="invalid-parameter", status=400,
                   detail=exc.detail, **extras)


def _unknown_reference(_eh: object, _request: Request, exc: UnknownReference) -> Problem:
    return Problem(title="Unknown reference", type_="unknown-reference", status=422,
                   detail=exc.detail, parameter=exc.parameter)


def _not_found(_eh: object, _request: Request, exc: NotFound) -> Problem:
    return Problem(title="Not found", type_="not-found", status=404, detail=str(exc))


def _gone(_eh: object, _request: Request, exc: Gone) -> Problem:
    detail = str(exc) + (f": {exc.reason}" if exc.reason else "")
    return Problem(title="Version withdrawn", type_="version-withdrawn", status=410,
                   detail=detail, reason=exc.reason)


def _not_acceptable(_eh: object, _request: Request, exc: NotAcceptable) -> Problem:
    return Problem(title="Not acceptable", type_="not-acceptable", status=406, detail=str(exc))


def _definition_error(_eh: object, _request: Request, exc: DefinitionError) -> Problem:
    logger.error("dataset definition error: %s", exc)
    return Problem(title="Dataset definition error", type_="definition-error", status=500,
                   detail="the dataset's definition is invalid; the operators have been told")


def _database_trouble(exc: BaseException | None) -> Problem:
    """The one answer to the database's trouble, not a bug: 503 with Retry-After, so clients
    and caches retry. A query cut by ``statement_timeout`` (or cancelled) asks for a narrower
    query; anything else psycopg calls operational (a lost connection after a restart or
    failover, a database that refuses connections, no free connection in the pool, an
    administrator's shutdown) is retried in a moment."""
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return Problem(title="Query took too long", type_="query-timeout", status=503,
                       detail="the query ran longer than the server allows; narrow it with a "
                       "bbox, filters or a smaller limit", headers={"Retry-After": "5"})
    logger.warning("database unavailable: %s", exc)
    return Problem(title="Database unavailable", type_="database-unavailable", status=503,
                   detail="the connection to the database was lost, refused or none was "
                   "free; the request can be retried", headers={"Retry-After": "1"})


def _database_error(_eh: object, _request: Request, exc: DBAPIError) -> Problem:
    """Reads through SQLAlchemy wrap psycopg's error: operational ones, and any that cost the
    connection, are the database's trouble (:func:`_database_trouble`); other database
    errors stay 500s (they are bugs) and are logged."""
    if exc.connection_invalidated or isinstance(exc.orig, psycopg.OperationalError):
        return _database_trouble(exc.orig)
    logger.error("database error", exc_info=exc)
    return Problem(title="Internal server error", type_="internal-error", status=500,
                   detail="the server failed to answer; the operators have been told")


def _psycopg_operational(_eh: object, _request: Request,
                         exc: psycopg.OperationalError) -> Problem:
    """Reads that use psycopg directly (single records on the async pool,
    hub.data.records_by_key; the pool discards a broken connection when it comes back, so a
    retry gets a fresh one)."""
    return _database_trouble(exc)


# What the disk says when it, or the user's quota, is full: the operator's trouble, and it
# passes; never a bug to hide behind a 500.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def _os_error(_eh: object, _request: Request, exc: OSError) -> Problem:
    """A full disk while bulk files are built is 503 with Retry-After and says so (nothing
    half-written is served: files are staged and committed together, see hub.storage);
    any other OS error is a 500, logged."""
    if exc.errno in _NO_SPACE:
        logger.error("storage full: %s", exc)
        return Problem(title="Storage full", type_="storage-full", status=503,
                       detail="the server's file store is full, so the files could not be "
                       "built; nothing partial was kept and the request can be retried later",
                       headers={"Retry-After": "60"})
    logger.error("operating system error", exc_info=exc)
    return Problem(title="Internal server error", type_="internal-error", status=500,
                   detail="the server failed to answer; the operators have been told")


def _unauthenticated(_eh: object, _request: Request, exc: Unauthenticated) -> Problem:
    """401 with the RFC 6750 challenge: ``error="invalid_token"`` when a token was sent and
    cannot be used, no error code when none was sent."""
    challenge = 'Bearer realm="hub"' + (f', error="{exc.error}"' if exc.error else "")
    return Problem(title="Unauthorized", type_="unauthorized", status=401, detail=exc.detail,
                   headers={"WWW-Authenticate": challenge})


def _forbidden(_eh: object, _request: Request, exc: Forbidden) -> Problem:
    challenge = f'Bearer realm="hub", error="insufficient_scope", scope="{exc.scope.value}"'
    return Problem(title="Forbidden", type_="forbidden", status=403, detail=exc.detail,
                   headers={"WWW-Authenticate": challenge})


def _rate_limited(_eh: object, _request: Request, exc: RateLimited) -> Problem:
    return Problem(title="Too many requests", type_="rate-limited", status=429,
                   detail=exc.detail, headers=exc.headers)


def _invalid_key_request(_eh: object, _request: Request, exc: InvalidKeyRequest) -> Problem:
    return Problem(title="Invalid key request", type_="invalid-key-request", status=400,
                   detail=str(exc))


def _refused(_eh: object, _request: Request, exc: Refused) -> Problem:
    """Co-creation refusals carry their own status (422, 409, 413, 415, 429) and the body
    field at fault, when there is one."""
    extras = {"field": exc.field} if exc.field else {}
    return Problem(title=exc.title, type_=exc.type_, status=exc.status, detail=exc.detail,
                   **extras)


def _invalid_webhook(_eh: object, _request: Request,
                     exc: RefusedTarget | UnknownEventType) -> Problem:
    return Problem(title="Invalid webhook", type_="invalid-webhook", status=400,
                   detail=str(exc))


def _invalid_contribution(_eh: object, _request: Request, exc: InvalidContribution) -> Problem:
    """A contribution refused on arrival: ``errors`` lists each field and the rule it broke
    (the rule names are the ETL report's, as for a file)."""
    return Problem(title=exc.title, type_=exc.type_, status=exc.status, detail=exc.detail,
                   errors=[p.to_dict() for p in exc.problems])


def _publish_refused(_eh: object, _request: Request, exc: PublishRefused) -> Problem:
    extras = {k: v for k, v in exc.outcome.items() if k not in ("status", "refused")}
    return Problem(title="Not published", type_="publish-refused", status=422,
                   detail=f"not published: {exc.reason}", **extras)


def _unreadable_upload(_eh: object, _request: Request, exc: UnreadableUpload) -> Problem:
    error = {"file": exc.file, "row": None, "column": None, "value": None, "rule": "readable",
             "message": exc.message, "severity": "error"}
    if exc.outcome == "not published":
        return Problem(title="Not published", type_="publish-refused", status=422,
                       detail=f"not published: {exc.file}: {exc.message}", errors=[error])
    return Problem(title="Unreadable file", type_="unreadable-file", status=422,
                   detail=f"{exc.outcome}: {exc.file}: {exc.message}", errors=[error])


def _upload_too_large(_eh: object, _request: Request, exc: UploadTooLarge) -> Problem:
    return Problem(title="Upload too large", type_="upload-too-large", status=413,
                   detail=str(exc), max_bytes=exc.max_bytes)


def _bad_upload(_eh: object, _request: Request, exc: BadUpload) -> Problem:
    return Problem(title="Invalid upload", type_="invalid-upload", status=400, detail=str(exc))


def _unknown_dataset(_eh: object, _request: Request, exc: UnknownDataset) -> Problem:
    return Problem(title="Not found", type_="not-found", status=404, detail=str(exc))


def _proposal_error(_eh: object, _request: Request, exc: ProposalError) -> Problem:
    """A correction naming a schema, header or field that does not exist: well formed, but
    it refers to nothing in the file or on the hub (as a showcase pinning a missing version)."""
    return Problem(title="Invalid correction", type_="invalid-proposal", status=422,
                   detail=str(exc))


def _invalid_draft(_eh: object, _request: Request, exc: InvalidDraft) -> Problem:
    return Problem(title="Invalid dataset definition", type_="invalid-definition", status=422,
                   detail=str(exc))


def _definition_exists(_eh: object, _request: Request, exc: DefinitionExists) -> Problem:
    return Problem(title="Already defined", type_="definition-exists", status=409,
                   detail=str(exc))


def _withdraw_refused(_eh: object, _request: Request, exc: WithdrawRefused) -> Problem:
    return Problem(title="Not withdrawn", type_="withdraw-refused", status=409, detail=str(exc))


def install_problem_handlers(app: FastAPI) -> None:
    domain = {
        UnknownReference: _unknown_reference,  # before QueryError, the class it refines
        QueryError: _query_error,
        NotFound: _not_found,
        Gone: _gone,
        NotAcceptable: _not_acceptable,
        DefinitionError: _definition_error,
        DBAPIError: _database_error,
        psycopg.OperationalError: _psycopg_operational,
        OSError: _os_error,
        Unauthenticated: _unauthenticated,
        Forbidden: _forbidden,
        RateLimited: _rate_limited,
        InvalidKeyRequest: _invalid_key_request,
        Refused: _refused,
        InvalidContribution: _invalid_contribution,
        RefusedTarget: _invalid_webhook,
        UnknownEventType: _invalid_webhook,
        PublishRefused: _publish_refused,
        UnreadableUpload: _unreadable_upload,
        UploadTooLarge: _upload_too_large,
        BadUpload: _bad_upload,
        UnknownDataset: _unknown_dataset,
        WithdrawRefused: _withdraw_refused,
        ProposalError: _proposal_error,
        InvalidDraft: _invalid_draft,
        DefinitionExists: _definition_exists,
    }
    handler = new_exception_handler(logger=logger, handlers=dict(domain))
    app.state.problem_handler = handler  # for middleware, which answers before the routes
    add_exception_handler(app, handler)
    # Registered per class too, so Starlette's ExceptionMiddleware answers them as ordinary
    # client errors; only truly unexpected exceptions reach the catch-all 500 handler.
    for exception_class in domain:
        app.add_exception_handler(exception_class, handler)
