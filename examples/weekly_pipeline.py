"""The weekly pipeline, end to end against a running service: sync -> approve -> template with
query references -> batch -> outputs.

1. **Sync** the week's hero shots from the DAM (here: two stills drawn with FFmpeg) with
   ``PUT /v1/assets/by-ref/{system}/{id}/{version}``. It runs twice, as a nightly job retried
   would: the second run creates nothing.
2. **Approve** one of them (``POST /v1/assets/{id}/versions/{n}/review``, scope
   ``assets:approve``), with a licence that ends in 30 days.
3. **Template** whose picture is a query: "the newest approved hero shot of product X".
4. **Batch**: one row per headline, for publication (approved media only), in 16:9, 1:1 and
   9:16. Every row resolves the query once, at the start: the same version everywhere.
5. **Outputs** are downloaded into ``out/weekly``; each render records the version it used.

Usage: ``REELFORGE_TOKEN=rf_live_… python examples/weekly_pipeline.py [--server URL]``
(the key needs ``assets:write``, ``assets:approve``, ``templates:write``, ``templates:read``,
``renders:write`` and ``renders:read``; an ``admin`` key has them all).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg

OUT = Path(__file__).resolve().parent.parent / "out" / "weekly"
SYSTEM = "demo-dam"

TEMPLATE: dict[str, Any] = {
    "name": "weekly hero",
    "edit": {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "image",
                                "src": {
                                    "query": {
                                        "tags": ["hero", "product-x"],
                                        "state": "approved",
                                        "pick": "newest",
                                    }
                                },
                            },
                            "length": 2,
                            "fit": "cover",
                        }
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{headline}}",
                                "style": {"size": 0.09, "weight": "bold"},
                            },
                            "length": 2,
                            "anchor": "bottom",
                            "safe_area": True,
                        }
                    ]
                },
            ]
        },
        "outputs": [
            {"aspect_ratio": "16:9", "height": 180, "quality": "draft", "fps": 25},
            {"aspect_ratio": "1:1", "height": 180, "quality": "draft", "fps": 25},
            {"aspect_ratio": "9:16", "width": 180, "quality": "draft", "fps": 25},
        ],
    },
    "variables": [{"name": "headline", "type": "text", "required": True}],
}
HEADLINES = ["New this week", "Only in stores", "Last chance"]


def still(path: Path, color: str) -> Path:
    """A 320x180 still of one colour (the DAM's file)."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"color=c={color}:s=320x180",
            "-frames:v",
            "1",
            str(path),
        ],
        check=True,
    )
    return path


def ok(r: httpx.Response, *expected: int) -> Any:
    if r.status_code not in expected:
        raise SystemExit(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")
    return r.json() if r.content else None


def sync(http: httpx.Client, ref: str, version: str, file: Path) -> dict[str, Any]:
    with file.open("rb") as fh:
        r = http.put(
            f"/v1/assets/by-ref/{SYSTEM}/{ref}/{version}",
            files={"file": (file.name, fh)},
            data={"tags": "hero,product-x", "name": f"{ref}.png"},
        )
    body: dict[str, Any] = ok(r, 200, 201)
    print(
        f"  {SYSTEM}/{ref}@{version}: {'created' if body['created'] else 'unchanged'} ({body['asset']['id']})"
    )
    return body


def wait_batch(http: httpx.Client, batch_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        batch: dict[str, Any] = ok(http.get(f"/v1/batches/{batch_id}"), 200)
        if batch["finished_at"] is not None:
            return batch
        if time.monotonic() > deadline:
            raise SystemExit(f"batch {batch_id} did not finish in {timeout:.0f} s")
        time.sleep(0.5)


def run(server: str, token: str, out: Path, timeout: float) -> list[Path]:
    made: list[Path] = []
    with (
        httpx.Client(
            base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=120, trust_env=False
        ) as http,
        tempfile.TemporaryDirectory() as tmp,
    ):
        print("1. sync from the DAM (twice: the second run changes nothing)")
        red, blue = still(Path(tmp) / "px-1.png", "0xd03020"), still(Path(tmp) / "px-2.png", "0x2040d0")
        for _ in range(2):
            first = sync(http, "PX-1", "1", red)
            second = sync(http, "PX-2", "1", blue)
        print("2. approve PX-2 (licensed for 30 days); PX-1 stays a draft")
        until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        number = second["version"]["version"]
        ok(
            http.post(
                f"/v1/assets/{second['asset']['id']}/versions/{number}/review",
                json={"state": "approved", "comment": "weekly review", "approved_until": until},
            ),
            200,
        )
        print("3. the template names the newest approved hero shot of product X")
        template = ok(http.post("/v1/templates", json=TEMPLATE), 201)
        print("4. a batch for publication: one row per headline, 16:9, 1:1 and 9:16")
        rows = [{"headline": h} for h in HEADLINES]
        batch = ok(
            http.post(
                "/v1/batches", json={"template_id": template["id"], "rows": rows, "purpose": "publication"}
            ),
            202,
        )
        batch = wait_batch(http, batch["id"], timeout)
        renders = ok(http.get(f"/v1/batches/{batch['id']}/renders", params={"limit": 100}), 200)["data"]
        print("5. outputs")
        out.mkdir(parents=True, exist_ok=True)
        for render in renders:
            if render["state"] != "succeeded":
                raise SystemExit(f"render {render['id']} {render['state']}: {render.get('error')}")
            used = ", ".join(f"{v['asset']}@{v['version']}" for v in render["asset_versions"])
            for output in render["outputs"]:
                if output.get("role") != "output":
                    continue
                target = out / f"{render['id']}-{output['output']}{Path(output['name']).suffix or '.mp4'}"
                target.write_bytes(http.get(output["content_url"]).content)
                made.append(target)
            print(f"  {render['id']}: {used}")
        if first["asset"]["id"] in {v["asset"] for r in renders for v in r["asset_versions"]}:
            raise SystemExit("a draft was published")
    print(f"{len(made)} files in {out}")
    return made


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", default=os.environ.get("REELFORGE_SERVER", "http://127.0.0.1:8000"))
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--wait", type=float, default=1800, help="seconds to wait for the batch")
    args = parser.parse_args()
    token = os.environ.get("REELFORGE_TOKEN")
    if not token:
        print("set REELFORGE_TOKEN to an API key of the server (reelforge serve prints one)", file=sys.stderr)
        return 2
    run(args.server.rstrip("/"), token, args.out, args.wait)
    return 0


if __name__ == "__main__":
    sys.exit(main())
