"""SSRF: webhook URLs never reach loopback, private, link-local or metadata addresses unless
the development setting allows them; checked at registration and again at connection time on
the address actually connected to (DNS rebinding), and redirects are never followed.

Resolution is the system's (``localhost`` resolves to loopback offline); the rebinding tests
use a resolver stub that answers like a hostile DNS server would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from reelforge.webhooks.dispatcher import WebhookDispatcher
from reelforge.webhooks.signing import SecretBox
from reelforge.webhooks.ssrf import (
    AddressPolicy,
    BlockedAddress,
    ResolutionFailed,
    SafeAsyncTransport,
    UnsafeURL,
    UrlPolicy,
    check_url,
    resolve_safe,
)
from service import Service, running_service
from test_webhooks import FAST, Answer, Receiver, attempts, create_endpoint, emit, messages, verify, wait_for

STRICT = AddressPolicy()
REFUSED_URLS = [
    "https://127.0.0.1/hook",
    "https://10.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hook",
    "https://localhost/hook",  # a host name resolving to loopback
    "https://[fd00:ec2::254]/latest/meta-data/",  # AWS IMDS over IPv6
    "https://100.100.100.200/",  # Alibaba metadata
    "https://100.64.0.1/",  # CGNAT
    "https://172.16.5.4/",
    "https://192.168.1.1/",
    "https://[fd12:3456::1]/",  # ULA
    "https://[fe80::1]/",  # link-local
    "https://0.0.0.0/",
    "https://224.0.0.1/",  # multicast
    "https://240.0.0.1/",  # reserved
    "https://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
    "https://[2002:a00:1::]/",  # 6to4 around 10.0.0.1
    "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 around 169.254.169.254
    "https://2130706433/",  # 127.0.0.1 as one number
    "https://0177.0.0.1/",  # octal
    "https://0x7f.1/",
    "https://[::7f00:1]/",  # IPv4-compatible loopback
    "https://[::a9fe:a9fe]/",  # IPv4-compatible metadata address
    "https://[::ffff:0:7f00:1]/",  # IPv4-translated (SIIT) loopback
    "https://[64:ff9b:1::7f00:1]/",  # local-use NAT64 (RFC 8215)
    "https://[fec0::1]/",  # site-local (deprecated)
]


class StubDNS:
    """Answers from a script, one answer list per lookup (the last repeats); counts lookups."""

    def __init__(self, *answers: Sequence[str]):
        self.answers = [list(a) for a in answers]
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


# ------------------------------------------------------------------ the checks themselves


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_private_addresses_are_refused(url: str) -> None:
    policy = UrlPolicy(ports=frozenset())
    with pytest.raises(UnsafeURL):  # mostly BlockedAddress; httpx itself rejects "0177.0.0.1"
        parsed = check_url(url, policy)
        resolve_safe(parsed.host, 443, STRICT)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert resolve_safe(address, 443, STRICT) == [address]
    assert STRICT.refusal(address) is None


def test_url_shape_rules() -> None:
    policy = UrlPolicy()
    assert str(check_url("https://hooks.example.com/a?b=1#frag", policy)) == "https://hooks.example.com/a?b=1"
    for url, reason in [
        ("http://hooks.example.com/", "scheme"),
        ("ftp://hooks.example.com/", "scheme"),
        ("https://user:pw@hooks.example.com/", "user name"),
        ("https://hooks.example.com:8443/", "port"),
        ("https:///nohost", "host"),
        ("https://hooks.example.com/" + "a" * 2100, "longer"),
    ]:
        with pytest.raises(UnsafeURL, match=reason):
            check_url(url, policy)


def test_mixed_answers_and_extra_networks_are_refused() -> None:
    with pytest.raises(BlockedAddress):  # one private answer among public ones is an attack
        resolve_safe("mixed.test", 443, STRICT, StubDNS(["93.184.216.34", "10.1.2.3"]))
    own = AddressPolicy.from_strings(allow_private=False, denied=["203.0.114.0/24"])
    with pytest.raises(BlockedAddress):
        resolve_safe("vpc.test", 443, own, StubDNS(["203.0.114.7"]))
    with pytest.raises(ResolutionFailed):
        resolve_safe("nowhere.invalid", 443, STRICT)
    dev = AddressPolicy(allow_private=True)
    assert resolve_safe("localhost", 443, dev) and dev.refusal("0.0.0.0") is not None  # never the unspecified


@pytest.mark.parametrize(
    "host", ["a" * 64 + ".example.com", "a..example.com", ".example.com", "x." * 127 + "com"]
)
def test_host_names_dns_cannot_carry_are_invalid(host: str) -> None:
    with pytest.raises(UnsafeURL, match="host") as refused:
        check_url(f"https://{host}/hook", UrlPolicy())
    assert refused.value.reason == "invalid"
    # the resolver's own complaint (UnicodeError from the IDNA codec) is "does not resolve"
    with pytest.raises(ResolutionFailed):
        resolve_safe(host, 443, STRICT)
    assert str(check_url("https://" + "a" * 63 + ".example.com./hook", UrlPolicy())).startswith("https://aaa")


# ------------------------------------------------------------------ at registration (the API)


def test_registration_refuses_private_urls_without_the_development_setting(sqlite_service: Service) -> None:
    svc = sqlite_service
    for url in REFUSED_URLS[:6]:
        r = svc.post("/v1/webhook_endpoints", json={"url": url})
        assert r.status_code == 422, (url, r.text)
        body = r.json()
        assert body["code"] == "url-not-allowed" and body["errors"][0]["pointer"] == "#/url", body
    for url in REFUSED_URLS[-5:]:  # the IPv6 forms carrying an IPv4 address
        r = svc.post("/v1/webhook_endpoints", json={"url": url})
        assert r.status_code == 422 and r.json()["code"] == "url-not-allowed", (url, r.text)
    for url in ("https://" + "a" * 64 + ".example.com/x", "https://hooks..example.com/x"):  # not a 500
        r = svc.post("/v1/webhook_endpoints", json={"url": url})
        assert r.status_code == 422, (url, r.text)
        assert r.json()["errors"][0] == {"pointer": "#/url", "code": "invalid", "detail": r.json()["detail"]}
    r = svc.post("/v1/webhook_endpoints", json={"url": "http://hooks.example.com/x"})
    assert r.status_code == 422 and "scheme" in r.json()["detail"]
    r = svc.post("/v1/webhook_endpoints", json={"url": "https://hooks.example.com:8080/x"})
    assert r.status_code == 422 and "port" in r.json()["detail"]
    # a public name that does not resolve from here is accepted: every delivery checks again
    assert svc.post("/v1/webhook_endpoints", json={"url": "https://hooks.example.com/x"}).status_code == 201
    endpoint = svc.get("/v1/webhook_endpoints").json()["data"][0]
    r = svc.client.patch(
        f"/v1/webhook_endpoints/{endpoint['id']}",
        headers=svc.headers(),
        json={"url": "https://169.254.169.254/"},
    )
    assert r.status_code == 422 and r.json()["code"] == "url-not-allowed"


# ------------------------------------------------------------------ at connection time


def _transport_post(transport: httpx.AsyncBaseTransport, url: str, **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, follow_redirects=False) as client:
            return await client.post(url, content=b"{}", headers=headers)

    return asyncio.run(go())


def test_the_transport_refuses_loopback_even_when_asked_directly(receiver: Receiver) -> None:
    for url in (receiver.url(), f"http://localhost:{receiver.port}/hook"):
        with pytest.raises(BlockedAddress):
            _transport_post(SafeAsyncTransport(STRICT), url)
    assert receiver.requests == []


def test_the_transport_connects_to_the_address_it_checked(receiver: Receiver) -> None:
    """Resolved once, by us: the connection goes to that address, Host names the original."""
    dns = StubDNS(["127.0.0.1"])
    r = _transport_post(
        SafeAsyncTransport(AddressPolicy(allow_private=True), resolver=dns),
        f"http://receiver.test:{receiver.port}/pinned",
    )
    assert r.status_code == 200
    assert dns.lookups == ["receiver.test"]
    assert receiver.at("/pinned")[0].headers["host"] == f"receiver.test:{receiver.port}"


def test_proxy_environment_variables_are_ignored(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy from the environment would make the connection-time address check moot (the
    proxy connects, not us): deliveries never go through one."""
    proxy = Receiver()
    try:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy.url(""))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with running_service(tmp_path, "sqlite", **FAST) as svc:
            endpoint = create_endpoint(svc, receiver.url("/direct"))
            emit(svc, "render.succeeded")
            verify(endpoint["secret"], receiver.wait("/direct", 1)[0])
        assert proxy.requests == []
    finally:
        proxy.close()


