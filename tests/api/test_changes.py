"""The change feed: publish and withdraw events, paged by change id, filtered by time;
the Atom feed parses as XML."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from etl.prepare import prepare
from etl.publish import publish
from etl.withdraw import withdraw
from hub.api.app import create_app
from hub.catalog import load_definition
from tests.shopdata import make_shops, write_csv

ATOM = "{http://www.w3.org/2005/Atom}"


def test_change_feed_json_and_atom(settings, tmp_path) -> None:
    engine = create_engine(settings.database_url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    shops = make_shops(40)
    for number in range(1, 4):
        publish(engine, prepare(definition, write_csv(tmp_path / f"v{number}.csv",
                                                      shops[: 40 - number])))
    withdraw(engine, "test-shops", 3, "published by mistake")
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        url, events = "/v1/changes?limit=2", []
        while url:
            body = client.get(url).json()
            events += body["changes"]
            url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        assert [(e["kind"], e["version"]) for e in events] == [
            ("publish", 1), ("publish", 2), ("publish", 3), ("withdraw", 3)]
        assert events[1]["counts"] == {"added": 0, "removed": 1, "changed": 0}
        assert events[1]["previous_version"] == 1
        assert any(link["rel"] == "diff" and link["href"].endswith("/versions/1/diff/2")
                   for link in events[1]["links"])
        assert events[3]["reason"] == "published by mistake"
        ids = [e["id"] for e in events]
        assert ids == sorted(ids)

        after = client.get(f"/v1/changes?since={ids[1]}").json()["changes"]
        assert [e["id"] for e in after] == ids[2:]
        moment = events[3]["at"]
        by_time = client.get("/v1/changes", params={"since": moment}).json()["changes"]
        assert by_time[-1]["kind"] == "withdraw" and all(e["at"] >= moment for e in by_time)
        assert client.get("/v1/changes?since=yesterday").status_code == 400
        assert client.get("/v1/changes?dataset=nope").json()["changes"] == []

        atom = client.get("/v1/changes.atom")
        assert atom.headers["content-type"].startswith("application/atom+xml")
        root = ET.fromstring(atom.content)
        assert root.tag == f"{ATOM}feed"
        entries = root.findall(f"{ATOM}entry")
        assert len(entries) == 4
        assert "withdrawn" in entries[0].find(f"{ATOM}title").text  # newest first
        assert entries[0].find(f"{ATOM}summary").text.endswith("published by mistake")
        negotiated = client.get("/v1/changes", headers={"Accept": "application/atom+xml"})
        assert ET.fromstring(negotiated.content).tag == f"{ATOM}feed"
