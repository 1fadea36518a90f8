"""OpenAPI examples for webhook endpoints and their delivery log.

Every value in the captured block was recorded from a running service whose dispatcher
delivered to a real receiver (``.venv/bin/python tests/test_webhooks.py`` records them again and
rewrites the block). The receiver listened on loopback (allowed by the development setting);
its address is shown as ``https://hooks.example.com`` so the examples show a URL a production
service accepts. The arrangement per operation follows :mod:`reelforge.api.examples`.
"""

from __future__ import annotations

from typing import Any

from . import examples as ex
from . import schemas

# --- captured: begin
# Recorded by `python tests/test_webhooks.py` from a running service; do not edit by hand.

ENDPOINT_CREATE: Any = {
    "url": "https://hooks.example.com/reelforge",
    "event_types": ["render.*", "asset.ready"],
    "description": "CMS: publish finished renders",
}
ENDPOINT_CREATED: Any = {
    "id": "we_01m8h5t62nqmkf3w293n119kht",
    "object": "webhook_endpoint",
    "url": "https://hooks.example.com/reelforge",
    "description": "CMS: publish finished renders",
    "event_types": ["render.*", "asset.ready"],
    "enabled": True,
    "disabled_reason": None,
    "disabled_at": None,
    "previous_secret_expires_at": None,
    "health": {"last_success_at": None, "failing_since": None, "failures_since_success": 0},
    "created_at": "2026-11-28T13:34:16.149094Z",
    "updated_at": "2026-11-28T13:34:16.149094Z",
    "messages_url": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/messages",
    "secret": "whsec_gcglaTvhzbjKipx5swXrit0huVC7hORG3m2mffldqCQ=",
}
ENDPOINT_CREATED_HEADERS: Any = {
    "Location": "http://127.0.0.1:8000/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht"
}
ENDPOINT_LIST: Any = {
    "object": "list",
    "data": [
        {
            "id": "we_01m8h5t62wz7t0v72jd1y48kyc",
            "object": "webhook_endpoint",
            "url": "https://hooks.example.com/audit",
            "description": "audit trail",
            "event_types": ["*"],
            "enabled": True,
            "disabled_reason": None,
            "disabled_at": None,
            "previous_secret_expires_at": None,
            "health": {"last_success_at": None, "failing_since": None, "failures_since_success": 0},
            "created_at": "2026-11-28T13:34:16.156669Z",
            "updated_at": "2026-11-28T13:34:16.156669Z",
            "messages_url": "/v1/webhook_endpoints/we_01m8h5t62wz7t0v72jd1y48kyc/messages",
        },
        {
            "id": "we_01m8h5t62nqmkf3w293n119kht",
            "object": "webhook_endpoint",
            "url": "https://hooks.example.com/reelforge",
            "description": "CMS: publish finished renders",
            "event_types": ["render.*", "asset.ready"],
            "enabled": True,
            "disabled_reason": None,
            "disabled_at": None,
            "previous_secret_expires_at": None,
            "health": {"last_success_at": None, "failing_since": None, "failures_since_success": 0},
            "created_at": "2026-11-28T13:34:16.149094Z",
            "updated_at": "2026-11-28T13:34:16.149094Z",
            "messages_url": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/messages",
        },
    ],
    "has_more": False,
    "next_cursor": None,
    "url": "/v1/webhook_endpoints",
}
MESSAGE: Any = {
    "id": "msg_01m8h5t6b0z469gzfhm4dbtenr",
    "object": "webhook_message",
    "endpoint_id": "we_01m8h5t62nqmkf3w293n119kht",
    "event_type": "render.succeeded",
    "event_id": "evt_01m8h5t6b0z469gzfhm4dbtenr",
    "status": "succeeded",
    "attempts": 4,
    "next_attempt_at": None,
    "last_attempt_at": "2026-11-28T13:34:19.519565Z",
    "last_response_status": 200,
    "last_error": None,
    "created_at": "2026-11-28T13:34:16.437829Z",
    "payload": {
        "type": "render.succeeded",
        "timestamp": "2026-11-28T13:34:16.416Z",
        "api_version": "v1",
        "data": {
            "id": "rnd_01m8h5t638cqkv7857n63205f5",
            "object": "render",
            "state": "succeeded",
            "queue_position": None,
            "progress": 100.0,
            "eta_seconds": 0.0,
            "duration": 0.5,
            "project_id": None,
            "revision": None,
            "created_at": "2026-11-28T13:34:16.171154Z",
            "started_at": "2026-11-28T13:34:16.178021Z",
            "finished_at": "2026-11-28T13:34:16.401618Z",
            "render_seconds": 0.224,
            "attempts": 1,
            "cancel_requested": False,
            "error": None,
            "outputs": [{"id": "ast_01m8h5t69pw03606ja68hyswn1", "object": "asset"}],
            "metadata": {"cms_entry": "post-4711"},
            "brand": None,
            "template": None,
        },
    },
    "attempts_url": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/messages/msg_01m8h5t6b0z469gzfhm4dbtenr/attempts",
}
ATTEMPT_LIST: Any = {
    "object": "list",
    "data": [
        {
            "id": "att_01m8h5t9c9wq4b51y78z4c9gs1",
            "object": "webhook_attempt",
            "message_id": "msg_01m8h5t6b0z469gzfhm4dbtenr",
            "endpoint_id": "we_01m8h5t62nqmkf3w293n119kht",
            "number": 4,
            "trigger": "scheduled",
            "attempted_at": "2026-11-28T13:34:19.519565Z",
            "duration_ms": 6.96,
            "response_status": 200,
            "response_headers": {
                "content-type": "application/json",
                "content-length": "17",
                "date": "Sat, 28 Nov 2026 13:34:19 GMT",
                "server": "BaseHTTP/0.6 Python/3.11.7",
            },
            "response_body": '{"received":true}',
            "error_class": None,
            "error": None,
            "next_attempt_at": None,
        },
        {
            "id": "att_01m8h5t8dtx4wcw4m4tqvv5t39",
            "object": "webhook_attempt",
            "message_id": "msg_01m8h5t6b0z469gzfhm4dbtenr",
            "endpoint_id": "we_01m8h5t62nqmkf3w293n119kht",
            "number": 3,
            "trigger": "scheduled",
            "attempted_at": "2026-11-28T13:34:18.549130Z",
            "duration_ms": 4.55,
            "response_status": 502,
            "response_headers": {
                "content-length": "11",
                "date": "Sat, 28 Nov 2026 13:34:18 GMT",
                "server": "BaseHTTP/0.6 Python/3.11.7",
            },
            "response_body": "Bad Gateway",
            "error_class": "http_status",
            "error": "HTTP 502: not a 2xx",
            "next_attempt_at": "2026-11-28T13:34:19.503062Z",
        },
        {
            "id": "att_01m8h5t7e7wm3vkyrfscrwwh3q",
            "object": "webhook_attempt",
            "message_id": "msg_01m8h5t6b0z469gzfhm4dbtenr",
            "endpoint_id": "we_01m8h5t62nqmkf3w293n119kht",
            "number": 2,
            "trigger": "scheduled",
            "attempted_at": "2026-11-28T13:34:17.535345Z",
            "duration_ms": 4.19,
            "response_status": 500,
            "response_headers": {
                "content-length": "21",
                "date": "Sat, 28 Nov 2026 13:34:17 GMT",
                "server": "BaseHTTP/0.6 Python/3.11.7",
            },
            "response_body": "Internal Server Error",
            "error_class": "http_status",
            "error": "HTTP 500: not a 2xx",
            "next_attempt_at": "2026-11-28T13:34:18.530269Z",
        },
        {
            "id": "att_01m8h5t6dz9zs464m6h612aj9n",
            "object": "webhook_attempt",
            "message_id": "msg_01m8h5t6b0z469gzfhm4dbtenr",
            "endpoint_id": "we_01m8h5t62nqmkf3w293n119kht",
            "number": 1,
            "trigger": "scheduled",
            "attempted_at": "2026-11-28T13:34:16.463125Z",
            "duration_ms": 46.7,
            "response_status": 503,
            "response_headers": {
                "content-type": "application/json",
                "content-length": "32",
                "date": "Sat, 28 Nov 2026 13:34:16 GMT",
                "server": "BaseHTTP/0.6 Python/3.11.7",
            },
            "response_body": '{"error":"database unavailable"}',
            "error_class": "http_status",
            "error": "HTTP 503: not a 2xx",
            "next_attempt_at": "2026-11-28T13:34:17.529638Z",
        },
    ],
    "has_more": False,
    "next_cursor": None,
    "url": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/messages/msg_01m8h5t6b0z469gzfhm4dbtenr/attempts",
}
ENDPOINT: Any = {
    "id": "we_01m8h5t62nqmkf3w293n119kht",
    "object": "webhook_endpoint",
    "url": "https://hooks.example.com/reelforge",
    "description": "CMS: publish finished renders",
    "event_types": ["render.*", "asset.ready"],
    "enabled": True,
    "disabled_reason": None,
    "disabled_at": None,
    "previous_secret_expires_at": None,
    "health": {
        "last_success_at": "2026-11-28T13:34:19.069673Z",
        "failing_since": None,
        "failures_since_success": 0,
    },
    "created_at": "2026-11-28T13:34:16.149094Z",
    "updated_at": "2026-11-28T13:34:16.149094Z",
    "messages_url": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/messages",
}
ENDPOINT_UPDATE: Any = {"event_types": ["render.*", "asset.*"], "description": "CMS: renders and assets"}
ENDPOINT_UPDATED: Any = {
    "id": "we_01m8h5t62nqmkf3w293n119kht",
    "object": "webhook_endpoint",
    "url": "https://hooks.example.com/reelforge",
    "description": "CMS: renders and assets",
    "event_types": ["render.*", "asset.*"],
    "enabled": True,
    "disabled_reason": None,
    "disabled_at": None,
    "previous_secret_expires_at": None,
    "health": {
        "last_success_at": "2026-11-28T13:34:19.069673Z",
        "failing_since": None,
        "failures_since_success": 0,
    },
    "created_at": "2026-11-28T13:34:16.149094Z",
    "updated_at": "2026-11-28T13:34:19.622457Z",
    "messages_url": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/messages",
}
ENDPOINT_ROTATE: Any = {"grace_seconds": 3600}
ENDPOINT_ROTATED: Any = {
    "id": "we_01m8h5t62nqmkf3w293n119kht",
    "object": "webhook_endpoint",
    "url": "https://hooks.example.com/reelforge",
    "description": "CMS: renders and assets",
    "event_types": ["render.*", "asset.*"],
    "enabled": True,
    "disabled_reason": None,
    "disabled_at": None,
    "previous_secret_expires_at": "2026-11-28T14:34:19.632592Z",
    "health": {
        "last_success_at": "2026-11-28T13:34:19.069673Z",
        "failing_since": None,
        "failures_since_success": 0,
    },
    "created_at": "2026-11-28T13:34:16.149094Z",
    "updated_at": "2026-11-28T13:34:19.632592Z",
    "messages_url": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/messages",
    "secret": "whsec_LizuHBQPuaba8RLyiAnhTW0Qc2GsJlLgobklTVls8BU=",
}
TEST_MESSAGE: Any = {
    "id": "msg_01m8h5t9frnrqt0nnx01e23870",
    "object": "webhook_message",
    "endpoint_id": "we_01m8h5t62nqmkf3w293n119kht",
    "event_type": "ping",
    "event_id": None,
    "status": "pending",
    "attempts": 0,
    "next_attempt_at": "2026-11-28T13:34:19.641330Z",
    "last_attempt_at": None,
    "last_response_status": None,
    "last_error": None,
    "created_at": "2026-11-28T13:34:19.641330Z",
    "payload": {
        "type": "ping",
        "timestamp": "2026-11-28T13:34:19.640Z",
        "api_version": "v1",
        "data": {
            "id": "we_01m8h5t62nqmkf3w293n119kht",
            "object": "webhook_endpoint",
            "message": "a test event sent with POST /v1/webhook_endpoints/{id}/test",
        },
    },
    "attempts_url": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/messages/msg_01m8h5t9frnrqt0nnx01e23870/attempts",
}
ERROR_ENDPOINT_DISABLED: Any = {
    "type": "https://reelforge.dev/problems/conflict",
    "title": "The request conflicts with the resource's state.",
    "status": 409,
    "detail": "webhook endpoint we_01m8h5t62nqmkf3w293n119kht is disabled (gone); enable it first (POST "
    "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/enable)",
    "instance": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/test",
    "code": "conflict",
    "request_id": "req_01m8h5tcpxmv19kqmegwjv11ev",
}
MESSAGE_LIST: Any = {
    "object": "list",
    "data": [
        {
            "id": "msg_01m8h5tcmx242tapyngqynyvm0",
            "object": "webhook_message",
            "endpoint_id": "we_01m8h5t62nqmkf3w293n119kht",
            "event_type": "render.succeeded",
            "event_id": "evt_01m8h5tcmx242tapyngqynyvm0",
            "status": "failed",
            "attempts": 1,
            "next_attempt_at": None,
            "last_attempt_at": "2026-11-28T13:34:22.889365Z",
            "last_response_status": 410,
            "last_error": "http_status",
            "created_at": "2026-11-28T13:34:22.881704Z",
            "payload": {
                "type": "render.succeeded",
                "timestamp": "2026-11-28T13:34:22.877Z",
                "api_version": "v1",
                "data": {
                    "id": "rnd_01m8h5tcgfr7zn6xmg6xpz4m95",
                    "object": "render",
                    "state": "succeeded",
                    "queue_position": None,
                    "progress": 100.0,
                    "eta_seconds": 0.0,
                    "duration": 0.5,
                    "project_id": None,
                    "revision": None,
                    "created_at": "2026-11-28T13:34:22.736582Z",
                    "started_at": "2026-11-28T13:34:22.741351Z",
                    "finished_at": "2026-11-28T13:34:22.875241Z",
                    "render_seconds": 0.134,
                    "attempts": 1,
                    "cancel_requested": False,
                    "error": None,
                    "outputs": [{"id": "ast_01m8h5t69pw03606ja68hyswn1", "object": "asset"}],
                    "metadata": {"cms_entry": "post-4712"},
                    "brand": None,
                    "template": None,
                },
            },
            "attempts_url": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/messages/msg_01m8h5tcmx242tapyngqynyvm0/attempts",
        },
        {
            "id": "msg_01m8h5tcgqjtnfnmjxzpcwbj0n",
            "object": "webhook_message",
            "endpoint_id": "we_01m8h5t62nqmkf3w293n119kht",
            "event_type": "render.started",
            "event_id": "evt_01m8h5tcgqjtnfnmjxzpcwbj0n",
            "status": "failed",
            "attempts": 1,
            "next_attempt_at": None,
            "last_attempt_at": "2026-11-28T13:34:22.758194Z",
            "last_response_status": 500,
            "last_error": "http_status",
            "created_at": "2026-11-28T13:34:22.747710Z",
            "payload": {
                "type": "render.started",
                "timestamp": "2026-11-28T13:34:22.743Z",
                "api_version": "v1",
                "data": {
                    "id": "rnd_01m8h5tcgfr7zn6xmg6xpz4m95",
                    "object": "render",
                    "state": "preparing",
                    "queue_position": None,
                    "progress": 0.0,
                    "eta_seconds": None,
                    "duration": None,
                    "project_id": None,
                    "revision": None,
                    "created_at": "2026-11-28T13:34:22.736582Z",
                    "started_at": "2026-11-28T13:34:22.741351Z",
                    "finished_at": None,
                    "render_seconds": None,
                    "attempts": 1,
                    "cancel_requested": False,
                    "error": None,
                    "outputs": [],
                    "metadata": {"cms_entry": "post-4712"},
                    "brand": None,
                    "template": None,
                },
            },
            "attempts_url": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/messages/msg_01m8h5tcgqjtnfnmjxzpcwbj0n/attempts",
        },
    ],
    "has_more": True,
    "next_cursor": "eyJ2IjoxLCJrIjpbIjIwMjYtMTEtMjhUMTM6MzQ6MjIuNzQ3NzEwKzAwOjAwIiwiZGx2XzAxbThoNXRjZ3k4NDJkanN2M2NkYTY5ZjEzIl0sImYiOiI3MjlkYmQxYzdjNDI1MDAwIn3QvU01gWYYj5sCjN9sgj-o",
    "url": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/messages",
}
ENDPOINT_ENABLED: Any = {
    "id": "we_01m8h5t62nqmkf3w293n119kht",
    "object": "webhook_endpoint",
    "url": "https://hooks.example.com/reelforge",
    "description": "CMS: renders and assets",
    "event_types": ["render.*", "asset.*"],
    "enabled": True,
    "disabled_reason": None,
    "disabled_at": None,
    "previous_secret_expires_at": "2026-11-28T14:34:19.632592Z",
    "health": {
        "last_success_at": "2026-11-28T13:34:22.706303Z",
        "failing_since": None,
        "failures_since_success": 0,
    },
    "created_at": "2026-11-28T13:34:16.149094Z",
    "updated_at": "2026-11-28T13:34:22.954832Z",
    "messages_url": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/messages",
}
MESSAGE_RETRIED: Any = {
    "id": "msg_01m8h5tcmx242tapyngqynyvm0",
    "object": "webhook_message",
    "endpoint_id": "we_01m8h5t62nqmkf3w293n119kht",
    "event_type": "render.succeeded",
    "event_id": "evt_01m8h5tcmx242tapyngqynyvm0",
    "status": "pending",
    "attempts": 1,
    "next_attempt_at": "2026-11-28T13:34:22.971150Z",
    "last_attempt_at": "2026-11-28T13:34:22.889365Z",
    "last_response_status": 410,
    "last_error": "http_status",
    "created_at": "2026-11-28T13:34:22.881704Z",
    "payload": {
        "type": "render.succeeded",
        "timestamp": "2026-11-28T13:34:22.877Z",
        "api_version": "v1",
        "data": {
            "id": "rnd_01m8h5tcgfr7zn6xmg6xpz4m95",
            "object": "render",
            "state": "succeeded",
            "queue_position": None,
            "progress": 100.0,
            "eta_seconds": 0.0,
            "duration": 0.5,
            "project_id": None,
            "revision": None,
            "created_at": "2026-11-28T13:34:22.736582Z",
            "started_at": "2026-11-28T13:34:22.741351Z",
            "finished_at": "2026-11-28T13:34:22.875241Z",
            "render_seconds": 0.134,
            "attempts": 1,
            "cancel_requested": False,
            "error": None,
            "outputs": [{"id": "ast_01m8h5t69pw03606ja68hyswn1", "object": "asset"}],
            "metadata": {"cms_entry": "post-4712"},
            "brand": None,
            "template": None,
        },
    },
    "attempts_url": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/messages/msg_01m8h5tcmx242tapyngqynyvm0/attempts",
}
RECOVER: Any = {"since": "2026-11-28T13:34:16.149094Z"}
RECOVERED: Any = {
    "object": "webhook_recovery",
    "endpoint_id": "we_01m8h5t62nqmkf3w293n119kht",
    "since": "2026-11-28T13:34:16.149094Z",
    "until": "2026-11-28T13:34:22.988434Z",
    "messages": 2,
}
ERROR_RECOVER_WINDOW: Any = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "`until` must be after `since`",
    "instance": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/recover",
    "code": "validation-error",
    "request_id": "req_01m8h5tcrqv3as88vrk79xsrej",
    "errors": [{"pointer": "#/until", "detail": "must be after since", "code": "invalid_window"}],
}
ERROR_SCOPE_WEBHOOKS_READ: Any = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `webhooks:read` scope",
    "instance": "/v1/webhook_endpoints",
    "code": "insufficient-scope",
    "request_id": "req_01m8h5tcsv5a5b27jsth5tjdd9",
    "required_scope": "webhooks:read",
}
ERROR_SCOPE_WEBHOOKS_WRITE: Any = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `webhooks:write` scope",
    "instance": "/v1/webhook_endpoints",
    "code": "insufficient-scope",
    "request_id": "req_01m8h5tctfbqn1ta6ynwfg3csq",
    "required_scope": "webhooks:write",
}
ERROR_ENDPOINT_NOT_FOUND: Any = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "no webhook endpoint we_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "instance": "/v1/webhook_endpoints/we_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "code": "not-found",
    "request_id": "req_01m8h5tctjx062q2j1b9nmpm5e",
}
ERROR_MESSAGE_NOT_FOUND: Any = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "webhook endpoint we_01m8h5t62nqmkf3w293n119kht has no message msg_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "instance": "/v1/webhook_endpoints/we_01m8h5t62nqmkf3w293n119kht/messages/msg_01jdzzzzzzzzzzzzzzzzzzzzzz/attempts",
    "code": "not-found",
    "request_id": "req_01m8h5tctp97g2sfqem0wtn1dn",
}
ERROR_ENDPOINT_VALIDATION: Any = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "2 problems in the request",
    "instance": "/v1/webhook_endpoints",
    "code": "validation-error",
    "request_id": "req_01m8h5tcttyj0aaar37ye84613",
    "errors": [
        {
            "detail": "not event type patterns: ['Render.Succeeded']; use a type (render.succeeded), a "
            "prefix (render.*) or * for every event",
            "code": "value_error",
            "pointer": "#/event_types",
        },
        {"detail": "unknown field (check its spelling)", "code": "extra_forbidden", "pointer": "#/secret"},
    ],
}
ERROR_URL_PRIVATE: Any = {
    "type": "https://reelforge.dev/problems/url-not-allowed",
    "title": "The URL is not allowed.",
    "status": 422,
    "detail": "the URL's host 169.254.169.254 is not a public address",
    "instance": "/v1/webhook_endpoints",
    "code": "url-not-allowed",
    "request_id": "req_01m8h5tdetjtqrmhreg0xrbaye",
    "errors": [
        {
            "pointer": "#/url",
            "detail": "the URL's host 169.254.169.254 is not a public address",
            "code": "ssrf_blocked",
        }
    ],
}
ERROR_URL_SCHEME: Any = {
    "type": "https://reelforge.dev/problems/url-not-allowed",
    "title": "The URL is not allowed.",
    "status": 422,
    "detail": "the URL's scheme must be https",
    "instance": "/v1/webhook_endpoints",
    "code": "url-not-allowed",
    "request_id": "req_01m8h5tdn3hh7vmp8zj3n17am1",
    "errors": [{"pointer": "#/url", "detail": "the URL's scheme must be https", "code": "invalid"}],
}
# --- captured: end