def _first_attempt(svc: Service, endpoint_id: str, dispatcher: WebhookDispatcher) -> dict[str, Any]:
    """Run ``dispatcher`` (the service's own is off) until the endpoint's message was tried once;
    that only attempt."""
    dispatcher.start()
    try:
        message = wait_for(lambda: [m for m in messages(svc, endpoint_id) if m["attempts"] == 1])[0]
    finally:
        dispatcher.stop()
    (attempt,) = attempts(svc, endpoint_id, message["id"])
    return attempt


def test_dns_rebinding_is_refused_at_connection_time(tmp_path: Path, receiver: Receiver) -> None:
    """The name is public when registered and resolves to loopback when the delivery connects:
    the dispatcher refuses to connect (ssrf_blocked) and the receiver hears nothing."""
    settings = {
        "webhooks_dispatcher": False,
        "webhooks_allow_http": True,
        "webhooks_allowed_ports": [],
        "webhooks_retry_schedule": [30],
    }
    with running_service(tmp_path, "sqlite", **settings) as svc:
        url = f"http://rebind.test:{receiver.port}/hook"
        endpoint = create_endpoint(svc, url)  # offline the name does not resolve: accepted, checked later
        emit(svc, "render.succeeded")
        dns = StubDNS(["127.0.0.1"])  # now it points home
        attempt = _first_attempt(
            svc,
            endpoint["id"],
            WebhookDispatcher(
                svc.services.sessions,
                svc.services.settings,
                SecretBox(svc.services.secrets.pepper),
                resolver=dns,
            ),
        )
        assert attempt["error_class"] == "ssrf_blocked" and attempt["response_status"] is None
        assert "127.0.0.1" not in (attempt["error"] or "")  # coarse: no network details for an oracle
        assert dns.lookups == ["rebind.test"]
        assert receiver.requests == []


