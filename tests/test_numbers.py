"""Numbers from outside: every integer a request carries has the range of what it is compared
with, so a number no column can hold is a 422 naming it (never a database error, 500), and a
field named with a digit that is not 0-9 is a problem like any other unknown field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from people import member
from people import sign_in as people_sign_in
from reelforge.db.integers import INTEGER_MAX
from reelforge.edit.errors import EditError
from reelforge.edit.timing import TimeValueError, parse_time
from reelforge.edit.validate import parse_edit
from reelforge.render.effects import LutFileError, parse_cube_file
from reelforge.render.engine import render_edit
from reelforge.render.outputs import video_codec_args
from reelforge.render.sources import LocalResolver
from reelforge.webhooks.delivery import Outcome
from service import Service
from test_api_workspaces import operator_key

OUT_OF_RANGE: list[Any] = [2**31, 2**63, 2**64, -1, "²"]
"""Above PostgreSQL's integer, above SQLite's, above any 64-bit column, negative, and a Unicode
digit ("²".isdigit() is true, but int() refuses it)."""


COLOUR_EDIT = {
    "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "red"}, "length": 1}]}]}
}


def _resources(service: Service) -> dict[str, str]:
    """A project, template, brand kit and batch of the workspace; other ids need not exist, as
    a parameter is checked before anything is looked up (no upload, no webhook URL)."""
    project = service.post("/v1/projects", json={"name": "p", "edit": COLOUR_EDIT}).json()
    template = service.post("/v1/templates", json={"name": "t", "edit": COLOUR_EDIT}).json()
    kit = service.post("/v1/brand_kits", json={"name": "k"}).json()
    batch = service.post("/v1/batches", json={"template_id": template["id"], "rows": [{}]}).json()
    absent = "0" * 26
    return {
        "project_id": project["id"],
        "template_id": template["id"],
        "kit_id": kit["id"],
        "batch_id": batch["id"],
        "number": "1",
        "asset_id": f"ast_{absent}",
        "render_id": f"rnd_{absent}",
        "event_id": f"evt_{absent}",
        "endpoint_id": f"we_{absent}",
        "message_id": f"msg_{absent}",
        "key_id": f"key_{absent}",
        "client_id": f"cli_{absent}",
        "workspace_id": f"ws_{absent}",
    }


def _fill(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return path


def _integer_parameters(doc: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(method, path, in, name) of every integer path or query parameter in the document."""

    def integer(schema: dict[str, Any]) -> bool:
        return schema.get("type") == "integer" or any(integer(s) for s in schema.get("anyOf", []))

    return [
        (method.upper(), path, p["in"], p["name"])
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        for p in op.get("parameters", [])
        if p.get("in") in ("path", "query") and integer(p.get("schema", {}))
    ]


def _client(service: Service) -> TestClient:
    """A client that answers a server error with its 500 rather than raising it in the test."""
    return TestClient(service.client.app, raise_server_exceptions=False)


def _names(r: Any, key: str) -> list[str]:
    body = r.json() if r.content else {}
    return [str(e.get(key)) for e in body.get("errors", [])]


