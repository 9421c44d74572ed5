"""Keys over HTTP: issue, list, revoke (staff), take one (residents), and ``/v1/me``.

Routes only translate: the rules live in ``hub.people`` (who may do what), storage and the
audit entry of each write in ``hub.data.people``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from hub.api.auth import PROBLEM_RESPONSES, PrincipalDep, require
from hub.api.bounds import JSON_INTEGER, MAX_ID, MAX_INT
from hub.api.ratelimit import RateLimiter
from hub.catalog import DATASET_ID
from hub.cocreation.text import WHITE_SPACE
from hub.data.people import People
from hub.people.audit import AuditEntry
from hub.people.durations import DURATION_PATTERN
from hub.people.keys import MAX_NAME_LENGTH, NewKey, check_may_revoke, expiry_from, visible_kind
from hub.people.principal import Forbidden, Key, Principal
from hub.people.scopes import KeyKind, Scope
from hub.serialise.people import key_json
from hub.settings import Settings

router = APIRouter(prefix="/v1", tags=["people"])


# A key's name as NewKey takes it: something besides white space (what `str.strip` removes),
# no NUL, at most MAX_NAME_LENGTH.
KEY_NAME_PATTERN = f"^[^\\x00]*[^{WHITE_SPACE}\\x00][^\\x00]*$"
KEY_NAME_SCHEMA = {"minLength": 1, "maxLength": MAX_NAME_LENGTH, "pattern": KEY_NAME_PATTERN}


class KeyRequest(BaseModel):
    # An admin key acts on the whole hub, so it takes no dataset list (NewKey refuses one).
    model_config = ConfigDict(json_schema_extra={"not": {
        "required": ["scopes", "datasets"],
        "properties": {"scopes": {"contains": {"const": Scope.ADMIN.value}},
                       "datasets": {"type": "array"}}}})

    name: str = Field(description="Who or what the key is for, shown in listings and the "
                      "audit log.", examples=["parks department uploads"],
                      json_schema_extra=KEY_NAME_SCHEMA)
    scopes: list[Scope] = Field(min_length=1, examples=[["publish"]])
    datasets: list[Annotated[str, Field(pattern=DATASET_ID.pattern)]] | None = Field(
        default=None, json_schema_extra={"minItems": 1},  # NewKey refuses an empty list
        description="Limit the key to these datasets (default: every one).")
    expires: str | None = Field(default=None, description="Lifetime, e.g. 90d, 12h, 2w "
                                "(default: never).", examples=["90d"],
                                json_schema_extra={"pattern": DURATION_PATTERN})
    rate_limit: Annotated[int, Field(ge=0, le=MAX_INT), JSON_INTEGER] | None = Field(
        default=None, description="Requests per window instead of HUB_RATE_LIMIT_KEY (0: "
        "unlimited).")


class SelfServiceRequest(BaseModel):
    display_name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=KEY_NAME_PATTERN,
                              description="How contributions are credited; any name, it "
                              "proves nothing about who you are.", examples=["Hanako Y."])


def _people(request: Request) -> People:
    return request.app.state.people


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _issued(row: dict[str, Any], token: str) -> dict[str, Any]:
    return {"token": token, **key_json(row)}


@router.post("/keys", status_code=201, summary="Issue a key (admin)",
             responses=PROBLEM_RESPONSES)
def create_key(body: KeyRequest, request: Request, principal: PrincipalDep,
               _admin: Annotated[Key, Depends(require(Scope.ADMIN))]) -> dict[str, Any]:
    """The token is in this answer only; the hub keeps its SHA-256."""
    new = NewKey(name=body.name, kind=KeyKind.STAFF, scopes=frozenset(body.scopes),
                 created_by=principal.actor,
                 datasets=frozenset(body.datasets) if body.datasets is not None else None,
                 expires_at=expiry_from(body.expires, datetime.now(UTC)),
                 rate_limit=body.rate_limit)
    row, token = _people(request).issue(
        new, lambda r: AuditEntry.by(principal, "key.create", "key", str(r["id"]),
                                     name=r["name"], scopes=r["scopes"], datasets=r["datasets"],
                                     expires_at=_iso(r["expires_at"])))
    return _issued(row, token)


@router.post("/keys/self", status_code=201, summary="Take a self-service contributor key",
             responses=PROBLEM_RESPONSES)
async def create_self_service_key(body: SelfServiceRequest, request: Request,
                                  principal: PrincipalDep) -> dict[str, Any]:
    """A ``contribute``-only key for anyone, limited per client address. It proves that
    someone asked for it from that address, nothing about who they are (docs/people.md)."""
    row, token = await issue_self_service_key(request, principal, body.display_name)
    return _issued(row, token)


async def issue_self_service_key(request: Request, principal: Principal,
                                 display_name: str) -> tuple[dict[str, Any], str]:
    """Issue a self-service key (the API's route and the portal's sign-in page): the
    settings' switch and lifetime, the per-address allowance and the audit entry."""
    settings = _settings(request)
    if settings.self_service_keys_per_hour == 0:
        raise Forbidden("self-service keys are turned off on this hub; ask the city's staff "
                        "for a key", Scope.CONTRIBUTE)
    new = NewKey(name=display_name, kind=KeyKind.SELF,
                 scopes=frozenset({Scope.CONTRIBUTE}), created_by=principal.actor,
                 expires_at=expiry_from(f"{settings.self_service_key_days}d",
                                        datetime.now(UTC)))
    limiter: RateLimiter = request.app.state.limiter
    await limiter.take_self_service_slot(principal.client_address)
    return await anyio.to_thread.run_sync(lambda: _people(request).issue(
        new, lambda r: AuditEntry.by(principal, "key.create_self", "key", str(r["id"]),
                                     name=r["name"])))


