"""Rate limits over real HTTP: GCRA policies per credential and per workspace, the IETF
RateLimit headers on every response, 429 problems, Redis shared by two live server processes,
and failing open when Redis is down."""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reelforge.api.ratelimit import MemoryStore, Policy, gcra, parse_rate
from reelforge.services.context import open_services
from reelforge.services.workspaces import bootstrap
from reelforge.settings import Settings
from service import ServeProcess, Service, running_service

REDIS_URL = os.environ.get("REELFORGE_TEST_REDIS", "redis://127.0.0.1:6379/0")
EDIT = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 1}]}]},
    "outputs": [{"resolution": "360p", "fps": 25, "quality": "draft"}],
}


def redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


_REDIS = redis_available()


def need_redis() -> None:
    if not _REDIS:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test against Redis, and none answers at {REDIS_URL}")
        pytest.skip(f"no Redis at {REDIS_URL}")


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own, and its keys deleted afterwards."""
    prefix = f"rftest:{uuid.uuid4().hex[:12]}:"
    yield prefix
    if _REDIS:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)


def sf_list(value: str) -> dict[str, dict[str, str]]:
    """``"name";a=1;b=2, "other";a=3`` -> {name: {a: "1", b: "2"}, other: {a: "3"}}."""
    out: dict[str, dict[str, str]] = {}
    for item in value.split(", "):
        name, *params = item.split(";")
        assert name.startswith('"') and name.endswith('"'), value
        out[name[1:-1]] = dict(p.split("=", 1) for p in params)
    return out


def limits_of(r: httpx.Response) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, int]]]:
    """The response's policies and their states, checked for syntax on the way."""
    policy, state = sf_list(r.headers["ratelimit-policy"]), sf_list(r.headers["ratelimit"])
    assert set(policy) == set(state), r.headers
    for params in policy.values():
        assert set(params) == {"q", "w"}, r.headers  # no pk: the partition is implied
    for params in state.values():
        assert set(params) == {"r", "t"}, r.headers
    return policy, {name: {k: int(v) for k, v in params.items()} for name, params in state.items()}


# ------------------------------------------------------------------ the algorithm


def test_gcra_matches_the_sheet() -> None:
    policy = Policy.of("p", "10/minute")  # T = 6 s
    now = 1_000_000_000_000
    tat = now
    states = []
    for _ in range(10):
        out = gcra(now, [tat], [policy])
        assert out.allowed
        tat = out.new_tats[0]
        states.append(out.states[0][1:])
    # First request: r = L - 1, t = ceil(T); then one less each time, instantly.
    assert states == [(r, 6) for r in range(9, -1, -1)]
    denied = gcra(now, [tat], [policy])
    assert (denied.allowed, denied.retry_after, denied.states[0][1:]) == (False, 6, (0, 6))
    assert denied.new_tats == (tat,)  # a refusal consumes nothing
    # One interval later, one request passes again.
    assert gcra(now + 6_000_000, [tat], [policy]).allowed
    assert parse_rate("100/10s") == (100, 10) and parse_rate("5/second") == (5, 1)
    with pytest.raises(ValueError):
        parse_rate("5 per fortnight")


def test_memory_store_stays_bounded() -> None:
    store = MemoryStore(max_keys=100)
    policy = Policy.of("p", "5/hour")
    for i in range(1000):
        assert store.check([f"k{i}"], [policy]).allowed
        assert len(store) <= 100
    # Partitions kept are the ones furthest from a full quota: a recent one is still counted.
    for _ in range(4):
        assert store.check(["k999"], [policy]).allowed
    assert not store.check(["k999"], [policy]).allowed


# ------------------------------------------------------------------ over HTTP


@pytest.fixture(params=["memory", "redis"])
def limited(request: pytest.FixtureRequest, tmp_path: Path, redis_prefix: str) -> Iterator[Service]:
    """A service with small limits: 5 reads a minute per key, 8 per workspace, 3 render
    creations a minute; in-process or in Redis."""
    extra: dict[str, Any] = {}
    if request.param == "redis":
        need_redis()
        extra = {"redis_url": REDIS_URL, "redis_prefix": redis_prefix}
    with running_service(
        tmp_path,
        rate_limits={"reads": "5/minute", "workspace-reads": "8/minute", "renders": "3/minute"},
        **extra,
    ) as svc:
        yield svc