def test_every_integer_parameter_refuses_numbers_out_of_range(service: Service) -> None:
    ids = _resources(service)
    operator = operator_key(service)
    params = _integer_parameters(service.client.app.openapi())  # type: ignore[attr-defined]
    # the numbered revisions and versions, their restores, rows, versions and every page size
    assert {(m, p) for m, p, _, n in params if n == "number"} >= {
        ("GET", "/v1/projects/{project_id}/revisions/{number}"),
        ("POST", "/v1/projects/{project_id}/revisions/{number}/restore"),
        ("GET", "/v1/templates/{template_id}/versions/{number}"),
        ("POST", "/v1/templates/{template_id}/versions/{number}/restore"),
        ("GET", "/v1/brand_kits/{kit_id}/versions/{number}"),
    }
    assert {n for _, _, _, n in params} >= {"number", "row", "version", "limit"}
    failures = []
    member(service, "numbers@example.com", "owner")
    with _client(service) as client, _client(service) as person:
        # A person's own routes (/auth/...) take the session cookie, not a key.
        assert people_sign_in(person, "numbers@example.com").status_code == 303
        csrf = person.get("/auth/session").json()["csrf_token"]
        for method, path, where, name in params:
            token = operator if path == "/v1/workspaces" else service.token
            headers = {"Authorization": f"Bearer {token}", "If-Match": "*"}
            caller = client
            if path.startswith("/auth/"):
                caller, headers = person, {"X-CSRF-Token": csrf}
            for value in OUT_OF_RANGE:
                url = _fill(path, {**ids, name: str(value)} if where == "path" else ids)
                query = {name: str(value)} if where == "query" else {}
                body = {} if method in ("POST", "PUT", "PATCH") else None
                r = caller.request(method, url, params=query, headers=headers, json=body)
                if r.status_code != 422 or name not in _names(r, "parameter"):
                    failures.append((method, path, name, value, r.status_code, r.text[:200]))
    assert not failures, "\n".join(map(str, failures))


def test_the_largest_number_is_an_unknown_revision_not_an_error(service: Service) -> None:
    """The range's top is a number like any other: no such revision, 404."""
    project = service.post("/v1/projects", json={"name": "p", "edit": COLOUR_EDIT}).json()
    r = service.get(f"/v1/projects/{project['id']}/revisions/{INTEGER_MAX}")
    assert r.status_code == 404, r.text
    r = service.post("/v1/renders", json={"project_id": project["id"], "revision": INTEGER_MAX})
    assert r.status_code == 404 and _names(r, "pointer") == ["#/revision"], r.text
    # an If-Match with a number no revision reaches is stale, not an error
    r = service.client.put(
        f"/v1/projects/{project['id']}",
        headers=service.headers(**{"If-Match": f'"{2**64}"'}),
        json={"edit": COLOUR_EDIT},
    )
    assert r.status_code == 412, r.text


def _bodies(ids: dict[str, str]) -> list[tuple[str, str, str, Any]]:
    """(method, url, pointer, body maker) of every request body holding a number of a row."""
    tpl, prj = ids["template_id"], ids["project_id"]
    return [
        ("POST", "/v1/renders", "#/revision", lambda v: {"project_id": prj, "revision": v}),
        ("POST", f"/v1/projects/{prj}/check", "#/revision", lambda v: {"revision": v}),
        ("POST", f"/v1/templates/{tpl}/check", "#/version", lambda v: {"version": v}),
        ("POST", f"/v1/templates/{tpl}/preview", "#/version", lambda v: {"version": v}),
        ("POST", f"/v1/templates/{tpl}/renders", "#/version", lambda v: {"version": v}),
        ("POST", "/v1/batches", "#/version", lambda v: {"template_id": tpl, "version": v, "rows": [{}]}),
    ]


def test_every_version_number_in_a_body_refuses_numbers_out_of_range(service: Service) -> None:
    ids = _resources(service)
    failures = []
    with _client(service) as client:
        for method, url, pointer, make in _bodies(ids):
            for value in OUT_OF_RANGE:
                r = client.request(method, url, headers=service.headers(), json=make(value))
                if r.status_code != 422 or pointer not in _names(r, "pointer"):
                    failures.append((method, url, value, r.status_code, r.text[:200]))
    assert not failures, "\n".join(map(str, failures))


@pytest.mark.parametrize("name", ["²", "١", "₃"])
def test_a_field_named_with_a_unicode_digit_is_an_unknown_field(service: Service, name: str) -> None:
    clip = {**COLOUR_EDIT["timeline"]["tracks"][0]["clips"][0], name: 1}
    edit = {"timeline": {"tracks": [{"clips": [clip]}]}, name: 2}
    with _client(service) as client:
        r = client.post("/v1/projects", headers=service.headers(), json={"name": "p", "edit": edit})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "edit-invalid"
        assert _names(r, "pointer") == [f"#/edit/timeline/tracks/0/clips/0/{name}", f"#/edit/{name}"]
        r = client.post("/v1/renders", headers=service.headers(), json={"edit": edit})
        assert r.status_code == 422 and r.json()["code"] == "edit-invalid", r.text


