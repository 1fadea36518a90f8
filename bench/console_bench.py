"""Console preview benchmark: how long the template page waits for a preview still.

Usage: ``.venv/bin/python bench/console_bench.py [--runs 7] [--cores 1]``

* ``still``: a 10-layer template (a colour background, a product photo, eight text layers
  filled from variables) as one 360p JPEG still at 16:9, made by
  :func:`reelforge.services.template_stills.template_stills`, the very call behind the console's
  Preview button: values merged and checked, assets resolved, the edit compiled, one FFmpeg
  run. The target is under 0.5 s on one core.
* ``stills x3``: the same at 16:9, 1:1 and 9:16 together (one FFmpeg run).
* ``checked x3``: what the page's Preview now calls,
  :func:`reelforge.services.template_stills.checked_stills`: the three stills of the same
  template naming a brand kit, then the kit's compliance check of the stills' edit and their
  safe zones.
* ``ffmpeg``: the reference: a bare FFmpeg command writing one 640x360 JPEG frame of a lavfi
  colour source (process start, codec set-up, one frame): what any still costs at least.

All run pinned to ``--cores`` CPUs (FFmpeg inherits the affinity), alternately, after one
untimed warm-up round; medians are reported with the ratio still / ffmpeg from the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

from fastapi.testclient import TestClient  # noqa: E402

import mediagen  # noqa: E402
from reelforge.api.app import create_app  # noqa: E402
from reelforge.ffmpeg.binary import ffmpeg_exe  # noqa: E402
from reelforge.services.context import open_services  # noqa: E402
from reelforge.services.template_stills import checked_stills, template_stills  # noqa: E402
from reelforge.services.workspaces import bootstrap  # noqa: E402
from reelforge.settings import Settings  # noqa: E402

TEXT_LAYERS = 8


def template() -> dict[str, Any]:
    """Ten layers: background, photo, and eight text lines from variables."""
    texts = [
        {
            "clips": [
                {
                    "asset": {"type": "text", "text": f"{{{{line{i}}}}}", "style": {"size": 0.05}},
                    "length": 4,
                    "anchor": "top-left",
                    "offset": {"x": 0.05, "y": 0.05 + i * 0.1},
                }
            ]
        }
        for i in range(TEXT_LAYERS)
    ]
    return {
        "name": "ten layers",
        "edit": {
            "timeline": {
                "tracks": [
                    {"clips": [{"asset": {"type": "color", "color": "#203040"}, "length": 4}]},
                    {
                        "clips": [
                            {"asset": {"type": "image", "src": "{{photo}}"}, "length": 4, "fit": "contain"}
                        ]
                    },
                    *texts,
                ]
            },
            "outputs": [{"resolution": "360p", "fps": 25}],
        },
        "variables": [
            {"name": "photo", "type": "asset", "required": True, "kinds": ["image"]},
            *({"name": f"line{i}", "type": "text", "default": f"Line {i}"} for i in range(TEXT_LAYERS)),
        ],
    }


def timed(run: Callable[[], Any], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cores", type=int, default=1)
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))[: max(1, args.cores)]
    os.sched_setaffinity(0, set(cpus))
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        root = Path(tmp)
        settings = Settings(
            data_dir=root / "data", database_url=f"sqlite:///{root / 'bench.db'}", workers=0, _env_file=None
        )  # type: ignore[call-arg]
        services = open_services(settings)
        token = bootstrap(services)
        headers = {"Authorization": f"Bearer {token}"}
        photo = mediagen.make_image(root / "photo.jpg", size=(1280, 720), pattern="testsrc2")
        with TestClient(create_app(services=services, start_worker=False)) as client:
            asset = client.post(
                "/v1/assets", headers=headers, files={"file": ("photo.jpg", photo.read_bytes())}
            )
            asset.raise_for_status()
            made = client.post("/v1/templates", headers=headers, json=template())
            made.raise_for_status()
            kit = client.post("/v1/brand_kits", headers=headers, json={"name": "Acme"})
            kit.raise_for_status()
            with_kit = template()
            with_kit["edit"]["brand"] = kit.json()["id"]
            branded = client.post("/v1/templates", headers=headers, json=with_kit)
            branded.raise_for_status()
            workspace = client.get("/v1/workspace", headers=headers).json()["id"]
        values = {"photo": asset.json()["id"], "line0": "This week's picks", "line1": "Sunset Lamp · 49 €"}
        template_id = made.json()["id"]
        reference = root / "ref.jpg"
        ffmpeg = [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=#203040:s=640x360:r=25",
                  "-frames:v", "1", "-y", str(reference)]  # fmt: skip

        def one() -> None:
            template_stills(services, workspace, template_id, values, None, at=1.0, aspect_ratios=("16:9",))

        def three() -> None:
            template_stills(services, workspace, template_id, values, None, at=1.0)

        def checked() -> None:
            checked_stills(services, workspace, branded.json()["id"], values, None, at=1.0)

        def bare() -> None:
            subprocess.run(ffmpeg, check=True)

        cases = {"still": one, "stills x3": three, "checked x3": checked, "ffmpeg": bare}
        for run in cases.values():  # warm-up, untimed
            run()
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):  # alternately, so load changes hit every case alike
            for name, run in cases.items():
                times[name] += timed(run, 1)
        services.engine.dispose()
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"console preview still, 10 layers at 360p, {len(cpus)} core(s), median of {args.runs} runs")
    for name, value in medians.items():
        ratio = value / medians["ffmpeg"]
        print(f"  {name:<10} {value * 1000:8.1f} ms   {ratio:5.2f}x the bare ffmpeg frame")
    verdict = "meets" if medians["still"] < 0.5 else "misses"
    print(f"  target: one still under 500 ms on one core: {verdict} it ({medians['still'] * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