def test_a_burst_over_the_policy_gets_429_with_the_headers(limited: Service) -> None:
    svc = limited
    # The limiter's clock starts at the first request, at most `took` seconds (measured around
    # the requests, however slow the machine) before each answer. One read comes back 60/5 = 12 s
    # after it, one workspace read 60/8 = 7.5 s after it: r counts down by one a request, plus at
    # most one for each such period since; t is the whole seconds left until the next comes back.
    start = time.monotonic()
    allowed = 0
    while True:
        r = svc.get("/v1/renders")
        took = time.monotonic() - start
        if r.status_code == 429:
            break
        assert r.status_code == 200, r.text
        allowed += 1
        assert allowed <= 5 + math.floor(took / 12), f"read {allowed} passed {took:.1f} s after the first"
        policy, state = limits_of(r)
        assert policy == {"reads": {"q": "5", "w": "60"}, "workspace-reads": {"q": "8", "w": "60"}}
        remaining, t = state["reads"]["r"], state["reads"]["t"]
        assert 5 - allowed <= remaining <= 5 - allowed + math.floor(took / 12), (allowed, took, state)
        # 12 s after the first request less the time since (0-took s), rounded up.
        assert max(1, math.ceil(12 - took)) <= t <= 12, (allowed, took, state)
    assert allowed >= 5, "the whole quota passes before a read is refused"
    assert r.headers["content-type"] == "application/problem+json"
    _, state = limits_of(r)
    assert state["reads"]["r"] == 0, state
    assert max(1, math.ceil(12 - took)) <= state["reads"]["t"] <= 12, (took, state)
    assert int(r.headers["retry-after"]) >= state["reads"]["t"]
    # The refused request counted nowhere: as many workspace reads left as the allowed ones leave.
    assert 8 - allowed <= state["workspace-reads"]["r"] <= 8 - allowed + math.floor(took / 7.5), (took, state)
    body = r.json()
    assert body["code"] == "rate-limited" and body["status"] == 429 and body["type"].endswith("/rate-limited")
    assert body["violated-policies"] == ["reads"]
    assert body["request_id"] == r.headers["x-request-id"] and body["instance"] == "/v1/renders"
    # Reads and writes are counted apart: writes still pass.
    r = svc.post("/v1/projects", json={"name": "after the reads", "edit": EDIT})
    assert r.status_code == 201, r.text
    policy, state = limits_of(r)
    assert set(policy) == {"writes", "workspace-writes"} and state["writes"]["r"] == 299


def test_headers_on_every_response_of_limited_routes(limited: Service) -> None:
    svc = limited
    answers = [
        svc.get("/v1/renders/rnd_01hzzzzzzzzzzzzzzzzzzzzzzz"),  # 404 resource
        svc.get("/v1/no-such-thing"),  # 404 route
        svc.client.get("/v1/renders"),  # 401
        svc.post("/v1/projects", json={"nope": 1}),  # 422
        svc.post(
            "/v1/keys", content=b"{" * (2 * 1024 * 1024), headers={"Content-Type": "application/json"}
        ),  # 413
    ]
    assert [r.status_code for r in answers] == [404, 404, 401, 422, 413]
    for r in answers:
        limits_of(r)
        assert r.headers["x-request-id"].startswith("req_")
    # Unauthenticated requests are counted by address, against the per-credential policy only.
    policy, _ = limits_of(answers[2])
    assert set(policy) == {"reads"}
    # Probes and documents are not limited.
    for path in ("/healthz", "/readyz"):
        assert "ratelimit" not in svc.client.get(path).headers


def test_render_creation_has_its_own_policy(limited: Service) -> None:
    svc = limited
    edit = EDIT
    remaining = []
    for _ in range(3):
        r = svc.post("/v1/renders", json={"edit": edit})
        assert r.status_code == 202, r.text
        policy, state = limits_of(r)
        assert set(policy) == {"writes", "workspace-writes", "renders", "workspace-renders"}
        remaining.append((state["renders"]["r"], state["writes"]["r"]))
    # Render creation counts against both; writes come back every 0.2 s, renders every 20 s.
    assert [r for r, _ in remaining] == [2, 1, 0] and all(297 <= w <= 299 for _, w in remaining)
    r = svc.post("/v1/renders", json={"edit": edit})
    assert r.status_code == 429 and r.json()["violated-policies"] == ["renders"]
    assert int(r.headers["retry-after"]) >= limits_of(r)[1]["renders"]["t"] > 0
    # Other writes are not render creations.
    assert svc.post("/v1/projects", json={"name": "p", "edit": EDIT}).status_code == 201


