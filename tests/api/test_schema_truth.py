"""The OpenAPI documents and the API agree, in both directions, on the cases fuzzing found:
what the schema allows is answered (or is a 404 for a thing that does not exist), what the
API refuses the schema forbids too. Through the real app and database."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest

from hub.people.scopes import Scope
from tests.api.conftest import Hub
from tests.people_hub import issue_key

PINNED = "/v1/datasets/test-shops/versions/2"
TILE = "/ogc/collections/test-shops/tiles/WebMercatorQuad"


@pytest.fixture(scope="module")
def openapi(hub: Hub) -> dict[str, Any]:
    return hub.client.get("/openapi.json").json()


def parameter(openapi: dict[str, Any], path: str, name: str,
              method: str = "get") -> dict[str, Any]:
    operation = openapi["paths"][path][method]
    return next(p for p in operation["parameters"] if p["name"] == name)["schema"]


def assert_problem(response, status: int, parameter: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["detail"]
    if parameter is not None:
        assert body["parameter"] == parameter


@pytest.mark.parametrize("name", ["q", "keyword", "organisation", "licence"])
def test_nul_in_a_catalogue_parameter_is_a_400(hub: Hub, name: str) -> None:
    response = hub.client.get("/v1/datasets", params={name: "shop\x00s"})
    assert_problem(response, 400, name)
    assert "NUL" in response.json()["detail"]


def test_nul_in_records_is_refused_by_the_same_rule(hub: Hub) -> None:
    catalogue = hub.client.get("/v1/datasets", params={"q": "\x00"}).json()["detail"]
    records = hub.client.get(f"{PINNED}/records", params={"q": "\x00"}).json()["detail"]
    assert catalogue == records


def test_tile_zoom_bounds_are_declared_as_enforced(hub: Hub, openapi: dict[str, Any]) -> None:
    path = "/ogc/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{y}/{x}"
    zoom = parameter(openapi, path, "z")
    assert (zoom["minimum"], zoom["maximum"]) == (0, 24)
    ogc = hub.client.get("/ogc/api").json()
    ogc_zoom = next(p for p in ogc["paths"][
        "/collections/{collectionId}/tiles/WebMercatorQuad/{z}/{y}/{x}"]["get"]["parameters"]
        if p["name"] == "z")["schema"]
    assert ogc_zoom["maximum"] == 24
    assert hub.client.get(f"{TILE}/26846/0/0").status_code in (400, 422)
    assert hub.client.get(f"{TILE}/24/0/0").status_code in (200, 204)


def test_a_tile_past_the_edge_of_its_zoom_does_not_exist(hub: Hub) -> None:
    assert_problem(hub.client.get(f"{TILE}/1/2/0"), 404)


def test_since_is_declared_as_a_change_id_or_a_timestamp(hub: Hub,
                                                          openapi: dict[str, Any]) -> None:
    since = parameter(openapi, "/v1/changes", "since")
    assert {"type": "string", "format": "date-time"} in since["anyOf"]
    assert any(alt.get("type") == "integer" for alt in since["anyOf"])
    assert_problem(hub.client.get("/v1/changes", params={"since": "Å"}), 400, "since")
    assert_problem(hub.client.get("/v1/changes", params={"since": "²"}), 400, "since")
    assert hub.client.get("/v1/changes", params={"since": "0"}).status_code == 200


def test_variant_is_declared_and_empty_is_invalid(hub: Hub, openapi: dict[str, Any]) -> None:
    variant = parameter(openapi, "/v1/datasets/{dataset_id}/download.{ext}", "variant")
    assert {"type": "string", "enum": ["excel"]} in variant["anyOf"]
    assert_problem(hub.client.get(f"{PINNED}/download.csv?variant="), 400, "variant")


def test_excel_variant_of_another_format_is_a_missing_file(hub: Hub) -> None:
    assert_problem(hub.client.get(f"{PINNED}/download.parquet?variant=excel"), 404)


def test_records_document_that_near_route_and_near_stop_exclude_each_other(
        openapi: dict[str, Any]) -> None:
    operation = openapi["paths"]["/v1/datasets/{dataset_id}/records"]["get"]
    described = {p["name"]: p["description"] for p in operation["parameters"]}
    assert "not with `near_stop`" in described["near_route"]
    assert "`radius`" in described["near_route"]


def test_both_near_references_are_refused(hub: Hub) -> None:
    response = hub.client.get(f"{PINNED}/records", params={
        "near_route": "feed:1", "near_stop": "feed:2", "radius": "100"})
    assert_problem(response, 400)


def test_latest_download_redirect_is_documented_without_body(openapi: dict[str, Any]) -> None:
    for path in ("/v1/datasets/{dataset_id}/download.{ext}",
                 "/v1/datasets/{dataset_id}/layers/{layer}/download.{ext}"):
        redirect = openapi["paths"][path]["get"]["responses"]["307"]
        assert "content" not in redirect
        assert "Location" in redirect["headers"]


def test_latest_download_redirect_sends_location_and_no_body(hub: Hub) -> None:
    response = hub.client.get("/v1/datasets/test-shops/download.csv", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"].endswith("/versions/2/download.csv")
    assert response.content == b""


def test_ckan_unknown_action_is_documented_as_ckan_envelope(hub: Hub,
                                                            openapi: dict[str, Any]) -> None:
    operation = openapi["paths"]["/api/3/action/{action}"]["get"]
    assert list(operation["responses"]["400"]["content"]) == ["application/json"]
    error = operation["responses"]["400"]["content"]["application/json"]["schema"]
    assert error["properties"]["success"]["enum"] == [False]
    response = hub.client.get("/api/3/action/no_such_action")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["success"] is False
    assert "Action name not known" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", [
    "/v1/datasets?offset=341976285685792505344294912",
    "/v1/datasets/test-shops/versions/2580671227/diff/1",
    "/v1/requests/6916489118132102255083520",
    "/v1/showcases/10765189199252068352",
    "/v1/datasets/test-shops/versions/99999999999/records",
])
def test_numbers_past_the_database_range_are_client_errors(hub: Hub, path: str) -> None:
    response = hub.client.get(path)
    assert 400 <= response.status_code < 500, (path, response.text)


def test_version_pattern_is_declared_as_enforced(hub: Hub, openapi: dict[str, Any]) -> None:
    pattern = parameter(openapi, "/v1/datasets/{dataset_id}/versions/{version}/records",
                        "version")["pattern"]
    for ref in ("latest", "1", "999999999"):
        assert re.fullmatch(pattern, ref)
    for ref in ("0", "0.1.0", "01", "1000000000"):
        assert not re.fullmatch(pattern, ref)
        assert_problem(hub.client.get(f"/v1/datasets/test-shops/versions/{ref}"), 400,
                       "version")


def test_405_allow_lists_every_method_of_the_path(hub: Hub) -> None:
    response = hub.client.request("OPTIONS", "/v1/requests")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "POST"}


def test_a_key_is_optional_where_reading_needs_none(openapi: dict[str, Any]) -> None:
    assert openapi["paths"]["/v1/me"]["get"]["security"] == [{"bearer": []}, {}]
    assert openapi["paths"]["/v1/keys"]["get"]["security"] == [{"bearer": []}]


def admin_headers(hub: Hub) -> dict[str, str]:
    _id, token = issue_key(hub.client.app.state.people, "schema-truth", Scope.ADMIN)
    return {"Authorization": f"Bearer {token}"}


def body_schema(openapi: dict[str, Any], path: str) -> dict[str, Any]:
    schema = openapi["paths"][path]["post"]["requestBody"]["content"]["application/json"][
        "schema"]
    if "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_ckan_help_show_answers_the_help_url_every_envelope_gives(hub: Hub) -> None:
    envelope = hub.client.get("/api/3/action/package_list").json()
    helped = hub.client.get(envelope["help"])
    assert helped.status_code == 200 and helped.json()["success"] is True
    assert "help_show" in helped.json()["help"] and helped.json()["result"]
    assert hub.client.get("/api/3/action/help_show?name=nope").status_code == 404


def test_portal_pages_are_not_api_operations(openapi: dict[str, Any]) -> None:
    assert "/requests" not in openapi["paths"]
    assert "/requests/{request_id}" not in openapi["paths"]


def test_contribution_ids_carry_the_bigint_range(hub: Hub, openapi: dict[str, Any]) -> None:
    assert parameter(openapi, "/v1/contributions/{contribution_id}",
                     "contribution_id")["maximum"] == 2**63 - 1
    response = hub.client.get("/v1/contributions/14323470394309578650418181622988800",
                              headers=admin_headers(hub))
    assert response.status_code == 422, response.text


def test_nul_on_the_request_board_is_refused_by_the_one_rule(hub: Hub) -> None:
    for name in ("organisation", "dataset", "q"):
        assert_problem(hub.client.get("/v1/requests", params={name: "a\x00b"}), 400, name)


def test_a_diff_limit_above_the_maximum_is_clamped(hub: Hub, openapi: dict[str, Any]) -> None:
    assert "maximum" not in parameter(
        openapi, "/v1/datasets/{dataset_id}/versions/{a}/diff/{b}", "limit")
    response = hub.client.get(f"{PINNED}/diff/1?limit=100000")
    assert response.status_code == 200, response.text


def test_an_empty_cursor_is_the_first_page(hub: Hub) -> None:
    first = hub.client.get(f"{PINNED}/records?limit=3").json()
    empty = hub.client.get(f"{PINNED}/records?limit=3&cursor=").json()
    assert empty["records"] == first["records"]
    ogc = hub.client.get("/ogc/collections/test-shops/items?limit=3&cursor=")
    assert ogc.status_code == 200, ogc.text


def test_times_in_query_strings_are_rfc_3339_text(hub: Hub) -> None:
    headers = admin_headers(hub)
    assert hub.client.get("/v1/audit?until=0.5", headers=headers).status_code == 422
    assert hub.client.get("/v1/audit?until=2026-01-01T00:00:00Z",
                          headers=headers).status_code == 200


def test_body_text_fields_state_the_rules_the_api_applies(hub: Hub,
                                                          openapi: dict[str, Any]) -> None:
    title = body_schema(openapi, "/v1/requests")["properties"]["title"]
    assert title["minLength"] == 1 and title["maxLength"] == 200
    for text in (" ", "a\x01b"):
        assert not re.search(title["pattern"], text)
        response = hub.client.post("/v1/requests", headers=admin_headers(hub), json={
            "title": text, "description": "d", "purpose": "p"})
        assert_problem(response, 422)
    assert re.search(title["pattern"], " 駐輪場\tの位置 ")


def test_a_status_move_is_one_alternative_per_status(hub: Hub,
                                                     openapi: dict[str, Any]) -> None:
    alternatives = body_schema(openapi, "/v1/requests/{request_id}/status")["oneOf"]
    required = {a["properties"]["status"]["enum"][0]: set(a["required"]) for a in alternatives}
    assert required["declined"] == {"status", "note", "reason_code"}
    assert required["published"] == {"status", "note", "dataset", "version"}
    assert all(a["additionalProperties"] is False for a in alternatives)


def test_key_requests_state_their_cross_field_rule(openapi: dict[str, Any]) -> None:
    schema = body_schema(openapi, "/v1/keys")
    assert schema["not"]["properties"]["scopes"]["contains"] == {"const": "admin"}
    expires = schema["properties"]["expires"]
    pattern = next(s for s in expires.get("anyOf", [expires]) if "pattern" in s)["pattern"] \
        if "pattern" not in expires else expires["pattern"]
    assert re.search(pattern, "90d") and not re.search(pattern, "999999w")


@pytest.mark.parametrize("name", ["near_route", "near_stop"])
def test_an_empty_near_reference_is_absent(hub: Hub, name: str) -> None:
    """An empty value (a form field left blank) is no reference, as the schema's plain
    string allows; the records answer as without it."""
    response = hub.client.get(f"{PINNED}/records", params={name: ""})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("qualifier", ["bbox-crs", "filter-crs"])
def test_a_qualifier_without_what_it_qualifies_is_ignored(hub: Hub, qualifier: str) -> None:
    """OpenAPI cannot relate two parameters, so the document allows a qualifier alone; it
    qualifies nothing and the items answer as without it."""
    response = hub.client.get("/ogc/collections/test-shops/items", params={
        qualifier: "http://www.opengis.net/def/crs/OGC/1.3/CRS84"})
    assert response.status_code == 200, response.text


def test_an_empty_revocation_reason_is_declared_and_refused(hub: Hub,
                                                             openapi: dict[str, Any]) -> None:
    reason = parameter(openapi, "/v1/keys/{key_id}", "reason", method="delete")
    assert any(alternative.get("minLength") == 1
               for alternative in reason.get("anyOf", [reason]))
    headers = admin_headers(hub)
    key_id, _token = issue_key(hub.client.app.state.people, "to-revoke", Scope.ADMIN)
    response = hub.client.delete(f"/v1/keys/{key_id}?reason=", headers=headers)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_the_ogc_document_declares_the_post_its_items_answer(hub: Hub) -> None:
    """A POST to any `/items` path is a proposal (a 422 listing the faults of a missing
    body), so the OGC document declares it with that 422, not as a method it lacks (405)."""
    paths = hub.client.get("/ogc/api").json()["paths"]
    for path in ("/collections/{collectionId}/items", "/collections/test-shops/items"):
        assert "422" in paths[path]["post"]["responses"], path
    response = hub.client.post("/ogc/collections/test-shops/items",
                               headers=admin_headers(hub))
    assert response.status_code == 422, response.text


def test_the_records_format_is_declared_as_choose_format_reads_it(
        hub: Hub, openapi: dict[str, Any]) -> None:
    """An `f` outside the enumeration is refused (400), so the document lists the formats."""
    assert parameter(openapi, "/v1/datasets/{dataset_id}/records", "f")["enum"] == [
        "json", "geojson", "csv"]
    assert_problem(hub.client.get(f"{PINNED}/records", params={"f": "xml"}), 400, "f")


@pytest.mark.parametrize("key_id", ["0", "-1", str(2**63)])
def test_a_key_id_outside_the_schema_is_refused(hub: Hub, key_id: str) -> None:
    """Ids the schema forbids are refused (the fuzz test sends them too: only a revocation
    aimed at its own key is redirected)."""
    response = hub.client.delete(f"/v1/keys/{key_id}", headers=admin_headers(hub))
    assert 400 <= response.status_code < 500, response.text


def test_a_withdrawal_reason_with_a_nul_is_declared_and_refused(
        hub: Hub, openapi: dict[str, Any]) -> None:
    """A NUL cannot be stored in PostgreSQL text; the reason carries clean_text's schema."""
    assert "pattern" in body_schema(openapi, "/v1/datasets/{dataset_id}/versions/{version}/"
                                    "withdraw")["properties"]["reason"]
    response = hub.client.post("/v1/datasets/test-shops/versions/1/withdraw",
                               headers=admin_headers(hub), json={"reason": "\x00Z"})
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


