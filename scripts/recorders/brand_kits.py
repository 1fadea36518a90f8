"""The examples of brand kits, the compliance level and the compliance check (``reelforge.api.examples_brand_kits``), recorded from a running service.

The helpers come from ``tests/test_brand_kits.py``, which checks the examples against a service.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from service import running_service
from test_brand_kits import _CHECKED_EDIT, _INTRO, SANS, SERIF, _template_body, renamed_font, upload


def record(root: Path) -> dict[str, Any]:
    """Make a kit, replace it, check a project, set the level; return the examples by name."""
    import mediagen

    kept: dict[str, Any] = {}
    with running_service(root, "sqlite") as svc:
        logo_path = mediagen.make_image(root / "logo.png", size=(256, 128), color="orange")
        logo = upload(svc, Path(logo_path), "logo.png")
        white_path = mediagen.make_image(root / "logo-white.png", size=(256, 128), color="white")
        logo_white = upload(svc, Path(white_path), "logo-white.png")
        heading = upload(
            svc, renamed_font(SERIF, root / "AcmeDisplay.ttf", "Acme Display"), "AcmeDisplay.ttf"
        )
        body_font = upload(svc, renamed_font(SANS, root / "AcmeText.ttf", "Acme Text"), "AcmeText.ttf")
        arabic = upload(svc, renamed_font(SANS, root / "AcmeArabic.ttf", "Acme Arabic"), "AcmeArabic.ttf")
        intro = upload(svc, Path(mediagen.make_video(root / "intro.mp4", duration=1.0)), "intro.mp4")
        create = {
            "name": "Acme",
            "logos": {"logo": logo, "logo_white": logo_white},
            "colors": {"primary": "#ff5a1f", "secondary": "#1f2937", "text": "#ffffff"},
            "fonts": {"heading": {"asset": heading, "locales": {"ar": arabic}}, "body": {"asset": body_font}},
            "caption_style": {
                "font": "Acme Text",
                "size": 0.05,
                "color": "#ffffff",
                "highlight_color": "#ff5a1f",
            },
            "intro": intro,
            "watermark": {"src": logo_white, "anchor": "bottom-right", "width": 0.12, "opacity": 0.7},
            "safe_zones": {"9:16": {"top": 0.14, "bottom": 0.2}, "1:1": {"bottom": 0.1}},
            "rules": {"require_logo": True, "allowed_fonts_only": True},
            "message": "launch kit",
        }
        kept["KIT_CREATE"] = create
        r = svc.post("/v1/brand_kits", json=create)
        assert r.status_code == 201, r.text
        kit = kept["KIT"] = r.json()
        url = f"/v1/brand_kits/{kit['id']}"
        replace = {
            **create,
            "colors": {**create["colors"], "primary": "#e63b00"},
            "message": "darker primary",
        }
        kept["KIT_REPLACE"] = replace
        r = svc.client.put(url, headers=svc.headers(**{"If-Match": '"1"'}), json=replace)
        kept["KIT_V2"] = r.json()
        kept["KIT_LIST"] = svc.get("/v1/brand_kits").json()
        kept["VERSION_LIST"] = svc.get(f"{url}/versions").json()
        kept["VERSION"] = svc.get(f"{url}/versions/1").json()
        kept["COMPLIANCE_SETTINGS"] = svc.client.put(
            "/v1/workspace/compliance", headers=svc.headers(), json={"level": "warn"}
        ).json()
        edit = json.loads(json.dumps(_CHECKED_EDIT).replace(_INTRO, intro))
        edit["brand"] = kit["id"]
        project = svc.post("/v1/projects", json={"name": "Spring sale", "edit": edit}).json()
        kept["CHECK_BODY"] = {"outputs": [1]}
        r = svc.post(f"/v1/projects/{project['id']}/check", json={"outputs": [1]})
        assert r.status_code == 200, r.text
        kept["CHECK_REPORT"] = r.json()
        kept["ERROR_KIT_INVALID"] = svc.post(
            "/v1/brand_kits",
            json={"name": "Broken", "colors": {"primary": "#ff5a1"}, "fonts": {"heading": {"asset": logo}}},
        ).json()
        kept["ERROR_KIT_NOT_FOUND"] = svc.get("/v1/brand_kits/bk_01jdzzzzzzzzzzzzzzzzzzzzzz").json()
        kept["ERROR_KIT_STALE"] = svc.client.put(
            url, headers=svc.headers(**{"If-Match": '"1"'}), json=replace
        ).json()
        kept["ERROR_KIT_IF_MATCH_REQUIRED"] = svc.client.put(url, headers=svc.headers(), json=replace).json()
        reader = svc.new_key("assets:read")
        kept["ERROR_SCOPE_BRAND_KITS_READ"] = svc.get("/v1/brand_kits", token=reader).json()
        kept["ERROR_SCOPE_BRAND_KITS_WRITE"] = svc.post("/v1/brand_kits", token=reader, json=create).json()
        kept["ERROR_SCOPE_ADMIN"] = svc.client.put(
            "/v1/workspace/compliance", headers=svc.headers(reader), json={"level": "block"}
        ).json()
        plain = svc.post(
            "/v1/projects",
            json={
                "name": "no kit",
                "edit": {"timeline": {"tracks": [{"clips": [{"asset": {"type": "video", "src": intro}}]}]}},
            },
        ).json()
        kept["ERROR_CHECK_NO_KIT"] = svc.post(f"/v1/projects/{plain['id']}/check", json={}).json()
        template = svc.post("/v1/templates", json=_template_body(edit)).json()
        kept["CHECK_TEMPLATE_BODY"] = {"values": {"title": "Spring sale"}, "outputs": [1]}
        r = svc.post(f"/v1/templates/{template['id']}/check", json=kept["CHECK_TEMPLATE_BODY"])
        assert r.status_code == 200, r.text
        kept["CHECK_TEMPLATE_REPORT"] = r.json()
        kept["ERROR_SCOPE_TEMPLATES_READ"] = svc.post(
            f"/v1/templates/{template['id']}/check", token=reader, json={}
        ).json()
        kept["ERROR_TEMPLATE_NOT_FOUND"] = svc.post(
            "/v1/templates/tpl_01jdzzzzzzzzzzzzzzzzzzzzzz/check", json={}
        ).json()
        svc.client.put("/v1/workspace/compliance", headers=svc.headers(), json={"level": "block"})
        r = svc.post("/v1/renders", json={"project_id": project["id"]})
        assert r.status_code == 422, r.text
        kept["ERROR_COMPLIANCE_FAILED"] = r.json()
    return kept
