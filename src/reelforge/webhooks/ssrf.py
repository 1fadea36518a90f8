"""Outbound HTTP that cannot be pointed at our own network (SSRF): conventions sheet §9.1.

Used by webhook delivery and meant for every fetch of a user-supplied URL (media import):

* :func:`check_url` validates a URL's shape: scheme, no userinfo, a host (a DNS-valid name that
  is not ``localhost``, or an allowed address), an allowed port, length. It never resolves a
  name. It runs at registration (which therefore makes no DNS query) and again before every request.
* :func:`resolve_safe` resolves a host once and refuses it if ANY address is not a public
  unicast one (loopback, RFC 1918, CGNAT, ULA, link-local, cloud metadata, multicast,
  unspecified, reserved, documentation ranges, plus the configured extra networks), after
  unwrapping IPv4-mapped, -compatible and -translated, 6to4, Teredo and NAT64 forms. A literal IP goes through the same
  check, and odd spellings (``2130706433``, ``0177.0.0.1``) become real addresses first, since
  the system resolver normalises them.
* :class:`SafeAsyncTransport` (the webhook dispatcher's) is an httpx transport whose network
  backend does that resolution itself at connection time and connects to the address it
  validated, so DNS rebinding (a public answer at registration, ``127.0.0.1`` when
  the request is made) has no window. httpx still sends ``Host`` and TLS SNI (and checks the
  certificate) for the original name. Proxies from the environment are ignored.

Redirects are never followed by these clients (the callers use ``follow_redirects=False``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

__all__ = [
    "AddressPolicy",
    "BlockedAddress",
    "ResolutionFailed",
    "SafeAsyncTransport",
    "UnsafeURL",
    "UrlPolicy",
    "check_url",
    "resolve_safe",
    "system_resolver",
    "unsafe_cause",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) -> addresses`` (strings); raises :class:`OSError` when the name does not resolve."""