def text_schema_of(schema: dict[str, Any]) -> dict[str, Any]:
    """The text alternative of a parameter's schema (an optional one is `anyOf` with null)."""
    return next(a for a in schema.get("anyOf", [schema]) if a.get("type") == "string")


# Every text query parameter of the API goes through one door (hub.api.query_text): among
# them those that reached PostgreSQL with their NUL (a 500) before it.
NUL_CASES = [
    ("/v1/datasets", "q"), ("/v1/datasets", "organisation"), ("/v1/datasets", "licence"),
    ("/v1/datasets", "format"), ("/v1/requests", "organisation"), ("/v1/requests", "dataset"),
    ("/v1/requests", "q"), ("/v1/requests", "text"), ("/v1/changes", "dataset"),
    ("/v1/changes.atom", "dataset"), ("/v1/stats", "dataset"), ("/v1/contributions", "dataset"),
    ("/v1/audit", "action"), ("/v1/audit", "object_type"), ("/v1/audit", "object_id")]


@pytest.mark.parametrize(("path", "name"), NUL_CASES)
def test_text_parameters_state_the_nul_rule_they_enforce(hub: Hub, openapi: dict[str, Any],
                                                          path: str, name: str) -> None:
    pattern = text_schema_of(parameter(openapi, path, name))["pattern"]
    assert re.search(pattern, "shop") and not re.search(pattern, "sh\x00op")
    assert_problem(hub.client.get(path, params={name: "sh\x00op"}, headers=admin_headers(hub)),
                   400, name)


