"""OpenAPI examples for webhook endpoints and their delivery log.

Every value in ``recorded/webhooks.json`` was recorded from a running service whose
dispatcher delivered to a real receiver (``scripts/record_examples.py`` records them again). The receiver listened on loopback (allowed by the development setting);
its address is shown as ``https://hooks.example.com`` so the examples show a URL a production
service accepts. The arrangement per operation follows :mod:`reelforge.api.examples`.
"""

from __future__ import annotations

from typing import Any

from . import examples as ex
from . import recorded, schemas

# Recorded from a running service (`scripts/record_examples.py`): see recorded/webhooks.json.
_RECORDED = recorded.load("webhooks")
ENDPOINT_CREATE: Any = _RECORDED["ENDPOINT_CREATE"]
ENDPOINT_CREATED: Any = _RECORDED["ENDPOINT_CREATED"]
ENDPOINT_CREATED_HEADERS: Any = _RECORDED["ENDPOINT_CREATED_HEADERS"]
ENDPOINT_LIST: Any = _RECORDED["ENDPOINT_LIST"]
MESSAGE: Any = _RECORDED["MESSAGE"]
ATTEMPT_LIST: Any = _RECORDED["ATTEMPT_LIST"]
ENDPOINT: Any = _RECORDED["ENDPOINT"]
ENDPOINT_UPDATE: Any = _RECORDED["ENDPOINT_UPDATE"]
ENDPOINT_UPDATED: Any = _RECORDED["ENDPOINT_UPDATED"]
ENDPOINT_ROTATE: Any = _RECORDED["ENDPOINT_ROTATE"]
ENDPOINT_ROTATED: Any = _RECORDED["ENDPOINT_ROTATED"]
TEST_MESSAGE: Any = _RECORDED["TEST_MESSAGE"]
ERROR_ENDPOINT_DISABLED: Any = _RECORDED["ERROR_ENDPOINT_DISABLED"]
MESSAGE_LIST: Any = _RECORDED["MESSAGE_LIST"]
ENDPOINT_ENABLED: Any = _RECORDED["ENDPOINT_ENABLED"]
MESSAGE_RETRIED: Any = _RECORDED["MESSAGE_RETRIED"]
RECOVER: Any = _RECORDED["RECOVER"]
RECOVERED: Any = _RECORDED["RECOVERED"]
ERROR_RECOVER_WINDOW: Any = _RECORDED["ERROR_RECOVER_WINDOW"]
ERROR_SCOPE_WEBHOOKS_READ: Any = _RECORDED["ERROR_SCOPE_WEBHOOKS_READ"]
ERROR_SCOPE_WEBHOOKS_WRITE: Any = _RECORDED["ERROR_SCOPE_WEBHOOKS_WRITE"]
ERROR_ENDPOINT_NOT_FOUND: Any = _RECORDED["ERROR_ENDPOINT_NOT_FOUND"]
ERROR_MESSAGE_NOT_FOUND: Any = _RECORDED["ERROR_MESSAGE_NOT_FOUND"]
ERROR_ENDPOINT_VALIDATION: Any = _RECORDED["ERROR_ENDPOINT_VALIDATION"]
ERROR_URL_PRIVATE: Any = _RECORDED["ERROR_URL_PRIVATE"]
ERROR_URL_SCHEME: Any = _RECORDED["ERROR_URL_SCHEME"]

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
