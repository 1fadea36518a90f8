"""The compliance check: the pure rules on parsed edits (geometry from the compiler's layout and
the text renderer), then through HTTP: the project check, the workspace's level (audited), a
`block` refusing a render with 422 and a `warn` keeping the findings on the render.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from reelforge.db.audit import AuditEntry
from reelforge.edit.validate import parse_edit
from reelforge.render.compliance import BrandKitView, Finding, SafeZone, aspect_label, check_compliance
from service import Service
from test_brand_kits import FAMILY, SERIF, create_kit, renamed_font, upload

LOGO = "ast_" + "1" * 26
VERTICAL = {"aspect_ratio": "9:16", "resolution": "720p"}
WIDE = {"aspect_ratio": "16:9", "resolution": "720p"}


def text_clip(
    text: str = "Spring sale", *, anchor: str = "center", y: float = 0, size: float = 0.06, **style: Any
) -> dict[str, Any]:
    return {
        "asset": {"type": "text", "text": text, "style": {"size": size, **style}},
        "anchor": anchor,
        "offset": {"y": y},
        "length": 1,
    }


def edit_of(*clips: dict[str, Any], outputs: list[dict[str, Any]] | None = None, **extra: Any) -> Any:
    return parse_edit(
        {"timeline": {"tracks": [{"clips": [c]} for c in clips]}, "outputs": outputs or [VERTICAL], **extra}
    )


def rules(findings: list[Finding]) -> list[tuple[str, str, int | None]]:
    return [(f.rule, f.pointer, f.output) for f in findings]


# ------------------------------------------------------------------ the pure check


def test_text_in_the_top_of_a_vertical_output_is_in_the_unsafe_zone() -> None:
    edit = edit_of(text_clip(anchor="top", y=0.02), outputs=[WIDE, VERTICAL])
    findings = check_compliance(edit, BrandKitView())
    assert rules(findings) == [("safe_zone", "/timeline/tracks/0/clips/0", 1)]
    (finding,) = findings
    assert finding.severity == "error" and finding.output_label == "9:16 720x1280"
    assert "top 14%" in finding.message and "9:16" in finding.message
    # the same text lower down is clear of the zone
    assert check_compliance(edit_of(text_clip(anchor="top", y=0.15)), BrandKitView()) == []
    # ... and the bottom 20 % is reserved as well
    low = check_compliance(edit_of(text_clip(anchor="bottom", y=-0.1)), BrandKitView())
    assert rules(low) == [("safe_zone", "/timeline/tracks/0/clips/0", 0)] and "bottom 20%" in low[0].message


def test_the_text_box_is_measured_with_its_real_size() -> None:
    """A text block just below the zone is fine at one size and reaches in at a larger one:
    the check measures the block the renderer draws, not the anchor point."""
    below = 0.14 + 0.01
    assert check_compliance(edit_of(text_clip(anchor="top", y=below, size=0.05)), BrandKitView()) == []
    # centred text grows both ways: a big block centred at 20 % from the top reaches into the 14 %
    assert check_compliance(edit_of(text_clip(anchor="center", y=-0.3, size=0.05)), BrandKitView()) == []
    big = check_compliance(edit_of(text_clip(anchor="center", y=-0.3, size=0.2)), BrandKitView())
    assert rules(big) == [("safe_zone", "/timeline/tracks/0/clips/0", 0)]
    # a second line of wrapped text makes the block taller too
    long_text = "Spring sale on everything in the shop this week"
    wrapped = check_compliance(
        edit_of(text_clip(long_text, anchor="bottom", y=-0.22, size=0.05)), BrandKitView()
    )
    assert wrapped == []
    wrapped = check_compliance(
        edit_of(text_clip(long_text, anchor="center", y=0.25, size=0.05)), BrandKitView()
    )
    assert rules(wrapped) == [("safe_zone", "/timeline/tracks/0/clips/0", 0)]


def test_logo_rules_and_its_box() -> None:
    kit = BrandKitView(logos=frozenset({LOGO}), require_logo=True)
    missing = check_compliance(edit_of(text_clip(), outputs=[WIDE, VERTICAL]), kit)
    assert rules(missing) == [("logo_required", "/outputs/0", 0), ("logo_required", "/outputs/1", 1)]
    logo = {
        "asset": {"type": "image", "src": LOGO},
        "width": 0.3,
        "anchor": "top",
        "offset": {"y": 0.02},
        "length": 1,
    }
    found = check_compliance(edit_of(logo, outputs=[WIDE, VERTICAL]), kit, media_sizes={LOGO: (200, 100)})
    assert rules(found) == [("safe_zone", "/timeline/tracks/0/clips/0", 1)] and "the logo" in found[0].message
    lower = {**logo, "offset": {"y": 0.15}}
    assert check_compliance(edit_of(lower), kit, media_sizes={LOGO: (200, 100)}) == []
    # the logo as the output's watermark counts, and its corner placement is checked
    marked = edit_of(text_clip(), outputs=[{**VERTICAL, "watermark": {"src": LOGO, "anchor": "top-right"}}])
    assert rules(check_compliance(marked, kit, media_sizes={LOGO: (200, 100)})) == [
        ("safe_zone", "/outputs/0/watermark", 0)
    ]


def test_fonts_colours_captions_and_text_size() -> None:
    kit = BrandKitView(
        colors={"primary": "#ff3300", "ink": "white"},
        font_families=frozenset({"Acme Display"}),
        allowed_fonts_only=True,
        allowed_colors_only=True,
        require_captions=True,
        safe_zones={},
    )
    edit = parse_edit(
        {
            "timeline": {
                "background": "#ffffff",
                "tracks": [
                    {"clips": [text_clip(font="acme display", color="#FF3300")]},
                    {"clips": [text_clip(font="DejaVu Serif", color="#00ff00", size=0.01)]},
                ],
            },
            "outputs": [VERTICAL],
        }
    )
    found = rules(check_compliance(edit, kit))
    assert ("font_not_in_kit", "/timeline/tracks/1/clips/0/asset/style/font", None) in found
    assert ("color_not_in_kit", "/timeline/tracks/1/clips/0/asset/style/color", None) in found
    assert ("captions_required", "/timeline/tracks", None) in found
    # 0.01 of 1280 px is 13 px: below 2.5 % of the 720 px side
    assert ("text_too_small", "/timeline/tracks/1/clips/0/asset/style/size", 0) in found
    # the brand's own font (any case and spacing) and colours pass
    assert not [f for f in found if f[1].startswith("/timeline/tracks/0/")]
    assert len(found) == 4


def test_text_shrunk_to_fit_is_checked_at_the_size_it_is_drawn() -> None:
    long = "Everything must go: the whole summer collection at half price, only this weekend"
    fitted = text_clip(long, size=0.1, fit="shrink", min_size=0.005, max_width=0.5, max_height=0.03)
    # 0.1 of the height is large enough on both outputs; shrunk into its small box it is not
    found = rules(check_compliance(edit_of(fitted, outputs=[VERTICAL, WIDE]), BrandKitView()))
    assert found == [
        ("text_too_small", "/timeline/tracks/0/clips/0/asset/style/min_size", 0),
        ("text_too_small", "/timeline/tracks/0/clips/0/asset/style/min_size", 1),
    ]
    roomy = text_clip("Sale", size=0.1, fit="shrink", min_size=0.005, max_width=0.6, max_height=0.2)
    assert check_compliance(edit_of(roomy, outputs=[VERTICAL, WIDE]), BrandKitView()) == []


def test_aspect_labels() -> None:
    assert aspect_label(720, 1280) == "9:16" and aspect_label(1920, 1080) == "16:9"
    assert aspect_label(1080, 1080) == "1:1" and aspect_label(1080, 1350) == "4:5"
    custom = BrandKitView(safe_zones={"1:1": SafeZone(bottom=0.3)})
    assert check_compliance(edit_of(text_clip(anchor="top", y=0.02)), custom) == []
    square = check_compliance(edit_of(text_clip(anchor="bottom"), outputs=[{"aspect_ratio": "1:1"}]), custom)
    assert rules(square) == [("safe_zone", "/timeline/tracks/0/clips/0", 0)]


# ------------------------------------------------------------------ through the service


def _kit_and_project(svc: Service, media: Any, tmp: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    font = upload(svc, renamed_font(SERIF, tmp / "brand-serif.ttf", FAMILY))
    logo = upload(svc, Path(media.image(size=(64, 32), color="red")))
    kit = create_kit(
        svc,
        {
            "name": "Acme",
            "logos": {"logo": logo},
            "colors": {"primary": "#ff3300"},
            "fonts": {"heading": {"asset": font}},
        },
    )
    edit = {
        "brand": kit["id"],
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "Sale",
                                "style": {
                                    "font": "{{brand.fonts.heading}}",
                                    "color": "{{brand.colors.primary}}",
                                    "size": 0.1,
                                },
                            },
                            "anchor": "top",
                            "offset": {"y": 0.02},
                            "length": 0.2,
                        }
                    ]
                }
            ]
        },
        "outputs": [
            {"width": 320, "height": 180, "quality": "draft", "fps": 10},
            {"width": 180, "height": 320, "quality": "draft", "fps": 10},
        ],
    }
    r = svc.post("/v1/projects", json={"name": "Sale", "edit": edit})
    assert r.status_code == 201, r.text
    return kit, r.json()


def test_project_check_and_levels_before_render(service: Service, media: Any, tmp_path: Path) -> None:
    svc = service
    kit, project = _kit_and_project(svc, media, tmp_path)
    r = svc.post(f"/v1/projects/{project['id']}/check", json={})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["object"] == "compliance_report" and report["passed"] is False and report["level"] == "off"
    assert report["brand_kit"] == {"id": kit["id"], "version": 1, "name": "Acme"} and report["revision"] == 1
    (finding,) = report["findings"]
    assert finding["rule"] == "safe_zone" and finding["pointer"] == "#/timeline/tracks/0/clips/0"
    assert finding["output"] == 1 and finding["output_label"] == "9:16 180x320"
    # only the 16:9 output: nothing to report
    assert svc.post(f"/v1/projects/{project['id']}/check", json={"outputs": [0]}).json()["findings"] == []
    r = svc.post(f"/v1/projects/{project['id']}/check", json={"outputs": [5]})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/outputs/0"
    reader = svc.new_key("projects:read")
    assert svc.post(f"/v1/projects/{project['id']}/check", token=reader, json={}).status_code == 403

    # off: the render is created and carries its kit version, no findings
    r = svc.post("/v1/renders", json={"project_id": project["id"]})
    assert r.status_code == 202, r.text
    assert r.json()["brand"] == {"id": kit["id"], "version": 1, "name": "Acme", "compliance": None}

    # warn: created, with the findings on the render resource
    assert svc.get("/v1/workspace/compliance").json()["level"] == "off"
    r = svc.client.put("/v1/workspace/compliance", headers=svc.headers(), json={"level": "warn"})
    assert r.status_code == 200 and r.json()["level"] == "warn"
    r = svc.post("/v1/renders", json={"project_id": project["id"]})
    assert r.status_code == 202, r.text
    compliance = r.json()["brand"]["compliance"]
    assert compliance["level"] == "warn" and compliance["passed"] is False
    assert [(f["rule"], f["pointer"], f["output"]) for f in compliance["findings"]] == [
        ("safe_zone", "#/timeline/tracks/0/clips/0", 1)
    ]
    assert r.json()["metadata"] == {}
    assert svc.get(f"/v1/renders/{r.json()['id']}").json()["brand"]["compliance"] == compliance
    # the key is the service's: a client cannot forge it
    r = svc.post("/v1/renders", json={"project_id": project["id"], "metadata": {"$brand": {"id": "forged"}}})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/metadata/$brand"

    # a dry run reports the same
    r = svc.post("/v1/renders?dry_run=true", json={"project_id": project["id"]})
    assert r.status_code == 200 and r.json()["brand"]["compliance"] == compliance

    # block: refused with 422, one located error per finding; an inline edit points into the body
    svc.client.put("/v1/workspace/compliance", headers=svc.headers(), json={"level": "block"})
    r = svc.post("/v1/renders", json={"project_id": project["id"]})
    assert r.status_code == 422 and r.json()["code"] == "compliance-failed", r.text
    assert svc.post("/v1/renders?dry_run=true", json={"project_id": project["id"]}).status_code == 422
    assert [(e["pointer"], e["code"], e["output"]) for e in r.json()["errors"]] == [
        ("#/timeline/tracks/0/clips/0", "safe_zone", 1)
    ]
    r = svc.post("/v1/renders", json={"edit": project["edit"]})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/edit/timeline/tracks/0/clips/0"
    # fixed: the same edit with the text lower down renders
    fixed = {**project["edit"]}
    fixed["timeline"]["tracks"][0]["clips"][0]["offset"] = {"y": 0.2}
    r = svc.post("/v1/renders", json={"edit": fixed})
    assert r.status_code == 202, r.text
    assert r.json()["brand"]["compliance"]["passed"] is True

    # setting the level is for admins, and audited
    r = svc.client.put(
        "/v1/workspace/compliance",
        headers=svc.headers(svc.new_key("brand_kits:write")),
        json={"level": "off"},
    )
    assert r.status_code == 403
    assert (
        svc.client.put(
            "/v1/workspace/compliance", headers=svc.headers(), json={"level": "sometimes"}
        ).status_code
        == 422
    )
    with svc.services.sessions() as db:
        changes = [
            e.details
            for e in db.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "workspace.compliance_changed")
                .order_by(AuditEntry.created_at)
            )
        ]
    assert changes == [{"from": "off", "to": "warn"}, {"from": "warn", "to": "block"}]


def test_check_needs_a_kit(service: Service, media: Any, tmp_path: Path) -> None:
    kit, _ = _kit_and_project(service, media, tmp_path)
    plain = {"timeline": {"tracks": [{"clips": [text_clip(anchor="top")]}]}, "outputs": [VERTICAL]}
    other = service.post("/v1/projects", json={"name": "plain", "edit": plain}).json()
    r = service.post(f"/v1/projects/{other['id']}/check", json={})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/brand_kit"
    # a kit given in the request checks an edit that names none
    r = service.post(f"/v1/projects/{other['id']}/check", json={"brand_kit": kit["id"]})
    assert r.status_code == 200 and r.json()["findings"][0]["rule"] == "safe_zone"
    r = service.post(f"/v1/projects/{other['id']}/check", json={"brand_kit": "bk_" + "0" * 26})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "#/brand_kit"
    assert service.post("/v1/projects/prj_nope/check", json={}).status_code == 404


def test_brand_values_per_locale_leave_other_placeholders() -> None:
    """The resolver leaves non-brand placeholders alone, for templates to fill."""
    from reelforge.edit.variables import substitute
    from reelforge.services.brand_kits import brand_values

    kit = {
        "name": "Acme",
        "logos": {"logo": LOGO},
        "colors": {"primary": "#ff3300"},
        "fonts": {
            "heading": {
                "asset": LOGO,
                "locales": {"ar": LOGO},
                "family": "Acme",
                "locale_families": {"ar": "Acme Arabic"},
            }
        },
    }
    values = brand_values(kit, "ar-EG")
    assert values["brand.fonts.heading"] == "Acme Arabic" and values["brand.logo"] == LOGO
    assert brand_values(kit)["brand.fonts.heading"] == "Acme"
    doc = substitute({"a": "{{brand.colors.primary}}", "b": "{{title}}"}, values, strict=False)
    assert doc == {"a": "#ff3300", "b": "{{title}}"}


def test_template_check_fills_values_then_checks(service: Service, media: Any, tmp_path: Path) -> None:
    kit, project = _kit_and_project(service, media, tmp_path)
    edit = json.loads(json.dumps(project["edit"]).replace('"Sale"', '"{{title}}"'))
    r = service.post(
        "/v1/templates",
        json={"name": "t", "edit": edit, "variables": [{"name": "title", "type": "text", "required": True}]},
    )
    assert r.status_code == 201, r.text
    url = f"/v1/templates/{r.json()['id']}/check"
    r = service.post(url, json={"values": {"title": "Spring"}})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["brand_kit"]["id"] == kit["id"] and report["passed"] is False
    assert [(f["rule"], f["pointer"], f["output"]) for f in report["findings"]] == [
        ("safe_zone", "#/edit/timeline/tracks/0/clips/0", 1)
    ]
    assert report["edit"]["timeline"]["tracks"][0]["clips"][0]["asset"]["text"] == "Spring"
    r = service.post(url, json={"values": {}})
    assert r.status_code == 422 and r.json()["code"] == "values-invalid"
    assert (
        service.post(
            url, json={"values": {"title": "x"}}, token=service.new_key("templates:read")
        ).status_code
        == 403
    )