def test_a_revocation_reason_with_a_nul_is_refused_at_the_door(
        hub: Hub, openapi: dict[str, Any]) -> None:
    reason = parameter(openapi, "/v1/keys/{key_id}", "reason", method="delete")
    assert not re.search(text_schema_of(reason)["pattern"], "a\x00")
    response = hub.client.delete("/v1/keys/1?reason=a%00", headers=admin_headers(hub))
    assert_problem(response, 400, "reason")


def test_keywords_state_the_nul_rule_for_each_item(openapi: dict[str, Any]) -> None:
    keyword = parameter(openapi, "/v1/datasets", "keyword")
    items = next(a for a in keyword["anyOf"] if a.get("type") == "array")["items"]
    assert not re.search(items["pattern"], "a\x00")


def test_the_ckan_action_api_keeps_its_envelope_for_a_nul(hub: Hub) -> None:
    """CKAN clients parse CKAN's envelope; its parameters never reach SQL, so a NUL is
    answered like any other value."""
    response = hub.client.get("/api/3/action/package_show", params={"id": "a\x00"})
    assert response.status_code == 404 and response.json()["success"] is False


@pytest.mark.parametrize(("path", "name"), [
    ("/v1/audit", "before"), ("/v1/audit", "key"), ("/v1/webhooks/1/deliveries", "before")])
