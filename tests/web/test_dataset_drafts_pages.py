"""The console's new-dataset pages over HTTP through the real app and a real PostGIS: upload
a sheet, see the proposal, correct a column, download and create the draft (audited as the
key), and the refusals: signed out, no publish scope, no CSRF token, another key's draft,
an unreadable file, a dataset already defined."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.people.scopes import Scope
from hub.web.session import CSRF_FIELD
from tests.conftest import ROOT, create_test_database, drop_test_database, make_settings
from tests.web.test_session import Hub, form_token, sign_in

KOBE = ROOT / "datasets" / "kobe-ud-toilets" / "UDseibisisetu.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NEW = "/staff/datasets/new"
DRAFT_ACTION = re.compile(r'action="/staff/datasets/new/([^"/]+)"')


@pytest.fixture(scope="module")
def hub(pg_cluster, tmp_path_factory) -> Iterator[Hub]:
    url = create_test_database(pg_cluster)
    datasets = tmp_path_factory.mktemp("new-datasets")
    settings = make_settings(url, datasets_dir=datasets, schemas_dir=ROOT / "schemas")
    with TestClient(create_app(settings)) as client:
        hub = Hub(client, url)
        yield hub
        hub.engine.dispose()
    drop_test_database(pg_cluster, url)


def staff_browser(hub: Hub, *scopes: Scope) -> TestClient:
    browser = hub.browser()
    _id, token = hub.issue("new datasets staff", *(scopes or (Scope.PUBLISH,)))
    assert sign_in(browser, token).status_code == 303
    return browser


def upload(browser: TestClient, path: Path = KOBE, token: str | None = None,
           **fields: str):  # type: ignore[no-untyped-def]
    data = {CSRF_FIELD: form_token(browser, NEW) if token is None else token, **fields}
    return browser.post(NEW, data=data, files={"file": (path.name, path.read_bytes(), XLSX)})


def datasets_dir(hub: Hub) -> Path:
    return hub.client.app.state.settings.datasets_dir


def test_upload_correct_download_create(hub: Hub) -> None:
    browser = staff_browser(hub)
    page = upload(browser, id="kobe-ud-new")
    assert page.status_code == 200, page.text
    assert "public-toilets.json" in page.text and "施　設　名_2" in page.text
    draft_id = DRAFT_ACTION.search(page.text).group(1)
    headers = re.findall(r'name="header-(\d+)" value="([^"]*)"', page.text)
    index = next(i for i, h in headers if h == "施　設　名_2")
    symbol = next(i for i, h in headers if h == "施　設　名")
    form = {CSRF_FIELD: form_token(browser, NEW), "schema": "public-toilets.json",
            "id": "kobe-ud-new"}
    for i, header in headers:
        form[f"header-{i}"] = header
        proposed = re.search(rf'name="proposed-{i}" value="([^"]*)"', page.text).group(1)
        form[f"proposed-{i}"] = form[f"column-{i}"] = proposed
    form[f"column-{index}"], form[f"column-{symbol}"] = "name", ""
    corrected = browser.post(f"{NEW}/{draft_id}", data=form)
    assert corrected.status_code == 200, corrected.text
    download = browser.get(f"{NEW}/{draft_id}/dataset.toml")
    assert download.headers["content-disposition"] == 'attachment; filename="dataset.toml"'
    draft = tomllib.loads(download.text)
    assert draft["columns"] == {"施　設　名_2": "name"}
    assert draft["id"] == "kobe-ud-new"
    created = browser.post(f"{NEW}/{draft_id}/create",
                           data={CSRF_FIELD: form_token(browser, NEW)})
    assert created.status_code == 303, created.text
    assert created.headers["location"] == f"{NEW}/created/kobe-ud-new"
    assert "hub publish kobe-ud-new" in browser.get(created.headers["location"]).text
    assert (datasets_dir(hub) / "kobe-ud-new" / "dataset.toml").read_text(
        encoding="utf-8") == download.text
    assert hub.scalar("SELECT count(*) FROM hub.audit_log WHERE action = 'dataset.define' "
                      "AND object_id = 'kobe-ud-new' AND result = 'ok' "
                      "AND key_name = 'new datasets staff'") == 1
    assert browser.get(f"{NEW}/{draft_id}/dataset.toml").status_code == 404  # kept file gone

    again = upload(browser, id="kobe-ud-new")
    second = DRAFT_ACTION.search(again.text).group(1)
    refused = browser.post(f"{NEW}/{second}/create", data={CSRF_FIELD: form_token(browser, NEW)})
    assert refused.status_code == 409
    assert "already defined" in refused.text


def test_signed_out_and_scopes(hub: Hub) -> None:
    signed_out = hub.browser().get(NEW)
    assert signed_out.status_code == 401
    assert 'name="next" value="/staff/datasets/new"' in signed_out.text
    moderator = staff_browser(hub, Scope.MODERATE)
    assert moderator.get(NEW).status_code == 403


def test_without_the_token_nothing_is_kept(hub: Hub) -> None:
    browser = staff_browser(hub)
    kept = hub.client.app.state.settings.data_dir / "drafts"
    before = sorted(kept.iterdir()) if kept.exists() else []
    refused = upload(browser, token="wrong")
    assert refused.status_code == 403
    assert (sorted(kept.iterdir()) if kept.exists() else []) == before


def test_another_keys_draft_is_not_found(hub: Hub) -> None:
    owner = staff_browser(hub)
    draft_id = DRAFT_ACTION.search(upload(owner).text).group(1)
    other = staff_browser(hub)
    assert other.get(f"{NEW}/{draft_id}/dataset.toml").status_code == 404
    answer = other.post(f"{NEW}/{draft_id}/create", data={CSRF_FIELD: form_token(other, NEW)})
    assert answer.status_code == 404


def test_an_unreadable_file_is_shown_on_the_form(hub: Hub, tmp_path: Path) -> None:
    browser = staff_browser(hub)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b'ID,name\n"1,x\n')
    page = upload(browser, bad)
    assert page.status_code == 422
    assert "bad.csv: line 2: a quote" in page.text
    assert 'role="alert"' in page.text
