"""Reelforge's read-latency benchmark: two read endpoints at a fixed rate, against a bare
FastAPI endpoint serving the same bodies.

Usage: ``.venv/bin/python bench/api_bench.py [--quick] [--rounds N] [--rate 200] [--max]``

1. Starts ``reelforge serve`` as a user does (a fresh data directory, the embedded default:
   SQLite, the in-process worker) and seeds it through the API: a tiny video and WAV made with
   FFmpeg, 200 distinct tiny PNGs, and one render of a colour-only inline edit.
2. Takes the bodies the service answers for ``GET /v1/renders/{id}`` and
   ``GET /v1/assets?limit=50`` and starts ``bench/bare_app.py``, which returns those very
   documents from a bare ``async def`` FastAPI endpoint under the same uvicorn.
3. Loads each endpoint from a separate process on loopback, alternating
   (bare render body, renders, bare assets body, assets) in every round, at a **fixed rate**
   (``--rate``, default 200 requests/s) on an open-loop schedule (``api_load.py``: a request's
   latency counts from when it was due, so a stalled server is not flattered by a waiting
   client): p50, p99, max and errors. With ``--max``, also flat out over 16 connections
   (``wrk`` when installed, else ``api_load.py``): throughput, reported only.
4. Reports medians over the rounds, the target (p99 < 20 ms at 200 requests/s) and, reported
   but not targeted, Reelforge's latency over the bare endpoint's.
5. With ``--metrics-overhead``, also starts a second ``reelforge serve`` on the same data with
   ``REELFORGE_METRICS_ENABLED=false`` (no HTTP metrics middleware) and loads ``GET /healthz``
   and ``GET /v1/renders/{id}`` on both servers in the same rounds: p50 and p99 with metrics
   over without (median of per-round ratios) is the middleware's cost per request.

The table is printed and written as JSON to ``bench/.cache/api_results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from api_load import LoadResult, run_load, wrk_path
from api_media import tiny_png, tiny_video, tiny_wav
from api_procs import CPUS, CpuMeter, Server, start_bare, start_reelforge

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / ".cache" / "api_results.json"

P99_TARGET_MS = 20.0
TARGET_RATE = 200.0
PNG_ASSETS = 200
TERMINAL = ("succeeded", "failed", "cancelled")
METRICS_PAIRS = (("healthz", "healthz_off"), ("renders", "renders_off"))
"""(with metrics, without): the targets ``--metrics-overhead`` compares."""
RENDER_EDIT = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "#1d3557"}, "length": 2}]}]},
    "outputs": [{"resolution": "360p", "fps": 25, "quality": "draft"}],
}


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    server: str
    """``reelforge`` or ``bare``."""
    path: str
    pair: str
    """For a Reelforge endpoint, the key of its bare reference."""


# ------------------------------------------------------------------ seeding


def _client(server: Server) -> httpx.Client:
    return httpx.Client(
        base_url=server.base, headers={"Authorization": f"Bearer {server.token}"}, timeout=120
    )


def seed(server: Server, media_dir: Path, *, log: Callable[[str], None]) -> str:
    """Upload the assets and create the render; return the render's id."""
    video = tiny_video(media_dir / "clip.mp4")
    wav = tiny_wav(media_dir / "tone.wav")
    with _client(server) as client:
        for path, ctype in ((video, "video/mp4"), (wav, "audio/wav")):
            r = client.post("/v1/assets", files={"file": (path.name, path.read_bytes(), ctype)})
            if r.status_code not in (200, 201):
                raise RuntimeError(f"uploading {path.name}: {r.status_code} {r.text}")

    def upload_png(i: int) -> None:
        with _client(server) as c:
            r = c.post(
                "/v1/assets",
                files={"file": (f"still-{i:03d}.png", tiny_png(i), "image/png")},
                data={"tags": "bench,still", "metadata": json.dumps({"index": i})},
            )
        if r.status_code != 201:
            raise RuntimeError(f"uploading PNG {i}: {r.status_code} {r.text}")

    started = time.perf_counter()
    # A few at once: each upload probes the PNG and makes a thumbnail with FFmpeg.
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(upload_png, range(PNG_ASSETS)))
    log(f"  uploaded 2 media files and {PNG_ASSETS} PNGs in {time.perf_counter() - started:.1f} s")
    with _client(server) as client:
        r = client.post("/v1/renders", json={"edit": RENDER_EDIT})
        if r.status_code != 202:
            raise RuntimeError(f"creating the render: {r.status_code} {r.text}")
        return str(r.json()["id"])


