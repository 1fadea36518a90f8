"""The examples of resumable uploads and imports (``reelforge.api.examples_uploads``), recorded
from a running service.

A real tus upload of generated media, the problems the service answered to real bad requests,
and an import from a media server on loopback (the development setting allows it); the
server's loopback address is shown as ``https://media.example.com`` in the examples. The helpers
come from ``tests/test_uploads.py`` and ``tests/test_imports.py``, which check these routes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from service import running_service
from test_imports import media_server, wait_import
from test_uploads import TUS, noise_wav

PUBLIC_MEDIA = "https://media.example.com"


def record(root: Path) -> dict[str, Any]:
    import mediagen

    out: dict[str, Any] = {}
    wav = noise_wav(root / "voice.wav", seed=1).read_bytes()
    video = mediagen.make_video(root / "clip.mp4").read_bytes()
    with running_service(root / "service", "sqlite", imports_allow_private=True) as svc:

        def problem(name: str, r: Any, status: int, code: str) -> None:
            assert r.status_code == status and r.json()["code"] == code, (name, r.status_code, r.text)
            out[name] = r.json()

        meta = (
            f"filename {base64.b64encode(b'voice.wav').decode()},tags {base64.b64encode(b'voice').decode()}"
        )
        out["UPLOAD_METADATA"] = meta
        made = svc.post(
            "/v1/uploads", headers={**TUS, "Upload-Length": str(len(wav)), "Upload-Metadata": meta}
        )
        assert made.status_code == 201, made.text
        out["UPLOAD_CREATED"] = made.json()
        out["UPLOAD_LOCATION"] = made.headers["location"]
        out["UPLOAD_EXPIRES"] = made.headers["upload-expires"]
        url = "/v1/uploads/" + made.json()["id"]
        tus = {**TUS, "Content-Type": "application/offset+octet-stream"}
        problem(
            "ERROR_UPLOAD_OFFSET",
            svc.client.patch(url, content=wav[:10], headers={**svc.headers(), **tus, "Upload-Offset": "64"}),
            409,
            "upload-offset-mismatch",
        )
        wrong = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
        problem(
            "ERROR_CHECKSUM",
            svc.client.patch(
                url,
                content=wav[:1000],
                headers={**svc.headers(), **tus, "Upload-Offset": "0", "Upload-Checksum": f"sha256 {wrong}"},
            ),
            460,
            "checksum-mismatch",
        )
        problem(
            "ERROR_UPLOAD_CONTENT_TYPE",
            svc.client.patch(url, content=wav[:10], headers={**svc.headers(), **TUS, "Upload-Offset": "0"}),
            415,
            "unsupported-media-type",
        )
        done = svc.client.patch(url, content=wav, headers={**svc.headers(), **tus, "Upload-Offset": "0"})
        assert done.status_code == 204, done.text
        out["UPLOAD_ASSET_ID"] = done.headers["reelforge-asset-id"]
        out["UPLOAD"] = svc.get(url).json()
        problem(
            "ERROR_TUS_VERSION",
            svc.post("/v1/uploads", headers={"Upload-Length": "10"}),
            412,
            "tus-version-unsupported",
        )
        problem(
            "ERROR_UPLOAD_TOO_LARGE",
            svc.post(
                "/v1/uploads",
                headers={**TUS, "Upload-Length": str(svc.services.settings.max_upload_bytes + 1)},
            ),
            413,
            "content-too-large",
        )
        problem("ERROR_UPLOAD_LENGTH", svc.post("/v1/uploads", headers=TUS), 400, "invalid-request")
        gone = svc.post("/v1/uploads", headers={**TUS, "Upload-Length": "100"}).json()["id"]
        svc.client.delete(f"/v1/uploads/{gone}", headers={**svc.headers(), **TUS})
        problem("ERROR_UPLOAD_GONE", svc.get(f"/v1/uploads/{gone}"), 410, "upload-gone")
        problem(
            "ERROR_UPLOAD_NOT_FOUND", svc.get("/v1/uploads/upl_01jd0000000000000000000000"), 404, "not-found"
        )

        with media_server({"spring/intro.mp4": video}) as server:
            create = {
                "url": f"{server.base}/spring/intro.mp4",
                "tags": ["spring"],
                "metadata": {"campaign": "spring"},
            }
            queued = svc.post("/v1/assets/imports", json=create)
            assert queued.status_code == 202, queued.text
            finished = wait_import(svc, queued.json()["id"])
            out["IMPORT_CREATE"] = create
            out["IMPORT_QUEUED"] = queued.json()
            out["IMPORT_LOCATION"] = queued.headers["location"]
            out["IMPORT"] = finished
            out["IMPORTED_ASSET"] = svc.get(f"/v1/assets/{finished['asset_id']}").json()
            base = server.base
        problem(
            "ERROR_IMPORT_NOT_FOUND",
            svc.get("/v1/assets/imports/imp_01jd0000000000000000000000"),
            404,
            "not-found",
        )
    with running_service(root / "production", "sqlite") as svc:  # no private addresses
        r = svc.post("/v1/assets/imports", json={"url": "http://169.254.169.254/latest/meta-data/"})
        assert r.status_code == 422 and r.json()["code"] == "url-not-allowed", r.text
        out["ERROR_IMPORT_URL"] = r.json()
    # The media server listened on loopback; the examples show a public address.
    text = json.dumps(out).replace(base, PUBLIC_MEDIA)
    return dict(json.loads(text))