_READ: ex.Named = ("a credential without `webhooks:read`", ERROR_SCOPE_WEBHOOKS_READ)
_WRITE: ex.Named = ("a credential without `webhooks:write`", ERROR_SCOPE_WEBHOOKS_WRITE)
_NO_ENDPOINT: ex.Named = ("no such endpoint in this workspace", ERROR_ENDPOINT_NOT_FOUND)
_NO_MESSAGE: ex.Named = ("the endpoint has no such message", ERROR_MESSAGE_NOT_FOUND)
_URL: tuple[ex.Named, ...] = (
    ("a URL reaching a private address", ERROR_URL_PRIVATE),
    ("a plain http URL", ERROR_URL_SCHEME),
)
_DISABLED: ex.Named = ("the endpoint is disabled", ERROR_ENDPOINT_DISABLED)
_LOCATION = {"Location": ("The endpoint's URL", ENDPOINT_CREATED_HEADERS["Location"])}

CREATE_ENDPOINT_BODY = ex.body({"render events to a CMS": ENDPOINT_CREATE})
CREATE_ENDPOINT_RESPONSES = ex.responses(
    {
        201: ex.success(
            "The endpoint; `secret` is in this response only, so store it now.",
            {"render events to a CMS": ENDPOINT_CREATED},
            headers=_LOCATION,
            model=schemas.WebhookEndpointCreated,
        )
    },
    *ex.AUTH,
    _WRITE,
    *_URL,
    ("an unknown member or a malformed event type", ERROR_ENDPOINT_VALIDATION),
)
LIST_ENDPOINTS_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of endpoints, newest first (never their secrets).",
            {"two endpoints": ENDPOINT_LIST},
            model=schemas.WebhookEndpointList,
        )
    },
    *ex.AUTH,
    _READ,
    *ex.LIST,
)
GET_ENDPOINT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The endpoint, its state and delivery health.",
            {"an endpoint": ENDPOINT},
            model=schemas.WebhookEndpointOut,
        )
    },
    *ex.AUTH,
    _READ,
    _NO_ENDPOINT,
)
UPDATE_ENDPOINT_BODY = ex.body({"more events, new description": ENDPOINT_UPDATE})
UPDATE_ENDPOINT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The endpoint as changed.",
            {"more events, new description": ENDPOINT_UPDATED},
            model=schemas.WebhookEndpointOut,
        )
    },
    *ex.AUTH,
    _WRITE,
    _NO_ENDPOINT,
    *_URL,
    ("an unknown member or a malformed event type", ERROR_ENDPOINT_VALIDATION),
)
DELETE_ENDPOINT_RESPONSES = ex.responses(
    {204: {"description": "Deleted, with its delivery log; nothing more is sent to it."}},
    *ex.AUTH,
    _WRITE,
    _NO_ENDPOINT,
)
ROTATE_SECRET_BODY = ex.body({"one hour of overlap": ENDPOINT_ROTATE})
ROTATE_SECRET_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The endpoint with its new `secret` (shown once); `previous_secret_expires_at` says "
            "until when the old one also signs.",
            {"one hour of overlap": ENDPOINT_ROTATED},
            model=schemas.WebhookEndpointCreated,
        )
    },
    *ex.AUTH,
    _WRITE,
    _NO_ENDPOINT,
)
ENABLE_ENDPOINT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The endpoint, enabled.",
            {"enabled after it was disabled": ENDPOINT_ENABLED},
            model=schemas.WebhookEndpointOut,
        )
    },
    *ex.AUTH,
    _WRITE,
    _NO_ENDPOINT,
)
TEST_ENDPOINT_RESPONSES = ex.responses(
    {
        202: ex.success(
            "The `ping` message, queued for delivery at once.",
            {"a ping": TEST_MESSAGE},
            model=schemas.WebhookMessageOut,
        )
    },
    *ex.AUTH,
    _WRITE,
    _NO_ENDPOINT,
    _DISABLED,
)
LIST_MESSAGES_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of the endpoint's messages, newest first, with their delivery state.",
            {"failed messages": MESSAGE_LIST},
            model=schemas.WebhookMessageList,
        )
    },
    *ex.AUTH,
    _READ,
    _NO_ENDPOINT,
    *ex.LIST,
)
GET_MESSAGE_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The message, its payload and delivery state.",
            {"delivered on the 4th attempt": MESSAGE},
            model=schemas.WebhookMessageOut,
        )
    },
    *ex.AUTH,
    _READ,
    _NO_ENDPOINT,
    _NO_MESSAGE,
)
LIST_ATTEMPTS_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of the message's attempts, newest first.",
            {"three failures, then a success": ATTEMPT_LIST},
            model=schemas.WebhookAttemptList,
        )
    },
    *ex.AUTH,
    _READ,
    _NO_ENDPOINT,
    _NO_MESSAGE,
    *ex.LIST,
)
RETRY_MESSAGE_RESPONSES = ex.responses(
    {
        202: ex.success(
            "The message, due again at once.",
            {"a failed message sent again": MESSAGE_RETRIED},
            model=schemas.WebhookMessageOut,
        )
    },
    *ex.AUTH,
    _WRITE,
    _NO_ENDPOINT,
    _NO_MESSAGE,
    _DISABLED,
)
RECOVER_BODY = ex.body({"since the receiver went down": RECOVER})
RECOVER_RESPONSES = ex.responses(
    {
        202: ex.success(
            "How many failed messages are delivered again.",
            {"since the receiver went down": RECOVERED},
            model=schemas.WebhookRecovery,
        )
    },
    *ex.AUTH,
    _WRITE,
    _NO_ENDPOINT,
    _DISABLED,
    ("`until` not after `since`", ERROR_RECOVER_WINDOW),
)
