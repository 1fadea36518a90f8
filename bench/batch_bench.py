"""Batch benchmark: a batch of 10 rows x 3 aspect ratios through the service, against the same
30 edits rendered one by one with the CLI.

Usage: ``.venv/bin/python bench/batch_bench.py [--rows 10] [--seconds 1.5]``

* ``batch``: the service (SQLite, files in a temporary directory, its in-process worker running
  one render at a time, as ``make run`` starts it) takes ``POST /v1/batches`` with a template
  of a product card (the row's clip, its title and price) and 10 value rows, with outputs
  16:9, 9:16 and 1:1: 10 renders of 3 outputs each, FFmpeg decoding each row's clip once for
  the three. Timed from the request to ``finished_at`` (the service is already running, as it
  would be); CPU is this process's and its children's (FFmpeg) over the same span.
* ``cli``: the very edits the batch rendered (taken from its renders), split into one edit per
  output with the assets as local files: 30 runs of ``reelforge render`` one after another, each
  its own process (Python start-up, probing, one FFmpeg run per edit). Wall and CPU time of the
  process trees.

Both sides make the same 30 files (checked: sizes and durations match). One warm-up CLI render
runs first (not counted), so neither side pays for cold caches. The figure that matters is the
ratio batch / CLI, measured in the same run: below 1 the batch is faster.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from fastapi.testclient import TestClient  # noqa: E402

import mediagen  # noqa: E402
from bench_measure import Sample, run_measured  # noqa: E402
from reelforge.api.app import create_app  # noqa: E402
from reelforge.ffmpeg.probe import probe  # noqa: E402
from reelforge.services.context import open_services  # noqa: E402
from reelforge.services.workspaces import bootstrap  # noqa: E402
from reelforge.settings import Settings  # noqa: E402

ASPECTS = ("16:9", "9:16", "1:1")
PRODUCTS = ("Mug", "Lamp", "Chair", "Desk", "Pen", "Vase", "Clock", "Rug", "Shelf", "Stool", "Bowl", "Kettle")
COLOURS = ("testsrc2", "mandelbrot", "smptebars", "rgbtestsrc", "testsrc")


def template(seconds: float) -> dict[str, Any]:
    return {
        "name": "product card",
        "edit": {
            "timeline": {
                "tracks": [
                    {
                        "clips": [
                            {"asset": {"type": "video", "src": "{{clip}}"}, "length": seconds, "fit": "cover"}
                        ]
                    },
                    {
                        "clips": [
                            {
                                "asset": {"type": "text", "text": "{{title}}", "style": {"size": 0.08}},
                                "length": seconds,
                                "anchor": "top",
                            },
                        ]
                    },
                    {
                        "clips": [
                            {
                                "asset": {"type": "text", "text": "{{price}} EUR", "style": {"size": 0.06}},
                                "length": seconds,
                                "anchor": "bottom",
                            }
                        ]
                    },
                ]
            },
            "outputs": [{"resolution": "360p"}],
        },
        "variables": [
            {"name": "title", "type": "text", "required": True},
            {"name": "price", "type": "number", "required": True},
            {"name": "clip", "type": "asset", "required": True, "kinds": ["video"]},
        ],
    }


def outputs() -> list[dict[str, Any]]:
    return [{"aspect_ratio": a, "resolution": "360p", "quality": "low", "fps": 25} for a in ASPECTS]


def run_batch(
    root: Path, clips: list[Path], seconds: float
) -> tuple[Sample, list[dict[str, Any]], dict[str, Path]]:
    """The batch through the service: its wall and CPU time, the merged edits it rendered, and
    the uploaded clips by asset id."""
    settings = Settings(
        data_dir=root / "data", database_url=f"sqlite:///{root / 'bench.db'}", workers=1, _env_file=None
    )  # type: ignore[call-arg]
    services = open_services(settings)
    token = bootstrap(services)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(services=services)) as client:
        files: dict[str, Path] = {}
        for clip in clips:
            r = client.post("/v1/assets", headers=headers, files={"file": (clip.name, clip.read_bytes())})
            r.raise_for_status()
            files[r.json()["id"]] = clip
        ids = list(files)
        r = client.post("/v1/templates", headers=headers, json=template(seconds))
        r.raise_for_status()
        rows = [
            {"title": PRODUCTS[i % len(PRODUCTS)], "price": 5 + i, "clip": ids[i % len(ids)]}
            for i in range(len(clips))
        ]
        body = {"template_id": r.json()["id"], "rows": rows, "outputs": outputs()}

        busy = _cpu()
        start = time.perf_counter()
        r = client.post("/v1/batches", headers=headers, json=body)
        r.raise_for_status()
        batch_id = r.json()["id"]
        while True:
            batch = client.get(f"/v1/batches/{batch_id}", headers=headers).json()
            if batch["finished_at"] is not None:
                break
            time.sleep(0.05)
        wall = time.perf_counter() - start
        cpu = _cpu() - busy
        if batch["state"] != "succeeded":
            raise SystemExit(f"the batch ended {batch['state']}: {json.dumps(batch)[:2000]}")
        renders = client.get(
            f"/v1/batches/{batch_id}/renders", headers=headers, params={"limit": 100}
        ).json()["data"]
        from reelforge.db.models import Render

        with services.sessions() as db:
            edits = []
            for render in sorted(renders, key=lambda r: r["metadata"]["batch"]["items"][0]["row"]):
                stored = db.get(Render, render["id"])
                assert stored is not None
                edits.append(
                    {
                        "edit": stored.edit,
                        "outputs": [
                            (o["media"]["width"], o["media"]["height"], o["media"]["duration"])
                            for o in render["outputs"]
                            if o["role"] == "output"
                        ],
                    }
                )
    services.engine.dispose()
    return Sample(wall, 0, cpu), edits, files


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def local_edits(root: Path, edits: list[dict[str, Any]], files: dict[str, Path]) -> list[Path]:
    """One edit file per output, the asset ids replaced by the clips' paths."""
    paths = []
    for row, made in enumerate(edits):
        text = json.dumps(made["edit"])
        for asset_id, path in files.items():
            text = text.replace(asset_id, path.name)  # the CLI reads files beside the edit
        edit = json.loads(text)
        for output in edit["outputs"]:
            single = {**edit, "outputs": [output]}
            path = root / f"row{row:02d}-{output['aspect_ratio'].replace(':', 'x')}.json"
            path.write_text(json.dumps(single))
            paths.append(path)
    return paths


