"""Brand kits through HTTP: CRUD with versions, bad input with pointers, `{{brand.…}}` filled at
render creation from the kit's current version, and a kit font drawn by its family name.

Real databases (SQLite and PostgreSQL), real uploads, real renders with FFmpeg on tiny stills.
The font test uses DejaVu Serif renamed to a family fontconfig does not know, so the text can
only be drawn with it if the kit's file reaches the engine.

Run as a script (``.venv/bin/python tests/test_brand_kits.py``) to record the OpenAPI examples
in ``reelforge.api.examples_brand_kits`` from a running service.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))

from reelforge.db.audit import AuditEntry
from reelforge.db.models import Render
from reelforge.edit.validate import parse_edit
from reelforge.render.engine import render_edit
from service import Service
from service import wait_render as wait

SERIF = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FAMILY = "Reelforge Brand Serif"


# ------------------------------------------------------------------ helpers


def renamed_font(source: Path, target: Path, family: str) -> Path:
    """``source`` with its family renamed, so only a copy of this very file can provide it."""
    font = TTFont(str(source))
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 4, 16):
            names.setName(family, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 6:
            names.setName(
                family.replace(" ", ""), record.nameID, record.platformID, record.platEncID, record.langID
            )
    font.save(str(target))
    return target


def upload(svc: Service, path: Path, name: str | None = None) -> str:
    r = svc.post("/v1/assets", files={"file": (name or path.name, path.read_bytes())})
    assert r.status_code in (200, 201), r.text
    return str(r.json()["id"])


def brand_font(svc: Service, tmp: Path) -> str:
    return upload(svc, renamed_font(SERIF, tmp / "brand-serif.ttf", FAMILY))


def kit_body(font: str, logo: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "Acme",
        "logos": {"logo": logo},
        "colors": {"primary": "#ff3300", "ink": "#ffffff"},
        "fonts": {"heading": {"asset": font}},
        **extra,
    }


def create_kit(svc: Service, body: dict[str, Any]) -> dict[str, Any]:
    r = svc.post("/v1/brand_kits", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def text_edit(
    kit: str | None,
    *,
    font: str = "{{brand.fonts.heading}}",
    color: str = "{{brand.colors.primary}}",
    size: tuple[int, int] = (320, 180),
    **style: Any,
) -> dict[str, Any]:
    edit: dict[str, Any] = {
        "timeline": {
            "background": "#000000",
            "tracks": [
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "Bold Rag",
                                "style": {"font": font, "color": color, "size": 0.3, **style},
                            },
                            "length": 1,
                        }
                    ]
                }
            ],
        },
        "outputs": [{"format": "png", "width": size[0], "height": size[1], "time": 0.5}],
    }
    if kit is not None:
        edit["brand"] = kit
    return edit


def render_pixels(svc: Service, edit: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    r = svc.post("/v1/renders", json={"edit": edit})
    assert r.status_code == 202, r.text
    done = wait(svc, r.json()["id"])
    assert done["state"] == "succeeded", done["error"]
    out = next(o for o in done["outputs"] if o["role"] == "output")
    content = svc.get(f"/v1/assets/{out['id']}/content")
    assert content.status_code == 200
    path = svc.data_dir / f"{out['id']}.png"
    path.write_bytes(content.content)
    return done, np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


# ------------------------------------------------------------------ CRUD and versions


def test_kit_crud_with_versions(service: Service, media: Any, tmp_path: Path) -> None:
    font = brand_font(service, tmp_path)
    logo = upload(service, Path(media.image(size=(64, 32), color="red")))
    intro = upload(service, Path(media.video(duration=0.4)))
    body = kit_body(
        font,
        logo,
        intro=intro,
        caption_style={"font": FAMILY, "size": 0.05, "color": "#ffffff"},
        watermark={"src": logo, "anchor": "top-right", "opacity": 0.5},
        rules={"require_logo": True},
        message="first",
    )
    r = service.post("/v1/brand_kits", json=body)
    assert r.status_code == 201, r.text
    kit = r.json()
    assert kit["id"].startswith("bk_") and kit["object"] == "brand_kit" and kit["version"] == 1
    assert r.headers["etag"] == '"1"' and r.headers["location"].endswith(f"/v1/brand_kits/{kit['id']}")
    # the family is read from the uploaded file, not taken from the request
    assert kit["fonts"]["heading"] == {"asset": font, "locales": {}, "family": FAMILY, "locale_families": {}}
    assert kit["safe_zones"] == {"9:16": {"top": 0.14, "bottom": 0.2, "left": 0.0, "right": 0.0}}
    assert kit["caption_style"]["font"] == FAMILY and kit["caption_style"]["position"] == "bottom"
    assert (
        kit["watermark"]["opacity"] == 0.5 and kit["rules"]["require_logo"] is True and kit["intro"] == intro
    )

    got = service.get(f"/v1/brand_kits/{kit['id']}")
    assert got.status_code == 200 and got.json()["colors"] == {"primary": "#ff3300", "ink": "#ffffff"}
    assert service.get(f"/v1/brand_kits/{kit['id']}", headers={"If-None-Match": '"1"'}).status_code == 304
    assert [k["id"] for k in service.get("/v1/brand_kits").json()["data"]] == [kit["id"]]

    changed = {**body, "colors": {"primary": "#0033ff"}, "message": "blue"}
    url = f"/v1/brand_kits/{kit['id']}"
    r = service.client.put(url, headers=service.headers(), json=changed)
    assert r.status_code == 428 and r.json()["errors"][0]["header"] == "If-Match"
    r = service.client.put(url, headers=service.headers(**{"If-Match": '"7"'}), json=changed)
    assert r.status_code == 412 and r.headers["etag"] == '"1"'
    r = service.client.put(url, headers=service.headers(**{"If-Match": '"1"'}), json=changed)
    assert r.status_code == 200, r.text
    assert (
        r.json()["version"] == 2
        and r.json()["colors"] == {"primary": "#0033ff"}
        and r.headers["etag"] == '"2"'
    )

    versions = service.get(f"{url}/versions").json()["data"]
    assert [(v["number"], v["message"]) for v in versions] == [(2, "blue"), (1, "first")]
    assert service.get(f"{url}/versions/1").json()["kit"]["colors"]["primary"] == "#ff3300"
    assert service.get(f"{url}/versions/3").status_code == 404

    # another workspace sees nothing
    other = service.other_workspace_key()
    assert service.get(url, token=other).status_code == 404
    assert service.get("/v1/brand_kits", token=other).json()["data"] == []

    assert service.client.delete(url, headers=service.headers(**{"If-Match": '"1"'})).status_code == 412
    assert service.client.delete(url, headers=service.headers()).status_code == 204
    assert service.get(url).status_code == 404
    with service.services.sessions() as db:
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "brand_kit.deleted"))
        assert (
            entry is not None
            and entry.resource_id == kit["id"]
            and entry.details == {"name": "Acme", "version": 2}
        )


def test_bad_kit_input_is_located(service: Service, media: Any, tmp_path: Path) -> None:
    image = upload(service, Path(media.image(size=(32, 32))))
    font = brand_font(service, tmp_path)
    missing = "ast_" + "0" * 26
    r = service.post(
        "/v1/brand_kits",
        json={
            "name": "Bad",
            "logos": {"logo": font},
            "fonts": {"heading": {"asset": image, "locales": {"ar": missing}}},
            "intro": image,
        },
    )
    assert r.status_code == 422 and r.json()["code"] == "validation-error"
    found = {e["pointer"]: e for e in r.json()["errors"]}
    assert set(found) == {"#/logos/logo", "#/fonts/heading/asset", "#/fonts/heading/locales/ar", "#/intro"}
    assert (
        "font asset" in found["#/logos/logo"]["detail"] and "image asset" in found["#/logos/logo"]["detail"]
    )
    assert found["#/fonts/heading/asset"]["code"] == "asset_kind"
    assert "needs a font asset" in found["#/fonts/heading/asset"]["detail"]
    assert found["#/fonts/heading/locales/ar"]["code"] == "asset_not_found"

    r = service.post(
        "/v1/brand_kits",
        json={
            "name": "Bad",
            "colors": {"primary": "#12345"},
            "caption_style": {"size": 3},
            "surprise": 1,
            "safe_zones": {"9:16": {"top": 0.9}},
        },
    )
    assert r.status_code == 422
    pointers = {e["pointer"] for e in r.json()["errors"]}
    assert {"#/colors/primary", "#/caption_style/size", "#/surprise", "#/safe_zones/9:16/top"} <= pointers


def test_brand_placeholders_are_checked_with_pointers(service: Service, media: Any, tmp_path: Path) -> None:
    font = brand_font(service, tmp_path)
    kit = create_kit(service, kit_body(font, upload(service, Path(media.image(size=(32, 32))))))
    edit = text_edit(kit["id"], color="{{brand.colors.nope}}")
    r = service.post("/v1/projects", json={"name": "p", "edit": edit})
    assert r.status_code == 422 and r.json()["code"] == "edit-invalid"
    (error,) = r.json()["errors"]
    assert error["pointer"] == "#/edit/timeline/tracks/0/clips/0/asset/style/color"
    assert error["code"] == "brand_part_unknown" and "brand.colors.primary" in error["detail"]

    r = service.post("/v1/projects", json={"name": "p", "edit": text_edit(None)})
    assert r.status_code == 422
    assert {e["code"] for e in r.json()["errors"]} == {"brand_missing"}
    r = service.post("/v1/projects", json={"name": "p", "edit": text_edit("bk_" + "0" * 26)})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/edit/brand"
    # a project stores the placeholders; they are filled for each render
    r = service.post("/v1/projects", json={"name": "p", "edit": text_edit(kit["id"])})
    assert (
        r.status_code == 201
        and r.json()["edit"]["timeline"]["tracks"][0]["clips"][0]["asset"]["style"]["color"]
        == "{{brand.colors.primary}}"
    )


def test_locale_fonts_fill_per_locale(service: Service, tmp_path: Path) -> None:
    """A locale's font stands for the role in that locale (``ar-EG`` falls back to ``ar``), and
    every kit font file travels with the edit."""
    from reelforge.services.brand_kits import resolve_brand

    latin = brand_font(service, tmp_path)
    arabic = upload(service, renamed_font(SANS, tmp_path / "arabic.ttf", "Reelforge Brand Arabic"))
    kit = create_kit(
        service, {"name": "Intl", "fonts": {"heading": {"asset": latin, "locales": {"ar": arabic}}}}
    )
    assert kit["fonts"]["heading"]["locale_families"] == {"ar": "Reelforge Brand Arabic"}
    workspace = service.get("/v1/workspace").json()["id"]
    edit = text_edit(kit["id"], color="#ffffff")
    with service.services.sessions() as db:
        for locale, family in (("ar-EG", "Reelforge Brand Arabic"), ("de", FAMILY), (None, FAMILY)):
            filled, used, problems = resolve_brand(edit, db, workspace, locale=locale)
            assert problems == [] and used is not None and used.version == 1
            assert filled["timeline"]["tracks"][0]["clips"][0]["asset"]["style"]["font"] == family
            assert filled["timeline"]["fonts"] == [latin, arabic]
    # the stored edit is untouched
    assert edit["timeline"]["tracks"][0]["clips"][0]["asset"]["style"]["font"] == "{{brand.fonts.heading}}"


# ------------------------------------------------------------------ rendering with a kit


def test_kit_font_and_colour_render_and_the_render_keeps_its_version(
    rendering: Service, media: Any, tmp_path: Path
) -> None:
    svc = rendering
    font_file = renamed_font(SERIF, tmp_path / "brand-serif.ttf", FAMILY)
    font = upload(svc, font_file)
    logo = upload(svc, Path(media.image(size=(32, 32))))
    kit = create_kit(svc, kit_body(font, logo))

    first, branded = render_pixels(svc, text_edit(kit["id"]))
    assert first["brand"] == {"id": kit["id"], "version": 1, "name": "Acme", "compliance": None}

    # The reference: the same text drawn by the engine with the font file given directly.
    reference_edit = text_edit(None, font=str(font_file), color="#ff3300")
    result = render_edit(parse_edit(reference_edit), out_dir=tmp_path / "ref", base_dir=tmp_path)
    reference = np.asarray(Image.open(result.outputs[0].path).convert("RGB"), dtype=np.int16)
    # ... and with the default family, what a fallback would draw.
    default_edit = text_edit(None, font="DejaVu Sans", color="#ff3300")
    result = render_edit(parse_edit(default_edit), out_dir=tmp_path / "sans", base_dir=tmp_path)
    fallback = np.asarray(Image.open(result.outputs[0].path).convert("RGB"), dtype=np.int16)

    ink = branded.sum(axis=2) > 150
    assert ink.mean() > 0.02, "no text drawn"
    assert np.abs(branded - reference).mean() < 1.0, "the brand font render differs from the font file's"
    assert (np.abs(branded - fallback).max(axis=2) > 100).mean() > 0.02, "looks like the default font"
    # {{brand.colors.primary}}: the glyphs are #ff3300
    r, g, b = (branded[ink][:, i].mean() for i in range(3))
    assert r > 200 and g < 90 and b < 40, (r, g, b)

    # A family fontconfig does not know fails without the kit: the font really came from it.
    r = svc.post("/v1/renders", json={"edit": text_edit(None, font=FAMILY, color="#ff3300")})
    if r.status_code == 202:
        assert wait(svc, r.json()["id"])["state"] == "failed"
    else:
        assert r.status_code == 422

    # Change the kit: later renders follow it, the finished one keeps version 1.
    url = f"/v1/brand_kits/{kit['id']}"
    r = svc.client.put(
        url,
        headers=svc.headers(**{"If-Match": '"1"'}),
        json={**kit_body(font, logo), "colors": {"primary": "#0033ff"}},
    )
    assert r.status_code == 200, r.text
    second, blue = render_pixels(svc, text_edit(kit["id"]))
    assert second["brand"]["version"] == 2
    ink2 = blue.sum(axis=2) > 100
    r2, g2, b2 = (blue[ink2][:, i].mean() for i in range(3))
    assert b2 > 200 and r2 < 60, (r2, g2, b2)
    again = svc.get(f"/v1/renders/{first['id']}").json()
    assert again["brand"]["version"] == 1
    with svc.services.sessions() as db:
        stored = db.get(Render, first["id"])
        assert stored is not None
        style = stored.edit["timeline"]["tracks"][0]["clips"][0]["asset"]["style"]
        assert style == {"font": FAMILY, "color": "#ff3300", "size": 0.3}
        # The render records the font file's version it used (pinned: later versions change nothing).
        assert stored.edit["timeline"]["fonts"] == [f"{font}@1"]


def test_kit_font_reaches_captions_by_family(rendering: Service, tmp_path: Path) -> None:
    """Captions go through libass: the kit's font must be in its fontsdir, found by family."""
    svc = rendering
    font = upload(svc, renamed_font(SERIF, tmp_path / "brand-serif.ttf", FAMILY))
    kit = create_kit(
        svc,
        {
            "name": "Captions",
            "fonts": {"body": {"asset": font}},
            "caption_style": {"font": FAMILY, "size": 0.2, "color": "#ffffff", "outline": 0},
        },
    )

    def caption_edit(style: Any) -> dict[str, Any]:
        return {
            "brand": kit["id"],
            "timeline": {
                "tracks": [
                    {"clips": [{"asset": {"type": "color", "color": "#000000"}, "length": 1}]},
                    {
                        "clips": [
                            {
                                "asset": {
                                    "type": "caption",
                                    "cues": [{"start": 0, "end": 1, "text": "Rag Bold"}],
                                    "style": style,
                                }
                            }
                        ]
                    },
                ]
            },
            "outputs": [{"format": "png", "width": 320, "height": 180, "time": 0.5}],
        }

    _, branded = render_pixels(svc, caption_edit("{{brand.caption_style}}"))
    style = {"font": "DejaVu Sans", "size": 0.2, "color": "#ffffff", "outline": 0}
    _, fallback = render_pixels(svc, caption_edit(style))
    assert (branded.sum(axis=2) > 300).mean() > 0.01, "no caption drawn"
    assert (np.abs(branded - fallback).max(axis=2) > 100).mean() > 0.01, "the caption used the default font"