def test_audit_and_delivery_cursors_carry_the_bigint_range(
        hub: Hub, openapi: dict[str, Any], path: str, name: str) -> None:
    """They reach bigint columns: past the range was a 500 inside PostgreSQL."""
    documented = "/v1/webhooks/{webhook_id}/deliveries" if "webhooks" in path else path
    schema = next(a for a in parameter(openapi, documented, name)["anyOf"]
                  if a.get("type") == "integer")
    assert (schema["minimum"], schema["maximum"]) == (1, 2**63 - 1)
    response = hub.client.get(path, params={name: str(2**64)}, headers=admin_headers(hub))
    assert 400 <= response.status_code < 500, response.text


def test_a_refused_withdrawal_reason_is_the_declared_problem(
        hub: Hub, openapi: dict[str, Any]) -> None:
    operation = openapi["paths"]["/v1/datasets/{dataset_id}/versions/{version}/withdraw"]
    declared = operation["post"]["responses"]["422"]["content"]
    assert "HTTPValidationError" not in str(declared), declared  # not FastAPI's field list
    response = hub.client.post("/v1/datasets/test-shops/versions/1/withdraw",
                               headers=admin_headers(hub), json={"reason": "a\x0fb"})
    assert_problem(response, 422)


@pytest.mark.parametrize(("qualifier", "value"), [("bbox-crs", "EPSG:nope"),
                                                  ("filter-crs", "EPSG:nope"),
                                                  ("filter-lang", "sql")])
