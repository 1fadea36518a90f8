"""OpenAPI examples for events, the progress and event streams, and the audit log.

Every value in the captured block was recorded from a running service (a worker rendering real
media with FFmpeg, real keys and deletes): ``.venv/bin/python tests/test_events.py`` records
them again and rewrites the block. The arrangement per operation follows
:mod:`reelforge.api.examples`.
"""

from __future__ import annotations

from typing import Any

from . import examples as ex
from . import schemas

# --- captured: begin
# Recorded by `python tests/test_events.py` from a running service; do not edit by hand.

ERROR_SCOPE_EVENTS_READ: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `events:read` scope",
    "instance": "/v1/events",
    "code": "insufficient-scope",
    "request_id": "req_01m8h75c2r0nd1hthngqdp29cb",
    "required_scope": "events:read",
}
ERROR_SCOPE_ADMIN: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `admin` scope",
    "instance": "/v1/audit",
    "code": "insufficient-scope",
    "request_id": "req_01m8h75c600t6n12yb22xfc5zn",
    "required_scope": "admin",
}
ERROR_EVENT_TYPE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "not an event type or prefix: 'render*'",
    "instance": "/v1/events",
    "code": "validation-error",
    "request_id": "req_01m8h75c691dvt5teq9vrqf5y0",
    "errors": [
        {
            "parameter": "type",
            "code": "invalid",
            "detail": "an event type like `render.succeeded`, a prefix like `render.*`, or `*`",
        }
    ],
}
ERROR_EVENT_NOT_FOUND: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "no event evt_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "instance": "/v1/events/evt_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "code": "not-found",
    "request_id": "req_01m8h75c6cc9d8d40tz415764x",
}
ERROR_LAST_EVENT_ID: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "Last-Event-ID 'evt_01jdzzzzzzzzzzzz' is no event of this workspace",
    "instance": "/v1/events/stream",
    "code": "validation-error",
    "request_id": "req_01m8h75c6hwsry3fyd07v09522",
    "errors": [
        {
            "header": "Last-Event-ID",
            "code": "unknown",
            "detail": "an event id (evt_…) or sequence number this stream sent",
        }
    ],
}
PROGRESS_STREAM_SAMPLE: str = (
    "id: 1\n"
    "event: state\n"
    "data: "
    '{"id":"rnd_01m8h75ckm4hkwntbs953677j2","object":"render","state":"queued","queue_position":1,"progress":0.0,"eta_seconds":null,"duration":null,"project_id":"prj_01m8h75c9ytwd08qd9c0yc8101","revision":2,"created_at":"2026-11-28T13:57:51.868451Z","started_at":null,"finished_at":null,"render_seconds":null,"attempts":0,"cancel_requested":false,"error":null,"outputs":[],"metadata":{"order":1042},"brand":null,"template":null}\n'
    "\n"
    "id: 3\n"
    "event: progress\n"
    "data: "
    '{"id":"rnd_01m8h75ckm4hkwntbs953677j2","object":"render","state":"rendering","queue_position":null,"progress":44.3,"eta_seconds":0.7,"duration":8.0,"project_id":"prj_01m8h75c9ytwd08qd9c0yc8101","revision":2,"created_at":"2026-11-28T13:57:51.868451Z","started_at":"2026-11-28T13:57:51.882884Z","finished_at":null,"render_seconds":null,"attempts":1,"cancel_requested":false,"error":null,"outputs":[],"metadata":{"order":1042},"brand":null,"template":null}\n'
    "\n"
    "id: 5\n"
    "event: state\n"
    "data: "
    '{"id":"rnd_01m8h75ckm4hkwntbs953677j2","object":"render","state":"finishing","queue_position":null,"progress":100.0,"eta_seconds":0.0,"duration":8.0,"project_id":"prj_01m8h75c9ytwd08qd9c0yc8101","revision":2,"created_at":"2026-11-28T13:57:51.868451Z","started_at":"2026-11-28T13:57:51.882884Z","finished_at":null,"render_seconds":null,"attempts":1,"cancel_requested":false,"error":null,"outputs":[],"metadata":{"order":1042},"brand":null,"template":null}\n'
    "\n"
    "id: 6\n"
    "event: state\n"
    "data: "
    '{"id":"rnd_01m8h75ckm4hkwntbs953677j2","object":"render","state":"succeeded","queue_position":null,"progress":100.0,"eta_seconds":0.0,"duration":8.0,"project_id":"prj_01m8h75c9ytwd08qd9c0yc8101","revision":2,"created_at":"2026-11-28T13:57:51.868451Z","started_at":"2026-11-28T13:57:51.882884Z","finished_at":"2026-11-28T13:57:53.575023Z","render_seconds":1.692,"attempts":1,"cancel_requested":false,"error":null,"outputs":[{"id":"ast_01m8h75e3k87jy3bdq6zrmzjzs","object":"asset","name":"render.mp4","kind":"video","content_type":"video/mp4","size_bytes":769830,"sha256":"2304a92719647bc3041e7303f4074810c95c809f0efcb37135b6b51509684fb8","media":{"format":"mov,mp4,m4a,3gp,3g2,mj2","duration":8.0,"duration_exact":"8/1","width":640,"height":360,"coded_width":640,"coded_height":360,"rotation":0,"fps":30.0,"fps_exact":"30/1","video_codec":"h264","pix_fmt":"yuv420p","has_alpha":false,"has_video":true,"has_audio":true,"audio_codec":"aac","audio_channels":2,"sample_rate":48000,"bit_rate":769830},"tags":[],"metadata":{},"source":"render","derived_from":{"render":"rnd_01m8h75ckm4hkwntbs953677j2","project":"prj_01m8h75c9ytwd08qd9c0yc8101","revision":2,"role":"output","output":0},"created_at":"2026-11-28T13:57:53.510932Z","thumbnail_url":"/v1/assets/ast_01m8h75e3k87jy3bdq6zrmzjzs/thumbnail","waveform_url":null,"previews":"ready","content_url":"/v1/assets/ast_01m8h75e3k87jy3bdq6zrmzjzs/content","role":"output","output":0},{"id":"ast_01m8h75e7f2wwhcpsf1gd36mb4","object":"asset","name":"render.poster.jpg","kind":"image","content_type":"image/jpeg","size_bytes":16858,"sha256":"8c145d8105c3af8113871081c5edfa3415267d04c21a737813027ee18c4f8595","media":{"format":"image2","duration":null,"duration_exact":null,"width":640,"height":360,"coded_width":640,"coded_height":360,"rotation":0,"fps":null,"fps_exact":null,"video_codec":"mjpeg","pix_fmt":"yuvj420p","has_alpha":false,"has_video":true,"has_audio":false,"audio_codec":null,"audio_channels":null,"sample_rate":null,"bit_rate":null},"tags":[],"metadata":{},"source":"render","derived_from":{"render":"rnd_01m8h75ckm4hkwntbs953677j2","project":"prj_01m8h75c9ytwd08qd9c0yc8101","revision":2,"role":"poster","output":0},"created_at":"2026-11-28T13:57:53.561800Z","thumbnail_url":"/v1/assets/ast_01m8h75e7f2wwhcpsf1gd36mb4/thumbnail","waveform_url":null,"previews":"ready","content_url":"/v1/assets/ast_01m8h75e7f2wwhcpsf1gd36mb4/content","role":"poster","output":0}],"metadata":{"order":1042},"brand":null,"template":null}\n'
    "\n"
)
EVENT_STREAM_SAMPLE: str = (
    "id: evt_01m8h75cm6jrx8kj9a458rn4zm\n"
    "event: render.queued\n"
    "data: "
    '{"id":"evt_01m8h75cm6jrx8kj9a458rn4zm","object":"event","type":"render.queued","created_at":"2026-11-28T13:57:51.878870Z","sequence":5,"resource":{"type":"render","id":"rnd_01m8h75ckm4hkwntbs953677j2"},"data":{"id":"rnd_01m8h75ckm4hkwntbs953677j2","object":"render","state":"queued","queue_position":1,"progress":0.0,"eta_seconds":null,"duration":null,"project_id":"prj_01m8h75c9ytwd08qd9c0yc8101","revision":2,"created_at":"2026-11-28T13:57:51.868451Z","started_at":null,"finished_at":null,"render_seconds":null,"attempts":0,"cancel_requested":false,"error":null,"outputs":[],"metadata":{"order":1042},"brand":null,"template":null}}\n'
    "\n"
    "id: evt_01m8h75cmxhsm2jpqgrz152mnm\n"
    "event: render.started\n"
    "data: "
    '{"id":"evt_01m8h75cmxhsm2jpqgrz152mnm","object":"event","type":"render.started","created_at":"2026-11-28T13:57:51.901562Z","sequence":6,"resource":{"type":"render","id":"rnd_01m8h75ckm4hkwntbs953677j2"},"data":{"id":"rnd_01m8h75ckm4hkwntbs953677j2","object":"render","state":"preparing","queue_position":null,"progress":0.0,"eta_seconds":null,"duration":null,"project_id":"prj_01m8h75c9ytwd08qd9c0yc8101","revision":2,"created_at":"2026-11-28T13:57:51.868451Z","started_at":"2026-11-28T13:57:51.882884Z","finished_at":null,"render_seconds":null,"attempts":1,"cancel_requested":false,"error":null,"outputs":[],"metadata":{"order":1042},"brand":null,"template":null}}\n'
    "\n"
    "id: evt_01m8h75e9hrfrb1psx3g8zevgv\n"
    "event: render.succeeded\n"
    "data: "
    '{"id":"evt_01m8h75e9hrfrb1psx3g8zevgv","object":"event","type":"render.succeeded","created_at":"2026-11-28T13:57:53.587090Z","sequence":9,"resource":{"type":"render","id":"rnd_01m8h75ckm4hkwntbs953677j2"},"data":{"id":"rnd_01m8h75ckm4hkwntbs953677j2","object":"render","state":"succeeded","queue_position":null,"progress":100.0,"eta_seconds":0.0,"duration":8.0,"project_id":"prj_01m8h75c9ytwd08qd9c0yc8101","revision":2,"created_at":"2026-11-28T13:57:51.868451Z","started_at":"2026-11-28T13:57:51.882884Z","finished_at":"2026-11-28T13:57:53.575023Z","render_seconds":1.692,"attempts":1,"cancel_requested":false,"error":null,"outputs":[{"id":"ast_01m8h75e3k87jy3bdq6zrmzjzs","object":"asset","name":"render.mp4","kind":"video","content_type":"video/mp4","size_bytes":769830,"sha256":"2304a92719647bc3041e7303f4074810c95c809f0efcb37135b6b51509684fb8","media":{"format":"mov,mp4,m4a,3gp,3g2,mj2","duration":8.0,"duration_exact":"8/1","width":640,"height":360,"coded_width":640,"coded_height":360,"rotation":0,"fps":30.0,"fps_exact":"30/1","video_codec":"h264","pix_fmt":"yuv420p","has_alpha":false,"has_video":true,"has_audio":true,"audio_codec":"aac","audio_channels":2,"sample_rate":48000,"bit_rate":769830},"tags":[],"metadata":{},"source":"render","derived_from":{"render":"rnd_01m8h75ckm4hkwntbs953677j2","project":"prj_01m8h75c9ytwd08qd9c0yc8101","revision":2,"role":"output","output":0},"created_at":"2026-11-28T13:57:53.510932Z","thumbnail_url":"/v1/assets/ast_01m8h75e3k87jy3bdq6zrmzjzs/thumbnail","waveform_url":null,"previews":"ready","content_url":"/v1/assets/ast_01m8h75e3k87jy3bdq6zrmzjzs/content","role":"output","output":0},{"id":"ast_01m8h75e7f2wwhcpsf1gd36mb4","object":"asset","name":"render.poster.jpg","kind":"image","content_type":"image/jpeg","size_bytes":16858,"sha256":"8c145d8105c3af8113871081c5edfa3415267d04c21a737813027ee18c4f8595","media":{"format":"image2","duration":null,"duration_exact":null,"width":640,"height":360,"coded_width":640,"coded_height":360,"rotation":0,"fps":null,"fps_exact":null,"video_codec":"mjpeg","pix_fmt":"yuvj420p","has_alpha":false,"has_video":true,"has_audio":false,"audio_codec":null,"audio_channels":null,"sample_rate":null,"bit_rate":null},"tags":[],"metadata":{},"source":"render","derived_from":{"render":"rnd_01m8h75ckm4hkwntbs953677j2","project":"prj_01m8h75c9ytwd08qd9c0yc8101","revision":2,"role":"poster","output":0},"created_at":"2026-11-28T13:57:53.561800Z","thumbnail_url":"/v1/assets/ast_01m8h75e7f2wwhcpsf1gd36mb4/thumbnail","waveform_url":null,"previews":"ready","content_url":"/v1/assets/ast_01m8h75e7f2wwhcpsf1gd36mb4/content","role":"poster","output":0}],"metadata":{"order":1042},"brand":null,"template":null}}\n'
    "\n"
    ": ping\n"
    "\n"
)
EVENT_LIST: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": "evt_01m8h75e9hrfrb1psx3g8zevgv",
            "object": "event",
            "type": "render.succeeded",
            "created_at": "2026-11-28T13:57:53.587090Z",
            "sequence": 9,
            "resource": {"type": "render", "id": "rnd_01m8h75ckm4hkwntbs953677j2"},
            "data": {
                "id": "rnd_01m8h75ckm4hkwntbs953677j2",
                "object": "render",
                "state": "succeeded",
                "queue_position": None,
                "progress": 100.0,
                "eta_seconds": 0.0,
                "duration": 8.0,
                "project_id": "prj_01m8h75c9ytwd08qd9c0yc8101",
                "revision": 2,
                "created_at": "2026-11-28T13:57:51.868451Z",
                "started_at": "2026-11-28T13:57:51.882884Z",
                "finished_at": "2026-11-28T13:57:53.575023Z",
                "render_seconds": 1.692,
                "attempts": 1,
                "cancel_requested": False,
                "error": None,
                "outputs": [
                    {
                        "id": "ast_01m8h75e3k87jy3bdq6zrmzjzs",
                        "object": "asset",
                        "name": "render.mp4",
                        "kind": "video",
                        "content_type": "video/mp4",
                        "size_bytes": 769830,
                        "sha256": "2304a92719647bc3041e7303f4074810c95c809f0efcb37135b6b51509684fb8",
                        "media": {
                            "format": "mov,mp4,m4a,3gp,3g2,mj2",
                            "duration": 8.0,
                            "duration_exact": "8/1",
                            "width": 640,
                            "height": 360,
                            "coded_width": 640,
                            "coded_height": 360,
                            "rotation": 0,
                            "fps": 30.0,
                            "fps_exact": "30/1",
                            "video_codec": "h264",
                            "pix_fmt": "yuv420p",
                            "has_alpha": False,
                            "has_video": True,
                            "has_audio": True,
                            "audio_codec": "aac",
                            "audio_channels": 2,
                            "sample_rate": 48000,
                            "bit_rate": 769830,
                        },
                        "tags": [],
                        "metadata": {},
                        "source": "render",
                        "derived_from": {
                            "render": "rnd_01m8h75ckm4hkwntbs953677j2",
                            "project": "prj_01m8h75c9ytwd08qd9c0yc8101",
                            "revision": 2,
                            "role": "output",
                            "output": 0,
                        },
                        "created_at": "2026-11-28T13:57:53.510932Z",
                        "thumbnail_url": "/v1/assets/ast_01m8h75e3k87jy3bdq6zrmzjzs/thumbnail",
                        "waveform_url": None,
                        "previews": "ready",
                        "content_url": "/v1/assets/ast_01m8h75e3k87jy3bdq6zrmzjzs/content",
                        "role": "output",
                        "output": 0,
                    },
                    {
                        "id": "ast_01m8h75e7f2wwhcpsf1gd36mb4",
                        "object": "asset",
                        "name": "render.poster.jpg",
                        "kind": "image",
                        "content_type": "image/jpeg",
                        "size_bytes": 16858,
                        "sha256": "8c145d8105c3af8113871081c5edfa3415267d04c21a737813027ee18c4f8595",
                        "media": {
                            "format": "image2",
                            "duration": None,
                            "duration_exact": None,
                            "width": 640,
                            "height": 360,
                            "coded_width": 640,
                            "coded_height": 360,
                            "rotation": 0,
                            "fps": None,
                            "fps_exact": None,
                            "video_codec": "mjpeg",
                            "pix_fmt": "yuvj420p",
                            "has_alpha": False,
                            "has_video": True,
                            "has_audio": False,
                            "audio_codec": None,
                            "audio_channels": None,
                            "sample_rate": None,
                            "bit_rate": None,
                        },
                        "tags": [],
                        "metadata": {},
                        "source": "render",
                        "derived_from": {
                            "render": "rnd_01m8h75ckm4hkwntbs953677j2",
                            "project": "prj_01m8h75c9ytwd08qd9c0yc8101",
                            "revision": 2,
                            "role": "poster",
                            "output": 0,
                        },
                        "created_at": "2026-11-28T13:57:53.561800Z",
                        "thumbnail_url": "/v1/assets/ast_01m8h75e7f2wwhcpsf1gd36mb4/thumbnail",
                        "waveform_url": None,
                        "previews": "ready",
                        "content_url": "/v1/assets/ast_01m8h75e7f2wwhcpsf1gd36mb4/content",
                        "role": "poster",
                        "output": 0,
                    },
                ],
                "metadata": {"order": 1042},
                "brand": None,
                "template": None,
            },
        },
        {
            "id": "evt_01m8h75cmxhsm2jpqgrz152mnm",
            "object": "event",
            "type": "render.started",
            "created_at": "2026-11-28T13:57:51.901562Z",
            "sequence": 6,
            "resource": {"type": "render", "id": "rnd_01m8h75ckm4hkwntbs953677j2"},
            "data": {
                "id": "rnd_01m8h75ckm4hkwntbs953677j2",
                "object": "render",
                "state": "preparing",
                "queue_position": None,
                "progress": 0.0,
                "eta_seconds": None,
                "duration": None,
                "project_id": "prj_01m8h75c9ytwd08qd9c0yc8101",
                "revision": 2,
                "created_at": "2026-11-28T13:57:51.868451Z",
                "started_at": "2026-11-28T13:57:51.882884Z",
                "finished_at": None,
                "render_seconds": None,
                "attempts": 1,
                "cancel_requested": False,
                "error": None,
                "outputs": [],
                "metadata": {"order": 1042},
                "brand": None,
                "template": None,
            },
        },
    ],
    "has_more": True,
    "next_cursor": "eyJ2IjoxLCJrIjpbIjIwMjYtMTEtMjhUMTM6NTc6NTEuOTAxNTYyKzAwOjAwIiwiNiJdLCJmIjoiOTUxOWFiODlhNjkwZTRiZiJ9xEjQPxFp4BtgSkIIBRyRXw",
    "url": "/v1/events",
}
EVENT_RENDER_SUCCEEDED: dict[str, Any] = {
    "id": "evt_01m8h75e9hrfrb1psx3g8zevgv",
    "object": "event",
    "type": "render.succeeded",
    "created_at": "2026-11-28T13:57:53.587090Z",
    "sequence": 9,
    "resource": {"type": "render", "id": "rnd_01m8h75ckm4hkwntbs953677j2"},
    "data": {
        "id": "rnd_01m8h75ckm4hkwntbs953677j2",
        "object": "render",
        "state": "succeeded",
        "queue_position": None,
        "progress": 100.0,
        "eta_seconds": 0.0,
        "duration": 8.0,
        "project_id": "prj_01m8h75c9ytwd08qd9c0yc8101",
        "revision": 2,
        "created_at": "2026-11-28T13:57:51.868451Z",
        "started_at": "2026-11-28T13:57:51.882884Z",
        "finished_at": "2026-11-28T13:57:53.575023Z",
        "render_seconds": 1.692,
        "attempts": 1,
        "cancel_requested": False,
        "error": None,
        "outputs": [
            {
                "id": "ast_01m8h75e3k87jy3bdq6zrmzjzs",
                "object": "asset",
                "name": "render.mp4",
                "kind": "video",
                "content_type": "video/mp4",
                "size_bytes": 769830,
                "sha256": "2304a92719647bc3041e7303f4074810c95c809f0efcb37135b6b51509684fb8",
                "media": {
                    "format": "mov,mp4,m4a,3gp,3g2,mj2",
                    "duration": 8.0,
                    "duration_exact": "8/1",
                    "width": 640,
                    "height": 360,
                    "coded_width": 640,
                    "coded_height": 360,
                    "rotation": 0,
                    "fps": 30.0,
                    "fps_exact": "30/1",
                    "video_codec": "h264",
                    "pix_fmt": "yuv420p",
                    "has_alpha": False,
                    "has_video": True,
                    "has_audio": True,
                    "audio_codec": "aac",
                    "audio_channels": 2,
                    "sample_rate": 48000,
                    "bit_rate": 769830,
                },
                "tags": [],
                "metadata": {},
                "source": "render",
                "derived_from": {
                    "render": "rnd_01m8h75ckm4hkwntbs953677j2",
                    "project": "prj_01m8h75c9ytwd08qd9c0yc8101",
                    "revision": 2,
                    "role": "output",
                    "output": 0,
                },
                "created_at": "2026-11-28T13:57:53.510932Z",
                "thumbnail_url": "/v1/assets/ast_01m8h75e3k87jy3bdq6zrmzjzs/thumbnail",
                "waveform_url": None,
                "previews": "ready",
                "content_url": "/v1/assets/ast_01m8h75e3k87jy3bdq6zrmzjzs/content",
                "role": "output",
                "output": 0,
            },
            {
                "id": "ast_01m8h75e7f2wwhcpsf1gd36mb4",
                "object": "asset",
                "name": "render.poster.jpg",
                "kind": "image",
                "content_type": "image/jpeg",
                "size_bytes": 16858,
                "sha256": "8c145d8105c3af8113871081c5edfa3415267d04c21a737813027ee18c4f8595",
                "media": {
                    "format": "image2",
                    "duration": None,
                    "duration_exact": None,
                    "width": 640,
                    "height": 360,
                    "coded_width": 640,
                    "coded_height": 360,
                    "rotation": 0,
                    "fps": None,
                    "fps_exact": None,
                    "video_codec": "mjpeg",
                    "pix_fmt": "yuvj420p",
                    "has_alpha": False,
                    "has_video": True,
                    "has_audio": False,
                    "audio_codec": None,
                    "audio_channels": None,
                    "sample_rate": None,
                    "bit_rate": None,
                },
                "tags": [],
                "metadata": {},
                "source": "render",
                "derived_from": {
                    "render": "rnd_01m8h75ckm4hkwntbs953677j2",
                    "project": "prj_01m8h75c9ytwd08qd9c0yc8101",
                    "revision": 2,
                    "role": "poster",
                    "output": 0,
                },
                "created_at": "2026-11-28T13:57:53.561800Z",
                "thumbnail_url": "/v1/assets/ast_01m8h75e7f2wwhcpsf1gd36mb4/thumbnail",
                "waveform_url": None,
                "previews": "ready",
                "content_url": "/v1/assets/ast_01m8h75e7f2wwhcpsf1gd36mb4/content",
                "role": "poster",
                "output": 0,
            },
        ],
        "metadata": {"order": 1042},
        "brand": None,
        "template": None,
    },
}
EVENT_ASSET_READY: dict[str, Any] = {
    "id": "evt_01m8h75c80kyhrtdtgjkypv5kw",
    "object": "event",
    "type": "asset.ready",
    "created_at": "2026-11-28T13:57:51.488960Z",
    "sequence": 1,
    "resource": {"type": "asset", "id": "ast_01m8h75c7xhprag7nc1frytnw5"},
    "data": {
        "id": "ast_01m8h75c7xhprag7nc1frytnw5",
        "object": "asset",
        "name": "intro.mp4",
        "kind": "video",
        "content_type": "video/mp4",
        "size_bytes": 1910482,
        "sha256": "7eb28c8859491ae29800be8e827a0aebc40888126411d7f03c9269956ba93be0",
        "media": {
            "format": "mov,mp4,m4a,3gp,3g2,mj2",
            "duration": 8.0,
            "duration_exact": "8/1",
            "width": 640,
            "height": 360,
            "coded_width": 640,
            "coded_height": 360,
            "rotation": 0,
            "fps": 25.0,
            "fps_exact": "25/1",
            "video_codec": "h264",
            "pix_fmt": "yuv420p",
            "has_alpha": False,
            "has_video": True,
            "has_audio": True,
            "audio_codec": "aac",
            "audio_channels": 2,
            "sample_rate": 48000,
            "bit_rate": 1910482,
        },
        "tags": ["promo"],
        "metadata": {},
        "source": "upload",
        "derived_from": {},
        "created_at": "2026-11-28T13:57:51.487811Z",
        "thumbnail_url": None,
        "waveform_url": None,
        "previews": "pending",
        "content_url": "/v1/assets/ast_01m8h75c7xhprag7nc1frytnw5/content",
    },
}
EVENT_PROJECT_UPDATED: dict[str, Any] = {
    "id": "evt_01m8h75cc669mg7tqzw500azzj",
    "object": "event",
    "type": "project.updated",
    "created_at": "2026-11-28T13:57:51.622909Z",
    "sequence": 3,
    "resource": {"type": "project", "id": "prj_01m8h75c9ytwd08qd9c0yc8101"},
    "data": {
        "id": "prj_01m8h75c9ytwd08qd9c0yc8101",
        "object": "project",
        "name": "Spring promo",
        "revision": 2,
        "created_at": "2026-11-28T13:57:51.550657Z",
        "updated_at": "2026-11-28T13:57:51.621265Z",
        "revisions_url": "/v1/projects/prj_01m8h75c9ytwd08qd9c0yc8101/revisions",
        "revision_message": "tighter cut",
    },
}
AUDIT_LIST: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": "aud_01m8h75enxc0phv21jw332q5at",
            "object": "audit_entry",
            "action": "asset.deleted",
            "actor": {"type": "api_key", "id": "key_01m8h75bt94r60phwtkn60ewzg"},
            "resource": {"type": "asset", "id": "ast_01m8h75emvz434z56cx99nfbjb"},
            "details": {
                "name": "old-logo.png",
                "kind": "image",
                "sha256": "f253589860af59a1131e7819fb50e82812b079ae159981dad1459dae06c22ff3",
                "size_bytes": 174,
            },
            "request_id": "req_01m8h75encsvjj59cxdbnerhk6",
            "created_at": "2026-11-28T13:57:53.981707Z",
        },
        {
            "id": "aud_01m8h75ekpwt6d2kn2vf9ca8c9",
            "object": "audit_entry",
            "action": "key.revoked",
            "actor": {"type": "api_key", "id": "key_01m8h75bt94r60phwtkn60ewzg"},
            "resource": {"type": "api_key", "id": "key_01m8h75ek44xem2hqkk25qar1v"},
            "details": {"name": "cms-publisher", "prefix": "rf_live_9X4lgs2cOwKq"},
            "request_id": "req_01m8h75ekkgj0a0my8xqwte5zf",
            "created_at": "2026-11-28T13:57:53.910852Z",
        },
        {
            "id": "aud_01m8h75ekensazmw3twy0vb4ar",
            "object": "audit_entry",
            "action": "key.rolled",
            "actor": {"type": "api_key", "id": "key_01m8h75bt94r60phwtkn60ewzg"},
            "resource": {"type": "api_key", "id": "key_01m8h75ek44xem2hqkk25qar1v"},
            "details": {
                "replaced_by": "key_01m8h75ekdh5wvg3s7a170xz9m",
                "old_expires_at": "2026-11-28T14:57:53.902039Z",
            },
            "request_id": "req_01m8h75ek9gb0c2gxnxac62ss0",
            "created_at": "2026-11-28T13:57:53.902080Z",
        },
    ],
    "has_more": True,
    "next_cursor": "eyJ2IjoxLCJrIjpbIjIwMjYtMTEtMjhUMTM6NTc6NTMuOTAyMDgwKzAwOjAwIiwiYXVkXzAxbThoNzVla2Vuc2F6bXczdHd5MHZiNGFyIl0sImYiOiI0NDEzNmZhMzU1YjM2NzhhIn1uzqsp8Geyuo7xtxe-I81t",
    "url": "/v1/audit",
}
# --- captured: end