def run_cli(paths: list[Path], out: Path) -> tuple[Sample, list[tuple[int, int, float]]]:
    cli = [sys.executable, "-m", "reelforge", "render", "-q"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    samples = [run_measured([*cli, str(p), "-o", str(out / p.stem)], env=env) for p in paths]
    made = []
    for p in paths:
        [video] = sorted((out / p.stem).glob("*.mp4"))
        info = probe(video)
        made.append((int(info.width or 0), int(info.height or 0), round(float(info.duration or 0), 3)))
    return Sample(sum(s.wall for s in samples), 0, sum(s.cpu for s in samples)), made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=1.5, help="the length of each video")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reelforge-batch-bench-") as tmp:
        root = Path(tmp)
        clips = [
            mediagen.make_video(
                root / "media" / f"clip{i:02d}.mp4",
                duration=args.seconds + 0.5,
                size=(640, 360),
                source=COLOURS[i % len(COLOURS)],
                tone_hz=220 + 40 * i,
            )
            for i in range(args.rows)
        ]
        batch, edits, files = run_batch(root / "service", clips, args.seconds)
        paths = local_edits(root / "media", edits, files)
        run_measured(
            [sys.executable, "-m", "reelforge", "render", "-q", str(paths[0]), "-o", str(root / "warm")],
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )  # warm-up, not counted
        cli, made = run_cli(paths, root / "cli")
        from_batch = [(w, h, round(float(d), 3)) for e in edits for (w, h, d) in e["outputs"]]
        if sorted((w, h) for w, h, _ in made) != sorted((w, h) for w, h, _ in from_batch):
            raise SystemExit(f"the two sides made different files: {made} vs {from_batch}")
        if any(abs(a[2] - b[2]) > 0.05 for a, b in zip(sorted(made), sorted(from_batch), strict=True)):
            raise SystemExit(f"durations differ: {made} vs {from_batch}")
    result = {
        "renders": len(edits),
        "outputs": len(made),
        "batch": {"wall": round(batch.wall, 2), "cpu": round(batch.cpu, 2)},
        "cli": {"wall": round(cli.wall, 2), "cpu": round(cli.cpu, 2)},
        "wall_ratio": round(batch.wall / cli.wall, 3),
        "cpu_ratio": round(batch.cpu / cli.cpu, 3),
    }
    print(
        f"batch: {len(edits)} renders x {len(ASPECTS)} outputs through the service: "
        f"{batch.wall:.2f} s wall, {batch.cpu:.2f} s CPU"
    )
    print(
        f"cli:   {len(made)} edits, one `reelforge render` each:        {cli.wall:.2f} s wall, {cli.cpu:.2f} s CPU"
    )
    print(
        f"ratio batch/cli: wall {result['wall_ratio']:.3f}, CPU {result['cpu_ratio']:.3f} (below 1: the batch is "
        "faster)"
    )
    cache = HERE / ".cache"
    cache.mkdir(exist_ok=True)
    (cache / "batch_results.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
