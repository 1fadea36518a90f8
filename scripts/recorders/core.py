"""The examples of system, keys, OAuth clients, assets, projects and renders (``reelforge.api.examples``), recorded from a running service.

The helpers come from ``tests/test_openapi.py``, which checks the examples against a service.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service import Service, running_service
from test_openapi import PROBLEM

TERMINAL = ("succeeded", "failed", "cancelled")
NO_SUCH = "01jdzzzzzzzzzzzzzzzzzzzzzz"


class Recorder:
    def __init__(self, svc: Service):
        self.svc = svc
        self.kept: dict[str, Any] = {}

    def keep(self, name: str, value: Any) -> Any:
        assert name not in self.kept, name
        self.kept[name] = value
        return value

    def ok(self, name: str | None, r: Any, status: int) -> Any:
        assert r.status_code == status, (name, r.status_code, r.text)
        body = r.json()
        return self.keep(name, body) if name else body

    def problem(self, name: str, r: Any, status: int, code: str) -> None:
        assert r.status_code == status and r.json()["code"] == code, (name, r.status_code, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        self.keep(name, r.json())

    def request(self, method: str, url: str, token: str | None = None, **kw: Any) -> Any:
        headers = {**self.svc.headers(token), **kw.pop("headers", {})}
        return self.svc.client.request(method, url, headers=headers, **kw)

    def patch(
        self, url: str, ops: Any, etag: str | None, media_type: str = "application/json-patch+json"
    ) -> Any:
        headers = {"Content-Type": media_type, **({"If-Match": etag} if etag else {})}
        return self.request("PATCH", url, content=json.dumps(ops), headers=headers)

    def wait(
        self,
        render_id: str,
        states: tuple[str, ...] = TERMINAL,
        until: Callable[[dict[str, Any]], bool] = lambda _: True,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + 180
        while True:
            body = self.svc.get(f"/v1/renders/{render_id}").json()
            if body["state"] in states and until(body):
                return dict(body)
            assert time.monotonic() < deadline, body
            time.sleep(0.02)


def record(root: Path) -> dict[str, Any]:
    import mediagen

    media = root / "media"
    files = {
        "intro": mediagen.make_video(media / "intro.mp4", duration=6, size=(1280, 720), faststart=True),
        "broll": mediagen.make_video(
            media / "city-broll.mp4",
            duration=8,
            size=(1280, 720),
            source="mandelbrot",
            tone_hz=220,
            faststart=True,
        ),
        "music": mediagen.make_audio(media / "spring-theme.mp3", duration=12, tone_hz=330),
        "logo": mediagen.make_image(media / "logo.png", size=(256, 256), color="white@0.9", alpha=True),
        "old": mediagen.make_image(media / "old-logo.png", size=(128, 128), color="red"),
    }
    with running_service(root / "service", workers=1) as svc:
        rec = Recorder(svc)
        _record_keys(rec)
        ids = _record_assets(rec, files)
        project_id = _record_projects(rec, ids)
        _record_renders(rec, ids, project_id, files)
        kept = rec.kept
    with running_service(root / "small", max_upload_bytes=1024 * 1024) as small:
        rec = Recorder(small)
        r = rec.request("POST", "/v1/assets", files={"file": ("interview.mp4", files["intro"].read_bytes())})
        rec.problem("ERROR_UPLOAD_TOO_LARGE", r, 413, "content-too-large")
        kept.update(rec.kept)
    return kept


def _record_keys(rec: Recorder) -> None:
    svc = rec.svc
    rec.ok("HEALTHZ", svc.client.get("/healthz"), 200)
    rec.ok("READYZ", svc.client.get("/readyz"), 200)
    rec.ok("WORKSPACE", rec.request("GET", "/v1/workspace"), 200)
    rec.problem("ERROR_UNAUTHENTICATED", svc.client.get("/v1/assets"), 401, "unauthenticated")

    body = rec.keep(
        "KEY_CREATE",
        {
            "name": "cms-publisher",
            "scopes": ["assets:read", "assets:write", "projects:read", "renders:read", "renders:write"],
            "expires_at": "2027-12-31T23:59:59Z",
        },
    )
    key = rec.ok("KEY_CREATED", rec.request("POST", "/v1/keys", json=body), 201)
    rec.keep("KEY_ID", key["id"])
    rec.request("GET", "/v1/assets", token=key["token"])  # so that last_used_at shows
    ci = rec.ok(
        None, rec.request("POST", "/v1/keys", json={"name": "ci-renders", "scopes": ["renders:read"]}), 201
    )
    rec.ok("KEY_LIST", rec.request("GET", "/v1/keys?limit=2"), 200)
    rec.ok("KEY", rec.request("GET", f"/v1/keys/{key['id']}"), 200)
    body = rec.keep("KEY_ROLL", {"grace_seconds": 3600})
    rec.ok("KEY_ROLLED", rec.request("POST", f"/v1/keys/{key['id']}/roll", json=body), 201)
    rec.ok("KEY_REVOKED", rec.request("POST", f"/v1/keys/{ci['id']}/revoke"), 200)
    rec.problem("ERROR_KEY_ROLL_REVOKED", rec.request("POST", f"/v1/keys/{ci['id']}/roll"), 409, "conflict")
    r = rec.request("POST", f"/v1/keys/{key['id']}/roll", json={"grace_seconds": 30 * 86400})
    rec.problem("ERROR_ROLL_GRACE", r, 422, "validation-error")
    rec.problem(
        "ERROR_INVALID_TOKEN", rec.request("GET", "/v1/renders", token=ci["token"]), 401, "unauthenticated"
    )
    rec.problem("ERROR_KEY_NOT_FOUND", rec.request("GET", f"/v1/keys/key_{NO_SUCH}"), 404, "not-found")
    r = rec.request("POST", "/v1/keys", json={"name": "cms", "scope": ["assets:read"]})
    rec.problem("ERROR_KEY_VALIDATION", r, 422, "validation-error")
    rec.problem("ERROR_LIST_LIMIT", rec.request("GET", "/v1/assets?limit=500"), 422, "validation-error")
    rec.problem(
        "ERROR_INVALID_CURSOR", rec.request("GET", "/v1/assets?cursor=eyJ2IjoxfQ"), 400, "invalid-cursor"
    )
    r = rec.request(
        "POST",
        "/v1/keys",
        token=svc.new_key("keys:write", "renders:read"),
        json={"name": "deploy", "scopes": ["admin"]},
    )
    rec.problem("ERROR_FORBIDDEN_GRANT", r, 403, "forbidden")
    assets_reader, renders_reader = svc.new_key("assets:read"), svc.new_key("renders:read")
    for scope, (method, url) in {
        "keys:read": ("GET", "/v1/keys"),
        "keys:write": ("POST", "/v1/keys"),
        "assets:read": ("GET", "/v1/assets"),
        "assets:write": ("POST", "/v1/assets"),
        "projects:read": ("GET", "/v1/projects"),
        "projects:write": ("POST", "/v1/projects"),
        "renders:read": ("GET", "/v1/renders"),
        "renders:write": ("POST", "/v1/renders"),
    }.items():
        token = assets_reader if scope.startswith("renders") else renders_reader
        name = "ERROR_SCOPE_" + scope.replace(":", "_").upper()
        rec.problem(name, rec.request(method, url, token=token), 403, "insufficient-scope")

    body = rec.keep(
        "CLIENT_CREATE",
        {"name": "automation-platform", "scopes": ["assets:read", "renders:read", "renders:write"]},
    )
    client = rec.ok("CLIENT_CREATED", rec.request("POST", "/v1/oauth/clients", json=body), 201)
    rec.keep("CLIENT_ID", client["id"])
    form = rec.keep("TOKEN_FORM", {"grant_type": "client_credentials", "scope": "renders:read renders:write"})
    rec.ok(
        "TOKEN",
        svc.client.post("/v1/oauth/token", data=form, auth=(client["id"], client["client_secret"])),
        200,
    )
    r = svc.client.post("/v1/oauth/token", data=form, auth=(client["id"], "not-the-secret"))
    assert r.status_code == 401 and r.headers["www-authenticate"]
    rec.keep("TOKEN_ERROR_CLIENT", r.json())
    r = svc.client.post("/v1/oauth/token", data={"grant_type": "password"}, auth=(client["id"], "x"))
    assert r.status_code == 400
    rec.keep("TOKEN_ERROR_GRANT", r.json())
    old = rec.ok(
        None,
        rec.request("POST", "/v1/oauth/clients", json={"name": "old-zapier", "scopes": ["renders:read"]}),
        201,
    )
    rec.ok("CLIENT_LIST", rec.request("GET", "/v1/oauth/clients?limit=2"), 200)
    rec.ok("CLIENT_REVOKED", rec.request("POST", f"/v1/oauth/clients/{old['id']}/revoke"), 200)
    r = rec.request("POST", f"/v1/oauth/clients/cli_{NO_SUCH}/revoke")
    rec.problem("ERROR_CLIENT_NOT_FOUND", r, 404, "not-found")


def _record_assets(rec: Recorder, files: dict[str, Path]) -> dict[str, str]:
    def upload(filename: str, path: Path, **data: str) -> Any:
        return rec.request("POST", "/v1/assets", files={"file": (filename, path.read_bytes())}, data=data)

    fields = rec.keep(
        "UPLOAD_FIELDS",
        {
            "name": "Spring intro.mp4",
            "tags": "brand,spring",
            "collections": "spring-campaign",
            "metadata": '{"campaign": "spring-2027", "shot_by": "Anna"}',
        },
    )
    r = upload("intro.mp4", files["intro"], **fields)
    video = rec.ok("ASSET_CREATED", r, 201)
    rec.keep("ASSET_CREATED_HEADERS", {"Location": r.headers["location"], "ETag": r.headers["etag"]})
    rec.ok("ASSET_DEDUPLICATED", upload("intro-copy.mp4", files["intro"]), 200)
    ids = {
        "INTRO_ID": video["id"],
        "BROLL_ID": rec.ok(None, upload("city-broll.mp4", files["broll"], tags="b-roll,spring"), 201)["id"],
        "MUSIC_ID": rec.ok(
            "ASSET_AUDIO",
            upload(
                "spring-theme.mp3",
                files["music"],
                tags='["music", "spring"]',
                metadata='{"license": "CC-BY 4.0"}',
            ),
            201,
        )["id"],
        "LOGO_ID": rec.ok(None, upload("logo.png", files["logo"], tags="brand"), 201)["id"],
    }
    for name, value in ids.items():
        rec.keep(name, value)
    assert rec.svc.services.previews().wait(60)  # made after the uploads answered; examples show them done
    notes = files["intro"].parent / "notes.txt"
    notes.write_text("call Anna about the spring campaign\n")
    rec.problem("ERROR_MEDIA_UNSUPPORTED", upload("notes.txt", notes), 422, "media-unsupported")
    r = rec.request("POST", "/v1/assets", json={"url": "https://example.com/intro.mp4"})
    rec.problem("ERROR_UPLOAD_NOT_MULTIPART", r, 415, "unsupported-media-type")
    rec.problem(
        "ERROR_UPLOAD_FIELDS", upload("intro.mp4", files["intro"], tgas="brand"), 422, "validation-error"
    )
    rec.ok("ASSET_LIST", rec.request("GET", "/v1/assets?kind=video&tag=spring&limit=1"), 200)
    url = f"/v1/assets/{video['id']}"
    r = rec.request("GET", url)
    rec.ok("ASSET", r, 200)
    first_etag = rec.keep("ASSET_ETAG", r.headers["etag"])
    body = rec.keep(
        "ASSET_PATCH",
        {
            "name": "Spring intro (final).mp4",
            "tags": ["brand", "spring", "approved"],
            "collections": ["spring-campaign", "product-x-hero"],
            "metadata": {"campaign": "spring-2027", "approved_by": "Marta"},
        },
    )
    rec.ok("ASSET_PATCHED", rec.request("PATCH", url, json=body, headers={"If-Match": first_etag}), 200)
    rec.ok("COLLECTION_LIST", rec.request("GET", "/v1/collections"), 200)
    r = rec.request("PATCH", url, json={"name": "intro.mp4"}, headers={"If-Match": first_etag})
    rec.problem("ERROR_ASSET_STALE", r, 412, "precondition-failed")
    r = rec.request("PATCH", url, json={"tag": ["brand"]})
    rec.problem("ERROR_ASSET_PATCH_VALIDATION", r, 422, "validation-error")
    rec.problem("ERROR_ASSET_NOT_FOUND", rec.request("GET", f"/v1/assets/ast_{NO_SUCH}"), 404, "not-found")
    wanted = (
        "Content-Type",
        "Content-Length",
        "Content-Range",
        "Accept-Ranges",
        "ETag",
        "Content-Disposition",
    )
    r = rec.request("GET", f"{url}/content", headers={"Range": "bytes=0-1023"})
    assert r.status_code == 206
    rec.keep("DOWNLOAD_PARTIAL_HEADERS", {k: r.headers[k] for k in wanted})
    r = rec.request("GET", f"{url}/content")
    rec.keep("DOWNLOAD_HEADERS", {k: r.headers[k] for k in wanted if k in r.headers})
    r = rec.request("GET", f"{url}/content", headers={"Range": "bytes=99999999-"})
    rec.problem("ERROR_RANGE", r, 416, "range-not-satisfiable")
    rec.problem("ERROR_NO_WAVEFORM", rec.request("GET", f"{url}/waveform"), 404, "not-found")
    spare = rec.ok(None, upload("old-logo.png", files["old"]), 201)
    assert rec.request("DELETE", f"/v1/assets/{spare['id']}").status_code == 204
    return ids


PATCHES = {
    "move a clip": (
        "Put the second clip of the footage track first",
        [{"op": "move", "from": "/timeline/tracks/0/clips/1", "path": "/timeline/tracks/0/clips/0"}],
    ),
    "trim a clip": (
        "Start the second clip 2 s into its source and make it 2.5 s long (`add` sets a member "
        "whether or not the stored edit has it; `replace` fails where it is absent)",
        [
            {"op": "add", "path": "/timeline/tracks/0/clips/1/asset/trim", "value": 2},
            {"op": "add", "path": "/timeline/tracks/0/clips/1/length", "value": 2.5},
        ],
    ),
    "restyle a title": (
        "Make the title gold with an outline, only if it still says what you saw",
        [
            {"op": "test", "path": "/timeline/tracks/1/clips/0/asset/text", "value": "Spring sale"},
            {"op": "add", "path": "/timeline/tracks/1/clips/0/asset/style/color", "value": "#ffd700"},
            {
                "op": "add",
                "path": "/timeline/tracks/1/clips/0/asset/style/stroke",
                "value": {"color": "#000000", "width": 0.06},
            },
        ],
    ),
}


def _record_projects(rec: Recorder, ids: dict[str, str]) -> str:
    edit = rec.keep(
        "EDIT",
        {
            "timeline": {
                "background": "#101010",
                "tracks": [
                    {
                        "name": "footage",
                        "clips": [
                            {"asset": {"type": "video", "src": ids["INTRO_ID"]}, "length": 3},
                            {
                                "asset": {"type": "video", "src": ids["BROLL_ID"], "trim": 1},
                                "length": 3,
                                "transition_in": {"type": "fade", "duration": 0.5},
                            },
                        ],
                    },
                    {
                        "name": "titles",
                        "clips": [
                            {
                                "asset": {
                                    "type": "text",
                                    "text": "Spring sale",
                                    "style": {"size": 0.09, "weight": "bold", "color": "#ffffff"},
                                },
                                "start": 0.5,
                                "length": 2.5,
                                "anchor": "bottom",
                                "offset": {"y": -0.1},
                            },
                        ],
                    },
                ],
                "soundtrack": {"src": ids["MUSIC_ID"], "volume": 0.6, "fade_out": 1},
            },
            "outputs": [{"resolution": "720p", "quality": "medium", "poster": {"time": 1}}],
        },
    )
    body = rec.keep("PROJECT_CREATE", {"name": "Spring promo", "edit": edit, "message": "first cut"})
    r = rec.request("POST", "/v1/projects", json=body)
    project = rec.ok("PROJECT_CREATED", r, 201)
    rec.keep("PROJECT_CREATED_HEADERS", {"Location": r.headers["location"], "ETag": r.headers["etag"]})
    url = f"/v1/projects/{rec.keep('PROJECT_ID', project['id'])}"
    rec.ok(None, rec.request("POST", "/v1/projects", json={"name": "Autumn teaser", "edit": edit}), 201)
    bad = {
        "timeline": {
            "tracks": [{"clips": [{"asset": {"type": "video", "src": f"ast_{NO_SUCH}"}, "length": -2}]}]
        }
    }
    r = rec.request("POST", "/v1/projects", json={"name": "Broken", "edit": bad})
    rec.problem("ERROR_EDIT_INVALID", r, 422, "edit-invalid")
    r = rec.request("POST", "/v1/projects", json={"title": "Spring promo", "edit": edit})
    rec.problem("ERROR_PROJECT_VALIDATION", r, 422, "validation-error")
    rec.ok("PROJECT_LIST", rec.request("GET", "/v1/projects?limit=1"), 200)
    r = rec.request("GET", url)
    rec.ok("PROJECT", r, 200)
    rec.keep("PROJECT_HEADERS", {"ETag": r.headers["etag"], "Accept-Patch": r.headers["accept-patch"]})
    rec.problem(
        "ERROR_PROJECT_NOT_FOUND", rec.request("GET", f"/v1/projects/prj_{NO_SUCH}"), 404, "not-found"
    )

    rec.keep(
        "PATCHES", {name: {"summary": summary, "value": ops} for name, (summary, ops) in PATCHES.items()}
    )
    for ops in (ops for _, ops in PATCHES.values()):  # each applies to the documented edit by itself
        copy = rec.ok(None, rec.request("POST", "/v1/projects", json=body), 201)
        assert rec.patch(f"/v1/projects/{copy['id']}", ops, '"1"').status_code == 200
    rec.ok("PROJECT_PATCHED", rec.patch(url, PATCHES["trim a clip"][1], '"1"'), 200)
    rec.problem(
        "ERROR_PROJECT_STALE", rec.patch(url, PATCHES["move a clip"][1], '"1"'), 412, "precondition-failed"
    )
    rec.problem(
        "ERROR_PROJECT_NO_IF_MATCH",
        rec.patch(url, PATCHES["move a clip"][1], None),
        428,
        "precondition-required",
    )
    r = rec.patch(url, PATCHES["move a clip"][1], '"2"', "application/json")
    rec.problem("ERROR_PATCH_MEDIA_TYPE", r, 415, "unsupported-media-type")
    r = rec.patch(
        url, [{"op": "replace", "path": "/timeline/tracks/0/clips/0/asset/volume", "value": 0.5}], '"2"'
    )
    rec.problem("ERROR_PATCH_CONFLICT", r, 422, "validation-error")
    r = rec.patch(url, [{"op": "add", "path": "/timeline/tracks/0/clips/0/length", "value": -1}], '"2"')
    rec.problem("ERROR_PATCH_EDIT_INVALID", r, 422, "edit-invalid")

    story = json.loads(json.dumps(edit))
    story["outputs"].append(
        {"name": "story", "aspect_ratio": "9:16", "resolution": "720p", "quality": "medium"}
    )
    body = rec.keep(
        "PROJECT_REPLACE",
        {"name": "Spring promo (with story)", "edit": story, "message": "add a 9:16 story output"},
    )
    rec.ok("PROJECT_REPLACED", rec.request("PUT", url, json=body, headers={"If-Match": '"2"'}), 200)
    rec.problem(
        "ERROR_PROJECT_PUT_NO_IF_MATCH", rec.request("PUT", url, json=body), 428, "precondition-required"
    )
    rec.ok("REVISION_LIST", rec.request("GET", f"{url}/revisions?limit=2"), 200)
    rec.ok("REVISION", rec.request("GET", f"{url}/revisions/1"), 200)
    rec.problem("ERROR_REVISION_NOT_FOUND", rec.request("GET", f"{url}/revisions/42"), 404, "not-found")
    rec.problem(
        "ERROR_REVISION_NUMBER", rec.request("GET", f"{url}/revisions/latest"), 422, "validation-error"
    )
    body = rec.keep("RESTORE", {"message": "back to the first cut"})
    rec.ok(
        "RESTORED",
        rec.request("POST", f"{url}/revisions/1/restore", json=body, headers={"If-Match": '"3"'}),
        200,
    )
    r = rec.request("POST", f"{url}/revisions/1/restore", json=body, headers={"If-Match": '"3"'})
    rec.problem("ERROR_RESTORE_STALE", r, 412, "precondition-failed")
    spare = rec.ok(None, rec.request("POST", "/v1/projects", json={"name": "Old draft", "edit": edit}), 201)
    assert rec.request("DELETE", f"/v1/projects/{spare['id']}").status_code == 204
    return str(project["id"])


def _record_renders(rec: Recorder, ids: dict[str, str], project_id: str, files: dict[str, Path]) -> None:
    body = rec.keep(
        "RENDER_FROM_PROJECT",
        {"project_id": project_id, "revision": 2, "metadata": {"cms_entry": "post-4711"}},
    )
    dry = rec.keep("RENDER_DRY_RUN", {"project_id": project_id, "dry_run": True})
    rec.ok("RENDER_PLAN", rec.request("POST", "/v1/renders", json=dry), 200)
    r = rec.request("POST", "/v1/renders", json=body)
    queued = rec.ok("RENDER_QUEUED", r, 202)
    rec.keep("RENDER_QUEUED_HEADERS", {"Location": r.headers["location"]})
    rec.keep("RENDER_ID", queued["id"])
    r = rec.request("DELETE", f"/v1/assets/{ids['MUSIC_ID']}")
    rec.problem("ERROR_ASSET_IN_USE", r, 409, "conflict")
    rec.keep(
        "RENDER_RUNNING",
        rec.wait(
            queued["id"], ("rendering",), lambda b: 10 < b["progress"] < 90 and b["eta_seconds"] is not None
        ),
    )
    done = rec.keep("RENDER_SUCCEEDED", rec.wait(queued["id"]))
    assert done["state"] == "succeeded", done
    rec.keep("RENDER_ETAG", rec.request("GET", f"/v1/renders/{queued['id']}").headers["etag"])
    rec.problem(
        "ERROR_CANCEL_FINISHED", rec.request("POST", f"/v1/renders/{queued['id']}/cancel"), 409, "conflict"
    )

    inline = rec.keep(
        "RENDER_INLINE",
        {
            "edit": {
                "timeline": {
                    "tracks": [
                        {
                            "clips": [
                                {
                                    "asset": {"type": "video", "src": ids["INTRO_ID"], "trim": 1},
                                    "length": 4,
                                    "fit": "cover",
                                }
                            ]
                        }
                    ]
                },
                "outputs": [
                    {
                        "name": "story",
                        "aspect_ratio": "9:16",
                        "resolution": "720p",
                        "quality": "medium",
                        "watermark": {"src": ids["LOGO_ID"], "anchor": "top-right", "width": 0.2},
                        "thumbnail": {"time": 1},
                    }
                ],
            },
            "metadata": {"cms_entry": "post-4712"},
        },
    )
    # A long render runs first, so the next one waits in the queue (and can be cancelled there).
    long = {
        "edit": {
            "timeline": {
                "tracks": [
                    {
                        "clips": [
                            {
                                "asset": {"type": "video", "src": ids["BROLL_ID"]},
                                "length": 8,
                                "effects": {"blur": 10},
                            }
                        ]
                    }
                ]
            },
            "outputs": [{"resolution": "1080p", "quality": "max"}],
        }
    }
    blocker = rec.ok(None, rec.request("POST", "/v1/renders", json=long), 202)
    rec.wait(blocker["id"], ("rendering",))
    waiting = rec.ok("RENDER_INLINE_QUEUED", rec.request("POST", "/v1/renders", json=inline), 202)
    rec.ok("RENDER_CANCELLED", rec.request("POST", f"/v1/renders/{waiting['id']}/cancel"), 200)
    rec.ok("RENDER_CANCELLING", rec.request("POST", f"/v1/renders/{blocker['id']}/cancel"), 202)
    assert rec.wait(blocker["id"])["state"] == "cancelled"

    # A render whose asset's stored file vanished fails with asset_missing.
    from reelforge.db.models import Asset

    teaser = files["broll"].read_bytes() + b"\x00"  # other bytes than the b-roll's, so not deduplicated
    gone = rec.ok(None, rec.request("POST", "/v1/assets", files={"file": ("teaser.mp4", teaser)}), 201)
    blocker = rec.ok(None, rec.request("POST", "/v1/renders", json=long), 202)
    rec.wait(blocker["id"], ("rendering",))
    failing = {
        "edit": {
            "timeline": {
                "tracks": [{"clips": [{"asset": {"type": "video", "src": gone["id"]}, "length": 3}]}]
            },
            "outputs": [{"resolution": "720p"}],
        }
    }
    doomed = rec.ok(None, rec.request("POST", "/v1/renders", json=failing), 202)
    with rec.svc.services.sessions() as db:
        stored = db.get(Asset, gone["id"])
        assert stored is not None
        rec.svc.services.storage.local_path(stored.storage_key).unlink()
    rec.ok(None, rec.request("POST", f"/v1/renders/{blocker['id']}/cancel"), 202)
    assert rec.keep("RENDER_FAILED", rec.wait(doomed["id"]))["state"] == "failed"
    rec.ok("RENDER_LIST", rec.request("GET", f"/v1/renders?project_id={project_id}&limit=1"), 200)

    bad = {
        "edit": {
            "timeline": {
                "tracks": [{"clips": [{"asset": {"type": "video", "src": ids["MUSIC_ID"]}, "length": 3}]}]
            },
            "outputs": [{"resolution": "720p", "quality": "best"}],
        }
    }
    rec.problem(
        "ERROR_RENDER_EDIT_INVALID", rec.request("POST", "/v1/renders", json=bad), 422, "edit-invalid"
    )
    r = rec.request("POST", "/v1/renders", json={"project_id": project_id, "edit": inline["edit"]})
    rec.problem("ERROR_RENDER_ONE_OF", r, 422, "validation-error")
    r = rec.request("POST", "/v1/renders", json={"project_id": project_id, "revision": 42})
    rec.problem("ERROR_RENDER_REVISION", r, 404, "not-found")
    r = rec.request("POST", "/v1/renders", json={"project_id": f"prj_{NO_SUCH}"})
    rec.problem("ERROR_RENDER_PROJECT", r, 404, "not-found")
    rec.problem("ERROR_RENDER_NOT_FOUND", rec.request("GET", f"/v1/renders/rnd_{NO_SUCH}"), 404, "not-found")
