"""A thin wrapper over ``ckanapi.RemoteCKAN``: retries, error kinds, call counts, no key leaks.

Every CKAN call of the adapter goes through :meth:`CkanClient.call`, which

- retries transient failures (timeouts, connection errors, HTTP 5xx) with bounded
  exponential backoff, and never retries what cannot get better (403, validation errors);
- turns every failure into one :class:`CkanError` with a ``kind`` (``auth``, ``validation``,
  ``not_found``, ``timeout``, ``connection``, ``server``, ``error``) and CKAN's own message;
- counts calls, reads and writes (a second push of an unchanged catalogue must make no write);
- scrubs the API key from every message: the key is a :class:`pydantic.SecretStr` and only
  ever leaves this module in the ``Authorization`` header.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ckanapi
import requests
from pydantic import SecretStr

READ_ACTIONS_SUFFIXES = ("_show", "_list", "_search", "_autocomplete")
USER_AGENT = "cocreation-hub-ckan-sync/1 (+ckanapi)"


class CkanError(RuntimeError):
    """A CKAN call failed; ``kind`` says how, the message is CKAN's (key scrubbed)."""

    def __init__(self, kind: str, message: str, *, status: int | None = None,
                 transient: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.transient = transient

    def __str__(self) -> str:
        return f"{self.kind}: {self.args[0]}"


@dataclass
class CallStats:
    """What a client did: every call by action name, and how many were writes."""

    calls: dict[str, int] = field(default_factory=dict)
    retries: int = 0

    @property
    def writes(self) -> int:
        return sum(n for action, n in self.calls.items() if is_write(action))

    @property
    def reads(self) -> int:
        return sum(n for action, n in self.calls.items() if not is_write(action))

    def write_calls(self) -> dict[str, int]:
        return {a: n for a, n in self.calls.items() if is_write(a)}


def is_write(action: str) -> bool:
    return not (action.endswith(READ_ACTIONS_SUFFIXES) or action == "status_show")


def scrub(text: str, secret: SecretStr | str | None) -> str:
    """``text`` with the secret (and any obvious key header) replaced by ``***``."""
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if value:
        text = text.replace(value, "***")
    return text


def format_validation(error: ckanapi.ValidationError) -> str:
    """CKAN's validation error dict as one line: ``name: Must be ...; tags: Tag "a/b" ...``."""
    details = error.error_dict if isinstance(error.error_dict, dict) else {}
    parts = []
    for key, value in details.items():
        if key == "__type":
            continue
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        parts.append(f"{key}: {value}")
    return ", ".join(parts) or str(error)


class CkanClient:
    """One CKAN site. ``call("package_show", id=...)`` returns the action's ``result``."""

    def __init__(
        self,
        url: str,
        api_key: SecretStr | str | None = None,
        *,
        timeout_s: float = 30.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key if isinstance(api_key, SecretStr) or api_key is None \
            else SecretStr(api_key)
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.sleep = sleep
        self.stats = CallStats()
        self._last_status: int | None = None
        self.session = session or requests.Session()
        self.session.hooks["response"].append(self._remember_status)
        self._remote = ckanapi.RemoteCKAN(
            self.url,
            apikey=self.api_key.get_secret_value() if self.api_key else None,
            user_agent=USER_AGENT,
            session=self.session,
        )

    def _remember_status(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last_status = response.status_code

    def close(self) -> None:
        self._remote.close()

    def call(self, action: str, **data: Any) -> Any:
        """Call ``action`` with ``data``; retry transient failures; raise :class:`CkanError`."""
        attempt = 0
        while True:
            self.stats.calls[action] = self.stats.calls.get(action, 0) + 1
            try:
                return self._call_once(action, data)
            except CkanError as exc:
                if not exc.transient or attempt >= self.retries:
                    raise
                delay = min(self.max_backoff_s, self.backoff_s * (2 ** attempt))
                attempt += 1
                self.stats.retries += 1
                self.sleep(delay)

    def _call_once(self, action: str, data: dict[str, Any]) -> Any:
        self._last_status = None
        try:
            return self._remote.call_action(action, data,
                                            requests_kwargs={"timeout": self.timeout_s})
        except ckanapi.NotAuthorized as exc:
            message = _error_message(exc) or "not authorised"
            raise CkanError("auth", self._scrub(f"{message} (HTTP 403; check the API key "
                                                "and the user's rights)"), status=403) from None
        except ckanapi.ValidationError as exc:
            raise CkanError("validation", self._scrub(format_validation(exc)),
                            status=409) from None
        except ckanapi.NotFound as exc:
            raise CkanError("not_found", self._scrub(str(exc) or "not found"),
                            status=404) from None
        except ckanapi.SearchError as exc:
            raise CkanError("search", self._scrub(str(exc)), status=self._last_status) from None
        except requests.Timeout as exc:
            raise CkanError("timeout", self._scrub(f"no answer within {self.timeout_s:g}s: "
                                                   f"{exc}"), transient=True) from None
        except requests.ConnectionError as exc:
            raise CkanError("connection", self._scrub(f"cannot connect to {self.url}: {exc}"),
                            transient=True) from None
        except ckanapi.CKANAPIError as exc:
            status = self._last_status
            text = self._scrub(str(exc))[:500]
            if status is not None and status >= 500:
                raise CkanError("server", f"HTTP {status} from CKAN: {text}", status=status,
                                transient=True) from None
            if status in (401, 403):
                raise CkanError("auth", f"HTTP {status}: {text}", status=status) from None
            raise CkanError("error", f"HTTP {status}: {text}", status=status) from None
        except requests.RequestException as exc:
            raise CkanError("error", self._scrub(str(exc))) from None

    def _scrub(self, text: str) -> str:
        return scrub(text, self.api_key)

    # -- the few reads the adapter needs ---------------------------------------------------

    def package_or_none(self, name: str) -> dict[str, Any] | None:
        """package_show, or None when CKAN has no package of that name (or id)."""
        try:
            return self.call("package_show", id=name)
        except CkanError as exc:
            if exc.kind == "not_found":
                return None
            raise

    def organisation_or_none(self, name: str) -> dict[str, Any] | None:
        try:
            return self.call("organization_show", id=name, include_datasets=False,
                             include_extras=True)
        except CkanError as exc:
            if exc.kind == "not_found":
                return None
            raise

    def search_all(self, fq: str, *, q: str = "*:*", page: int = 100,
                   include_private: bool = True) -> list[dict[str, Any]]:
        """Every package matching ``fq`` (paged package_search)."""
        found: list[dict[str, Any]] = []
        start = 0
        while True:
            result = self.call("package_search", q=q, fq=fq, rows=page, start=start,
                               include_private=include_private, sort="name asc")
            batch = result.get("results") or []
            found.extend(batch)
            start += len(batch)
            if not batch or start >= int(result.get("count", 0)):
                return found


def _error_message(exc: ckanapi.CKANAPIError) -> str:
    payload = exc.args[0] if exc.args else None
    if isinstance(payload, dict):
        return str(payload.get("message") or "")
    return str(exc)
