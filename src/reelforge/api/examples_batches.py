"""OpenAPI examples of the batch operations, recorded from a running service.

``.venv/bin/python tests/test_batches.py`` records them again (a real service with a worker
rendering a real template on generated media) and rewrites the captured block below; the
declarations after it arrange the values per operation, as :mod:`reelforge.api.examples` does.
"""

from __future__ import annotations

from typing import Any

from . import schemas
from .examples import AUTH, LIST, body, responses, success

# --- captured: begin
# Recorded by `python tests/test_batches.py` from a running service; do not edit by hand.

BATCH_CREATE_JSON: dict[str, Any] = {
    "template_id": "tpl_01m8h5fh8f1kfqdwyr29rht39s",
    "rows": [
        {
            "title": {"$locales": {"en": "Stoneware mug", "fr": "Tasse en grès"}},
            "price": 9.5,
            "clip": "ast_01m8h5fgwqrgjhcjt226qd7q33",
            "seconds": 0.6,
        },
        {
            "title": {"$locales": {"en": "Desk lamp", "fr": "Lampe de bureau"}},
            "price": 24,
            "clip": "ast_01m8h5fh03c0xy5pgxqdwkd3gj",
            "seconds": 0.6,
        },
    ],
    "locales": ["en", "fr"],
    "outputs": [
        {"aspect_ratio": "16:9", "resolution": "360p", "quality": "draft"},
        {"aspect_ratio": "9:16", "resolution": "360p", "quality": "draft"},
    ],
    "tags": ["spring-sale"],
    "metadata": {"campaign": "spring-2027"},
}
BATCH_CREATED: dict[str, Any] = {
    "id": "bat_01m8h5fh9eed5z0eqc9g5b3tdt",
    "object": "batch",
    "state": "running",
    "progress": 0.0,
    "counts": {"queued": 4, "running": 0, "succeeded": 0, "failed": 0, "cancelled": 0},
    "template_id": "tpl_01m8h5fh8f1kfqdwyr29rht39s",
    "template_version": 1,
    "locales": ["en", "fr"],
    "outputs": [
        {"aspect_ratio": "16:9", "resolution": "360p", "quality": "draft"},
        {"aspect_ratio": "9:16", "resolution": "360p", "quality": "draft"},
    ],
    "tags": ["spring-sale"],
    "all_or_nothing": False,
    "rows": {"source": "json", "total": 2, "rejected": 0},
    "items": 4,
    "renders": 4,
    "duplicates": [],
    "rejected": [],
    "cancel_requested": False,
    "metadata": {"campaign": "spring-2027"},
    "created_at": "2026-11-28T13:28:27.182431Z",
    "cancelled_at": None,
    "finished_at": None,
    "renders_url": "/v1/batches/bat_01m8h5fh9eed5z0eqc9g5b3tdt/renders",
}
BATCH_CREATED_HEADERS: dict[str, Any] = {
    "Location": "http://127.0.0.1:8000/v1/batches/bat_01m8h5fh9eed5z0eqc9g5b3tdt"
}
BATCH_RUNNING: dict[str, Any] = {
    "id": "bat_01m8h5fh9eed5z0eqc9g5b3tdt",
    "object": "batch",
    "state": "running",
    "progress": 25.0,
    "counts": {"queued": 3, "running": 0, "succeeded": 1, "failed": 0, "cancelled": 0},
    "template_id": "tpl_01m8h5fh8f1kfqdwyr29rht39s",
    "template_version": 1,
    "locales": ["en", "fr"],
    "outputs": [
        {"aspect_ratio": "16:9", "resolution": "360p", "quality": "draft"},
        {"aspect_ratio": "9:16", "resolution": "360p", "quality": "draft"},
    ],
    "tags": ["spring-sale"],
    "all_or_nothing": False,
    "rows": {"source": "json", "total": 2, "rejected": 0},
    "items": 4,
    "renders": 4,
    "duplicates": [],
    "rejected": [],
    "cancel_requested": False,
    "metadata": {"campaign": "spring-2027"},
    "created_at": "2026-11-28T13:28:27.182431Z",
    "cancelled_at": None,
    "finished_at": None,
    "renders_url": "/v1/batches/bat_01m8h5fh9eed5z0eqc9g5b3tdt/renders",
}
BATCH_SUCCEEDED: dict[str, Any] = {
    "id": "bat_01m8h5fh9eed5z0eqc9g5b3tdt",
    "object": "batch",
    "state": "succeeded",
    "progress": 100.0,
    "counts": {"queued": 0, "running": 0, "succeeded": 4, "failed": 0, "cancelled": 0},
    "template_id": "tpl_01m8h5fh8f1kfqdwyr29rht39s",
    "template_version": 1,
    "locales": ["en", "fr"],
    "outputs": [
        {"aspect_ratio": "16:9", "resolution": "360p", "quality": "draft"},
        {"aspect_ratio": "9:16", "resolution": "360p", "quality": "draft"},
    ],
    "tags": ["spring-sale"],
    "all_or_nothing": False,
    "rows": {"source": "json", "total": 2, "rejected": 0},
    "items": 4,
    "renders": 4,
    "duplicates": [],
    "rejected": [],
    "cancel_requested": False,
    "metadata": {"campaign": "spring-2027"},
    "created_at": "2026-11-28T13:28:27.182431Z",
    "cancelled_at": None,
    "finished_at": "2026-11-28T13:28:31.387679Z",
    "renders_url": "/v1/batches/bat_01m8h5fh9eed5z0eqc9g5b3tdt/renders",
}
BATCH_RENDERS: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": "rnd_01m8h5fhad753ge93fy903f18q",
            "object": "render",
            "state": "succeeded",
            "queue_position": None,
            "progress": 100.0,
            "eta_seconds": 0.0,
            "duration": 0.6,
            "project_id": None,
            "revision": None,
            "created_at": "2026-11-28T13:28:27.214284Z",
            "started_at": "2026-11-28T13:28:30.218138Z",
            "finished_at": "2026-11-28T13:28:31.382917Z",
            "render_seconds": 1.165,
            "attempts": 1,
            "cancel_requested": False,
            "error": None,
            "outputs": [
                {
                    "id": "ast_01m8h5fn7f6a4rewe9re4xynnm",
                    "object": "asset",
                    "name": "render-640x360.mp4",
                    "kind": "video",
                    "content_type": "video/mp4",
                    "size_bytes": 19843,
                    "sha256": "11bbfe5fc89922a7d5473a01bb3e123cd3b79a5a95613dbff3486026fadd8305",
                    "media": {
                        "format": "mov,mp4,m4a,3gp,3g2,mj2",
                        "duration": 0.6,
                        "duration_exact": "3/5",
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
                        "bit_rate": 264573,
                    },
                    "tags": ["spring-sale"],
                    "metadata": {},
                    "source": "render",
                    "derived_from": {
                        "render": "rnd_01m8h5fhad753ge93fy903f18q",
                        "project": None,
                        "revision": None,
                        "role": "output",
                        "output": 0,
                    },
                    "created_at": "2026-11-28T13:28:31.282812Z",
                    "thumbnail_url": "/v1/assets/ast_01m8h5fn7f6a4rewe9re4xynnm/thumbnail",
                    "waveform_url": None,
                    "content_url": "/v1/assets/ast_01m8h5fn7f6a4rewe9re4xynnm/content",
                    "role": "output",
                    "output": 0,
                },
                {
                    "id": "ast_01m8h5fna263ccjrxjjszmqpba",
                    "object": "asset",
                    "name": "render-360x640.mp4",
                    "kind": "video",
                    "content_type": "video/mp4",
                    "size_bytes": 26138,
                    "sha256": "6353de454cdae85df19da359485733eb65f9a9b9a87bfba0e49ef966e7605ab7",
                    "media": {
                        "format": "mov,mp4,m4a,3gp,3g2,mj2",
                        "duration": 0.6,
                        "duration_exact": "3/5",
                        "width": 360,
                        "height": 640,
                        "coded_width": 360,
                        "coded_height": 640,
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
                        "bit_rate": 348506,
                    },
                    "tags": ["spring-sale"],
                    "metadata": {},
                    "source": "render",
                    "derived_from": {
                        "render": "rnd_01m8h5fhad753ge93fy903f18q",
                        "project": None,
                        "revision": None,
                        "role": "output",
                        "output": 1,
                    },
                    "created_at": "2026-11-28T13:28:31.355053Z",
                    "thumbnail_url": "/v1/assets/ast_01m8h5fna263ccjrxjjszmqpba/thumbnail",
                    "waveform_url": None,
                    "content_url": "/v1/assets/ast_01m8h5fna263ccjrxjjszmqpba/content",
                    "role": "output",
                    "output": 1,
                },
            ],
            "metadata": {
                "batch": {
                    "id": "bat_01m8h5fh9eed5z0eqc9g5b3tdt",
                    "items": [{"row": 1, "locale": "fr"}],
                    "tags": ["spring-sale"],
                }
            },
            "brand": None,
            "template": {"id": "tpl_01m8h5fh8f1kfqdwyr29rht39s", "version": 1, "locale": "fr"},
        }
    ],
    "has_more": False,
    "next_cursor": None,
    "url": "/v1/batches/bat_01m8h5fh9eed5z0eqc9g5b3tdt/renders",
}
ERROR_BATCH_CANCEL_FINISHED: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/conflict",
    "title": "The request conflicts with the resource's state.",
    "status": 409,
    "detail": "the batch already finished (succeeded); there is nothing to cancel",
    "instance": "/v1/batches/bat_01m8h5fh9eed5z0eqc9g5b3tdt/cancel",
    "code": "conflict",
    "request_id": "req_01m8h5fnexymvxqnss3b8yfm1e",
}
BATCH_CREATE_CSV_TEXT: dict[str, Any] = {
    "template_id": "tpl_01m8h5fh8f1kfqdwyr29rht39s",
    "rows_csv": "title@en,title@fr,price,clip\n"
    "Stoneware mug,Tasse en grès,9.5,ast_01m8h5fgwqrgjhcjt226qd7q33\n"
    "Desk lamp,Lampe de bureau,cheap,ast_01m8h5fh03c0xy5pgxqdwkd3gj\n"
    "Oak chair,Chaise en chêne,120,ast_01m8h5fgwqrgjhcjt226qd7q33\n",
    "locales": ["fr"],
    "outputs": [{"aspect_ratio": "16:9", "resolution": "360p", "quality": "draft"}],
}
BATCH_CREATED_CSV: dict[str, Any] = {
    "id": "bat_01m8h5fnf7v3p4a8ypjqqn1eqv",
    "object": "batch",
    "state": "running",
    "progress": 0.0,
    "counts": {"queued": 2, "running": 0, "succeeded": 0, "failed": 0, "cancelled": 0},
    "template_id": "tpl_01m8h5fh8f1kfqdwyr29rht39s",
    "template_version": 1,
    "locales": ["fr"],
    "outputs": [{"aspect_ratio": "16:9", "resolution": "360p", "quality": "draft"}],
    "tags": [],
    "all_or_nothing": False,
    "rows": {"source": "csv", "total": 3, "rejected": 1},
    "items": 2,
    "renders": 2,
    "duplicates": [],
    "rejected": [
        {
            "row": 3,
            "locale": "fr",
            "errors": [
                {
                    "pointer": "#/rows_csv/3/price",
                    "detail": "price: expected a number, got text",
                    "code": "wrong_type",
                    "line": 3,
                    "column": "price",
                }
            ],
        }
    ],
    "cancel_requested": False,
    "metadata": {},
    "created_at": "2026-11-28T13:28:31.463041Z",
    "cancelled_at": None,
    "finished_at": None,
    "renders_url": "/v1/batches/bat_01m8h5fnf7v3p4a8ypjqqn1eqv/renders",
}
BATCH_CANCELLING: dict[str, Any] = {
    "id": "bat_01m8h5fnf7v3p4a8ypjqqn1eqv",
    "object": "batch",
    "state": "running",
    "progress": 50.0,
    "counts": {"queued": 0, "running": 1, "succeeded": 0, "failed": 0, "cancelled": 1},
    "template_id": "tpl_01m8h5fh8f1kfqdwyr29rht39s",
    "template_version": 1,
    "locales": ["fr"],
    "outputs": [{"aspect_ratio": "16:9", "resolution": "360p", "quality": "draft"}],
    "tags": [],
    "all_or_nothing": False,
    "rows": {"source": "csv", "total": 3, "rejected": 1},
    "items": 2,
    "renders": 2,
    "duplicates": [],
    "rejected": [
        {
            "row": 3,
            "locale": "fr",
            "errors": [
                {
                    "pointer": "#/rows_csv/3/price",
                    "detail": "price: expected a number, got text",
                    "code": "wrong_type",
                    "line": 3,
                    "column": "price",
                }
            ],
        }
    ],
    "cancel_requested": True,
    "metadata": {},
    "created_at": "2026-11-28T13:28:31.463041Z",
    "cancelled_at": "2026-11-28T13:28:31.494283Z",
    "finished_at": None,
    "renders_url": "/v1/batches/bat_01m8h5fnf7v3p4a8ypjqqn1eqv/renders",
}
BATCH_CANCELLED: dict[str, Any] = {
    "id": "bat_01m8h5fnf7v3p4a8ypjqqn1eqv",
    "object": "batch",
    "state": "cancelled",
    "progress": 100.0,
    "counts": {"queued": 0, "running": 0, "succeeded": 1, "failed": 0, "cancelled": 1},
    "template_id": "tpl_01m8h5fh8f1kfqdwyr29rht39s",
    "template_version": 1,
    "locales": ["fr"],
    "outputs": [{"aspect_ratio": "16:9", "resolution": "360p", "quality": "draft"}],
    "tags": [],
    "all_or_nothing": False,
    "rows": {"source": "csv", "total": 3, "rejected": 1},
    "items": 2,
    "renders": 2,
    "duplicates": [],
    "rejected": [
        {
            "row": 3,
            "locale": "fr",
            "errors": [
                {
                    "pointer": "#/rows_csv/3/price",
                    "detail": "price: expected a number, got text",
                    "code": "wrong_type",
                    "line": 3,
                    "column": "price",
                }
            ],
        }
    ],
    "cancel_requested": True,
    "metadata": {},
    "created_at": "2026-11-28T13:28:31.463041Z",
    "cancelled_at": "2026-11-28T13:28:31.494283Z",
    "finished_at": "2026-11-28T13:28:31.824104Z",
    "renders_url": "/v1/batches/bat_01m8h5fnf7v3p4a8ypjqqn1eqv/renders",
}
BATCH_CREATE_MULTIPART: dict[str, Any] = {
    "batch": '{"template_id": "tpl_01m8h5fh8f1kfqdwyr29rht39s", "locales": ["en"], "tags": ["catalogue"]}',
    "rows_csv": "title@en,title@fr,price,clip\n"
    "Stoneware mug,Tasse en grès,9.5,ast_01m8h5fgwqrgjhcjt226qd7q33\n"
    "Desk lamp,Lampe de bureau,cheap,ast_01m8h5fh03c0xy5pgxqdwkd3gj\n"
    "Oak chair,Chaise en chêne,120,ast_01m8h5fgwqrgjhcjt226qd7q33\n",
}
BATCH_CREATED_UPLOAD: dict[str, Any] = {
    "id": "bat_01m8h5fnw6de5sz6kjb75wg3ah",
    "object": "batch",
    "state": "running",
    "progress": 0.0,
    "counts": {"queued": 2, "running": 0, "succeeded": 0, "failed": 0, "cancelled": 0},
    "template_id": "tpl_01m8h5fh8f1kfqdwyr29rht39s",
    "template_version": 1,
    "locales": ["en"],
    "outputs": [],
    "tags": ["catalogue"],
    "all_or_nothing": False,
    "rows": {"source": "csv", "total": 3, "rejected": 1},
    "items": 2,
    "renders": 2,
    "duplicates": [],
    "rejected": [
        {
            "row": 3,
            "locale": "en",
            "errors": [
                {
                    "pointer": "#/rows_csv/3/price",
                    "detail": "price: expected a number, got text",
                    "code": "wrong_type",
                    "line": 3,
                    "column": "price",
                }
            ],
        }
    ],
    "cancel_requested": False,
    "metadata": {},
    "created_at": "2026-11-28T13:28:31.878831Z",
    "cancelled_at": None,
    "finished_at": None,
    "renders_url": "/v1/batches/bat_01m8h5fnw6de5sz6kjb75wg3ah/renders",
}
BATCH_LIST: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": "bat_01m8h5fnw6de5sz6kjb75wg3ah",
            "object": "batch",
            "state": "succeeded",
            "progress": 100.0,
            "counts": {"queued": 0, "running": 0, "succeeded": 2, "failed": 0, "cancelled": 0},
            "template_id": "tpl_01m8h5fh8f1kfqdwyr29rht39s",
            "template_version": 1,
            "locales": ["en"],
            "outputs": [],
            "tags": ["catalogue"],
            "all_or_nothing": False,
            "rows": {"source": "csv", "total": 3, "rejected": 1},
            "items": 2,
            "renders": 2,
            "duplicates": [],
            "rejected": [
                {
                    "row": 3,
                    "locale": "en",
                    "errors": [
                        {
                            "pointer": "#/rows_csv/3/price",
                            "detail": "price: expected a number, got text",
                            "code": "wrong_type",
                            "line": 3,
                            "column": "price",
                        }
                    ],
                }
            ],
            "cancel_requested": False,
            "metadata": {},
            "created_at": "2026-11-28T13:28:31.878831Z",
            "cancelled_at": None,
            "finished_at": "2026-11-28T13:28:32.787993Z",
            "renders_url": "/v1/batches/bat_01m8h5fnw6de5sz6kjb75wg3ah/renders",
        }
    ],
    "has_more": True,
    "next_cursor": "eyJ2IjoxLCJrIjpbIjIwMjYtMTEtMjhUMTM6Mjg6MzEuODc4ODMxKzAwOjAwIiwiYmF0XzAxbThoNWZudzZkZTVzejZramI3NXdnM2FoIl0sImYiOiI0NDEzNmZhMzU1YjM2NzhhIn10Od6lp09BHSdfNRJiWeag",
    "url": "/v1/batches",
}
ERROR_BATCH_ALL_OR_NOTHING: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "1 row x locale combination is not valid and `all_or_nothing` is set: nothing was created",
    "instance": "/v1/batches",
    "code": "validation-error",
    "request_id": "req_01m8h5fpv4fts52h7bfda127rm",
    "errors": [
        {
            "pointer": "#/rows_csv/3/price",
            "detail": "price: expected a number, got text",
            "code": "wrong_type",
            "line": 3,
            "column": "price",
            "row": 3,
            "locale": None,
        }
    ],
    "rejected": [
        {
            "row": 3,
            "locale": None,
            "errors": [
                {
                    "pointer": "#/rows_csv/3/price",
                    "detail": "price: expected a number, got text",
                    "code": "wrong_type",
                    "line": 3,
                    "column": "price",
                }
            ],
        }
    ],
}
ERROR_BATCH_OUTPUTS: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "1 problem(s) in `outputs`",
    "instance": "/v1/batches",
    "code": "validation-error",
    "request_id": "req_01m8h5fpvaw6gsj5x2nr4d4qen",
    "errors": [
        {
            "pointer": "#/outputs/0/aspect_ratio",
            "detail": "String should match pattern '^\\d{1,2}:\\d{1,2}$'",
            "code": "invalid",
        }
    ],
}
ERROR_BATCH_TEMPLATE_NOT_FOUND: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "no template tpl_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "instance": "/v1/batches",
    "code": "not-found",
    "request_id": "req_01m8h5fpve3va8m0v1dndtr0w9",
    "errors": [{"pointer": "#/template_id", "code": "not_found", "detail": "no such template"}],
}
ERROR_BATCH_CSV_TYPE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/unsupported-media-type",
    "title": "The content type is not supported here.",
    "status": 415,
    "detail": "`rows_csv` must be a CSV file, not application/zip",
    "instance": "/v1/batches",
    "code": "unsupported-media-type",
    "request_id": "req_01m8h5fpvgsg3byr3ascze04ct",
    "errors": [{"pointer": "#/rows_csv", "detail": "send text/csv", "code": "media_type"}],
}
ERROR_BATCH_NOT_FOUND: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "no batch bat_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "instance": "/v1/batches/bat_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "code": "not-found",
    "request_id": "req_01m8h5fpvjg92swx8r363ddbdh",
}
ERROR_SCOPE_BATCHES_READ: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `batches:read` scope",
    "instance": "/v1/batches",
    "code": "insufficient-scope",
    "request_id": "req_01m8h5fpw1vcmz13yznkjg5fja",
    "required_scope": "batches:read",
}
ERROR_SCOPE_BATCHES_WRITE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `batches:write` scope",
    "instance": "/v1/batches",
    "code": "insufficient-scope",
    "request_id": "req_01m8h5fpw4adv7pdpt17mmxrxz",
    "required_scope": "batches:write",
}
ERROR_SCOPE_TEMPLATES_READ: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `templates:read` scope",
    "instance": "/v1/batches",
    "code": "insufficient-scope",
    "request_id": "req_01m8h5fpwf9g1kb92byhjnawmc",
    "required_scope": "templates:read",
}
ERROR_SCOPE_RENDERS_WRITE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `renders:write` scope",
    "instance": "/v1/batches",
    "code": "insufficient-scope",
    "request_id": "req_01m8h5fpwsa706j7kw0gjydzc6",
    "required_scope": "renders:write",
}
ERROR_SCOPE_RENDERS_READ: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `renders:read` scope",
    "instance": "/v1/batches/bat_01m8h5fh9eed5z0eqc9g5b3tdt/renders",
    "code": "insufficient-scope",
    "request_id": "req_01m8h5fpwyn8yn7yzv45qfjx2h",
    "required_scope": "renders:read",
}
# --- captured: end

