"""OpenAPI ``links``: how an answer's ids feed the next request.

A client (and schemathesis's stateful phase) follows them from a list to its items, so the
item operations are reached with ids that exist: datasets -> dataset -> version -> its
records; the request board, the contribution queue and the showcases to one of each; and
what a POST created to the operations on it. One table, written into the document after
FastAPI builds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI


@dataclass(frozen=True)
class Link:
    source: tuple[str, str]  # (method, path) whose answer holds the ids
    status: str  # the answer's status code
    target: tuple[str, str]  # (method, path) the ids are for
    parameters: dict[str, str]  # target parameter -> runtime expression into the answer


DATASET = "/v1/datasets/{dataset_id}"
VERSION = "/v1/datasets/{dataset_id}/versions/{version}"
REQUEST = "/v1/requests/{request_id}"
CONTRIBUTION = "/v1/contributions/{contribution_id}"
SHOWCASE = "/v1/showcases/{showcase_id}"
WEBHOOK = "/v1/webhooks/{webhook_id}"

LINKS: tuple[Link, ...] = (
    Link(("GET", "/v1/datasets"), "200", ("GET", DATASET),
         {"dataset_id": "$response.body#/datasets/0/id"}),
    Link(("GET", DATASET), "200", ("GET", VERSION),
         {"dataset_id": "$response.body#/id", "version": "$response.body#/current_version"}),
    Link(("GET", DATASET), "200", ("GET", f"{DATASET}/records"),
         {"dataset_id": "$response.body#/id"}),
    Link(("GET", VERSION), "200", ("GET", f"{VERSION}/records"),
         {"dataset_id": "$response.body#/dataset", "version": "$response.body#/version"}),
    Link(("GET", VERSION), "200", ("GET", f"{VERSION}/provenance"),
         {"dataset_id": "$response.body#/dataset", "version": "$response.body#/version"}),
    Link(("GET", "/v1/requests"), "200", ("GET", REQUEST),
         {"request_id": "$response.body#/requests/0/id"}),
    *(Link(("POST", "/v1/requests"), "201", target, {"request_id": "$response.body#/id"})
      for target in (("GET", REQUEST), ("POST", f"{REQUEST}/votes"),
                     ("POST", f"{REQUEST}/comments"), ("POST", f"{REQUEST}/followers"),
                     ("POST", f"{REQUEST}/status"))),
    Link(("GET", "/v1/contributions"), "200", ("GET", CONTRIBUTION),
         {"contribution_id": "$response.body#/contributions/0/id"}),
    *(Link(("POST", "/v1/datasets/{dataset_id}/contributions"), "201", target,
           {"contribution_id": "$response.body#/id"})
      for target in (("GET", CONTRIBUTION), ("POST", f"{CONTRIBUTION}/decision"))),
    Link(("GET", "/v1/showcases"), "200", ("GET", SHOWCASE),
         {"showcase_id": "$response.body#/showcases/0/id"}),
    *(Link(("POST", "/v1/showcases"), "201", target, {"showcase_id": "$response.body#/id"})
      for target in (("GET", SHOWCASE), ("POST", f"{SHOWCASE}/decision"),
                     ("PUT", f"{SHOWCASE}/image"))),
    *(Link(("POST", "/v1/webhooks"), "201", target, {"webhook_id": "$response.body#/id"})
      for target in (("GET", WEBHOOK), ("GET", f"{WEBHOOK}/deliveries"),
                     ("DELETE", WEBHOOK))),
)


def document_links(app: FastAPI) -> None:
    """Write :data:`LINKS` into ``app``'s OpenAPI document. A link whose operations the app
    does not have fails here, at start-up, rather than sending clients nowhere."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        paths = schema.get("paths", {})
        for link in LINKS:
            source = _operation(paths, link.source)
            target = _operation(paths, link.target)
            response = source["responses"].setdefault(link.status, {"description": "Created"})
            name = f"{link.target[0].lower()}-{link.target[1].strip('/').replace('/', '-')}"
            response.setdefault("links", {})[name] = {
                "operationId": target["operationId"], "parameters": dict(link.parameters)}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _operation(paths: dict[str, Any], key: tuple[str, str]) -> dict[str, Any]:
    method, path = key
    try:
        return paths[path][method.lower()]
    except KeyError:
        raise LookupError(f"OpenAPI link names {method} {path}, which the API does not "
                          "have") from None