# Defence in depth next to ``is_global``: the sheet's explicit list (metadata endpoints included).
DENIED_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
        "100.100.100.200/32",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
        "2001:db8::/32",
        "fd00:ec2::254/128",
        # IPv6 forms carrying an IPv4 address that ``is_global`` does not see through (on some
        # Python versions): IPv4-compatible (deprecated), IPv4-translated (SIIT), local-use
        # NAT64 (RFC 8215), and the deprecated site-local range.
        "::/96",
        "::ffff:0:0:0/96",
        "64:ff9b:1::/48",
        "fec0::/10",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_COMPATIBLE = ipaddress.ip_network("::/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
MAX_URL_LENGTH = 2048


class UnsafeURL(ValueError):
    """The URL may not be fetched. ``reason`` is coarse and safe to show to users."""

    reason = "blocked"

    def __init__(self, message: str, *, reason: str | None = None):
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class BlockedAddress(UnsafeURL):
    """The host is, or resolves to, an address we never connect to."""

    reason = "ssrf_blocked"


class ResolutionFailed(UnsafeURL):
    """The host name does not resolve."""

    reason = "dns"


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses may be connected to."""

    allow_private: bool = False
    """Development only: allow loopback, private and link-local addresses (never unspecified)."""
    extra_denied: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    """Our own VPC or service networks, denied even when they look public."""

    @classmethod
    def from_strings(cls, *, allow_private: bool, denied: Iterable[str] = ()) -> AddressPolicy:
        return cls(allow_private, tuple(ipaddress.ip_network(n, strict=False) for n in denied))

    def refusal(self, address: str) -> str | None:
        """Why ``address`` is refused, or None when it may be used."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return f"{address!r} is not an IP address"
        for candidate in _embedded(ip):
            if any(candidate in net for net in self.extra_denied):
                return f"{candidate} is in a denied network"
            if candidate.is_unspecified:
                return f"{candidate} is the unspecified address"
            if self.allow_private:
                continue
            if (
                not candidate.is_global
                or candidate.is_multicast
                or any(candidate.version == net.version and candidate in net for net in DENIED_NETWORKS)
            ):
                return f"{candidate} is not a public address"
        return None


def _embedded(ip: IPAddress) -> list[IPAddress]:
    """The address and every IPv4 address an IPv6 one carries (mapped, compatible, translated,
    6to4, Teredo, NAT64)."""
    found: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if (ip in _COMPATIBLE or ip in _TRANSLATED) and int(ip) & 0xFFFFFFFF > 1:  # not :: or ::1
            found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip in _NAT64_LOCAL:  # its operator picks the prefix length: the /96 and /48 layouts
            value = int(ip)
            for embedded in (value & 0xFFFFFFFF, ((value >> 64) & 0xFFFF) << 16 | (value >> 40) & 0xFFFF):
                if embedded:
                    found.append(ipaddress.IPv4Address(embedded))
        if ip.ipv4_mapped is not None:
            found.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            found.append(ip.sixtofour)
        if ip.teredo is not None:
            found.extend(ip.teredo)
        if ip in _NAT64:
            found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


@dataclass(frozen=True)
class UrlPolicy:
    """What a URL must look like (before any address is looked at)."""

    schemes: frozenset[str] = frozenset({"https"})
    ports: frozenset[int] = frozenset({443})
    """Allowed ports; empty allows any."""
    addresses: AddressPolicy = field(default_factory=AddressPolicy)


def check_url(url: str, policy: UrlPolicy) -> httpx.URL:
    """The parsed URL (fragment dropped) if its shape is allowed, else :class:`UnsafeURL` saying why.

    Literal IP hosts are checked here too; host names are checked when they are resolved."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURL(f"the URL is longer than {MAX_URL_LENGTH} characters", reason="invalid")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise UnsafeURL(f"not a valid URL: {exc}", reason="invalid") from None
    if parsed.scheme not in policy.schemes:
        allowed = " or ".join(sorted(policy.schemes))
        raise UnsafeURL(f"the URL's scheme must be {allowed}", reason="invalid")
    if parsed.userinfo:
        raise UnsafeURL("the URL may not contain a user name or password", reason="invalid")
    host = parsed.host
    if not host:
        raise UnsafeURL("the URL has no host", reason="invalid")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if policy.ports and port not in policy.ports:
        allowed = ", ".join(str(p) for p in sorted(policy.ports))
        raise UnsafeURL(f"the URL's port must be one of {allowed}", reason="invalid")
    address = host if _is_ip_literal(host) else _numeric_ipv4(host)
    if address is not None:
        why = policy.addresses.refusal(address)
        if why is not None:
            raise BlockedAddress(f"the URL's host {why}")
    else:
        why = _bad_host_name(host)
        if why is not None:
            raise UnsafeURL(f"the URL's host {why}", reason="invalid")
        if _is_loopback_name(host) and not policy.addresses.allow_private:
            raise BlockedAddress("the URL's host is a loopback name")
    return parsed.copy_with(fragment=None)


def _is_loopback_name(host: str) -> bool:
    """``localhost`` and its subdomains: loopback by definition (RFC 6761 §6.3), so refused
    without asking DNS."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def _bad_host_name(host: str) -> str | None:
    """Why ``host`` (as httpx normalised it: IDNA already applied) cannot be a DNS name, or None.
    The resolver would raise ``UnicodeError`` on these rather than fail to resolve them."""
    name = host[:-1] if host.endswith(".") else host  # one trailing dot: the root, allowed
    if len(name) > 253:
        return "is longer than 253 characters"
    for label in name.split("."):
        if not label:
            return "has an empty label (two dots in a row, or a leading dot)"
        if len(label) > 63:
            return f"has a label longer than 63 characters ({label[:16]}…)"
    return None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _numeric_ipv4(host: str) -> str | None:
    """The IPv4 address an odd numeric spelling stands for (``127.1``, ``0x7f.1``, ``2130706433``,
    ``0177.0.0.1``), or None for a name: the C resolver reads these as numbers without asking
    DNS, so they are checked as the address they are."""
    if not host or not all(c in "0123456789abcdefxABCDEFX." for c in host.rstrip(".")):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(host.rstrip(".")))
    except OSError:
        return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``getaddrinfo`` gives for ``host`` (the egress network's own resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


def resolve_safe(
    host: str, port: int, policy: AddressPolicy, resolver: Resolver = system_resolver
) -> list[str]:
    """The addresses to connect to for ``host``; refused if ANY of them is not allowed (a mix of
    public and private answers is an attack pattern, not a choice to make for the attacker)."""
    try:
        addresses = list(resolver(host, port))
    except (OSError, UnicodeError, ValueError) as exc:  # UnicodeError: a name the IDNA codec refuses
        raise ResolutionFailed(f"{host} does not resolve ({exc.__class__.__name__})") from None
    if not addresses:
        raise ResolutionFailed(f"{host} has no addresses")
    for address in addresses:
        why = policy.refusal(address)
        if why is not None:
            raise BlockedAddress(f"{host} resolves to a refused address: {why}")
    return addresses


# ------------------------------------------------------------------ pinned connections


class _PinnedAsyncBackend(httpcore.AsyncNetworkBackend):
    """Resolves and validates the host itself, then connects to a validated address only."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver):
        self._policy = policy
        self._resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await asyncio.to_thread(resolve_safe, host, port, self._policy, self._resolver)
        last: Exception | None = None
        for address in addresses:  # the validated ones, in the resolver's order
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are never connected to")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


ASYNC_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)

# httpx's transports take no network backend, so the pool they build is replaced by one with
# ours (same settings otherwise); their request/exception mapping is kept as it is.


def _pool_options(limits: httpx.Limits) -> dict[str, Any]:
    """The pool httpx would build for ``limits`` (its TLS defaults), HTTP/1.1 only, no retries."""
    return {
        "ssl_context": httpx.create_ssl_context(trust_env=False),
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
        "http1": True,
        "http2": False,
        "retries": 0,
    }


class SafeAsyncTransport(httpx.AsyncHTTPTransport):
    """An HTTP/1.1 transport that only ever connects to addresses ``policy`` allows."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        resolver: Resolver = system_resolver,
        limits: httpx.Limits = ASYNC_LIMITS,
    ):
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            **_pool_options(limits), network_backend=_PinnedAsyncBackend(policy, resolver)
        )


def unsafe_cause(exc: BaseException) -> UnsafeURL | None:
    """The :class:`UnsafeURL` behind ``exc`` (httpx may wrap what the backend raised)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, UnsafeURL):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