@router.get("/keys", summary="List keys (admin: all; moderate: self-service keys)",
            responses=PROBLEM_RESPONSES)
def list_keys(request: Request,
              actor: Annotated[Key, Depends(require(Scope.MODERATE))],
              include_revoked: Annotated[bool, Query(
                  description="Also list revoked keys.")] = True) -> dict[str, Any]:
    rows = _people(request).keys(visible_kind(actor), include_revoked)
    return {"keys": [key_json(r) for r in rows]}


@router.delete("/keys/{key_id:int}", summary="Revoke a key (admin; moderate: self-service keys)",
               responses=PROBLEM_RESPONSES)
def revoke_key(key_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: Request,
               principal: PrincipalDep,
               actor: Annotated[Key, Depends(require(Scope.MODERATE))],
               reason: Annotated[str | None, Query(
                   min_length=1,
                   description="Why; shown to the key's holder on their next write. Leave it "
                               "out for no reason; an empty one says nothing and is "
                               "refused.")] = None,
               ) -> dict[str, Any]:
    row = _people(request).revoke(
        key_id, principal.actor, reason,
        check=lambda r: check_may_revoke(actor, KeyKind(r["kind"])),
        audit=lambda r, result: AuditEntry.by(principal, "key.revoke", "key", str(r["id"]),
                                              result, name=r["name"], reason=reason))
    return key_json(row)


@router.get("/me", summary="The calling key: name, scopes, datasets, quota and usage",
            responses=PROBLEM_RESPONSES)
async def me(request: Request, principal: PrincipalDep) -> dict[str, Any]:
    """Without a key: the anonymous quota of this client address. With a token that cannot be
    used (unknown, revoked, expired): 401 saying which."""
    if principal.credential_problem is not None:
        raise principal.credential_problem
    limiter: RateLimiter = request.app.state.limiter
    usage = await limiter.usage(principal)
    key = principal.key
    if key is None:
        return {"anonymous": True, "client_address": principal.client_address,
                "quota": usage}
    return {"anonymous": False, "id": key.id, "name": key.name, "kind": key.kind.value,
            "scopes": sorted(s.value for s in key.scopes),
            "datasets": sorted(key.datasets) if key.datasets is not None else None,
            "expires_at": _iso(key.expires_at), "quota": usage}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
