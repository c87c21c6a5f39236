"""The SSRF guard: webhook requests never reach the machine's own network unless allowed.

A webhook URL is typed by a user, so without a guard it would let anyone with an account make
Accord send requests to its own loopback services, the private network behind it, or a cloud's
metadata endpoint (169.254.169.254). Checking the URL's host when the subscription is saved is
not enough: a name can resolve somewhere else later (DNS rebinding). So the check happens when
connecting: :class:`GuardedBackend` resolves the host itself, refuses if any of its addresses is
not a public one, and connects to the very address it checked. Redirects are never followed.

Private, loopback, link-local, multicast, reserved and other non-global addresses (IPv4 and
IPv6, IPv4-mapped IPv6 too) are refused unless ``ACCORD_WEBHOOK_ALLOW_PRIVATE`` covers them.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpcore
import httpx

from accord.integration.webhooks.config import Allowed

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Host names that always mean this machine or its private network.
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")


class Refused(httpx.ConnectError):
    """The target address is not one webhooks may go to (an httpx error, so a refused attempt
    is handled like any other failed connection: logged and retried)."""


def forbidden(address: Address, allowed: Allowed) -> str | None:
    """Why ``address`` may not be a webhook target, or None when it may."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if allowed.covers(address):
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    return None


def check_address(host: str, address: Address, allowed: Allowed) -> None:
    reason = forbidden(address, allowed)
    if reason is not None:
        shown = host if host == str(address) else f"{host} ({address})"
        raise Refused(f"refused to connect to {shown}: {reason} (see ACCORD_WEBHOOK_ALLOW_PRIVATE)")


def literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (the system resolver, as a connection would)."""
    found = literal(host)
    if found is not None:
        return [found]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpx.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    addresses: list[Address] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to addresses the guard allows: the host is
    resolved here, every address checked, and the connection made to a checked address (TLS
    still verifies the certificate against the host name)."""

    def __init__(self, allowed: Allowed) -> None:
        self.allowed = allowed

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve(host, port)
        if not addresses:
            raise httpx.ConnectError(f"{host} has no address")
        # Every address, not only the one used: a name that also resolves to an internal
        # address is refused outright rather than raced.
        for address in addresses:
            check_address(host, address, self.allowed)
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport on a :class:`GuardedBackend`.

    httpx does not pass a network backend through, so the connection pool it built is replaced
    by one with the same settings and the guarded backend.
    """

    def __init__(self, allowed: Allowed, *, connections: int) -> None:
        super().__init__(
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            trust_env=False,
        )
        ssl_context = self._pool._ssl_context
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=connections,
            max_keepalive_connections=connections,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(allowed),
        )


def timeouts(*, connect: float, read: float) -> dict[str, float]:
    """httpx's per-request timeouts (a request's ``timeout`` extension)."""
    return {"connect": connect, "read": read, "write": read, "pool": connect + read}


# -- checking a URL when a subscription is saved ----------------------------------------------


def check_url(raw: str, allowed: Allowed) -> str | None:
    """Why ``raw`` cannot be a webhook URL, or None. Host names are not resolved here (the
    guard checks their addresses at every connection); literal addresses and names that are
    always local are refused at once."""
    if len(raw) > 2000:
        return "must be at most 2,000 characters"
    if any(c.isspace() or ord(c) < 32 for c in raw):
        return "must not contain spaces or control characters"
    try:
        parts: SplitResult = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("https", "http"):
        return "must start with https:// (or http://)"
    host = (parts.hostname or "").lower()
    if not host:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password (the signature authenticates Accord)"
    if parts.fragment:
        return "must not have a #fragment"
    if port == 0:
        return "must not use port 0"
    address = literal(host)
    if address is not None:
        reason = forbidden(address, allowed)
        return f"points to {reason}" if reason else None
    if not _hostname(host):
        return "has an invalid host name"
    local = host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES)
    if local and not allowed.everything:
        return "points to this machine or the local network"
    return None


def _hostname(host: str) -> bool:
    try:
        encoded = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = encoded.rstrip(".").split(".")
    return 0 < len(encoded) <= 253 and all(
        0 < len(label) <= 63
        and not label.startswith("-")
        and not label.endswith("-")
        and all(c.isalnum() or c == "-" for c in label)
        for label in labels
    )