# ------------------------------------------------------------------ the OpenAPI examples


def exercise_examples(c: Any, svc: Service, media: Any) -> None:
    """For tests/test_openapi.py: send every documented brand kit example to the service (its
    Checker ``c`` compares the answers with the documented ones) with assets like the recorded."""
    from reelforge.api import examples_brand_kits as exb

    made = exb.KIT_CREATE
    tmp = svc.data_dir / "examples"
    tmp.mkdir(exist_ok=True)
    files = {
        made["logos"]["logo"]: Path(media.image(size=(256, 128), color="orange")),
        made["logos"]["logo_white"]: Path(media.image(size=(256, 128), color="white")),
        made["fonts"]["heading"]["asset"]: renamed_font(SERIF, tmp / "AcmeDisplay.ttf", "Acme Display"),
        made["fonts"]["body"]["asset"]: renamed_font(SANS, tmp / "AcmeText.ttf", "Acme Text"),
        made["fonts"]["heading"]["locales"]["ar"]: renamed_font(SANS, tmp / "AcmeArabic.ttf", "Acme Arabic"),
        made["intro"]: Path(media.video(duration=1.0)),
    }
    for example_id, path in files.items():
        c.ids[example_id] = upload(svc, path)
    kit = next(iter(c.send_examples("POST", "/v1/brand_kits").values()))
    c.ids[exb.KIT["id"]] = kit["id"]
    target = {"kit_id": kit["id"]}

    def current() -> dict[str, str]:
        return {"If-Match": svc.get(f"/v1/brand_kits/{kit['id']}").headers["etag"]}

    c.call("GET", "/v1/brand_kits", expect=200)
    c.call("GET", "/v1/brand_kits/{kit_id}", params=target, expect=200)
    c.send_examples("PUT", "/v1/brand_kits/{kit_id}", params=lambda: target, headers=current)
    c.call("GET", "/v1/brand_kits/{kit_id}/versions", params=target, expect=200)
    c.call("GET", "/v1/brand_kits/{kit_id}/versions/{number}", params={**target, "number": "1"}, expect=200)
    c.send_examples("PUT", "/v1/workspace/compliance")
    c.call("GET", "/v1/workspace/compliance", expect=200)
    edit = json.loads(json.dumps(_CHECKED_EDIT).replace(_INTRO, c.ids[made["intro"]]))
    edit["brand"] = kit["id"]
    project = svc.post("/v1/projects", json={"name": "Spring sale", "edit": edit}).json()
    answers = c.send_examples(
        "POST", "/v1/projects/{project_id}/check", params=lambda: {"project_id": project["id"]}
    )
    assert [f["rule"] for f in next(iter(answers.values()))["findings"]] == ["safe_zone", "safe_zone"]
    template = svc.post("/v1/templates", json=_template_body(edit)).json()
    answers = c.send_examples(
        "POST", "/v1/templates/{template_id}/check", params=lambda: {"template_id": template["id"]}
    )
    report = next(iter(answers.values()))
    assert [f["pointer"] for f in report["findings"]] == [
        "#/edit/timeline/tracks/1/clips/0",
        "#/edit/timeline/tracks/2/clips/0",
    ]
    c.call("DELETE", "/v1/brand_kits/{kit_id}", params=target, expect=204)


