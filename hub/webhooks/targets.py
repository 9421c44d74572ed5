"""Where a webhook may be sent: the SSRF guard.

A subscriber chooses the URL, and the hub then makes requests to it from inside the city's
network. So the host is resolved and every address it resolves to must be public: loopback,
private, link-local (cloud metadata services live at 169.254.169.254), multicast, reserved
and unspecified addresses are refused, unless they fall in a network the operator allowed
(``HUB_WEBHOOKS_ALLOW_PRIVATE_TARGETS``). The check runs when a URL is subscribed and again
before every request, redirects included, because DNS answers change.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedTarget(ValueError):
    """A URL the hub will not send to; the message says why."""


def _why_not_public(address: Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for label, flag in (("loopback", address.is_loopback), ("link-local", address.is_link_local),
                        ("multicast", address.is_multicast),
                        ("unspecified", address.is_unspecified),
                        ("reserved", address.is_reserved), ("private", address.is_private),
                        ("not globally routable", not address.is_global)):
        if flag:
            return label
    return None


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RefusedTarget(f"cannot resolve host {host!r}: {exc.strerror}") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def check_target(url: str, allowed: Sequence[Network]) -> None:
    """Raise :class:`RefusedTarget` unless ``url`` is http(s) and all its addresses may be
    reached."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise RefusedTarget(f"a webhook URL must be http or https, not {parts.scheme!r}")
    if not parts.hostname:
        raise RefusedTarget("a webhook URL needs a host")
    if parts.username or parts.password:
        raise RefusedTarget("a webhook URL must not carry credentials; the signature "
                            "authenticates the hub to the receiver")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RefusedTarget(f"invalid port in {url!r}") from None
    for address in resolve(parts.hostname, port):
        why = _why_not_public(address)
        if why is not None and not any(address in network for network in allowed):
            raise RefusedTarget(
                f"{parts.hostname} resolves to {address}, a {why} address; webhooks go only "
                "to public addresses (HUB_WEBHOOKS_ALLOW_PRIVATE_TARGETS allows networks)")