def test_a_lone_qualifier_is_still_checked(hub: Hub, qualifier: str, value: str) -> None:
    """Ignored without what it qualifies, but a value outside the document's list is
    refused, as the document says."""
    response = hub.client.get("/ogc/collections/test-shops/items", params={qualifier: value})
    assert_problem(response, 400, qualifier)


@pytest.mark.parametrize("path", [f"{PINNED}/records", "/ogc/collections/test-shops/items"])
def test_a_radius_alone_is_ignored_but_still_checked(hub: Hub, path: str) -> None:
    """`radius` qualifies `near`, `near_route` or `near_stop`; OpenAPI cannot relate them,
    so the documents allow it alone. Alone it qualifies nothing (the answer is the one
    without it), and a radius out of range is still refused."""
    alone = hub.client.get(path, params={"radius": "500", "limit": "5"})
    assert alone.status_code == 200, alone.text
    without = hub.client.get(path, params={"limit": "5"}).json()
    assert {k: v for k, v in alone.json().items() if k != "links"} == \
        {k: v for k, v in without.items() if k != "links"}
    assert_problem(hub.client.get(path, params={"radius": "0"}), 400, "radius")


def test_an_ogc_bbox_is_four_or_six_numbers_in_the_document_and_the_api(hub: Hub) -> None:
    """The standard's minItems 4 / maxItems 6 would allow five numbers, which the API
    refuses; the document lists the two lengths it takes."""
    bbox = next(p for p in hub.client.get("/ogc/api").json()["paths"][
        "/collections/{collectionId}/items"]["get"]["parameters"] if p["name"] == "bbox")
    lengths = {(a["minItems"], a["maxItems"]) for a in bbox["schema"]["anyOf"]}
    assert lengths == {(4, 4), (6, 6)}
    items = "/ogc/collections/test-shops/items"
    for numbers in ("139,35,140", "139,35,0,140,36", "139,35,0,140,36,0,1"):
        assert_problem(hub.client.get(items, params={"bbox": numbers}), 400, "bbox")
    for numbers in ("139,35,140,36", "139,35,0,140,36,0"):
        assert hub.client.get(items, params={"bbox": numbers}).status_code == 200


def ecma_valid(schema: dict[str, Any], value: object) -> bool:
    """Whether JSON Schema, with its ECMA-262 patterns (as schemathesis reads them), allows
    ``value``: Python's `re` reads `\\s` differently."""
    return jsonschema_rs.validator_for({"type": "string", **schema}).is_valid(value)


@pytest.mark.parametrize("name", ["\x1f", "\x85", " \u3000\t"])
def test_a_key_name_of_white_space_is_blank_to_the_schema_as_to_the_api(
        hub: Hub, openapi: dict[str, Any], name: str) -> None:
    """White space is what `str.strip` removes, spelled out in the pattern: ECMA's `\\s`
    leaves out U+001F and U+0085, so `\\S` called them a name."""
    schema = body_schema(openapi, "/v1/keys")["properties"]["name"]
    assert not ecma_valid(schema, name)
    response = hub.client.post("/v1/keys", headers=admin_headers(hub),
                               json={"name": name, "scopes": ["publish"]})
    assert_problem(response, 400)
    display = body_schema(openapi, "/v1/keys/self")["properties"]["display_name"]
    assert not ecma_valid(display, name)
    assert hub.client.post("/v1/keys/self", json={"display_name": name}).status_code in (400,
                                                                                         422)