# The check example's project edit and template, shared with scripts/recorders/brand_kits.py.

_INTRO = "{intro}"
_CHECKED_EDIT: dict[str, Any] = {
    "timeline": {
        "tracks": [
            {"clips": [{"asset": {"type": "video", "src": _INTRO}, "length": 1}]},
            {
                "clips": [
                    {
                        "asset": {
                            "type": "text",
                            "text": "Spring sale",
                            "style": {
                                "font": "{{brand.fonts.heading}}",
                                "color": "{{brand.colors.primary}}",
                                "size": 0.07,
                            },
                        },
                        "anchor": "top",
                        "offset": {"y": 0.04},
                        "length": 1,
                    }
                ]
            },
            {
                "clips": [
                    {
                        "asset": {"type": "image", "src": "{{brand.logo}}"},
                        "width": 0.25,
                        "anchor": "bottom",
                        "offset": {"y": -0.05},
                        "length": 1,
                    }
                ]
            },
        ]
    },
    "outputs": [
        {"aspect_ratio": "16:9", "resolution": "720p"},
        {"aspect_ratio": "9:16", "resolution": "720p"},
    ],
}
"""The project edit of the check example (``_INTRO`` stands for the intro asset's id)."""


def _template_body(edit: dict[str, Any]) -> dict[str, Any]:
    """A template of the check example's edit whose title is a variable."""
    document = json.loads(json.dumps(edit).replace('"Spring sale"', '"{{title}}"'))
    return {
        "name": "Spring sale",
        "edit": document,
        "variables": [{"name": "title", "type": "text", "required": True}],
    }