# ------------------------------------------------------------------ the edit language's encoder numbers


def _output_edit(**output: Any) -> dict[str, Any]:
    clip = {"asset": {"type": "color", "color": "red"}, "length": 0.2}
    return {
        "timeline": {"tracks": [{"clips": [clip]}]},
        "outputs": [{"width": 64, "height": 36, "fps": 10, "quality": "draft", **output}],
    }


REFUSED_OUTPUTS: list[tuple[dict[str, Any], str]] = [
    # (the output's fields, the pointer of the problem)
    ({"bitrate": "99999999999999999999M"}, "/outputs/0/bitrate"),
    ({"bitrate": "999999999999"}, "/outputs/0/bitrate"),
    ({"bitrate": "2000M"}, "/outputs/0/bitrate"),
    ({"bitrate": "0"}, "/outputs/0/bitrate"),
    ({"bitrate": "9" * 5000}, "/outputs/0/bitrate"),  # more digits than int() reads
    ({"audio_bitrate": "9" * 5000 + "k"}, "/outputs/0/audio_bitrate"),
    ({"bitrate": "1"}, "/outputs/0/bitrate"),
    ({"bitrate": "١٢M"}, "/outputs/0/bitrate"),
    ({"bitrate": "5000M", "format": "webm"}, "/outputs/0/bitrate"),
    ({"audio_bitrate": "99999999999k"}, "/outputs/0/audio_bitrate"),
    ({"audio_bitrate": "0k"}, "/outputs/0/audio_bitrate"),
    ({"audio_bitrate": "600k", "format": "m4a"}, "/outputs/0/audio_bitrate"),
    ({"audio_bitrate": "400k", "format": "mp3"}, "/outputs/0/audio_bitrate"),
    ({"audio_bitrate": "600k", "format": "webm"}, "/outputs/0/audio_bitrate"),
    ({"audio_bitrate": "١٢٨k"}, "/outputs/0/audio_bitrate"),
    ({"crf": 52}, "/outputs/0/crf"),
    ({"crf": 63, "codec": "h265"}, "/outputs/0/crf"),
    ({"crf": 64, "format": "webm"}, "/outputs/0/crf"),
    ({"crf": -1}, "/outputs/0/crf"),
    ({"width": 7680, "height": None, "aspect_ratio": "1:99"}, "/outputs/0/aspect_ratio"),
    ({"width": 64, "height": None, "aspect_ratio": "0:9"}, "/outputs/0/aspect_ratio"),
    (
        {"width": None, "height": None, "resolution": "2160p", "aspect_ratio": "99:1"},
        "/outputs/0/aspect_ratio",
    ),
    ({"width": None, "height": None, "aspect_ratio": "٣:٤"}, "/outputs/0/aspect_ratio"),
    ({"width": 99999}, "/outputs/0/width"),
    ({"fps": 10**30}, "/outputs/0/fps"),
    ({"width": 16, "height": 7680, "poster": {"width": 7680}}, "/outputs/0/poster/width"),
    ({"width": 16, "height": 7680, "thumbnail": {"width": 7680}}, "/outputs/0/thumbnail/width"),
    ({"poster": {"time": 1e300}}, "/outputs/0/poster/time"),
    ({"range": {"start": 0, "length": "99999999999999999999f"}}, "/outputs/0/range/length"),
]


@pytest.mark.parametrize(("output", "where"), REFUSED_OUTPUTS, ids=[repr(o)[:60] for o, _ in REFUSED_OUTPUTS])
def test_encoder_numbers_out_of_range_are_problems_at_their_pointer(
    output: dict[str, Any], where: str
) -> None:
    """Each of these passed validation and failed inside FFmpeg (or was silently clamped)."""
    document = _output_edit(**output)
    document["outputs"][0] = {k: v for k, v in document["outputs"][0].items() if v is not None}
    with pytest.raises(EditError) as caught:
        parse_edit(document)
    assert [p.pointer for p in caught.value.problems] == [where], caught.value.problems