def wait_rendered(server: Server, render_id: str, *, log: Callable[[str], None]) -> None:
    """Wait for the seeded render to end, so the worker is idle while latency is measured and
    the render's body is final (the state a client reads most)."""
    deadline = time.monotonic() + 300
    with _client(server) as client:
        while (state := client.get(f"/v1/renders/{render_id}").json()["state"]) not in TERMINAL:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the seeded render is still {state} after 300 s")
            time.sleep(0.2)
    log(f"  the seeded render {state}")


def fetch_docs(server: Server, render_id: str) -> dict[str, Any]:
    with _client(server) as client:
        render = client.get(f"/v1/renders/{render_id}")
        assets = client.get("/v1/assets", params={"limit": 50})
    for r in (render, assets):
        r.raise_for_status()
    body = assets.json()
    items = body.get("data", body.get("items"))
    if not isinstance(items, list) or len(items) != 50:
        raise RuntimeError(
            f"GET /v1/assets?limit=50 returned {len(items) if isinstance(items, list) else items!r}"
        )
    return {
        "render": render.json(),
        "assets": body,
        "_sizes": {"render": len(render.content), "assets": len(assets.content)},
    }


# ------------------------------------------------------------------ running the load


@dataclass
class Run:
    target: str
    mode: str
    round: int
    result: LoadResult
    server_cpu_ms_per_request: float | None
    foreign_cpu: float | None