def test_a_kits_safe_zones_place_its_safe_area_clips(rendering: Service, media: Any, tmp_path: Path) -> None:
    svc = rendering
    logo = upload(svc, Path(media.image(size=(32, 32))))
    kit = create_kit(svc, kit_body(brand_font(svc, tmp_path), logo, safe_zones={"16:9": {"top": 0.4}}))

    def badge_rows(brand: str | None) -> tuple[int, int]:
        edit: dict[str, Any] = {
            "timeline": {
                "background": "#000000",
                "tracks": [
                    {
                        "clips": [
                            {
                                "asset": {"type": "color", "color": "white"},
                                "length": 1,
                                "height": 0.2,
                                "anchor": "top",
                                "safe_area": True,
                            }
                        ]
                    }
                ],
            },
            "outputs": [{"format": "png", "width": 320, "height": 180, "time": 0.5}],
        }
        if brand is not None:
            edit["brand"] = brand
        _, pixels = render_pixels(svc, edit)
        rows = np.nonzero((pixels.min(axis=2) > 200).any(axis=1))[0]
        return int(rows.min()), int(rows.max()) + 1

    # The kit reserves the top 40 % of 16:9 (72 px): the clip starts below it...
    top, bottom = badge_rows(kit["id"])
    assert abs(top - 72) <= 1 and abs(bottom - 108) <= 1, (top, bottom)
    # ...where without a kit 16:9 has no safe zone and the clip sits at the very top.
    assert badge_rows(None) == (0, 36)