def test_a_key_name_with_a_nul_is_refused_by_both(hub: Hub, openapi: dict[str, Any]) -> None:
    """PostgreSQL text cannot hold a NUL: it was a 500."""
    assert not ecma_valid(body_schema(openapi, "/v1/keys")["properties"]["name"], "a\x00b")
    response = hub.client.post("/v1/keys", headers=admin_headers(hub),
                               json={"name": "a\x00b", "scopes": ["publish"]})
    assert_problem(response, 400)
    assert hub.client.post("/v1/keys/self", json={"display_name": "a\x00b"}).status_code == 422


def test_a_name_that_is_not_white_space_to_python_is_a_name_to_both(
        hub: Hub, openapi: dict[str, Any]) -> None:
    """U+FEFF is white space to ECMA's `\\s` but not to `str.strip`: a name."""
    schema = body_schema(openapi, "/v1/keys")["properties"]["name"]
    assert ecma_valid(schema, "\ufeff")
    response = hub.client.post("/v1/keys", headers=admin_headers(hub),
                               json={"name": "\ufeff", "scopes": ["publish"]})
    assert response.status_code == 201, response.text


def test_body_text_rules_read_white_space_as_the_api_does(openapi: dict[str, Any]) -> None:
    title = body_schema(openapi, "/v1/requests")["properties"]["title"]
    assert not ecma_valid(title, "\x85") and ecma_valid(title, "\ufeff")


@pytest.mark.parametrize(("value", "status"), [(False, 422), (True, 422), ("5", 422),
                                               (5.5, 422), (3755.0, 201)])
def test_a_key_rate_limit_is_a_json_integer(hub: Hub, openapi: dict[str, Any],
                                           value: object, status: int) -> None:
    """`type: integer` takes neither `false` nor "5" (pydantic read them as 0 and 5), and
    does take 3755.0, a number without a fraction."""
    schema = body_schema(openapi, "/v1/keys")["properties"]["rate_limit"]["anyOf"][0]
    assert schema == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    assert jsonschema_rs.validator_for(schema).is_valid(value) is (status == 201)
    response = hub.client.post("/v1/keys", headers=admin_headers(hub), json={
        "name": "strict", "scopes": ["publish"], "rate_limit": value})
    assert response.status_code == status, response.text


def test_a_published_version_in_a_status_move_carries_the_version_range(
        hub: Hub, openapi: dict[str, Any]) -> None:
    moves = body_schema(openapi, "/v1/requests/{request_id}/status")["oneOf"]
    published = next(m for m in moves if m["properties"]["status"]["enum"] == ["published"])
    version = published["properties"]["version"]
    assert version["maximum"] == 2**31 - 1 and version["minimum"] == 1
    headers = admin_headers(hub)
    filed = hub.client.post("/v1/requests", headers=headers, json={
        "title": "AED locations", "description": "d", "purpose": "p"})
    assert filed.status_code == 201, filed.text
    for version in (2**40, True):
        response = hub.client.post(f"/v1/requests/{filed.json()['id']}/status",
                                   headers=headers, json={
            "status": "published", "note": "done", "dataset": "test-shops",
            "version": version})
        assert response.status_code == 422, response.text


@pytest.mark.parametrize("item_id", ["1\x00", "abc", " 1", "0"])
def test_a_reported_item_is_named_by_its_number(hub: Hub, openapi: dict[str, Any],
                                                item_id: str) -> None:
    """Every reportable item has an integer id; a NUL in one reached PostgreSQL (a 500)."""
    schema = body_schema(openapi, "/v1/reports")["properties"]["id"]
    assert not ecma_valid(schema, item_id) and ecma_valid(schema, "12")
    response = hub.client.post("/v1/reports", headers=admin_headers(hub), json={
        "kind": "request", "id": item_id, "reason": "spam"})
    assert response.status_code == 422, response.text


def test_a_proposal_correction_is_declared_as_the_json_object_it_is(
        openapi: dict[str, Any]) -> None:
    """`columns` is a JSON object in its form part (the API parses it), not any string."""
    body = openapi["paths"]["/v1/dataset-proposals"]["post"]["requestBody"]["content"][
        "multipart/form-data"]
    columns = body["schema"]["properties"]["columns"]
    assert columns["type"] == "object"
    assert columns["additionalProperties"] == {"type": ["string", "null"]}
    assert body["encoding"]["columns"]["contentType"] == "application/json"