_CREATE_JSON = "JSON rows, two locales, two aspect ratios"
_CREATE_CSV = "CSV text with a bad line"
_CREATE_MULTIPART = "an uploaded CSV file"
_SCOPES: dict[str, dict[str, Any]] = {
    "batches:read": ERROR_SCOPE_BATCHES_READ,
    "batches:write": ERROR_SCOPE_BATCHES_WRITE,
    "templates:read": ERROR_SCOPE_TEMPLATES_READ,
    "renders:write": ERROR_SCOPE_RENDERS_WRITE,
    "renders:read": ERROR_SCOPE_RENDERS_READ,
}


def _scope(name: str) -> tuple[str, dict[str, Any]]:
    return f"a credential without `{name}`", _SCOPES[name]


_NOT_FOUND = ("no such batch in this workspace", ERROR_BATCH_NOT_FOUND)

CREATE_BATCH_JSON_EXAMPLES = body({_CREATE_JSON: BATCH_CREATE_JSON, _CREATE_CSV: BATCH_CREATE_CSV_TEXT})
CREATE_BATCH_MULTIPART_EXAMPLES = body({_CREATE_MULTIPART: BATCH_CREATE_MULTIPART})
CREATE_BATCH_RESPONSES = responses(
    {
        202: success(
            "The batch, its renders queued; rows x locales that are not valid are in `rejected` (the others "
            "run). Follow it at `Location`.",
            {
                _CREATE_JSON: BATCH_CREATED,
                _CREATE_CSV: BATCH_CREATED_CSV,
                _CREATE_MULTIPART: BATCH_CREATED_UPLOAD,
            },
            headers={"Location": ("The batch's URL", BATCH_CREATED_HEADERS["Location"])},
            model=schemas.BatchOut,
        )
    },
    *AUTH,
    _scope("batches:write"),
    _scope("templates:read"),
    _scope("renders:write"),
    ("no such template in this workspace", ERROR_BATCH_TEMPLATE_NOT_FOUND),
    (
        "`all_or_nothing` and a row is not valid: every problem with its row and locale",
        ERROR_BATCH_ALL_OR_NOTHING,
    ),
    ("`outputs` that are not valid outputs", ERROR_BATCH_OUTPUTS),
    ("an attached file that is not CSV", ERROR_BATCH_CSV_TYPE),
)
LIST_BATCHES_RESPONSES = responses(
    {200: success("A page of batches, newest first.", {"one batch": BATCH_LIST}, model=schemas.BatchList)},
    *AUTH,
    _scope("batches:read"),
    *LIST,
)
GET_BATCH_RESPONSES = responses(
    {
        200: success(
            "The batch. Poll it until `finished_at` is set (or listen for `batch.completed`).",
            {"running": BATCH_RUNNING, "succeeded": BATCH_SUCCEEDED, "cancelled": BATCH_CANCELLED},
            model=schemas.BatchOut,
        )
    },
    *AUTH,
    _scope("batches:read"),
    _NOT_FOUND,
)
LIST_BATCH_RENDERS_RESPONSES = responses(
    {
        200: success(
            "A page of the batch's renders, newest first, matching the filters.",
            {"row 2 in French": BATCH_RENDERS},
            model=schemas.RenderList,
        )
    },
    *AUTH,
    _scope("batches:read"),
    _scope("renders:read"),
    _NOT_FOUND,
    *LIST,
)
CANCEL_BATCH_RESPONSES = responses(
    {
        202: success(
            "Queued renders are cancelled, running ones stop within seconds; the batch is `cancelled` once "
            "its last render ended.",
            {"cancelling": BATCH_CANCELLING},
            model=schemas.BatchOut,
        )
    },
    *AUTH,
    _scope("batches:write"),
    _NOT_FOUND,
    ("every render already ended", ERROR_BATCH_CANCEL_FINISHED),
)
MULTIPART_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["batch", "rows_csv"],
    "properties": {
        "batch": {"type": "string", "description": "The request object as JSON, without `rows`."},
        "rows_csv": {"type": "string", "format": "binary", "description": "The rows as a UTF-8 CSV file."},
    },
}
__all__ = [
    "CANCEL_BATCH_RESPONSES",
    "CREATE_BATCH_JSON_EXAMPLES",
    "CREATE_BATCH_MULTIPART_EXAMPLES",
    "CREATE_BATCH_RESPONSES",
    "GET_BATCH_RESPONSES",
    "LIST_BATCHES_RESPONSES",
    "LIST_BATCH_RENDERS_RESPONSES",
    "MULTIPART_SCHEMA",
]
