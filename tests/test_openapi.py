"""The OpenAPI document shows real examples, and they stay real.

* Every operation under ``/v1`` documents an example of its success response and, when it takes
  a body, of the body; every problem example is a published type of the catalogue.
* Every request example of an operation that creates or changes something is sent to a running
  service (the ids in it replaced by ids of resources made here): the answer must have the
  documented status and every top-level key of the documented response example. GET and the
  body-less POSTs are called too, so no example can drift from what the code returns.

The examples themselves (``reelforge.api.examples``) are recorded from the real service, with a
worker rendering real media: ``.venv/bin/python scripts/record_examples.py core`` records them again
(about a minute).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reelforge.api import examples as ex
from reelforge.api.problems import CATALOGUE, PROBLEM_BASE
from service import Service

JSON = "application/json"
PROBLEM = "application/problem+json"
METHODS = ("get", "head", "post", "put", "patch", "delete")
BINARY = {
    ("GET", "/v1/assets/{asset_id}/content"),
    ("HEAD", "/v1/assets/{asset_id}/content"),
    ("GET", "/v1/assets/{asset_id}/thumbnail"),
    ("GET", "/v1/assets/{asset_id}/waveform"),
    ("DELETE", "/v1/assets/{asset_id}"),
    ("DELETE", "/v1/projects/{project_id}"),
}
"""Operations whose success has no JSON body (bytes, or 204): they document headers or nothing."""
BINARY |= {("GET", "/v1/renders/{render_id}/progress"), ("GET", "/v1/events/stream")}  # text/event-stream
BINARY |= {("DELETE", "/v1/templates/{template_id}")}  # 204
BINARY |= {("DELETE", "/v1/webhook_endpoints/{endpoint_id}")}  # 204
BINARY |= {("DELETE", "/v1/brand_kits/{kit_id}")}  # 204
BINARY |= {
    ("DELETE", "/v1/destinations/{destination_id}"),  # 204
    ("GET", "/v1/renders/{render_id}/files/{index}"),
    ("GET", "/v1/renders/{render_id}/files.zip"),
    ("GET", "/v1/batches/{batch_id}/files.zip"),
}
BINARY |= {("GET", "/v1/renders/{render_id}/log")}  # text/plain
BINARY |= {("GET", "/v1/assets/{asset_id}/transcripts/{transcript_id}/export")}  # subtitle files
BINARY |= {("GET", "/v1/assets/{asset_id}/versions/{number}/content")}
BINARY |= {  # tus: the state is in headers
    ("HEAD", "/v1/uploads/{upload_id}"),
    ("PATCH", "/v1/uploads/{upload_id}"),
    ("DELETE", "/v1/uploads/{upload_id}"),
    ("POST", "/v1/uploads/{upload_id}"),
}
BINARY |= {("DELETE", "/v1/members/{member_id}")}  # 204
BINARY |= {("POST", "/v1/oauth/revoke")}  # RFC 7009: 200 without a body
UNSCOPED = {"/v1/workspace", "/v1/oauth/token", "/v1/oauth/revoke"}
"""Paths that need no scope (any credential, or none)."""


# ------------------------------------------------------------------ reading the document


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def examples_of(media: dict[str, Any]) -> dict[str, Any]:
    """Named example values of a media type object (``example`` counts as one named "")."""
    found = {name: e["value"] for name, e in (media.get("examples") or {}).items()}
    if "example" in media:
        found[""] = media["example"]
    return found


def success_examples(op: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """status -> {name: example} of the JSON 2xx responses."""
    out: dict[int, dict[str, Any]] = {}
    for status, response in op["responses"].items():
        if status.isdigit() and 200 <= int(status) < 300:
            media = (response.get("content") or {}).get(JSON)
            if media is not None:
                out[int(status)] = examples_of(media)
    return out


def request_examples(op: dict[str, Any], media_type: str = JSON) -> dict[str, Any]:
    return examples_of(op.get("requestBody", {}).get("content", {}).get(media_type, {}))


@pytest.fixture
def spec(sqlite_service: Service) -> dict[str, Any]:
    r = sqlite_service.client.get("/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def test_every_operation_documents_real_looking_examples(spec: dict[str, Any]) -> None:
    ops = operations(spec)
    assert len(ops) > 30
    for (method, path), op in ops.items():
        where = f"{method} {path}"
        assert op.get("summary"), where
        statuses = [int(s) for s in op["responses"] if s.isdigit()]
        assert any(200 <= s < 300 for s in statuses), where
        # FastAPI's own 422 schema would say errors are {"detail": [...]}: they are problems.
        assert "HTTPValidationError" not in json.dumps(op["responses"]), where
        if not path.startswith("/v1"):
            continue
        documented = success_examples(op)
        if (method, path) in BINARY:
            assert not any(documented.values()), f"{where}: a JSON example for a response without JSON"
        else:
            assert documented and all(documented.values()), f"{where}: a 2xx response without an example"
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            assert examples_of(media), f"{where}: a {media_type} body without an example"
        if path != "/v1/oauth/token":
            assert "401" in op["responses"], f"{where}: 401 not documented"
        if path not in UNSCOPED:
            assert "403" in op["responses"], f"{where}: 403 (scope) not documented"
        if "{" in path:
            assert "404" in op["responses"], f"{where}: 404 not documented"


def test_problem_examples_are_catalogued_types(spec: dict[str, Any]) -> None:
    seen = set()
    for (method, path), op in operations(spec).items():
        for status, response in op["responses"].items():
            media = (response.get("content") or {}).get(PROBLEM)
            if media is None or status == "default":
                continue
            assert int(status) >= 400, (method, path, status)
            bodies = examples_of(media)
            assert bodies, (method, path, status)
            for body in bodies.values():
                code = body["code"]
                assert CATALOGUE[code] == (body["status"], body["title"]), body
                assert body["type"] == PROBLEM_BASE + code and body["status"] == int(status), body
                assert body["request_id"].startswith("req_") and body["instance"].startswith(
                    ("/v1/", "/auth/")
                ), body
                for located in body.get("errors", []):
                    assert {"pointer", "parameter", "header"} & located.keys(), body
                seen.add(code)
    assert {
        "unauthenticated",
        "insufficient-scope",
        "not-found",
        "conflict",
        "precondition-failed",
        "precondition-required",
        "validation-error",
        "edit-invalid",
        "media-unsupported",
    } <= seen


# ------------------------------------------------------------------ examples against the service


class Checker:
    """Sends requests, compares answers with the documented examples, records what was covered."""

    def __init__(self, svc: Service, spec: dict[str, Any]):
        self.svc = svc
        self.ops = operations(spec)
        self.ids: dict[str, str] = {}
        """Example id -> the id of the resource made here that stands for it."""
        self.covered: set[tuple[str, str]] = set()

    def real(self, value: Any) -> Any:
        text = json.dumps(value)
        for example_id, real_id in self.ids.items():
            text = text.replace(example_id, real_id)
        return json.loads(text)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        name: str | None = None,
        expect: int | None = None,
        **kw: Any,
    ) -> Any:
        """Call ``method path`` (path parameters from ``params``); check the answer against the
        documented example called ``name`` (or the one of the status ``expect``)."""
        op = self.ops[(method, path)]
        url = path
        for key, value in (params or {}).items():
            url = url.replace("{" + key + "}", value)
        headers = {k: v for k, v in {**self.svc.headers(), **kw.pop("headers", {})}.items() if v is not None}
        r = self.svc.client.request(method, url, headers=headers, **kw)
        documented = success_examples(op)
        if name is not None and expect is None:
            named = [s for s, found in documented.items() if name in found]
            expect = named[0] if named else (next(iter(documented)) if len(documented) == 1 else None)
        assert expect is not None, f"{method} {path}: which response does example {name!r} get?"
        assert str(expect) in op["responses"], f"{method} {path}: {expect} is not documented"
        assert r.status_code == expect, (method, url, name, r.status_code, r.text)
        if documented.get(expect):
            shown = (
                documented[expect].get(name)
                if name in documented[expect]
                else next(iter(documented[expect].values()))
            )
            body = r.json()
            missing = set(shown) - set(body)
            assert not missing, f"{method} {path} ({name}): the example shows {missing}, the service does not"
            if shown.get("object") == "list" and shown["data"] and body["data"]:
                item_missing = set(shown["data"][0]) - set(body["data"][0])
                assert not item_missing, f"{method} {path}: list items lack {item_missing}"
        self.covered.add((method, path))
        return r

    def send_examples(
        self,
        method: str,
        path: str,
        media_type: str = JSON,
        *,
        params: Callable[[], dict[str, str]] | None = None,
        headers: Callable[[], dict[str, str]] | None = None,
        send: Callable[[Any], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Send every request example of the operation; return the answers by example name."""
        found = request_examples(self.ops[(method, path)], media_type)
        assert found, f"{method} {path}: no {media_type} example"
        answers = {}
        for name, value in found.items():
            body = self.real(value)
            kw = send(body) if send else {"json": body}
            kw["headers"] = {**(headers() if headers else {}), **kw.get("headers", {})}
            r = self.call(method, path, params=params() if params else None, name=name, **kw)
            answers[name] = r.json()
        return answers