def test_a_redirect_to_loopback_is_recorded_as_a_failure_and_not_followed(
    tmp_path: Path, receiver: Receiver
) -> None:
    with running_service(tmp_path, "sqlite", **{**FAST, "webhooks_retry_schedule": [30]}) as svc:
        receiver.script(
            "/redirect", Answer(307, headers={"Location": f"http://127.0.0.1:{receiver.port}/internal"})
        )
        endpoint = create_endpoint(svc, receiver.url("/redirect"))
        emit(svc, "render.succeeded")
        message = wait_for(lambda: [m for m in messages(svc, endpoint["id"]) if m["attempts"] == 1])[0]
        (attempt,) = attempts(svc, endpoint["id"], message["id"])
        assert attempt["response_status"] == 307 and attempt["error_class"] == "http_status"
        time.sleep(0.3)
        assert receiver.at("/internal") == []
        verify(endpoint["secret"], receiver.at("/redirect")[0])


def test_the_development_setting_is_required_for_loopback_deliveries(
    tmp_path: Path, receiver: Receiver
) -> None:
    """An endpoint registered while the setting was on stops reaching loopback once it is off:
    the URL is checked again at every delivery. (One attempt only: a retry due in a fraction of
    a second could be made on a loaded machine before the dispatcher stops.)"""
    settings = {**FAST, "webhooks_retry_schedule": [30]}
    with running_service(tmp_path, "sqlite", webhooks_dispatcher=False, **settings) as svc:
        endpoint = create_endpoint(svc, receiver.url("/dev"))
        emit(svc, "render.succeeded")
        strict = svc.services.settings.model_copy(update={"webhooks_allow_private": False})
        attempt = _first_attempt(
            svc,
            endpoint["id"],
            WebhookDispatcher(svc.services.sessions, strict, SecretBox(svc.services.secrets.pepper)),
        )
        assert attempt["error_class"] == "ssrf_blocked"
    assert receiver.requests == []


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
