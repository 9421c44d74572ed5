"""``/v1/webhooks``: admins subscribe URLs to events, read the delivery log and replay.

Routes only check input and call ``hub.data.webhooks``; sending is the worker's job
(``hub.webhooks.worker``), so nothing here waits for a receiver.
"""

from __future__ import annotations

import base64
import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi_problem.error import Problem
from pydantic import BaseModel, Field

from hub.api.auth import PROBLEM_RESPONSES, PrincipalDep, problem_response, require
from hub.api.bounds import MAX_ID
from hub.api.deps import BaseUrlDep, SettingsDep
from hub.cocreation.text import URL_PATTERN
from hub.data.webhooks import WebhookStore
from hub.db.events import EVENT_TYPES, check_event_types
from hub.people.audit import AuditEntry
from hub.people.principal import Key
from hub.people.scopes import Scope
from hub.serialise.webhooks import delivery_json, endpoint_json
from hub.webhooks.targets import check_target

router = APIRouter(prefix="/v1", tags=["webhooks"])

AdminKey = Annotated[Key, Depends(require(Scope.ADMIN))]
WebhookId = Annotated[int, Path(ge=1, le=MAX_ID, description="Webhook (endpoint) id.")]

PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    400: problem_response("Invalid URL or event type, or a target that resolves to a "
                          "loopback, private or link-local address (`type`: invalid-webhook)"),
    404: problem_response("No such webhook or delivery"),
}


class Subscription(BaseModel):
    url: str = Field(description="Where to POST events (http or https, public address).",
                     examples=["https://example.org/hub-events"],
                     json_schema_extra={"pattern": URL_PATTERN})
    events: list[str] = Field(min_length=1, description="Event types: "
                              + ", ".join(EVENT_TYPES), examples=[["version.published"]],
                              json_schema_extra={"items": {"enum": list(EVENT_TYPES)}})


def _store(request: Request) -> WebhookStore:
    return request.app.state.webhook_store


StoreDep = Annotated[WebhookStore, Depends(_store)]


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@router.post("/webhooks", status_code=201, responses=PROBLEMS,
             summary="Subscribe a URL to events (admin); the secret is shown once")
def subscribe(subscription: Subscription, _admin: AdminKey, principal: PrincipalDep,
              store: StoreDep, settings: SettingsDep, base: BaseUrlDep,
              response: Response) -> dict[str, Any]:
    events = check_event_types(subscription.events)
    check_target(subscription.url, settings.webhook_private_networks())
    secret = new_secret()
    row = store.create(subscription.url, events, secret, principal.actor,
                       lambda r: AuditEntry.by(principal, "webhook.create", "webhook",
                                               str(r["id"]), url=r["url"], events=events))
    response.headers["Location"] = f"{base}/v1/webhooks/{row['id']}"
    # The only answer that carries the secret: no route reads it back.
    return {**endpoint_json(row, base), "secret": secret}


@router.get("/webhooks", responses=PROBLEMS, summary="Subscribed webhooks (admin)")
def list_webhooks(_admin: AdminKey, store: StoreDep, base: BaseUrlDep) -> dict[str, Any]:
    return {"webhooks": [endpoint_json(r, base) for r in store.endpoints()],
            "event_types": [{"type": e.name, "description": e.description}
                            for e in EVENT_TYPES.values()]}


@router.get("/webhooks/{webhook_id}", responses=PROBLEMS, summary="One webhook (admin)")
def get_webhook(webhook_id: WebhookId, _admin: AdminKey, store: StoreDep,
                base: BaseUrlDep) -> dict[str, Any]:
    return endpoint_json(store.endpoint(webhook_id), base)


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=PROBLEMS,
               summary="Unsubscribe (admin); its delivery log goes too")
def delete_webhook(webhook_id: WebhookId, _admin: AdminKey, principal: PrincipalDep,
                   store: StoreDep) -> Response:
    store.delete(webhook_id, lambda r: AuditEntry.by(principal, "webhook.delete", "webhook",
                                                     str(webhook_id), url=r["url"]))
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", responses=PROBLEMS,
            summary="The delivery log of a webhook, newest first (admin)")
def list_deliveries(
    webhook_id: WebhookId, _admin: AdminKey, store: StoreDep, base: BaseUrlDep,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID,
                                        description="Paging cursor: deliveries older than "
                                        "this id (the `next` link carries it).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    rows = store.deliveries(webhook_id, before, limit)
    next_link = (f"{base}/v1/webhooks/{webhook_id}/deliveries?before={rows[-1]['id']}"
                 f"&limit={limit}" if len(rows) == limit else None)
    return {"deliveries": [delivery_json(r, base) for r in rows], "next": next_link}


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/replay", status_code=202,
             responses={**PROBLEMS, 409: {"description": "The webhook is disabled "
                                                          "(problem+json)"}},
             summary="Send a delivery's event again (admin)")
def replay(webhook_id: WebhookId, delivery_id: Annotated[int, Path(ge=1, le=MAX_ID)],
           _admin: AdminKey,
           principal: PrincipalDep, store: StoreDep, base: BaseUrlDep) -> dict[str, Any]:
    endpoint = store.endpoint(webhook_id)
    if not endpoint["active"]:
        raise Problem(
            title="Webhook disabled", type_="webhook-disabled", status=409,
            detail=f"webhook {webhook_id} is disabled ({endpoint['disabled_reason']}); "
            "subscribe the URL again to receive events")
    return delivery_json(store.replay(
        webhook_id, delivery_id,
        lambda r: AuditEntry.by(principal, "webhook.replay", "webhook_delivery", str(r["id"]),
                                webhook=webhook_id, replay_of=delivery_id)), base)