def load_once(
    target: Target,
    servers: dict[str, Server],
    headers: dict[str, str],
    *,
    mode: str,
    args: argparse.Namespace,
    duration: float,
    warmup: float,
    rnd: int,
) -> Run:
    server = servers[target.server]
    with CpuMeter([server.pid]) as meter:
        result = run_load(
            server.base + target.path,
            headers,
            mode=mode,
            concurrency=args.concurrency,
            duration=duration,
            warmup=warmup,
            rate=args.rate,
            use_wrk=not args.no_wrk,
        )
        meter.extra = result.cpu_seconds
    # The server's CPU covers the warm-up too: divide by everything it answered.
    cpu_ms = meter.ours[server.pid] * 1000 / result.answered if result.answered else None
    if result.errors:
        print(f"    ! {target.label} {mode}: {result.errors} errors", file=sys.stderr)
    return Run(
        target.key,
        mode,
        rnd,
        result,
        round(cpu_ms, 3) if cpu_ms else None,
        round(meter.foreign, 3) if meter.foreign is not None else None,
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# ------------------------------------------------------------------ report


def build_rows(targets: list[Target], runs: list[Run], rate_per_s: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def pick(key: str, mode: str) -> list[Run]:
        return sorted((r for r in runs if r.target == key and r.mode == mode), key=lambda r: r.round)

    for t in targets:
        for mode in ("rate", "max"):
            sel = pick(t.key, mode)
            if not sel:
                continue
            rows.append(
                {
                    "endpoint": t.label,
                    "mode": mode,
                    "rps": round(median([r.result.rps for r in sel]), 1),
                    "p50_ms": round(median([r.result.p50_ms for r in sel]), 2),
                    "p99_ms": round(median([r.result.p99_ms for r in sel]), 2),
                    "max_ms": round(max(r.result.max_ms for r in sel), 2),
                    "server_cpu_ms": round(
                        median([r.server_cpu_ms_per_request or float("nan") for r in sel]), 3
                    ),
                    "errors": sum(r.result.errors for r in sel),
                    "foreign_cpu": round(median([r.foreign_cpu or 0.0 for r in sel]), 2),
                    "tool": sel[0].result.tool,
                    "n": len(sel),
                }
            )
    for on, off in METRICS_PAIRS:
        with_metrics, without = pick(on, "rate"), pick(off, "rate")
        if not with_metrics or not without:
            continue
        label = next(t.label for t in targets if t.key == on)
        for q in ("p50", "p99"):
            ratios = [
                getattr(a.result, f"{q}_ms") / getattr(b.result, f"{q}_ms")
                for a, b in zip(with_metrics, without, strict=False)
                if getattr(b.result, f"{q}_ms")
            ]
            rows.append(
                {
                    "endpoint": label,
                    "measure": f"{q} with metrics / without (median of per-round ratios)",
                    "ratio": round(median(ratios), 3),
                    "target": "",
                    "verdict": "",
                    "note": "rounds: " + ", ".join(f"{x:.3f}" for x in ratios),
                }
            )
    for t in targets:
        if t.server != "reelforge":
            continue
        rate, bare = pick(t.key, "rate"), pick(t.pair, "rate")
        p99 = median([r.result.p99_ms for r in rate])
        errors = sum(r.result.errors for r in rate)
        rows.append(
            {
                "endpoint": t.label,
                "measure": f"p99 at {rate_per_s:g} req/s, ms (median of rounds)",
                "ratio": round(p99, 2),
                "target": f"< {P99_TARGET_MS:g}",
                "verdict": "ok" if p99 < P99_TARGET_MS and not errors else "MISSED",
                "note": "rounds: "
                + ", ".join(f"{r.result.p99_ms:.1f}" for r in rate)
                + (f"; {errors} errors" if errors else ""),
            }
        )
        for q in ("p50", "p99"):
            ratios = [
                getattr(a.result, f"{q}_ms") / getattr(b.result, f"{q}_ms")
                for a, b in zip(rate, bare, strict=False)
                if getattr(b.result, f"{q}_ms")
            ]
            rows.append(
                {
                    "endpoint": t.label,
                    "measure": f"{q} / bare FastAPI {q} (median of per-round ratios)",
                    "ratio": round(median(ratios), 2),
                    "target": "",
                    "verdict": "",
                    "note": "reported, not targeted; rounds: " + ", ".join(f"{x:.2f}" for x in ratios),
                }
            )
        ours, bare_max = pick(t.key, "max"), pick(t.pair, "max")
        if ours:
            ratios = [
                a.result.rps / b.result.rps for a, b in zip(ours, bare_max, strict=False) if b.result.rps
            ]
            rows.append(
                {
                    "endpoint": t.label,
                    "measure": "flat-out throughput / bare (median of rounds)",
                    "ratio": round(median(ratios), 3),
                    "target": "",
                    "verdict": "",
                    "note": "reported, not targeted; rounds: " + ", ".join(f"{x:.2f}" for x in ratios),
                }
            )
    return rows


def print_table(rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    flat_out = f", max: {meta['concurrency']} connections via {meta['max_tool']}" if meta["max"] else ""
    print(
        f"\nAPI read latency ({meta['mode']}, {meta['rounds']} rounds, {meta['cpus']} CPUs, "
        f"rate: {meta['rate']:g} req/s for {meta['rate_duration']:g} s{flat_out})"
    )
    print(
        f"{'endpoint':<34} {'mode':<5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'srv CPU ms/req':>15} {'errors':>6} {'other load':>10}"
    )
    for r in rows:
        if "mode" in r:
            print(
                f"{r['endpoint']:<34} {r['mode']:<5} {r['rps']:>8.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
                f"{r['max_ms']:>8.2f} {r['server_cpu_ms']:>15.3f} {r['errors']:>6} {r['foreign_cpu']:>10.2f}"
            )
    print(f"\n{'endpoint':<26} {'measure':<52} {'value':>7} {'target':>7} {'verdict':>7}  note")
    for r in rows:
        if "measure" in r:
            print(
                f"{r['endpoint']:<26} {r['measure']:<52} {r['ratio']:>7} {r['target']:>7} {r['verdict']:>7}  "
                f"{r['note']}"
            )
    busy = [r["foreign_cpu"] for r in rows if "mode" in r]
    if busy and max(busy) > 0.1:
        print(
            f"\nnote: other processes used up to {max(busy):.0%} of the machine's CPU during the runs; "
            "absolute figures are disturbed (ratios of alternated runs less so)."
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="short runs (5 s at the fixed rate, 2 s flat out)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds; medians are taken over them")
    parser.add_argument("--concurrency", type=int, default=16, help="connections in the flat-out runs")
    parser.add_argument(
        "--rate",
        type=float,
        default=TARGET_RATE,
        help="requests/s of the fixed-rate runs (the target's: 200)",
    )
    parser.add_argument("--max", action="store_true", help="also measure flat-out throughput (reported only)")
    parser.add_argument("--duration", type=float, help="seconds per flat-out run (default 5, quick 2)")
    parser.add_argument(
        "--rate-duration", type=float, help="seconds per fixed-rate run (default 15, quick 5)"
    )
    parser.add_argument(
        "--no-wrk", action="store_true", help="use the Python generator even if wrk is installed"
    )
    parser.add_argument(
        "--sync-bare",
        action="store_true",
        help="also measure the bare app's plain `def` endpoint (FastAPI's thread pool)",
    )
    parser.add_argument(
        "--metrics-overhead",
        action="store_true",
        help="also compare against a server without the HTTP metrics middleware (REELFORGE_METRICS_ENABLED=false)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument(
        "--json", type=Path, default=RESULTS, help=f"where to write results (default {RESULTS})"
    )
    args = parser.parse_args()
    duration = args.duration or (2.0 if args.quick else 5.0)
    rate_duration = args.rate_duration or (5.0 if args.quick else 15.0)
    max_tool = "wrk" if wrk_path() and not args.no_wrk else "python (api_load.py)"

    def log(msg: str) -> None:
        print(msg, flush=True)

    work = Path(tempfile.mkdtemp(prefix="reelforge-apibench-"))
    servers: dict[str, Server] = {}
    try:
        log(f"starting reelforge serve (data in {work / 'data'}) ...")
        # The embedded default: SQLite and the in-process worker (which renders the seeded edit).
        servers["reelforge"] = start_reelforge(work / "data", workers=1)
        render_id = seed(servers["reelforge"], work / "media", log=log)
        wait_rendered(servers["reelforge"], render_id, log=log)
        docs = fetch_docs(servers["reelforge"], render_id)
        sizes = docs.pop("_sizes")
        (work / "docs.json").write_text(json.dumps(docs), encoding="utf-8")
        log(
            f"  bodies: render {sizes['render']} B, assets list {sizes['assets']} B; starting the bare app ..."
        )
        servers["bare"] = start_bare(work / "docs.json", work)
        headers = {"Authorization": f"Bearer {servers['reelforge'].token}"}
        targets = [
            Target("bare_render", "bare FastAPI (render body)", "bare", "/doc/render", ""),
            Target("renders", "GET /v1/renders/{id}", "reelforge", f"/v1/renders/{render_id}", "bare_render"),
            Target("bare_assets", "bare FastAPI (assets body)", "bare", "/doc/assets", ""),
            Target("assets", "GET /v1/assets?limit=50", "reelforge", "/v1/assets?limit=50", "bare_assets"),
        ]
        if args.metrics_overhead:
            servers["reelforge_off"] = start_reelforge(
                work / "data",
                token=servers["reelforge"].token,
                log_name="serve-no-metrics.log",
                extra_env={"REELFORGE_METRICS_ENABLED": "false"},
            )
            render_path = f"/v1/renders/{render_id}"
            targets = [
                Target("bare_healthz", "bare FastAPI /healthz", "bare", "/healthz", ""),
                Target("healthz", "GET /healthz", "reelforge", "/healthz", "bare_healthz"),
                Target(
                    "healthz_off", "GET /healthz (no metrics)", "reelforge_off", "/healthz", "bare_healthz"
                ),
                targets[0],
                targets[1],
                Target(
                    "renders_off",
                    "GET /v1/renders/{id} (no metrics)",
                    "reelforge_off",
                    render_path,
                    "bare_render",
                ),
            ]
        if args.sync_bare:
            targets += [
                Target("sync_render", "bare sync def (render body)", "bare", "/sync-doc/render", ""),
                Target("sync_assets", "bare sync def (assets body)", "bare", "/sync-doc/assets", ""),
            ]
        # Same request bytes everywhere: the bare app gets (and ignores) the Authorization header.
        for t in targets:
            with httpx.Client(timeout=30) as c:
                r = c.get(servers[t.server].base + t.path, headers=headers)
            if r.status_code != 200:
                raise RuntimeError(f"{t.label}: {r.status_code} {r.text[:500]}")
        log("warm-up round (untimed) ...")
        for t in targets:
            load_once(t, servers, headers, mode="rate", args=args, duration=1.0, warmup=0.0, rnd=0)
        runs: list[Run] = []
        modes = [("rate", rate_duration)] + ([("max", duration)] if args.max else [])
        for rnd in range(1, args.rounds + 1):
            for mode, secs in modes:
                for t in targets:
                    run = load_once(
                        t, servers, headers, mode=mode, args=args, duration=secs, warmup=0.5, rnd=rnd
                    )
                    runs.append(run)
                    res = run.result
                    log(
                        f"  round {rnd} {mode:<4} {t.label:<30} {res.rps:>8.1f} req/s  p50 {res.p50_ms:6.2f} ms  "
                        f"p99 {res.p99_ms:6.2f} ms  max {res.max_ms:7.2f} ms  errors {res.errors}  other load {run.foreign_cpu}"
                    )
        rows = build_rows(targets, runs, args.rate)
        meta = {
            "mode": "quick" if args.quick else "full",
            "rounds": args.rounds,
            "cpus": CPUS,
            "concurrency": args.concurrency,
            "rate": args.rate,
            "duration": duration,
            "rate_duration": rate_duration,
            "max": args.max,
            "max_tool": max_tool,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "body_bytes": sizes,
            "render_id": render_id,
            "loadavg_end": os.getloadavg(),
        }
        print_table(rows, meta)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "meta": meta,
                    "rows": rows,
                    "raw": [{**asdict(r), "result": asdict(r.result)} for r in runs],
                },
                indent=1,
            ),
            encoding="utf-8",
        )
        log(f"\nresults: {args.json}")
    finally:
        for s in servers.values():
            s.stop()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
