"""Outbound HTTP to addresses checked at connection time (webhook deliveries).

A webhook URL names a host chosen by whoever subscribed it. Checking that
host when the subscription is made is not enough: its DNS answer can change
afterwards, or between a check and the connection (DNS rebinding), and point
at the API host itself, the internal network or a cloud metadata service.

:class:`PinnedTransport` closes that gap for every request it sends:

1. it resolves the URL's host once (:func:`resolve`, ``socket.getaddrinfo``);
2. unless private destinations are allowed (outside production), it refuses
   the request with :class:`~core.errors.UnsafeDestinationError` if **any**
   resolved address is not a public unicast address (:func:`refusal_reason`:
   unspecified, loopback, link-local, multicast, reserved, private, not
   globally routable, or an IPv4 address of one of those kinds embedded in an
   IPv6 one: IPv4-mapped, 6to4, Teredo, NAT64);
3. it connects to the first resolved address, the one just checked, by
   rewriting the URL's host to that IP literal: nothing resolves the name
   again, so a second DNS answer cannot swap in another address. The
   ``Host`` header keeps the original name (httpx set it from the original
   URL), and for https the ``sni_hostname`` request extension makes httpcore
   send the original name in the TLS handshake and verify the certificate
   against it, not against the IP.

Connections are pooled per (scheme, host name, address, port), so a
connection opened, and its certificate verified, for one name is never
reused for another name on the same address. Redirects are not followed by
the webhook client, and proxies from the environment are not used.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import httpx

from core.errors import UnsafeDestinationError

__all__ = ["IPAddress", "PinnedTransport", "refusal_reason", "resolve"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Address kinds refused, most specific first (127.0.0.1 is "loopback", not "private").
_REFUSED_KINDS: tuple[tuple[str, str], ...] = (
    ("unspecified", "is_unspecified"),
    ("loopback", "is_loopback"),
    ("link-local", "is_link_local"),
    ("multicast", "is_multicast"),
    ("reserved", "is_reserved"),
    ("private", "is_private"),
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip.teredo is not None:
        return "Teredo", ip.teredo[1]
    if ip in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal_reason(ip: IPAddress) -> str | None:
    """Why the service must not connect to ``ip``, or ``None`` for a public unicast address.

    Parameters
    ----------
    ip
        An IPv4 or IPv6 address.

    Returns
    -------
    str or None
        The kind of address, e.g. ``"loopback"``, ``"private"``,
        ``"IPv4-mapped loopback"``, ``"not globally routable"`` (such as
        100.64.0.0/10, shared address space); ``None`` when it may be reached.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            how, inner = embedded
            reason = refusal_reason(inner)
            return f"{how} {reason}" if reason else None
    for label, attribute in _REFUSED_KINDS:
        if getattr(ip, attribute):
            return label
    if not ip.is_global:
        return "not globally routable"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to for a TCP connection, in resolver order, once each.

    Parameters
    ----------
    host
        A host name (IDNA-encoded) or an IP literal.
    port
        The port to connect to.

    Returns
    -------
    list of IPv4Address or IPv6Address
        At least one address.

    Raises
    ------
    OSError
        ``socket.gaierror`` when the name does not resolve (a network error:
        the caller may retry), or ``OSError`` when it resolves to no IP address.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(sockaddr[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise OSError(f"{host} resolves to no IP address")
    return addresses


def _shown(ip: IPAddress) -> str:
    """``ip`` as people write it (``::ffff:127.0.0.1``, not Python 3.11's ``::ffff:7f00:1``)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return f"::ffff:{ip.ipv4_mapped}"
    return str(ip)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class PinnedTransport(httpx.BaseTransport):
    """An httpx transport that checks the resolved address of every request and connects to it.

    Parameters
    ----------
    allow_private
        Also connect to loopback, private and other non-public addresses
        (development and tests, where the receiver runs on 127.0.0.1). The
        host name is still resolved once and the connection pinned.
    connect
        Makes the transport that opens the connections to one (host name,
        address, port); by default an :class:`httpx.HTTPTransport` verifying
        certificates with the system's trust store. Tests pass one trusting a
        test CA, or an :class:`httpx.MockTransport`.

    Raises
    ------
    core.errors.UnsafeDestinationError
        From :meth:`handle_request`, when private destinations are not
        allowed and an address of the host is not public.
    httpx.ConnectError
        From :meth:`handle_request`, when the host does not resolve.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        connect: Callable[[], httpx.BaseTransport] | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._connect = connect or (lambda: httpx.HTTPTransport(retries=0))
        self._pool: dict[tuple[str, str, str, int], httpx.BaseTransport] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Resolve, check, then send ``request`` to the checked address (module docstring)."""
        url = request.url
        host = url.raw_host.decode("ascii")
        port = url.port or _DEFAULT_PORTS.get(url.scheme, 443)
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpx.ConnectError(f"cannot resolve {host}: {exc}", request=request) from exc
        if not self._allow_private:
            for ip in addresses:
                reason = refusal_reason(ip)
                if reason is not None:
                    raise UnsafeDestinationError(
                        f"{host} resolves to {_shown(ip)} ({reason} address); "
                        "only public addresses are reached in production"
                    )
        pinned = addresses[0]
        extensions = dict(request.extensions)
        if url.scheme == "https" and not _is_ip_literal(host):
            extensions["sni_hostname"] = host  # TLS server name and certificate check: the name
        outgoing = httpx.Request(
            request.method,
            url.copy_with(host=str(pinned)),
            headers=request.headers,  # Host: the original name (and port)
            stream=request.stream,
            extensions=extensions,
        )
        key = (url.scheme, host, str(pinned), port)
        transport = self._pool.get(key)
        if transport is None:
            transport = self._pool[key] = self._connect()
        return transport.handle_request(outgoing)

    def close(self) -> None:
        """Close every pooled connection."""
        for transport in self._pool.values():
            transport.close()
        self._pool.clear()
