"""Webhook addresses: refuse loopback, private, link-local, reserved and multicast targets
(rule and macro webhooks, sent by portal.channels.outbound).

Checked when a rule is saved (a literal IP, or a host name that resolves) and again when the
webhook is sent: the host is resolved, *every* address must be public, and the connection goes
to the address that was checked (no second lookup a DNS-rebinding attacker could answer
differently). Redirects are not followed. `WEBHOOK_ALLOW_PRIVATE = True` lifts the address
check (a desk whose webhooks go to its own network; the tests' local server).

Only the standard library: http.client with the socket connected to the checked address.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l

URL_MAX = 2000


class UnsafeAddress(ValueError):
    """The URL may not be called: bad scheme, or a host that is (or resolves to) a private address."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path + query


def parse_url(url: str) -> Target:
    if not isinstance(url, str) or not url.strip():
        raise UnsafeAddress(_l("A URL is required."))
    if len(url) > URL_MAX:
        raise UnsafeAddress(_l("A URL may be at most %(num)d characters.", num=URL_MAX))
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UnsafeAddress(_l("The URL must start with http:// or https://."))
    if not parts.hostname:
        raise UnsafeAddress(_l("The URL has no host."))
    if parts.username or parts.password:
        raise UnsafeAddress(_l("The URL may not contain a user name or password."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeAddress(_l("The URL's port is not valid.")) from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path)


def allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE"))


def refusal(address: str) -> str | None:
    """Why `address` may not be called, or None if it is a public unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for attr, message in (("is_loopback", _l("%(address)s is a loopback address.", address=address)),
                          ("is_private", _l("%(address)s is a private address.", address=address)),
                          ("is_link_local", _l("%(address)s is a link-local address.", address=address)),
                          ("is_multicast", _l("%(address)s is a multicast address.", address=address)),
                          ("is_reserved", _l("%(address)s is a reserved address.", address=address)),
                          ("is_unspecified", _l("%(address)s is an unspecified address.", address=address))):
        if getattr(ip, attr):
            return str(message)
    if not ip.is_global:
        return str(_l("%(address)s is not a public address.", address=address))
    return None


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def check_url(url: str, *, resolve: bool = True) -> Target:
    """Validate `url` (at save, and before queueing at run). Raises UnsafeAddress.

    A literal IP is always checked; a host name only with `resolve` (a name that doesn't
    resolve passes here: it is checked again when sent).
    """
    target = parse_url(url)
    if allow_private():
        return target
    literal = _literal(target.host)
    if literal is not None:
        if reason := refusal(literal):
            raise UnsafeAddress(_l("Webhooks may not call %(reason)s", reason=reason))
        return target
    if target.host.lower() in ("localhost", "localhost.localdomain") or target.host.lower().endswith(".localhost"):
        raise UnsafeAddress(_l("Webhooks may not call localhost."))
    if resolve:
        try:
            addresses = _resolve(target)
        except UnsafeAddress:
            return target
        for address in addresses:
            if reason := refusal(address):
                raise UnsafeAddress(_l("Webhooks may not call %(host)s: %(reason)s", host=target.host, reason=reason))
    return target


def _resolve(target: Target) -> list[str]:
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeAddress(_l("%(host)s does not resolve (%(reason)s).", host=target.host, reason=str(exc))) from None
    addresses = []
    for *_, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    if not addresses:
        raise UnsafeAddress(_l("%(host)s does not resolve.", host=target.host))
    return addresses


def safe_address(target: Target) -> str:
    """Resolve the host; refuse if any address is not allowed; the address to connect to."""
    literal = _literal(target.host)
    addresses = [literal] if literal else _resolve(target)
    if not allow_private():
        for address in addresses:
            if reason := refusal(address):
                raise UnsafeAddress(_l("Refused to call %(host)s: %(reason)s", host=target.host, reason=reason))
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # certificate checked for the name


class HTTPFailure(Exception):
    """The request went out but the answer was not a 2xx (`permanent`: retrying will not help)."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def post_json(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST `body` to `url` at a checked address; returns the status. Raises UnsafeAddress,
    HTTPFailure, or OSError (network)."""
    target = parse_url(url)
    address = safe_address(target)
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = cls(target.host, target.port, address, timeout)
    try:
        conn.request("POST", target.path, body=body, headers={
            "Content-Type": "application/json", "User-Agent": "Deskwright-Webhook/1", **headers})
        response = conn.getresponse()
        response.read(65536)
        status = response.status
    finally:
        conn.close()
    if 300 <= status < 400:
        raise HTTPFailure(f"HTTP {status}: redirects are not followed.", permanent=True)
    if status >= 400:
        # 4xx other than 408/429: the receiver refuses this request; retrying sends the same one.
        raise HTTPFailure(f"HTTP {status}", permanent=400 <= status < 500 and status not in (408, 429))
    return status