@pytest.mark.parametrize("name", ["near_route", "near_stop"])
def test_a_near_reference_is_declared_as_the_parser_reads_it(
        hub: Hub, openapi: dict[str, Any], name: str) -> None:
    """`<dataset>[@<version>]:<id>`: a malformed one is refused by both (a version in
    other digits, `²`, was a 500); a well-formed one naming nothing is a 422."""
    schema = parameter(openapi, "/v1/datasets/{dataset_id}/records", name)
    for malformed in ("\x06\x8f^", "feed@²:1", "feed@0:1", "feed:", ":1"):
        assert not ecma_valid(schema, malformed)
        response = hub.client.get(f"{PINNED}/records", params={name: malformed,
                                                                 "radius": "100"})
        assert_problem(response, 400, name)
    for named in ("feed:1", "feed@v2:1", "feed@2:a:b"):
        assert ecma_valid(schema, named)
        response = hub.client.get(f"{PINNED}/records", params={name: named, "radius": "100"})
        assert_problem(response, 422, name)
    assert ecma_valid(schema, "")  # no reference
    declared = openapi["paths"]["/v1/datasets/{dataset_id}/records"]["get"]["responses"]["422"]
    assert "HTTPValidationError" not in str(declared)  # the problem above has no `errors`


def test_a_url_with_white_space_inside_is_refused_by_both(hub: Hub,
                                                         openapi: dict[str, Any]) -> None:
    """U+0085 is white space to Python's `\\s` (which `clean_url` read) and not to
    ECMA-262's (which the schema's `\\s` meant): the pattern now spells it out."""
    url = body_schema(openapi, "/v1/showcases")["properties"]["url"]
    assert not ecma_valid(url, "https://example.org/a\x85b")
    assert ecma_valid(url, "https://example.org/barrier-free-map")
    response = hub.client.post("/v1/showcases", headers=admin_headers(hub), json={
        "title": "Map", "url": "https://example.org/a\x85b", "kind": "app",
        "description": "d", "datasets": [{"dataset": "test-shops", "version": 2}]})
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("pin", [{"dataset": "test-shops", "version": True},
                                 {"dataset": "test-shops", "version": "2"}])
def test_a_showcase_pins_a_version_by_a_json_integer(hub: Hub, pin: dict[str, Any]) -> None:
    """`true` was read as version 1 and "2" as 2, which `type: integer` does not allow."""
    response = hub.client.post("/v1/showcases", headers=admin_headers(hub), json={
        "title": "Map", "url": "https://example.org/map", "kind": "app",
        "description": "d", "datasets": [pin]})
    assert response.status_code == 422, response.text


def test_the_ogc_document_states_the_nul_rule_of_its_door(hub: Hub) -> None:
    """A collection's properties are query parameters of its `/items`; a NUL in one is
    refused at the door, as the document now says."""
    paths = hub.client.get("/ogc/api").json()["paths"]
    name = next(p for p in paths["/collections/test-shops/items"]["get"]["parameters"]
                if p["name"] == "name")["schema"]
    assert not ecma_valid(name, "a\x00") and ecma_valid(name, "a")
    response = hub.client.get("/ogc/collections/test-shops/items", params={"name": "a\x00"})
    assert_problem(response, 400, "name")


def test_dataset_ids_in_bodies_have_the_catalogue_form(hub: Hub,
                                                       openapi: dict[str, Any]) -> None:
    """A key's dataset list and a published request's dataset are dataset ids
    (`hub.catalog.DATASET_ID`); a NUL in one reached PostgreSQL (a 500)."""
    headers = admin_headers(hub)
    items = next(a for a in body_schema(openapi, "/v1/keys")["properties"]["datasets"]["anyOf"]
                 if a.get("type") == "array")["items"]
    assert not ecma_valid(items, "a\x00") and ecma_valid(items, "test-shops")
    response = hub.client.post("/v1/keys", headers=headers, json={
        "name": "limited", "scopes": ["publish"], "datasets": ["a\x00"]})
    assert response.status_code == 422, response.text
    filed = hub.client.post("/v1/requests", headers=headers, json={
        "title": "Toilets", "description": "d", "purpose": "p"}).json()
    response = hub.client.post(f"/v1/requests/{filed['id']}/status", headers=headers, json={
        "status": "published", "note": "done", "dataset": "a\x00", "version": 1})
    assert response.status_code == 422, response.text


def test_an_ogc_integer_property_carries_the_bigint_range(hub: Hub) -> None:
    """A filter on an integer property past bigint was refused, as the document did not say."""
    parameters = hub.client.get("/ogc/api").json()["paths"]["/collections/test-shops/items"][
        "get"]["parameters"]
    floors = next(p for p in parameters if p["name"] == "floors")["schema"]
    assert (floors["minimum"], floors["maximum"]) == (-(2**63), 2**63 - 1)
    items = "/ogc/collections/test-shops/items"
    assert_problem(hub.client.get(items, params={"floors": str(2**63)}), 400, "floors")
    assert hub.client.get(items, params={"floors": str(2**63 - 1)}).status_code == 200