def _assets(svc: Service, media: Any, checker: Checker) -> None:
    """The example's assets, of the same kinds and long enough for its trims; the video one
    through the documented multipart example."""
    intro = Path(media.video(duration=6))
    answers = checker.send_examples(
        "POST",
        "/v1/assets",
        "multipart/form-data",
        send=lambda fields: {
            "files": {"file": ("intro.mp4", intro.read_bytes())},
            "data": {k: v for k, v in fields.items() if k != "file"},
        },
    )
    checker.ids[ex.INTRO_ID] = next(iter(answers.values()))["id"]
    checker.call(
        "POST", "/v1/assets", name="the same bytes again", files={"file": ("copy.mp4", intro.read_bytes())}
    )
    others = {
        ex.BROLL_ID: media.video(duration=6, color="green"),
        ex.MUSIC_ID: media.audio(duration=2),
        ex.LOGO_ID: media.image(size=(64, 64)),
    }
    for example_id, path in others.items():
        r = svc.post("/v1/assets", files={"file": (Path(path).name, Path(path).read_bytes())})
        assert r.status_code == 201, r.text
        checker.ids[example_id] = r.json()["id"]
    assert svc.services.previews().wait(60)  # thumbnails and waveforms are made after the uploads answer


def test_examples_work_against_the_service(sqlite_service: Service, spec: dict[str, Any], media: Any) -> None:
    svc, c = sqlite_service, Checker(sqlite_service, spec)
    c.call("GET", "/v1/workspace", expect=200)

    # keys and OAuth clients
    key = next(iter(c.send_examples("POST", "/v1/keys").values()))
    c.ids[ex.KEY_ID] = key["id"]
    c.call("GET", "/v1/keys", expect=200)
    c.call("GET", "/v1/keys/{key_id}", params={"key_id": key["id"]}, expect=200)
    c.send_examples("POST", "/v1/keys/{key_id}/roll", params=lambda: {"key_id": key["id"]})
    c.call("POST", "/v1/keys/{key_id}/revoke", params={"key_id": key["id"]}, expect=200)
    client = next(iter(c.send_examples("POST", "/v1/oauth/clients").values()))
    c.call("GET", "/v1/oauth/clients", expect=200)
    basic = {"auth": (client["id"], client["client_secret"])}
    c.send_examples(
        "POST",
        "/v1/oauth/token",
        "application/x-www-form-urlencoded",
        send=lambda form: {"data": form, **basic, "headers": {"Authorization": None}},
    )
    c.call("POST", "/v1/oauth/clients/{client_id}/revoke", params={"client_id": client["id"]}, expect=200)

    # workspaces, as the operator (a key only the CLI makes)
    from test_api_workspaces import operator_key

    operator = {"Authorization": f"Bearer {operator_key(svc)}"}
    made = next(iter(c.send_examples("POST", "/v1/workspaces", headers=lambda: operator).values()))
    c.call("GET", "/v1/workspaces", expect=200, headers=operator)
    workspace = {"workspace_id": made["id"]}
    c.call("GET", "/v1/workspaces/{workspace_id}", params=workspace, expect=200, headers=operator)
    c.send_examples(
        "PATCH", "/v1/workspaces/{workspace_id}", params=lambda: workspace, headers=lambda: operator
    )
    c.call("GET", "/v1/workspaces/{workspace_id}/limits", params=workspace, expect=200, headers=operator)
    c.send_examples(
        "PATCH", "/v1/workspaces/{workspace_id}/limits", params=lambda: workspace, headers=lambda: operator
    )

    # assets
    _assets(svc, media, c)
    asset = {"asset_id": c.ids[ex.INTRO_ID]}
    c.call("GET", "/v1/assets", expect=200)
    c.call("GET", "/v1/collections", expect=200)
    c.call("GET", "/v1/assets/{asset_id}", params=asset, expect=200)
    c.send_examples("PATCH", "/v1/assets/{asset_id}", params=lambda: asset)
    c.call("GET", "/v1/assets/{asset_id}/content", params=asset, expect=206, headers={"Range": "bytes=0-99"})
    c.call("HEAD", "/v1/assets/{asset_id}/content", params=asset, expect=200)
    c.call("GET", "/v1/assets/{asset_id}/thumbnail", params=asset, expect=200)
    c.call("GET", "/v1/assets/{asset_id}/waveform", params={"asset_id": c.ids[ex.MUSIC_ID]}, expect=200)

    # projects: the documented edit, then each patch on a fresh copy of it
    def create_project() -> dict[str, Any]:
        return dict(next(iter(c.send_examples("POST", "/v1/projects").values())))

    project = create_project()
    c.ids[ex.PROJECT_ID] = project["id"]
    target = {"project_id": project["id"]}

    def current() -> dict[str, str]:
        return {"If-Match": svc.get(f"/v1/projects/{project['id']}").headers["etag"]}

    def patched(body: Any) -> dict[str, Any]:
        return {
            "content": json.dumps(body),
            "headers": {"Content-Type": "application/json-patch+json", **current()},
        }

    # one after the other on the same project (each also works alone: see the next test)
    c.send_examples(
        "PATCH",
        "/v1/projects/{project_id}",
        "application/json-patch+json",
        params=lambda: target,
        send=patched,
    )
    c.call("GET", "/v1/projects", expect=200)
    c.call("GET", "/v1/projects/{project_id}", params={"project_id": project["id"]}, expect=200)
    c.call("GET", "/v1/projects/{project_id}/revisions", params={"project_id": project["id"]}, expect=200)
    c.call(
        "GET",
        "/v1/projects/{project_id}/revisions/{number}",
        params={"project_id": project["id"], "number": "1"},
        expect=200,
    )

    # renders (nothing runs them here: they stay queued)
    for name, body in request_examples(c.ops[("POST", "/v1/renders")]).items():
        c.call("POST", "/v1/renders", name=name, json=c.real(body))
    renders = svc.get("/v1/renders").json()["data"]
    assert len(renders) == 2
    c.call("GET", "/v1/renders", expect=200)
    c.call("GET", "/v1/renders/{render_id}", params={"render_id": renders[0]["id"]}, expect=200)
    c.call("POST", "/v1/renders/{render_id}/cancel", params={"render_id": renders[0]["id"]}, expect=200)
    c.call("GET", "/v1/renders/{render_id}/log", params={"render_id": renders[0]["id"]}, expect=200)
    c.call("GET", "/v1/analytics/renders", expect=200)

    # replacing and restoring (after the renders: a render keeps the revision it was made from)
    c.send_examples("PUT", "/v1/projects/{project_id}", params=lambda: target, headers=current)
    c.send_examples(
        "POST",
        "/v1/projects/{project_id}/revisions/{number}/restore",
        params=lambda: {**target, "number": "1"},
        headers=current,
    )

    # deleting
    doomed = create_project()
    c.call("DELETE", "/v1/projects/{project_id}", params={"project_id": doomed["id"]}, expect=204)
    r = svc.post("/v1/assets", files={"file": ("spare.png", Path(media.image(color="red")).read_bytes())})
    c.call("DELETE", "/v1/assets/{asset_id}", params={"asset_id": r.json()["id"]}, expect=204)

    # Each later feature's test module checks its own operations' examples.
    from test_accounts import check_openapi_examples as account_examples
    from test_api_templates import check_openapi_examples as template_examples
    from test_asset_versions import check_openapi_examples as version_examples
    from test_batches import check_openapi_examples as batch_examples
    from test_brand_kits import exercise_examples as brand_kit_examples
    from test_delivery import check_openapi_examples as delivery_examples
    from test_events import check_openapi_examples as event_examples
    from test_otio import check_openapi_examples as otio_examples
    from test_transcripts import check_openapi_examples as transcript_examples
    from test_uploads import check_openapi_examples as upload_examples
    from test_webhooks import check_openapi_examples as webhook_examples

    batch_examples(c, svc, media)
    brand_kit_examples(c, svc, media)
    event_examples(c, svc)
    webhook_examples(c, svc)
    template_examples(c, svc, media)
    delivery_examples(c, svc)  # last: it runs a render (after cancelling the queued ones)
    upload_examples(c, svc)
    transcript_examples(c, svc)
    otio_examples(c, svc, media)
    version_examples(c, svc, media)
    account_examples(c, svc)

    untested = {op for op in c.ops if op[1].startswith("/v1")} - c.covered
    assert not untested, f"add these operations to this test: {sorted(untested)}"


def test_patch_examples_apply_to_the_documented_edit(
    sqlite_service: Service, spec: dict[str, Any], media: Any
) -> None:
    """Each named JSON Patch example, on a project made from the documented edit, gives a new
    revision (so none depends on another having run first)."""
    svc, c = sqlite_service, Checker(sqlite_service, spec)
    _assets(svc, media, c)
    create = c.real(next(iter(request_examples(c.ops[("POST", "/v1/projects")]).values())))
    for name, ops in request_examples(
        c.ops[("PATCH", "/v1/projects/{project_id}")], "application/json-patch+json"
    ).items():
        project = svc.post("/v1/projects", json=create).json()
        r = svc.client.patch(
            f"/v1/projects/{project['id']}",
            content=json.dumps(ops),
            headers=svc.headers(**{"Content-Type": "application/json-patch+json", "If-Match": '"1"'}),
        )
        assert r.status_code == 200, (name, r.text)
        assert r.json()["revision"] == 2 and r.json()["edit"] != create["edit"], name
