"""Which requests are someone's own (never answered from or into a shared cache)."""

from __future__ import annotations

import pytest

from hub.api.caching import carries_credentials


@pytest.mark.parametrize(("headers", "own"), [
    ([], False),
    ([(b"authorization", b"Bearer hub_x")], True),
    ([(b"cookie", b"hub_session=abc")], True),
    ([(b"cookie", b"hub_lang=ja; hub_session=abc")], True),
    ([(b"cookie", b"hub_lang=ja")], False),
    ([(b"cookie", b"not_hub_session=abc")], False),
    ([(b"cookie", b"hub_presession=abc")], False),
])
def test_keys_and_session_cookies_make_a_request_personal(headers, own: bool) -> None:
    assert carries_credentials(headers) is own