def test_limits_per_key_and_per_workspace(limited: Service) -> None:
    svc = limited
    second = svc.new_key("renders:read")  # same workspace, its own per-key budget
    other = svc.other_workspace_key()
    for _ in range(5):
        assert svc.get("/v1/renders").status_code == 200
    r = svc.get("/v1/renders")
    assert r.status_code == 429 and r.json()["violated-policies"] == ["reads"]
    # The second key has its own 5, but the workspace has 8 in all: 3 are left for it.
    states = []
    for _ in range(3):
        r = svc.get("/v1/renders", token=second)
        assert r.status_code == 200, r.text
        _, state = limits_of(r)
        states.append((state["reads"]["r"], state["workspace-reads"]["r"]))
    assert states == [(4, 2), (3, 1), (2, 0)]
    r = svc.get("/v1/renders", token=second)
    assert r.status_code == 429 and r.json()["violated-policies"] == ["workspace-reads"]
    _, state = limits_of(r)
    assert state["reads"]["r"] == 2 and state["workspace-reads"]["r"] == 0
    assert int(r.headers["retry-after"]) >= state["workspace-reads"]["t"] >= 1
    # Another workspace is untouched.
    r = svc.get("/v1/renders", token=other)
    assert r.status_code == 200 and limits_of(r)[1]["workspace-reads"]["r"] == 7


def test_token_endpoint_is_limited_by_address(tmp_path: Path) -> None:
    with running_service(tmp_path, rate_limits={"writes": "2/minute"}) as svc:
        for expected in (1, 0):
            r = svc.client.post(
                "/v1/oauth/token",
                data={"grant_type": "client_credentials"},
                headers={"Authorization": f"Bearer {svc.token}"},
            )
            assert r.status_code == 401 and limits_of(r)[1]["writes"]["r"] == expected
        r = svc.client.post("/v1/oauth/token", data={"grant_type": "client_credentials"})
        assert r.status_code == 429 and r.json()["violated-policies"] == ["writes"]
        # The key's own budget is separate from the address's.
        assert svc.post("/v1/projects", json={"name": "p", "edit": EDIT}).status_code == 201


def test_rate_limiting_can_be_turned_off(tmp_path: Path) -> None:
    with running_service(tmp_path, rate_limiting=False, rate_limits={"reads": "1/minute"}) as svc:
        for _ in range(3):
            r = svc.get("/v1/renders")
            assert r.status_code == 200 and "ratelimit" not in r.headers


def test_a_bad_policy_stops_the_start(tmp_path: Path) -> None:
    with (
        pytest.raises(ValueError, match=r"'reads'.*fortnight"),
        running_service(tmp_path, rate_limits={"reads": "5/fortnight"}),
    ):
        pass
    with (
        pytest.raises(ValueError, match="raeds"),
        running_service(tmp_path / "2", rate_limits={"raeds": "5/minute"}),
    ):
        pass


def test_redis_down_fails_open_to_the_process(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # nothing listens once closed
    caplog.set_level(logging.WARNING, logger="reelforge.ratelimit")
    with running_service(
        tmp_path, redis_url=f"redis://127.0.0.1:{closed}/0", rate_limits={"reads": "3/minute"}
    ) as svc:
        started = time.monotonic()
        answers = [svc.get("/v1/renders") for _ in range(4)]
        took = time.monotonic() - started
    # Requests are answered, limited by this process, without waiting on Redis each time.
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [limits_of(r)[1]["reads"]["r"] for r in answers] == [2, 1, 0, 0]
    assert took < 5
    warnings = [
        r for r in caplog.records if r.name == "reelforge.ratelimit" and "does not answer" in r.getMessage()
    ]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]


# ------------------------------------------------------------------ two processes, one limit


@pytest.mark.slow
def test_two_server_processes_share_one_limit_through_redis(tmp_path: Path, redis_prefix: str) -> None:
    need_redis()
    data = tmp_path / "data"
    services = open_services(Settings(data_dir=data, _env_file=None))  # type: ignore[call-arg]
    token = bootstrap(services)
    services.engine.dispose()
    assert token is not None
    env = {
        **os.environ,
        "REELFORGE_DATA_DIR": str(data),
        "REELFORGE_WORKERS": "0",
        "PYTHONUNBUFFERED": "1",
        "REELFORGE_REDIS_URL": REDIS_URL,
        "REELFORGE_REDIS_PREFIX": redis_prefix,
        "REELFORGE_RATE_LIMITS": json.dumps({"reads": "6/minute"}),
    }
    with ServeProcess(data, env, "--port", "0") as first, ServeProcess(data, env, "--port", "0") as second:
        base1, base2 = first.wait_listening(), second.wait_listening()
        headers = {"Authorization": f"Bearer {token}"}
        answers = []
        with httpx.Client(headers=headers, timeout=30) as client:
            for i in range(8):  # alternate between the processes
                answers.append(client.get(f"{(base1, base2)[i % 2]}/v1/renders"))
        first.stop()
        second.stop()
    assert [r.status_code for r in answers] == [200] * 6 + [429] * 2
    assert [limits_of(r)[1]["reads"]["r"] for r in answers] == [5, 4, 3, 2, 1, 0, 0, 0]
    assert all(r.json()["violated-policies"] == ["reads"] for r in answers[6:])
