"""The whole journey a user's system makes, through HTTP: upload -> project -> patch -> render
-> download -> probe the result."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from reelforge.ffmpeg.probe import probe
from service import Service


def test_upload_project_patch_render_download(rendering: Service, media: Any, tmp_path: Path) -> None:
    svc = rendering
    clip = Path(media.video(duration=2, size=(320, 180)))
    logo = Path(media.image(size=(64, 64), color="white"))
    ids = {}
    for name, path in (("clip", clip), ("logo", logo)):
        with path.open("rb") as f:
            r = svc.post("/v1/assets", files={"file": (path.name, f)}, data={"tags": "campaign-7"})
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    edit = {
        "timeline": {
            "tracks": [
                {"clips": [{"asset": {"type": "video", "src": ids["clip"]}, "length": 1.6}]},
                {"clips": [{"asset": {"type": "text", "text": "Hello"}, "length": 1, "anchor": "bottom"}]},
            ]
        },
        "outputs": [
            {"width": 320, "height": 180, "fps": 25, "quality": "draft"},
            {"width": 180, "height": 320, "fps": 25, "quality": "draft"},
        ],
    }
    r = svc.post("/v1/projects", json={"name": "promo", "edit": edit})
    assert r.status_code == 201
    project = r.json()
    etag = r.headers["etag"]
    # Trim the clip and add the logo on top, by JSON Patch.
    patch = [
        {
            "op": "add",
            "path": "/timeline/tracks/0/clips/0/asset/trim",
            "value": 0.4,
        },  # add: set, present or not
        {
            "op": "add",
            "path": "/timeline/tracks/-",
            "value": {
                "clips": [
                    {
                        "asset": {"type": "image", "src": ids["logo"]},
                        "length": "end",
                        "width": 0.2,
                        "height": 0.2,
                        "fit": "contain",
                        "anchor": "top-right",
                    }
                ]
            },
        },
    ]
    r = svc.client.patch(
        f"/v1/projects/{project['id']}",
        content=__import__("json").dumps(patch),
        headers=svc.headers(**{"If-Match": etag, "Content-Type": "application/json-patch+json"}),
    )
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == 2
    r = svc.post("/v1/renders", json={"project_id": project["id"]})
    assert r.status_code == 202
    render_id = r.json()["id"]
    deadline = time.monotonic() + 90
    while (body := svc.get(f"/v1/renders/{render_id}").json())["state"] not in (
        "succeeded",
        "failed",
        "cancelled",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert body["state"] == "succeeded", body
    assert body["revision"] == 2 and body["render_seconds"] is not None
    videos = [o for o in body["outputs"] if o["role"] == "output"]
    assert len(videos) == 2
    for output, (w, h) in zip(videos, [(320, 180), (180, 320)], strict=True):
        r = svc.get(output["content_url"])
        assert r.status_code == 200
        target = tmp_path / f"{output['id']}.mp4"
        target.write_bytes(r.content)
        info = probe(target)
        assert (info.width, info.height) == (w, h)
        assert info.duration is not None and abs(float(info.duration) - 1.6) < 0.08
        provenance = {"render": render_id, "project": project["id"], "revision": 2}
        assert output["derived_from"].items() >= provenance.items()
        assert output["media"]["width"] == w  # probed from the file
    # The outputs are assets like any other: listed by source.
    listed = svc.get("/v1/assets?source=render").json()
    assert {o["id"] for o in videos} <= {a["id"] for a in listed["data"]}
