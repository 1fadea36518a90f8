"""The attack corpus (tests/corpus/*.json and the hostile files of scripts/make_attack_corpus.py)
run against ingest (uploads), edits (text, captions, fonts, names, sources), webhook
registration (SSRF) and the renderer.

Every answer: no 5xx, no traceback, no server path. Bombs are refused or bounded; SSRF
addresses in every spelling are refused and never contacted; hostile text renders (taken
literally) or fails with a located problem.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import reelforge
from reelforge.edit.errors import EditError
from service import Service, running_service, with_previews

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "make_attack_corpus", ROOT / "scripts" / "make_attack_corpus.py"
)
assert _spec is not None and _spec.loader is not None
corpus = importlib.util.module_from_spec(_spec)
sys.modules["make_attack_corpus"] = corpus
_spec.loader.exec_module(corpus)

STRINGS: list[str] = corpus.strings()
PATHS: list[str] = corpus.paths()
MAX_SIDE = 8192

# Figures of the run, printed at the end of the module (pytest -s shows them).
TRIED: dict[str, int] = {}


def _count(kind: str, n: int = 1) -> None:
    TRIED[kind] = TRIED.get(kind, 0) + n


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    print(f"\nattack corpus: cases tried {TRIED}")


def assert_clean(r: httpx.Response, svc: Service) -> None:
    """No 5xx, no traceback, no path of the server in the answer."""
    assert r.status_code < 500, r.text
    text = r.text
    assert "Traceback" not in text and 'File "' not in text, text[:2000]
    for secret in {str(svc.data_dir), str(svc.data_dir.resolve()), str(Path(reelforge.__file__).parent)}:
        assert secret not in text, f"server path {secret} in {text[:2000]}"
    assert "site-packages" not in text, text[:2000]


def _short(s: str) -> str:
    return s[:40].encode("unicode_escape").decode()


def test_the_corpus_data_is_what_the_script_writes(tmp_path: Path) -> None:
    corpus.write_json(tmp_path)
    for name in ("strings.json", "paths.json", "ssrf.json"):
        assert json.loads((tmp_path / name).read_text()) == json.loads((corpus.CORPUS / name).read_text()), (
            name
        )
    assert len(STRINGS) > 50 and max(map(len, STRINGS)) >= 100_000


# ------------------------------------------------------------------ ingest


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    # Rate limits off: the corpus sends hundreds of writes in seconds.
    with running_service(tmp_path_factory.mktemp("attack"), rate_limiting=False) as s:
        yield s


@pytest.mark.parametrize("key", sorted(corpus.HOSTILE))
def test_hostile_files_are_refused_or_bounded(svc: Service, key: str) -> None:
    name, make = corpus.HOSTILE[key]
    _count("hostile files")
    r = svc.post("/v1/assets", files={"file": (name, make(), "application/octet-stream")})
    assert_clean(r, svc)
    assert r.status_code in (201, 413, 415, 422), r.text
    if r.status_code != 201:
        assert r.json()["detail"], r.text
        return
    asset = with_previews(svc, r.json())
    media = asset.get("media") or {}
    for side in ("width", "height"):
        if media.get(side) is not None:
            assert media[side] <= MAX_SIDE, asset
    content = svc.get(f"/v1/assets/{asset['id']}/content")
    assert_clean(content, svc)
    # A polyglot is served as what its bytes were taken for, never as a page a browser runs.
    assert "html" not in content.headers.get("content-type", ""), content.headers
    assert svc.client.delete(f"/v1/assets/{asset['id']}", headers=svc.headers()).status_code == 204


def test_hostile_svgs_are_drawn_within_the_bound_or_refused(svc: Service) -> None:
    """An SVG declaring 16000x16000 is stored as a PNG of at most 2048 a side; one with entity
    declarations (the billion laughs) is refused before anything expands them."""
    name, make = corpus.HOSTILE["svg-bomb"]
    r = svc.post("/v1/assets", files={"file": (name, make(), "application/octet-stream")})
    assert r.status_code == 201, r.text
    asset = r.json()
    assert asset["content_type"] == "image/png" and asset["media"]["rasterised_from"] == "image/svg+xml"
    assert max(asset["media"]["width"], asset["media"]["height"]) <= 2048, asset
    assert svc.client.delete(f"/v1/assets/{asset['id']}", headers=svc.headers()).status_code == 204
    name, make = corpus.HOSTILE["svg-billion-laughs"]
    r = svc.post("/v1/assets", files={"file": (name, make(), "application/octet-stream")})
    assert_clean(r, svc)
    assert r.status_code == 422 and r.json()["code"] == "media-unsupported", r.text
    assert "DOCTYPE" in r.json()["detail"]


def _png(media: Any) -> bytes:
    return bytes(media.image(size=(16, 16)).read_bytes())


@pytest.mark.parametrize("group", ["strings", "paths"])
def test_hostile_names_tags_and_metadata_on_upload(svc: Service, media: Any, group: str) -> None:
    png = _png(media)
    for s in STRINGS if group == "strings" else PATHS:
        for fields in ({"name": s}, {"tags": s}, {"metadata": json.dumps({"note": s})}, {"metadata": s}):
            _count("upload fields")
            r = svc.post("/v1/assets", files={"file": ("x.png", png, "image/png")}, data=fields)
            assert_clean(r, svc)
            assert r.status_code in (200, 201, 413, 422), (_short(s), r.text)  # 200: the same bytes again
        try:
            r = svc.post("/v1/assets", files={"file": (s, png, "image/png")})
        except (UnicodeError, ValueError):
            continue  # the client cannot even send this file name
        _count("upload fields")
        assert_clean(r, svc)
        if r.status_code == 201:
            # The stored file is named by the service, never by the client's name.
            stored = [p for p in svc.services.storage.root.rglob("*") if p.is_file()]
            assert all(".." not in p.relative_to(svc.services.storage.root).parts for p in stored)


# ------------------------------------------------------------------ edits


def _edit(clips: list[dict[str, Any]], **timeline: Any) -> dict[str, Any]:
    return {
        "timeline": {"tracks": [{"clips": clips}], **timeline},
        "outputs": [{"width": 64, "height": 36, "fps": 5, "quality": "draft", "audio": False}],
    }


def hostile_edits(s: str) -> list[dict[str, Any]]:
    """Every place an edit carries a string a client chooses."""
    text = {"type": "text", "text": s}
    return [
        _edit([{"asset": text, "length": 0.2, "name": s[:200]}]),
        _edit([{"asset": {"type": "caption", "cues": [{"start": 0, "end": 0.2, "text": s}]}, "length": 0.2}]),
        _edit([{"asset": {**text, "style": {"font": s}}, "length": 0.2}]),
        _edit([{"asset": {"type": "caption", "src": s}, "length": 0.2}]),
        _edit([{"asset": {"type": "video", "src": s}}]),
        _edit([{"asset": {"type": "image", "src": s}, "length": 0.2, "effects": {"lut": s}}]),
        _edit([{"asset": text, "length": 0.2}], fonts=[s], soundtrack={"src": s}),
        {**_edit([{"asset": text, "length": 0.2}]), "outputs": [{"name": s, "width": 64, "height": 36}]},
    ]


def test_hostile_strings_in_edits_get_clean_answers(svc: Service) -> None:
    for s in STRINGS + PATHS:
        for edit in hostile_edits(s):
            for url, body in (
                ("/v1/projects", {"name": s[:200] or "x", "edit": edit}),
                ("/v1/renders", {"edit": edit}),
            ):
                _count("edits")
                r = svc.post(url, json=body)
                assert_clean(r, svc)
                assert r.status_code in (200, 201, 202, 400, 404, 409, 413, 422), (_short(s), url, r.text)
                if r.status_code == 422 and r.json().get("errors"):
                    assert all("pointer" in e for e in r.json()["errors"]), r.text


# ------------------------------------------------------------------ SSRF


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port that counts who connects (it must stay untouched)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    yield sock
    sock.close()


def _connections(sock: socket.socket) -> int:
    n = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return n
        conn.close()
        n += 1


def _delivery_refused(s: Service, endpoint_id: str) -> None:
    """Send the endpoint a test message; its attempt must be refused before connecting."""
    from test_webhooks import attempts, messages, wait_for

    assert s.post(f"/v1/webhook_endpoints/{endpoint_id}/test").status_code == 202
    message = wait_for(lambda: [m for m in messages(s, endpoint_id) if m["attempts"] >= 1])[0]
    attempt = attempts(s, endpoint_id, message["id"])[0]
    assert attempt["response_status"] is None, attempt
    assert attempt["error_class"] in ("ssrf_blocked", "dns"), attempt


def test_ssrf_addresses_in_every_spelling_are_refused_and_never_contacted(
    tmp_path: Path, listener: socket.socket
) -> None:
    """An IP literal is refused at registration. A host name (``localhost.``) may be taken at
    registration, which does not look names up; its delivery is refused before connecting."""
    port = listener.getsockname()[1]
    # Plain HTTP and the listener's port allowed, so only the address can be what refuses.
    with running_service(
        tmp_path, rate_limiting=False, webhooks_allow_http=True, webhooks_allowed_ports=[port]
    ) as s:
        for url in corpus.ssrf_urls(port):
            _count("ssrf urls")
            r = s.post("/v1/webhook_endpoints", json={"url": url})
            assert_clean(r, s)
            if r.status_code == 201 and "//localhost" in url.lower():
                _delivery_refused(s, r.json()["id"])
                assert (
                    s.client.delete(
                        f"/v1/webhook_endpoints/{r.json()['id']}", headers=s.headers()
                    ).status_code
                    == 204
                )
            else:
                assert r.status_code == 422, (url, r.text)
            _count("ssrf urls")
            r = s.post("/v1/renders", json={"edit": _edit([{"asset": {"type": "video", "src": url}}])})
            assert_clean(r, s)
            assert r.status_code in (404, 422), (url, r.text)
    assert _connections(listener) == 0


# ------------------------------------------------------------------ the renderer


def _render_hostile_text(tmp_path: Path, texts: list[str]) -> None:
    """Strings the installed fonts can draw render literally; the others are refused before
    rendering, each at its own clip and cue, naming the characters (never drawn as boxes)."""
    from reelforge.render.fonts import font_chain, uncovered

    chains = [font_chain("DejaVu Sans", weight=weight) for weight in ("normal", "bold")]
    undrawable = [t for t in texts if any(uncovered(t, chain) for chain in chains)]
    drawable = [t for t in texts if t not in undrawable]
    if drawable:
        _render_texts(tmp_path, drawable)
    if undrawable:
        expected = {
            f"/timeline/tracks/0/clips/{i}/asset/text"
            for i, t in enumerate(undrawable)
            if uncovered(t, chains[0])
        }
        expected |= {
            f"/timeline/tracks/1/clips/0/asset/cues/{i}/text"
            for i, t in enumerate(undrawable)
            if uncovered(t, chains[1])
        }
        _refused_texts(tmp_path, undrawable, expected)


def _hostile_edit(texts: list[str]) -> Any:
    from reelforge.edit.validate import parse_edit

    clips = [{"asset": {"type": "text", "text": t[:5000]}, "length": 0.2} for t in texts]
    cues = [
        {"start": round(i * 0.2, 1), "end": round(i * 0.2 + 0.2, 1), "text": t} for i, t in enumerate(texts)
    ]
    doc = {
        "timeline": {
            "tracks": [
                {"clips": clips},
                {"clips": [{"asset": {"type": "caption", "cues": cues}, "length": "end"}]},
            ]
        },
        "outputs": [{"width": 64, "height": 36, "fps": 5, "quality": "draft", "audio": False, "name": "out"}],
    }
    try:
        return parse_edit(doc, placeholders=False)
    except EditError as exc:
        pytest.fail(f"hostile text refused: {exc}")  # text is text: every string is valid


def _refused_texts(tmp_path: Path, texts: list[str], expected: set[str]) -> None:
    from reelforge.render.engine import render_edit
    from reelforge.render.sources import LocalResolver

    edit = _hostile_edit(texts)
    with pytest.raises(EditError) as refused:
        render_edit(edit, out_dir=tmp_path / "refused", base_dir=tmp_path, resolver=LocalResolver(tmp_path))
    problems = refused.value.problems
    assert all(p.code == "glyph_missing" and "U+" in p.message for p in problems), problems
    assert {p.pointer for p in problems} == expected
    assert not (tmp_path / "refused").exists() or not any((tmp_path / "refused").iterdir())
    _count("refused strings", len(texts))


def _render_texts(tmp_path: Path, texts: list[str]) -> None:
    from reelforge.render.engine import render_edit
    from reelforge.render.sources import LocalResolver

    edit = _hostile_edit(texts)
    result = render_edit(edit, out_dir=tmp_path / "out", base_dir=tmp_path, resolver=LocalResolver(tmp_path))
    assert all(o.path.stat().st_size > 0 for o in result.outputs)
    _count("renders")
    _count("rendered strings", len(texts))


def _text_ok(s: str) -> bool:
    return 0 < len(s) <= 5000


def test_hostile_text_renders_literally(tmp_path: Path) -> None:
    """One string of each kind in one tiny render (the whole corpus is the slow test below)."""
    groups = json.loads((corpus.CORPUS / "strings.json").read_text())["injections"]
    texts = [corpus.expand(g[0]) for g in groups.values() if _text_ok(corpus.expand(g[0]))]
    _render_hostile_text(tmp_path, texts)


@pytest.mark.slow
def test_the_whole_corpus_renders_literally(tmp_path: Path) -> None:
    _render_hostile_text(tmp_path, [s for s in STRINGS if _text_ok(s)])