_SSE = "text/event-stream"


def _stream(description: str, example: str) -> dict[str, Any]:
    return {"description": description, "content": {_SSE: {"schema": {"type": "string"}, "example": example}}}


def _scope(name: str, problem: dict[str, Any]) -> ex.Named:
    return f"a credential without `{name}`", problem


_EVENTS_SCOPE = _scope("events:read", ERROR_SCOPE_EVENTS_READ)
_ADMIN_SCOPE = _scope("admin", ERROR_SCOPE_ADMIN)

LIST_EVENTS_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of events, newest first (or oldest first with `order=asc`), matching the filters.",
            {"a render's events": EVENT_LIST},
            model=schemas.EventList,
        )
    },
    *ex.AUTH,
    _EVENTS_SCOPE,
    *ex.LIST,
    ("a `type` that is neither a type nor a prefix", ERROR_EVENT_TYPE),
)
GET_EVENT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The event.",
            {
                "render.succeeded": EVENT_RENDER_SUCCEEDED,
                "asset.ready": EVENT_ASSET_READY,
                "project.updated": EVENT_PROJECT_UPDATED,
            },
            model=schemas.EventOut,
        )
    },
    *ex.AUTH,
    _EVENTS_SCOPE,
    ("no such event in this workspace", ERROR_EVENT_NOT_FOUND),
)
STREAM_EVENTS_RESPONSES = ex.responses(
    {
        200: _stream(
            "New events as Server-Sent Events (`id`: the event id, `event`: its type, `data`: the event), "
            "and a `: ping` comment every 15 s.",
            EVENT_STREAM_SAMPLE,
        )
    },
    *ex.AUTH,
    _EVENTS_SCOPE,
    ("a `Last-Event-ID` that is no event of the workspace", ERROR_LAST_EVENT_ID),
)
RENDER_PROGRESS_RESPONSES = ex.responses(
    {
        200: _stream(
            "The render as Server-Sent Events (`event: state` or `event: progress`, `data`: the render) "
            "until it ends.",
            PROGRESS_STREAM_SAMPLE,
        )
    },
    *ex.AUTH,
    ex.scope("renders:read"),
    ("no such render", ex.ERROR_RENDER_NOT_FOUND),
)
LIST_AUDIT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of audit entries, newest first, matching the filters.",
            {"key and asset changes": AUDIT_LIST},
            model=schemas.AuditList,
        )
    },
    *ex.AUTH,
    _ADMIN_SCOPE,
    *ex.LIST,
)