REFUSED_CLIPS: list[tuple[dict[str, Any], str]] = [
    ({"keyframes": {"scale": [{"time": 0, "value": 1e6}]}}, "/keyframes/scale"),
    ({"keyframes": {"volume": [{"time": 0, "value": 1e300}]}}, "/keyframes/volume"),
    ({"transition_in": {"duration": 1e300}}, "/transition_in/duration"),
    ({"transition_in": {"duration": "99999999999999999999f"}}, "/transition_in/duration"),
    ({"start": 1e15}, "/start"),
    ({"length": "9999999:00:00"}, "/length"),
    ({"length": "9" * 5000 + "f"}, "/length"),
]


@pytest.mark.parametrize(("extra", "where"), REFUSED_CLIPS, ids=[repr(e)[:60] for e, _ in REFUSED_CLIPS])
def test_clip_numbers_beyond_what_ffmpeg_holds_are_problems(extra: dict[str, Any], where: str) -> None:
    document = _output_edit()
    document["timeline"]["tracks"][0]["clips"][0].update(extra)
    with pytest.raises(EditError) as caught:
        parse_edit(document)
    assert [p.pointer for p in caught.value.problems] == ["/timeline/tracks/0/clips/0" + where]


def test_the_edges_of_every_range_render(tmp_path: Path) -> None:
    """The largest and smallest accepted values are accepted by the encoders too; "m" is mega."""
    outputs = [
        {"bitrate": "1k"},
        {"bitrate": "1000M", "codec": "h265"},
        {"bitrate": "4m", "format": "webm", "audio_bitrate": "510k"},
        {"crf": 51, "codec": "h265", "audio_bitrate": "512k"},
        {"crf": 63, "format": "webm", "audio_bitrate": "6k"},
        {"format": "mp3", "audio_bitrate": "320k"},
        {"format": "m4a", "audio_bitrate": "8k"},
        {"width": 16, "height": 16, "poster": {"width": 16}},
    ]
    document = _output_edit()
    base = document["outputs"][0]
    document["outputs"] = [{**base, **o, "name": f"o{i}"} for i, o in enumerate(outputs)]
    for o in document["outputs"]:
        if o.get("format") in ("mp3", "m4a"):
            for key in ("width", "height", "quality", "fps"):
                o.pop(key)
    edit = parse_edit(document)
    assert video_codec_args(edit.outputs[2])[3] == "4000000"  # FFmpeg would read "4m" as 0.004
    result = render_edit(
        edit, out_dir=tmp_path / "out", base_dir=tmp_path, resolver=LocalResolver(tmp_path, [tmp_path])
    )
    assert len(result.outputs) == len(outputs)


# ------------------------------------------------------------------ text read as a number


@pytest.mark.parametrize("digits", ["²", "³", "¹²"])
def test_a_unicode_digit_where_a_number_is_read_is_no_crash(tmp_path: Path, digits: str) -> None:
    """``str.isdigit`` is true for "²", which ``int`` and ``float`` refuse: a receiver's
    Retry-After and a LUT's size written so are malformed, not an exception."""
    now = datetime.now(UTC)
    outcome = Outcome(now, 1.0, status=429, headers={"retry-after": digits})
    assert outcome.retry_after() is None
    assert Outcome(now, 1.0, status=429, headers={"retry-after": "7"}).retry_after() == 7.0
    cube = tmp_path / "bad.cube"
    cube.write_text(f"LUT_3D_SIZE {digits}\n", encoding="utf-8")
    with pytest.raises(LutFileError, match="LUT_3D_SIZE must be a whole number"):
        parse_cube_file(cube)


@pytest.mark.parametrize("text", ["9" * 5000 + "f", "9" * 5000, "1" * 5000 + ":00:00"])
def test_a_time_with_more_digits_than_int_reads_is_a_time_error(text: str) -> None:
    """Read outside a model too (a template's duration variable): a TimeValueError, which
    callers report, not the ValueError of Python's limit on digits."""
    with pytest.raises(TimeValueError, match="at most 1000000 seconds"):
        parse_time(text)
