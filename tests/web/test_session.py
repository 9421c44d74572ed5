"""The portal's sign-in session and CSRF protection, over HTTP through the real app and a
real PostGIS: the cookie's attributes, the session stored hashed, a revoked or expired key
ending the session at once, sign-out, a contributor key taken on the sign-in page, and every
unsafe form refused with a 403 page (nothing written) without its token."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from hub.db.cluster import LocalCluster
from hub.people.scopes import KeyKind, Scope
from hub.web.session import CSRF_FIELD, PRESESSION_COOKIE, SESSION_COOKIE
from tests.people_hub import issue_key
from tests.web.conftest import BROWSER, serve_portal

TOKEN_FIELD = re.compile(rf'name="{CSRF_FIELD}" value="([^"]+)"')


class Hub:
    """The app, the database, and keys issued as ``hub keys create`` does."""

    def __init__(self, client: TestClient, url: str) -> None:
        self.client = client
        self.engine = create_engine(url)

    def issue(self, name: str, *scopes: Scope, kind: KeyKind = KeyKind.STAFF,
              datasets: set[str] | None = None) -> tuple[int, str]:
        return issue_key(self.client.app.state.people, name, *scopes, kind=kind,
                         datasets=datasets)

    def browser(self, base_url: str = "http://testserver") -> TestClient:
        """A fresh browser: its own cookie jar, on the running app."""
        return TestClient(self.client.app, base_url=base_url, headers=BROWSER,
                          follow_redirects=False)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.begin() as conn:
            return conn.execute(text(sql), params).scalar()

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(sql), params)

    def counts(self) -> tuple[int, int, int]:
        """Sessions, audit entries and keys: what a refused form must leave unchanged."""
        return (self.scalar("SELECT count(*) FROM hub.portal_sessions"),
                self.scalar("SELECT count(*) FROM hub.audit_log"),
                self.scalar("SELECT count(*) FROM hub.api_keys"))


@contextmanager
def session_hub(cluster: LocalCluster, folder: Path) -> Iterator[Hub]:
    """A :class:`Hub` on :func:`serve_portal` with the test shops only."""
    with serve_portal(cluster, folder, datasets=()) as portal:
        hub = Hub(portal.client, portal.url)
        yield hub
        hub.engine.dispose()


@pytest.fixture(scope="module")
def hub(pg_cluster, tmp_path_factory) -> Iterator[Hub]:
    with session_hub(pg_cluster, tmp_path_factory.mktemp("session")) as hub:
        yield hub


def form_token(browser: TestClient, path: str = "/signin") -> str:
    page = browser.get(path)
    assert page.status_code in (200, 401), page.text
    found = TOKEN_FIELD.search(page.text)
    assert found, f"no CSRF field on {path}"
    return found.group(1)


def sign_in(browser: TestClient, token: str, next_path: str = "") -> Any:
    return browser.post("/signin", data={"key": token, "next": next_path,
                                         CSRF_FIELD: form_token(browser)})


def set_cookie(response: Any, name: str) -> str:
    headers = [v for v in response.headers.get_list("set-cookie") if v.startswith(f"{name}=")]
    assert headers, f"no {name} cookie set: {response.headers}"
    return headers[0]


def signed_in_as(browser: TestClient) -> str | None:
    found = re.search(r"<span>[^<]*?(?:Signed in as|としてサインイン中)[^<]*</span>",
                      browser.get("/?lang=en").text)
    return found.group(0) if found else None


def test_sign_in_sets_an_httponly_session_cookie_stored_hashed(hub: Hub) -> None:
    key_id, token = hub.issue("parks staff", Scope.PUBLISH)
    browser = hub.browser()
    answer = sign_in(browser, token)
    assert answer.status_code == 303 and answer.headers["location"] == "/staff"
    cookie = set_cookie(answer, SESSION_COOKIE)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    session_id = browser.cookies[SESSION_COOKIE]
    assert token not in cookie and session_id != token
    stored = hub.scalar("SELECT id_sha256 FROM hub.portal_sessions WHERE key_id = :k", k=key_id)
    assert bytes(stored) == hashlib.sha256(session_id.encode()).digest()
    assert hub.scalar("SELECT count(*) FROM hub.portal_sessions WHERE id_sha256 = :s",
                      s=session_id.encode()) == 0
    page = browser.get("/?lang=en")
    assert "Signed in as parks staff" in page.text and token not in page.text
    entry = hub.scalar("SELECT key_id FROM hub.audit_log WHERE action = 'session.open' "
                       "ORDER BY id DESC LIMIT 1")
    assert entry == key_id


def test_the_cookie_is_secure_over_https(hub: Hub) -> None:
    _id, token = hub.issue("https staff", Scope.MODERATE)
    browser = hub.browser("https://testserver")
    assert "Secure" in set_cookie(sign_in(browser, token), SESSION_COOKIE)


def test_an_unknown_key_is_refused_with_the_reason_and_no_session(hub: Hub) -> None:
    before = hub.counts()
    answer = sign_in(hub.browser(), "hub_" + "x" * 43)
    assert answer.status_code == 401
    assert "not known to this hub" in answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    assert hub.counts() == before


@pytest.mark.parametrize("presented", [None, "", "forged-token"])
def test_sign_in_without_its_forms_token_is_refused_and_writes_nothing(
        hub: Hub, presented: str | None) -> None:
    _id, token = hub.issue(f"staff {presented!r}", Scope.PUBLISH)
    browser = hub.browser()
    form_token(browser)  # the browser holds a pre-session cookie, the form is not sent back
    before = hub.counts()
    data = {"key": token} | ({CSRF_FIELD: presented} if presented is not None else {})
    answer = browser.post("/signin", data=data)
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "reload the page" in answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    assert hub.counts() == before


def test_another_browsers_token_does_not_pass(hub: Hub) -> None:
    _id, token = hub.issue("staff elsewhere", Scope.PUBLISH)
    attacker, victim = hub.browser(), hub.browser()
    stolen = form_token(attacker)
    form_token(victim)
    before = hub.counts()
    answer = victim.post("/signin", data={"key": token, CSRF_FIELD: stolen})
    assert answer.status_code == 403 and hub.counts() == before


def test_a_page_without_forms_sets_no_cookie(hub: Hub) -> None:
    answer = hub.browser().get("/showcases")
    assert answer.status_code == 200
    assert "set-cookie" not in answer.headers


def test_the_pre_session_cookie_is_httponly(hub: Hub) -> None:
    cookie = set_cookie(hub.browser().get("/signin"), PRESESSION_COOKIE)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_revoking_the_key_ends_the_session_at_once(hub: Hub) -> None:
    _admin_id, admin = hub.issue("admin", Scope.ADMIN)
    key_id, token = hub.issue("revoked staff", Scope.PUBLISH)
    browser = hub.browser()
    sign_in(browser, token)
    assert signed_in_as(browser)
    revoked = hub.client.delete(f"/v1/keys/{key_id}", params={"reason": "left the team"},
                                headers={"Authorization": f"Bearer {admin}"})
    assert revoked.status_code == 200, revoked.text
    page = browser.get("/signin?lang=en")  # the first page after says why, and forgets it
    assert "your session has ended" in page.text and "left the team" in page.text
    assert "Signed in as" not in page.text
    assert signed_in_as(browser) is None


def test_an_expired_key_ends_the_session(hub: Hub) -> None:
    key_id, token = hub.issue("expiring staff", Scope.PUBLISH)
    browser = hub.browser()
    sign_in(browser, token)
    assert signed_in_as(browser)
    hub.execute("UPDATE hub.api_keys SET expires_at = now() - interval '1 second' "
               "WHERE id = :k", k=key_id)
    assert "expired" in browser.get("/signin?lang=en").text
    assert signed_in_as(browser) is None


def test_sign_out_ends_the_session_for_good(hub: Hub) -> None:
    key_id, token = hub.issue("leaving staff", Scope.MODERATE)
    browser = hub.browser()
    sign_in(browser, token)
    session_id = browser.cookies[SESSION_COOKIE]
    csrf = form_token(browser, "/?lang=en")  # the header's sign-out form
    answer = browser.post("/signout", data={CSRF_FIELD: csrf})
    assert answer.status_code == 303
    assert signed_in_as(browser) is None
    replay = hub.browser()
    replay.cookies.set(SESSION_COOKIE, session_id)
    assert signed_in_as(replay) is None
    assert hub.scalar("SELECT count(*) FROM hub.audit_log WHERE action = 'session.end' "
                      "AND key_id = :k", k=key_id) == 1


def test_sign_out_without_the_token_keeps_the_session(hub: Hub) -> None:
    _id, token = hub.issue("staying staff", Scope.MODERATE)
    browser = hub.browser()
    sign_in(browser, token)
    before = hub.counts()
    assert browser.post("/signout", data={CSRF_FIELD: "wrong"}).status_code == 403
    assert signed_in_as(browser) and hub.counts() == before


def test_signing_in_again_replaces_the_session(hub: Hub) -> None:
    _id, token = hub.issue("twice staff", Scope.PUBLISH)
    browser = hub.browser()
    sign_in(browser, token)
    first = browser.cookies[SESSION_COOKIE]
    sign_in(browser, token)
    assert browser.cookies[SESSION_COOKIE] != first
    old = hub.browser()
    old.cookies.set(SESSION_COOKIE, first)
    assert signed_in_as(old) is None


def test_a_resident_takes_a_contributor_key_and_is_signed_in(hub: Hub) -> None:
    browser = hub.browser()
    before = hub.scalar("SELECT count(*) FROM hub.api_keys WHERE kind = 'self'")
    answer = browser.post("/signin/contributor-key",
                          data={"display_name": "Hanako Y.", CSRF_FIELD: form_token(browser)})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert hub.scalar("SELECT count(*) FROM hub.api_keys WHERE kind = 'self'") == before + 1
    page = browser.get("/?lang=en")
    assert "Signed in as Hanako Y." in page.text
    assert "hub_" not in page.text.replace("hub_lang", "")  # the token is never shown


def test_a_contributor_key_form_without_its_token_issues_nothing(hub: Hub) -> None:
    browser = hub.browser()
    form_token(browser)
    before = hub.counts()
    answer = browser.post("/signin/contributor-key", data={"display_name": "Mallory"})
    assert answer.status_code == 403 and hub.counts() == before


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_next_never_leads_off_the_hub(hub: Hub, target: str) -> None:
    _id, token = hub.issue(f"redirected {target}", Scope.PUBLISH)
    answer = sign_in(hub.browser(), token, next_path=target)
    assert answer.headers["location"] == "/staff"


def test_next_leads_back_to_the_page_that_asked(hub: Hub) -> None:
    _id, token = hub.issue("returning staff", Scope.MODERATE)
    answer = sign_in(hub.browser(), token, next_path="/requests?sort=newest")
    assert answer.headers["location"] == "/requests?sort=newest"