def test_a_contribution_source_and_decision_are_declared_as_read(
        openapi: dict[str, Any]) -> None:
    """A source may be a plain string (what it is), which the schema called an object; a
    decision needs `decision` and `reason`, which the schema left out (an empty body was a
    schema-valid 422)."""
    path = "/v1/datasets/{dataset_id}/contributions"
    content = openapi["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    source = content["schema"]["properties"]["source"]
    validator = jsonschema_rs.validator_for(source)
    assert validator.is_valid("店頭で確認") and validator.is_valid({"what": "店頭で確認"})
    assert not validator.is_valid({"who": "x"}) and not validator.is_valid(3)
    decision = openapi["paths"]["/v1/contributions/{contribution_id}/decision"]["post"][
        "requestBody"]["content"]["application/json"]["schema"]
    validator = jsonschema_rs.validator_for(decision)
    assert not validator.is_valid({}) and not validator.is_valid({"decision": "accept"})
    assert validator.is_valid({"decision": "reject", "reason": "重複"})


# A parameter declared with one value may be given once (hub.api.query_text and, for the
# parameters a route parses itself, hub.query.params): FastAPI read the last of several, so
# `organisation=a&organisation=b` answered for `b` while the document takes one value.
REPEATED_CASES = [
    ("/v1/datasets", "organisation", "テスト市 (Test City)"),
    ("/v1/datasets", "q", "shop"),
    ("/v1/requests", "status", "open"),
    ("/v1/changes", "dataset", "test-shops"),
    (f"{PINNED}/records/S0001", "f", "json"),
    ("/ogc/collections/test-shops/items/S0001", "crs",
     "http://www.opengis.net/def/crs/OGC/1.3/CRS84"),
    ("/ogc/collections/test-shops/items", "name", "渋谷カフェ5号店"),
]


@pytest.mark.parametrize(("path", "name", "value"), REPEATED_CASES)
def test_a_single_value_given_twice_is_a_400_naming_it(hub: Hub, path: str, name: str,
                                                        value: str) -> None:
    once = hub.client.get(path, params={name: value}, headers=admin_headers(hub))
    assert once.status_code == 200, once.text
    twice = hub.client.get(path, params=[(name, value), (name, value)],
                           headers=admin_headers(hub))
    assert_problem(twice, 400, name)
    assert "give it once" in twice.json()["detail"]


@pytest.mark.parametrize(("path", "name"), [("/v1/datasets", "organisation"),
                                            ("/v1/requests", "status"),
                                            ("/v1/changes", "dataset")])
def test_the_door_refuses_what_the_document_declares_with_one_value(
        openapi: dict[str, Any], path: str, name: str) -> None:
    schema = parameter(openapi, path, name)
    assert "array" not in str(schema), schema


def test_the_door_and_the_records_parser_refuse_a_repeat_alike(hub: Hub) -> None:
    catalogue = hub.client.get("/v1/datasets", params=[("q", "a"), ("q", "b")])
    records = hub.client.get(f"{PINNED}/records", params=[("q", "a"), ("q", "b")])
    assert catalogue.json()["detail"] == records.json()["detail"]


def test_a_list_parameter_still_takes_repeats(hub: Hub, openapi: dict[str, Any]) -> None:
    """`keyword` is declared `list[str]`: every keyword must hold."""
    keyword = parameter(openapi, "/v1/datasets", "keyword")
    assert any(a.get("type") == "array" for a in keyword["anyOf"])
    both = hub.client.get("/v1/datasets", params=[("keyword", "test"), ("keyword", "店舗")])
    assert both.status_code == 200, both.text
    assert both.json()["total"] == 1
    none = hub.client.get("/v1/datasets", params=[("keyword", "test"), ("keyword", "nope")])
    assert none.json()["total"] == 0


def test_a_v1_property_filter_may_be_repeated_and_each_holds(hub: Hub) -> None:
    """/v1's filters are conditions that all hold; OGC's are refused above (its document
    declares each property with one value, and the standard does not define a repeat)."""
    response = hub.client.get(f"{PINNED}/records", params=[
        ("name__contains", "カフェ"), ("name__contains", "5号店"), ("limit", "500")])
    assert response.status_code == 200, response.text
    names = {r["name"] for r in response.json()["records"]}
    assert names == {s.name for s in hub.shops_v2 if "カフェ" in s.name and "5号店" in s.name}
    assert names
