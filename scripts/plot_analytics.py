"""Draw docs/analytics.png: what ``GET /v1/analytics/renders`` shows, from a generated dataset.

Usage: ``.venv/bin/python scripts/plot_analytics.py [--out docs/analytics.png]``

A throw-away SQLite database gets the service's schema and 3,000 generated renders of three
campaigns over 30 days (one campaign has a bad week of missing assets); the figures come from
the analytics service itself (``group_by=day`` and ``group_by=tag``), the same code the API
answers with, and are drawn with Pillow: renders per day by state with the daily p95 render
time, and each campaign's success rate and p50/p95 render time.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import insert, select

from reelforge.db.models import Render, RenderLabel, Workspace, new_id
from reelforge.services.analytics import render_analytics
from reelforge.services.context import open_services
from reelforge.services.workspaces import bootstrap
from reelforge.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 1, tzinfo=UTC)
CAMPAIGNS = {"spring-sale": 1.0, "black-friday": 2.0, "brand-refresh": 0.6}
GREEN, RED, GREY, BLUE, INK = (76, 175, 80), (229, 57, 53), (189, 189, 189), (30, 136, 229), (33, 33, 33)


def generate(services: Any, workspace_id: str, count: int = 3000) -> None:
    rng = random.Random(16)
    renders, labels = [], []
    names, weights = list(CAMPAIGNS), list(CAMPAIGNS.values())
    for i in range(count):
        created = NOW - timedelta(seconds=rng.uniform(0, 30 * 86400))
        campaign = rng.choices(names, weights)[0]
        bad_week = campaign == "brand-refresh" and 8 <= (NOW - created).days < 15
        state = "failed" if rng.random() < (0.35 if bad_week else 0.03) else "succeeded"
        if rng.random() < 0.02:
            state = "cancelled"
        queue = rng.uniform(0, 8) * (3 if campaign == "black-friday" else 1)
        run = rng.lognormvariate(2.3, 0.4) * (1.8 if campaign == "black-friday" else 1)
        render_id = new_id("rnd")
        renders.append(
            {
                "id": render_id,
                "seq": i,
                "workspace_id": workspace_id,
                "edit": {},
                "state": state,
                "tags": [campaign],
                "created_at": created,
                "started_at": created + timedelta(seconds=queue),
                "finished_at": created + timedelta(seconds=queue + run),
                "failure_code": ("asset_missing" if bad_week else "ffmpeg_failed")
                if state == "failed"
                else None,
                "queue_seconds": queue if state != "cancelled" else None,
                "run_seconds": run if state != "cancelled" else None,
                "output_seconds": 15.0 if state == "succeeded" else None,
                "output_bytes": rng.randint(2_000_000, 6_000_000) if state == "succeeded" else None,
            }
        )
        labels.append({"render_id": render_id, "kind": "tag", "value": campaign})
        labels.append({"render_id": render_id, "kind": "format", "value": "mp4"})
    with services.sessions() as db:
        db.execute(insert(Render), renders)
        db.execute(insert(RenderLabel), labels)
        db.commit()


def draw(by_day: dict[str, Any], by_tag: dict[str, Any], out: Path) -> None:
    width, height = 960, 420
    image = Image.new("RGB", (width, height), "white")
    pen = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    small = ImageFont.load_default(size=11)
    # Left: renders per day by state (bars) and the day's p95 render time (line).
    left, top, right, bottom = 50, 40, 600, 360
    days = by_day["groups"]
    most = max(g["renders"] for g in days)
    slowest = max(g["render_seconds"]["p95"] or 0 for g in days)
    pen.text(
        (left, 12), "Renders per day (bars: succeeded / failed / cancelled) and p95 render time", INK, font
    )
    pen.line([(left, bottom), (right, bottom)], INK)
    pen.line([(left, top), (left, bottom)], INK)
    step = (right - left) / len(days)
    points = []
    for i, g in enumerate(days):
        x0 = left + i * step + 2
        y = float(bottom)
        for state, colour in (("succeeded", GREEN), ("failed", RED), ("cancelled", GREY)):
            h = g["states"][state] / most * (bottom - top)
            pen.rectangle([x0, y - h, x0 + step - 4, y], fill=colour)
            y -= h
        p95 = g["render_seconds"]["p95"]
        if p95 is not None:
            points.append((x0 + step / 2 - 2, bottom - p95 / slowest * (bottom - top)))
        if i % 5 == 0:
            pen.text((x0, bottom + 6), g["key"][5:], INK, small)
    pen.line(points, BLUE, width=2)
    pen.text((left - 40, top - 4), str(most), INK, small)
    pen.text((right + 4, top - 4), f"{slowest:.0f} s", BLUE, small)
    pen.text((left, bottom + 24), "day (UTC)", INK, small)
    # Right: each campaign's success rate and render time percentiles.
    x = 640
    pen.text((x, 12), "By campaign tag (30 days)", INK, font)
    y = 50
    for g in by_tag["groups"]:
        rate = g["success_rate"] or 0.0
        pen.text((x, y), f"{g['key']}  ({g['renders']} renders)", INK, font)
        pen.rectangle([x, y + 20, x + 280, y + 36], outline=INK)
        pen.rectangle([x, y + 20, x + 280 * rate, y + 36], fill=GREEN if rate > 0.9 else RED)
        pen.text((x + 4, y + 21), f"success {rate:.1%}", "white", small)
        seconds = g["render_seconds"]
        errors = ", ".join(f"{e['code']} {e['rate']:.1%}" for e in g["errors"][:2]) or "no failures"
        pen.text((x, y + 42), f"render p50 {seconds['p50']:.1f} s, p95 {seconds['p95']:.1f} s", INK, small)
        pen.text((x, y + 58), errors, INK, small)
        y += 100
    image.save(out, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "analytics.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reelforge-plot-") as tmp:
        services = open_services(Settings(data_dir=Path(tmp), workers=0, _env_file=None))  # type: ignore[call-arg]
        bootstrap(services)
        with services.sessions() as db:
            workspace_id = db.scalars(select(Workspace.id)).one()
        generate(services, workspace_id)
        window = {"start": NOW - timedelta(days=30), "end": NOW}
        with services.engine.connect() as conn:
            by_day = render_analytics(conn, workspace_id, group_by="day", **window)
            by_tag = render_analytics(conn, workspace_id, group_by="tag", **window)
        services.engine.dispose()
    draw(by_day, by_tag, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
