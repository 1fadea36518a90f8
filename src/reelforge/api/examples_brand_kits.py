"""OpenAPI examples for brand kits, the workspace's compliance level and the compliance check.

Every value in the captured block was recorded from a running service (real uploaded logo,
font and video assets, real kits and checks): ``.venv/bin/python tests/test_brand_kits.py``
records them again and rewrites the block. The arrangement per operation follows
:mod:`reelforge.api.examples`.
"""

from __future__ import annotations

from typing import Any

from . import examples as ex
from . import schemas

# --- captured: begin
KIT_CREATE: Any = {
    "caption_style": {"color": "#ffffff", "font": "Acme Text", "highlight_color": "#ff5a1f", "size": 0.05},
    "colors": {"primary": "#ff5a1f", "secondary": "#1f2937", "text": "#ffffff"},
    "fonts": {
        "body": {"asset": "ast_01m8h6v824fxwrx14enebzrj0y"},
        "heading": {
            "asset": "ast_01m8h6v805z4q5kb8y5bkd52et",
            "locales": {"ar": "ast_01m8h6v83na81y5164v2xvac5f"},
        },
    },
    "intro": "ast_01m8h6v89swzqgvr4fmkqde3kw",
    "logos": {"logo": "ast_01m8h6v7s5jh36nz9zedj94jr1", "logo_white": "ast_01m8h6v7vy21z1cbwfhjb28thr"},
    "message": "launch kit",
    "name": "Acme",
    "rules": {"allowed_fonts_only": True, "require_logo": True},
    "safe_zones": {"1:1": {"bottom": 0.1}, "9:16": {"bottom": 0.2, "top": 0.14}},
    "watermark": {
        "anchor": "bottom-right",
        "opacity": 0.7,
        "src": "ast_01m8h6v7vy21z1cbwfhjb28thr",
        "width": 0.12,
    },
}
KIT: Any = {
    "caption_style": {
        "background": None,
        "color": "#ffffff",
        "direction": "auto",
        "font": "Acme Text",
        "highlight_color": "#ff5a1f",
        "margin_x": 0.06,
        "margin_y": 0.08,
        "max_lines": 2,
        "outline": 0.06,
        "outline_color": "#000000",
        "position": "bottom",
        "size": 0.05,
        "weight": "bold",
    },
    "colors": {"primary": "#ff5a1f", "secondary": "#1f2937", "text": "#ffffff"},
    "created_at": "2026-11-28T13:52:20.000198Z",
    "fonts": {
        "body": {
            "asset": "ast_01m8h6v824fxwrx14enebzrj0y",
            "family": "Acme Text",
            "locale_families": {},
            "locales": {},
        },
        "heading": {
            "asset": "ast_01m8h6v805z4q5kb8y5bkd52et",
            "family": "Acme Display",
            "locale_families": {"ar": "Acme Arabic"},
            "locales": {"ar": "ast_01m8h6v83na81y5164v2xvac5f"},
        },
    },
    "id": "bk_01m8h6v8h0ehn33br61w8b6w5y",
    "intro": "ast_01m8h6v89swzqgvr4fmkqde3kw",
    "logos": {"logo": "ast_01m8h6v7s5jh36nz9zedj94jr1", "logo_white": "ast_01m8h6v7vy21z1cbwfhjb28thr"},
    "name": "Acme",
    "object": "brand_kit",
    "outro": None,
    "rules": {
        "allowed_colors_only": False,
        "allowed_fonts_only": True,
        "min_text_size": 0.025,
        "require_captions": False,
        "require_logo": True,
    },
    "safe_zones": {
        "1:1": {"bottom": 0.1, "left": 0.0, "right": 0.0, "top": 0.0},
        "9:16": {"bottom": 0.2, "left": 0.0, "right": 0.0, "top": 0.14},
    },
    "updated_at": "2026-11-28T13:52:20.000198Z",
    "version": 1,
    "versions_url": "/v1/brand_kits/bk_01m8h6v8h0ehn33br61w8b6w5y/versions",
    "watermark": {
        "anchor": "bottom-right",
        "margin": 0.03,
        "opacity": 0.7,
        "src": "ast_01m8h6v7vy21z1cbwfhjb28thr",
        "width": 0.12,
    },
}
KIT_REPLACE: Any = {
    "caption_style": {"color": "#ffffff", "font": "Acme Text", "highlight_color": "#ff5a1f", "size": 0.05},
    "colors": {"primary": "#e63b00", "secondary": "#1f2937", "text": "#ffffff"},
    "fonts": {
        "body": {"asset": "ast_01m8h6v824fxwrx14enebzrj0y"},
        "heading": {
            "asset": "ast_01m8h6v805z4q5kb8y5bkd52et",
            "locales": {"ar": "ast_01m8h6v83na81y5164v2xvac5f"},
        },
    },
    "intro": "ast_01m8h6v89swzqgvr4fmkqde3kw",
    "logos": {"logo": "ast_01m8h6v7s5jh36nz9zedj94jr1", "logo_white": "ast_01m8h6v7vy21z1cbwfhjb28thr"},
    "message": "darker primary",
    "name": "Acme",
    "rules": {"allowed_fonts_only": True, "require_logo": True},
    "safe_zones": {"1:1": {"bottom": 0.1}, "9:16": {"bottom": 0.2, "top": 0.14}},
    "watermark": {
        "anchor": "bottom-right",
        "opacity": 0.7,
        "src": "ast_01m8h6v7vy21z1cbwfhjb28thr",
        "width": 0.12,
    },
}
KIT_V2: Any = {
    "caption_style": {
        "background": None,
        "color": "#ffffff",
        "direction": "auto",
        "font": "Acme Text",
        "highlight_color": "#ff5a1f",
        "margin_x": 0.06,
        "margin_y": 0.08,
        "max_lines": 2,
        "outline": 0.06,
        "outline_color": "#000000",
        "position": "bottom",
        "size": 0.05,
        "weight": "bold",
    },
    "colors": {"primary": "#e63b00", "secondary": "#1f2937", "text": "#ffffff"},
    "created_at": "2026-11-28T13:52:20.000198Z",
    "fonts": {
        "body": {
            "asset": "ast_01m8h6v824fxwrx14enebzrj0y",
            "family": "Acme Text",
            "locale_families": {},
            "locales": {},
        },
        "heading": {
            "asset": "ast_01m8h6v805z4q5kb8y5bkd52et",
            "family": "Acme Display",
            "locale_families": {"ar": "Acme Arabic"},
            "locales": {"ar": "ast_01m8h6v83na81y5164v2xvac5f"},
        },
    },
    "id": "bk_01m8h6v8h0ehn33br61w8b6w5y",
    "intro": "ast_01m8h6v89swzqgvr4fmkqde3kw",
    "logos": {"logo": "ast_01m8h6v7s5jh36nz9zedj94jr1", "logo_white": "ast_01m8h6v7vy21z1cbwfhjb28thr"},
    "name": "Acme",
    "object": "brand_kit",
    "outro": None,
    "rules": {
        "allowed_colors_only": False,
        "allowed_fonts_only": True,
        "min_text_size": 0.025,
        "require_captions": False,
        "require_logo": True,
    },
    "safe_zones": {
        "1:1": {"bottom": 0.1, "left": 0.0, "right": 0.0, "top": 0.0},
        "9:16": {"bottom": 0.2, "left": 0.0, "right": 0.0, "top": 0.14},
    },
    "updated_at": "2026-11-28T13:52:20.013081Z",
    "version": 2,
    "versions_url": "/v1/brand_kits/bk_01m8h6v8h0ehn33br61w8b6w5y/versions",
    "watermark": {
        "anchor": "bottom-right",
        "margin": 0.03,
        "opacity": 0.7,
        "src": "ast_01m8h6v7vy21z1cbwfhjb28thr",
        "width": 0.12,
    },
}
KIT_LIST: Any = {
    "data": [
        {
            "caption_style": {
                "background": None,
                "color": "#ffffff",
                "direction": "auto",
                "font": "Acme Text",
                "highlight_color": "#ff5a1f",
                "margin_x": 0.06,
                "margin_y": 0.08,
                "max_lines": 2,
                "outline": 0.06,
                "outline_color": "#000000",
                "position": "bottom",
                "size": 0.05,
                "weight": "bold",
            },
            "colors": {"primary": "#e63b00", "secondary": "#1f2937", "text": "#ffffff"},
            "created_at": "2026-11-28T13:52:20.000198Z",
            "fonts": {
                "body": {
                    "asset": "ast_01m8h6v824fxwrx14enebzrj0y",
                    "family": "Acme Text",
                    "locale_families": {},
                    "locales": {},
                },
                "heading": {
                    "asset": "ast_01m8h6v805z4q5kb8y5bkd52et",
                    "family": "Acme Display",
                    "locale_families": {"ar": "Acme Arabic"},
                    "locales": {"ar": "ast_01m8h6v83na81y5164v2xvac5f"},
                },
            },
            "id": "bk_01m8h6v8h0ehn33br61w8b6w5y",
            "intro": "ast_01m8h6v89swzqgvr4fmkqde3kw",
            "logos": {
                "logo": "ast_01m8h6v7s5jh36nz9zedj94jr1",
                "logo_white": "ast_01m8h6v7vy21z1cbwfhjb28thr",
            },
            "name": "Acme",
            "object": "brand_kit",
            "outro": None,
            "rules": {
                "allowed_colors_only": False,
                "allowed_fonts_only": True,
                "min_text_size": 0.025,
                "require_captions": False,
                "require_logo": True,
            },
            "safe_zones": {
                "1:1": {"bottom": 0.1, "left": 0.0, "right": 0.0, "top": 0.0},
                "9:16": {"bottom": 0.2, "left": 0.0, "right": 0.0, "top": 0.14},
            },
            "updated_at": "2026-11-28T13:52:20.013081Z",
            "version": 2,
            "versions_url": "/v1/brand_kits/bk_01m8h6v8h0ehn33br61w8b6w5y/versions",
            "watermark": {
                "anchor": "bottom-right",
                "margin": 0.03,
                "opacity": 0.7,
                "src": "ast_01m8h6v7vy21z1cbwfhjb28thr",
                "width": 0.12,
            },
        }
    ],
    "has_more": False,
    "next_cursor": None,
    "object": "list",
    "url": "/v1/brand_kits",
}
VERSION_LIST: Any = {
    "data": [
        {
            "brand_kit": "bk_01m8h6v8h0ehn33br61w8b6w5y",
            "created_at": "2026-11-28T13:52:20.013081Z",
            "kit": {
                "caption_style": {
                    "background": None,
                    "color": "#ffffff",
                    "direction": "auto",
                    "font": "Acme Text",
                    "highlight_color": "#ff5a1f",
                    "margin_x": 0.06,
                    "margin_y": 0.08,
                    "max_lines": 2,
                    "outline": 0.06,
                    "outline_color": "#000000",
                    "position": "bottom",
                    "size": 0.05,
                    "weight": "bold",
                },
                "colors": {"primary": "#e63b00", "secondary": "#1f2937", "text": "#ffffff"},
                "fonts": {
                    "body": {
                        "asset": "ast_01m8h6v824fxwrx14enebzrj0y",
                        "family": "Acme Text",
                        "locale_families": {},
                        "locales": {},
                    },
                    "heading": {
                        "asset": "ast_01m8h6v805z4q5kb8y5bkd52et",
                        "family": "Acme Display",
                        "locale_families": {"ar": "Acme Arabic"},
                        "locales": {"ar": "ast_01m8h6v83na81y5164v2xvac5f"},
                    },
                },
                "intro": "ast_01m8h6v89swzqgvr4fmkqde3kw",
                "logos": {
                    "logo": "ast_01m8h6v7s5jh36nz9zedj94jr1",
                    "logo_white": "ast_01m8h6v7vy21z1cbwfhjb28thr",
                },
                "name": "Acme",
                "outro": None,
                "rules": {
                    "allowed_colors_only": False,
                    "allowed_fonts_only": True,
                    "min_text_size": 0.025,
                    "require_captions": False,
                    "require_logo": True,
                },
                "safe_zones": {
                    "1:1": {"bottom": 0.1, "left": 0.0, "right": 0.0, "top": 0.0},
                    "9:16": {"bottom": 0.2, "left": 0.0, "right": 0.0, "top": 0.14},
                },
                "watermark": {
                    "anchor": "bottom-right",
                    "margin": 0.03,
                    "opacity": 0.7,
                    "src": "ast_01m8h6v7vy21z1cbwfhjb28thr",
                    "width": 0.12,
                },
            },
            "message": "darker primary",
            "number": 2,
            "object": "brand_kit_version",
        },
        {
            "brand_kit": "bk_01m8h6v8h0ehn33br61w8b6w5y",
            "created_at": "2026-11-28T13:52:20.000198Z",
            "kit": {
                "caption_style": {
                    "background": None,
                    "color": "#ffffff",
                    "direction": "auto",
                    "font": "Acme Text",
                    "highlight_color": "#ff5a1f",
                    "margin_x": 0.06,
                    "margin_y": 0.08,
                    "max_lines": 2,
                    "outline": 0.06,
                    "outline_color": "#000000",
                    "position": "bottom",
                    "size": 0.05,
                    "weight": "bold",
                },
                "colors": {"primary": "#ff5a1f", "secondary": "#1f2937", "text": "#ffffff"},
                "fonts": {
                    "body": {
                        "asset": "ast_01m8h6v824fxwrx14enebzrj0y",
                        "family": "Acme Text",
                        "locale_families": {},
                        "locales": {},
                    },
                    "heading": {
                        "asset": "ast_01m8h6v805z4q5kb8y5bkd52et",
                        "family": "Acme Display",
                        "locale_families": {"ar": "Acme Arabic"},
                        "locales": {"ar": "ast_01m8h6v83na81y5164v2xvac5f"},
                    },
                },
                "intro": "ast_01m8h6v89swzqgvr4fmkqde3kw",
                "logos": {
                    "logo": "ast_01m8h6v7s5jh36nz9zedj94jr1",
                    "logo_white": "ast_01m8h6v7vy21z1cbwfhjb28thr",
                },
                "name": "Acme",
                "outro": None,
                "rules": {
                    "allowed_colors_only": False,
                    "allowed_fonts_only": True,
                    "min_text_size": 0.025,
                    "require_captions": False,
                    "require_logo": True,
                },
                "safe_zones": {
                    "1:1": {"bottom": 0.1, "left": 0.0, "right": 0.0, "top": 0.0},
                    "9:16": {"bottom": 0.2, "left": 0.0, "right": 0.0, "top": 0.14},
                },
                "watermark": {
                    "anchor": "bottom-right",
                    "margin": 0.03,
                    "opacity": 0.7,
                    "src": "ast_01m8h6v7vy21z1cbwfhjb28thr",
                    "width": 0.12,
                },
            },
            "message": "launch kit",
            "number": 1,
            "object": "brand_kit_version",
        },
    ],
    "has_more": False,
    "next_cursor": None,
    "object": "list",
    "url": "/v1/brand_kits/bk_01m8h6v8h0ehn33br61w8b6w5y/versions",
}
VERSION: Any = {
    "brand_kit": "bk_01m8h6v8h0ehn33br61w8b6w5y",
    "created_at": "2026-11-28T13:52:20.000198Z",
    "kit": {
        "caption_style": {
            "background": None,
            "color": "#ffffff",
            "direction": "auto",
            "font": "Acme Text",
            "highlight_color": "#ff5a1f",
            "margin_x": 0.06,
            "margin_y": 0.08,
            "max_lines": 2,
            "outline": 0.06,
            "outline_color": "#000000",
            "position": "bottom",
            "size": 0.05,
            "weight": "bold",
        },
        "colors": {"primary": "#ff5a1f", "secondary": "#1f2937", "text": "#ffffff"},
        "fonts": {
            "body": {
                "asset": "ast_01m8h6v824fxwrx14enebzrj0y",
                "family": "Acme Text",
                "locale_families": {},
                "locales": {},
            },
            "heading": {
                "asset": "ast_01m8h6v805z4q5kb8y5bkd52et",
                "family": "Acme Display",
                "locale_families": {"ar": "Acme Arabic"},
                "locales": {"ar": "ast_01m8h6v83na81y5164v2xvac5f"},
            },
        },
        "intro": "ast_01m8h6v89swzqgvr4fmkqde3kw",
        "logos": {"logo": "ast_01m8h6v7s5jh36nz9zedj94jr1", "logo_white": "ast_01m8h6v7vy21z1cbwfhjb28thr"},
        "name": "Acme",
        "outro": None,
        "rules": {
            "allowed_colors_only": False,
            "allowed_fonts_only": True,
            "min_text_size": 0.025,
            "require_captions": False,
            "require_logo": True,
        },
        "safe_zones": {
            "1:1": {"bottom": 0.1, "left": 0.0, "right": 0.0, "top": 0.0},
            "9:16": {"bottom": 0.2, "left": 0.0, "right": 0.0, "top": 0.14},
        },
        "watermark": {
            "anchor": "bottom-right",
            "margin": 0.03,
            "opacity": 0.7,
            "src": "ast_01m8h6v7vy21z1cbwfhjb28thr",
            "width": 0.12,
        },
    },
    "message": "launch kit",
    "number": 1,
    "object": "brand_kit_version",
}
COMPLIANCE_SETTINGS: Any = {
    "level": "warn",
    "levels": ["off", "warn", "block"],
    "object": "compliance_settings",
    "updated_at": "2026-11-28T13:52:20.043589Z",
    "workspace": "ws_01m8h6v717q1tcms3y15hn45fm",
}
CHECK_BODY: Any = {"outputs": [1]}
CHECK_REPORT: Any = {
    "brand_kit": {"id": "bk_01m8h6v8h0ehn33br61w8b6w5y", "name": "Acme", "version": 2},
    "findings": [
        {
            "message": "text reaches into the 9:16 safe zone (top 14% reserved for platform UI) on the "
            "9:16 720x1280 output: it spans y 51-157 px and x 100-620 px of 720x1280",
            "output": 1,
            "output_label": "9:16 720x1280",
            "pointer": "#/timeline/tracks/1/clips/0",
            "rule": "safe_zone",
            "severity": "error",
        },
        {
            "message": "the logo reaches into the 9:16 safe zone (bottom 20% reserved for platform UI) on "
            "the 9:16 720x1280 output: it spans y 1126-1216 px and x 270-450 px of 720x1280",
            "output": 1,
            "output_label": "9:16 720x1280",
            "pointer": "#/timeline/tracks/2/clips/0",
            "rule": "safe_zone",
            "severity": "error",
        },
    ],
    "level": "warn",
    "object": "compliance_report",
    "passed": False,
    "project_id": "prj_01m8h6v8jn7ep8sjre76r8evxf",
    "revision": 1,
}
ERROR_KIT_INVALID: Any = {
    "code": "validation-error",
    "detail": "1 problem in the request",
    "errors": [
        {
            "code": "value_error",
            "detail": 'expected a colour as "#rrggbb", "#rrggbbaa" or a CSS name such as "white", got '
            "'#ff5a1'",
            "pointer": "#/colors/primary",
        }
    ],
    "instance": "/v1/brand_kits",
    "request_id": "req_01m8h6v8kghms06d0nz8b45sxy",
    "status": 422,
    "title": "Your request is not valid.",
    "type": "https://reelforge.dev/problems/validation-error",
}
ERROR_KIT_NOT_FOUND: Any = {
    "code": "not-found",
    "detail": "no brand kit bk_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "instance": "/v1/brand_kits/bk_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "request_id": "req_01m8h6v8kjtb329rm0m5jx2qje",
    "status": 404,
    "title": "The resource does not exist.",
    "type": "https://reelforge.dev/problems/not-found",
}
ERROR_KIT_STALE: Any = {
    "code": "precondition-failed",
    "detail": "the brand kit changed since you read it (it is now at version 2); GET it again, re-apply your "
    "change and send the new ETag in If-Match",
    "errors": [{"code": "stale_etag", "detail": '"1" does not match the current ETag', "header": "If-Match"}],
    "instance": "/v1/brand_kits/bk_01m8h6v8h0ehn33br61w8b6w5y",
    "request_id": "req_01m8h6v8kp6my4w4bs5z2xsxmg",
    "status": 412,
    "title": "The resource changed since you read it.",
    "type": "https://reelforge.dev/problems/precondition-failed",
}
ERROR_KIT_IF_MATCH_REQUIRED: Any = {
    "code": "precondition-required",
    "detail": "changing a brand kit needs If-Match with its ETag (from GET), so concurrent editors cannot "
    "overwrite each other; If-Match: * to overwrite whatever is there",
    "errors": [{"code": "missing", "detail": "this header is required", "header": "If-Match"}],
    "instance": "/v1/brand_kits/bk_01m8h6v8h0ehn33br61w8b6w5y",
    "request_id": "req_01m8h6v8ks1cceg0tzrq8f3bmh",
    "status": 428,
    "title": "This request must be conditional (If-Match).",
    "type": "https://reelforge.dev/problems/precondition-required",
}
ERROR_SCOPE_BRAND_KITS_READ: Any = {
    "code": "insufficient-scope",
    "detail": "this needs the `brand_kits:read` scope",
    "instance": "/v1/brand_kits",
    "request_id": "req_01m8h6v8m2bm0x0fjhw29chxhj",
    "required_scope": "brand_kits:read",
    "status": 403,
    "title": "The credential lacks a required scope.",
    "type": "https://reelforge.dev/problems/insufficient-scope",
}
ERROR_SCOPE_BRAND_KITS_WRITE: Any = {
    "code": "insufficient-scope",
    "detail": "this needs the `brand_kits:write` scope",
    "instance": "/v1/brand_kits",
    "request_id": "req_01m8h6v8m5ms8bygfvs8vm64ht",
    "required_scope": "brand_kits:write",
    "status": 403,
    "title": "The credential lacks a required scope.",
    "type": "https://reelforge.dev/problems/insufficient-scope",
}
ERROR_SCOPE_ADMIN: Any = {
    "code": "insufficient-scope",
    "detail": "this needs the `admin` scope",
    "instance": "/v1/workspace/compliance",
    "request_id": "req_01m8h6v8m7yegy0syreazc426k",
    "required_scope": "admin",
    "status": 403,
    "title": "The credential lacks a required scope.",
    "type": "https://reelforge.dev/problems/insufficient-scope",
}
ERROR_CHECK_NO_KIT: Any = {
    "code": "validation-error",
    "detail": "there is no brand kit to check against: the edit names none",
    "errors": [
        {
            "code": "brand_missing",
            "detail": 'give `brand_kit`, or add "brand": "bk_…" to the edit',
            "pointer": "#/brand_kit",
        }
    ],
    "instance": "/v1/projects/prj_01m8h6v8mb68ewgta1tbw425px/check",
    "request_id": "req_01m8h6v8mg9kfcsy5f0n07nbzv",
    "status": 422,
    "title": "Your request is not valid.",
    "type": "https://reelforge.dev/problems/validation-error",
}
CHECK_TEMPLATE_BODY: Any = {"outputs": [1], "values": {"title": "Spring sale"}}
CHECK_TEMPLATE_REPORT: Any = {
    "brand_kit": {"id": "bk_01m8h6v8h0ehn33br61w8b6w5y", "name": "Acme", "version": 2},
    "edit": {
        "brand": "bk_01m8h6v8h0ehn33br61w8b6w5y",
        "outputs": [
            {"aspect_ratio": "16:9", "resolution": "720p"},
            {"aspect_ratio": "9:16", "resolution": "720p"},
        ],
        "timeline": {
            "fonts": [
                "ast_01m8h6v805z4q5kb8y5bkd52et",
                "ast_01m8h6v83na81y5164v2xvac5f",
                "ast_01m8h6v824fxwrx14enebzrj0y",
            ],
            "tracks": [
                {
                    "clips": [
                        {"asset": {"src": "ast_01m8h6v89swzqgvr4fmkqde3kw", "type": "video"}, "length": 1}
                    ]
                },
                {
                    "clips": [
                        {
                            "anchor": "top",
                            "asset": {
                                "style": {"color": "#e63b00", "font": "Acme Display", "size": 0.07},
                                "text": "Spring sale",
                                "type": "text",
                            },
                            "length": 1,
                            "offset": {"y": 0.04},
                        }
                    ]
                },
                {
                    "clips": [
                        {
                            "anchor": "bottom",
                            "asset": {"src": "ast_01m8h6v7s5jh36nz9zedj94jr1", "type": "image"},
                            "length": 1,
                            "offset": {"y": -0.05},
                            "width": 0.25,
                        }
                    ]
                },
            ],
        },
    },
    "findings": [
        {
            "message": "text reaches into the 9:16 safe zone (top 14% reserved for platform UI) on the "
            "9:16 720x1280 output: it spans y 51-157 px and x 100-620 px of 720x1280",
            "output": 1,
            "output_label": "9:16 720x1280",
            "pointer": "#/edit/timeline/tracks/1/clips/0",
            "rule": "safe_zone",
            "severity": "error",
        },
        {
            "message": "the logo reaches into the 9:16 safe zone (bottom 20% reserved for platform UI) on "
            "the 9:16 720x1280 output: it spans y 1126-1216 px and x 270-450 px of 720x1280",
            "output": 1,
            "output_label": "9:16 720x1280",
            "pointer": "#/edit/timeline/tracks/2/clips/0",
            "rule": "safe_zone",
            "severity": "error",
        },
    ],
    "level": "warn",
    "object": "compliance_report",
    "passed": False,
    "template": {"id": "tpl_01m8h6v8njmh8dkf9ptngashj5", "locale": None, "version": 1},
}
ERROR_SCOPE_TEMPLATES_READ: Any = {
    "code": "insufficient-scope",
    "detail": "this needs the `templates:read` scope",
    "instance": "/v1/templates/tpl_01m8h6v8njmh8dkf9ptngashj5/check",
    "request_id": "req_01m8h6v8pg9pyfkvd64sp2bqk8",
    "required_scope": "templates:read",
    "status": 403,
    "title": "The credential lacks a required scope.",
    "type": "https://reelforge.dev/problems/insufficient-scope",
}
ERROR_TEMPLATE_NOT_FOUND: Any = {
    "code": "not-found",
    "detail": "no template tpl_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "instance": "/v1/templates/tpl_01jdzzzzzzzzzzzzzzzzzzzzzz/check",
    "request_id": "req_01m8h6v8pjm0bg67jnbn6h6d1w",
    "status": 404,
    "title": "The resource does not exist.",
    "type": "https://reelforge.dev/problems/not-found",
}
ERROR_COMPLIANCE_FAILED: Any = {
    "code": "compliance-failed",
    "detail": "the edit breaks 2 rules of the brand kit 'Acme' and this workspace blocks such renders",
    "errors": [
        {
            "code": "safe_zone",
            "detail": "text reaches into the 9:16 safe zone (top 14% reserved for platform UI) on the 9:16 "
            "720x1280 output: it spans y 51-157 px and x 100-620 px of 720x1280",
            "output": 1,
            "pointer": "#/timeline/tracks/1/clips/0",
        },
        {
            "code": "safe_zone",
            "detail": "the logo reaches into the 9:16 safe zone (bottom 20% reserved for platform UI) on "
            "the 9:16 720x1280 output: it spans y 1126-1216 px and x 270-450 px of 720x1280",
            "output": 1,
            "pointer": "#/timeline/tracks/2/clips/0",
        },
    ],
    "findings": [
        {
            "message": "text reaches into the 9:16 safe zone (top 14% reserved for platform UI) on the "
            "9:16 720x1280 output: it spans y 51-157 px and x 100-620 px of 720x1280",
            "output": 1,
            "output_label": "9:16 720x1280",
            "pointer": "#/timeline/tracks/1/clips/0",
            "rule": "safe_zone",
            "severity": "error",
        },
        {
            "message": "the logo reaches into the 9:16 safe zone (bottom 20% reserved for platform UI) on "
            "the 9:16 720x1280 output: it spans y 1126-1216 px and x 270-450 px of 720x1280",
            "output": 1,
            "output_label": "9:16 720x1280",
            "pointer": "#/timeline/tracks/2/clips/0",
            "rule": "safe_zone",
            "severity": "error",
        },
    ],
    "instance": "/v1/renders",
    "request_id": "req_01m8h6v8pwscxzvvaehbv5ff2m",
    "status": 422,
    "title": "The edit breaks its brand kit's rules.",
    "type": "https://reelforge.dev/problems/compliance-failed",
}
# --- captured: end


def _scope(name: str, problem: dict[str, Any]) -> ex.Named:
    return f"a credential without `{name}`", problem


_READ = _scope("brand_kits:read", ERROR_SCOPE_BRAND_KITS_READ)
_WRITE = _scope("brand_kits:write", ERROR_SCOPE_BRAND_KITS_WRITE)
_MISSING: ex.Named = ("no such brand kit in this workspace", ERROR_KIT_NOT_FOUND)
_INVALID: ex.Named = ("an asset of the wrong kind, an unknown asset, a bad colour", ERROR_KIT_INVALID)
_ETAG = ("The kit's version as a strong ETag: send it in If-Match to replace the kit", '"1"')

CREATE_KIT_BODY = ex.body({"a kit with logo, palette, fonts and rules": KIT_CREATE})
CREATE_KIT_RESPONSES = ex.responses(
    {
        201: ex.success(
            "The kit at version 1, with each font's family read from its file.",
            {"a kit with logo, palette, fonts and rules": KIT},
            headers={
                "Location": ("The kit's URL", "https://reelforge.example.com/v1/brand_kits/bk_…"),
                "ETag": _ETAG,
            },
            model=schemas.BrandKitOut,
        )
    },
    *ex.AUTH,
    _WRITE,
    _INVALID,
)
LIST_KITS_RESPONSES = ex.responses(
    {200: ex.success("A page of kits.", {"the workspace's kits": KIT_LIST}, model=schemas.BrandKitList)},
    *ex.AUTH,
    _READ,
    *ex.LIST,
)
GET_KIT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The kit's current version.", {"a kit": KIT}, headers={"ETag": _ETAG}, model=schemas.BrandKitOut
        ),
        304: {"description": "`If-None-Match` matched the current ETag: nothing changed (no body)."},
    },
    *ex.AUTH,
    _READ,
    _MISSING,
)
REPLACE_KIT_BODY = ex.body({"a new primary colour": KIT_REPLACE})
REPLACE_KIT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The kit at its new version.",
            {"a new primary colour": KIT_V2},
            headers={"ETag": _ETAG},
            model=schemas.BrandKitOut,
        )
    },
    *ex.AUTH,
    _WRITE,
    _MISSING,
    ("If-Match is not the current ETag (someone changed the kit)", ERROR_KIT_STALE),
    _INVALID,
    ("no If-Match header", ERROR_KIT_IF_MATCH_REQUIRED),
)
DELETE_KIT_RESPONSES = ex.responses(
    {204: {"description": "Deleted with its versions."}},
    *ex.AUTH,
    _WRITE,
    _MISSING,
    ("If-Match is not the current ETag", ERROR_KIT_STALE),
)
LIST_VERSIONS_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of the kit's versions, newest first.",
            {"a kit's history": VERSION_LIST},
            model=schemas.BrandKitVersionList,
        )
    },
    *ex.AUTH,
    _READ,
    _MISSING,
    *ex.LIST,
)
GET_VERSION_RESPONSES = ex.responses(
    {200: ex.success("One version of the kit.", {"version 1": VERSION}, model=schemas.BrandKitVersionOut)},
    *ex.AUTH,
    _READ,
    _MISSING,
)
GET_COMPLIANCE_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The level applied before every render of an edit with a brand kit.",
            {"warn": COMPLIANCE_SETTINGS},
            model=schemas.ComplianceSettingsOut,
        )
    },
    *ex.AUTH,
    _READ,
)
PUT_COMPLIANCE_BODY = ex.body({"warn": {"level": "warn"}})
PUT_COMPLIANCE_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The new level (the change is in the audit log).",
            {"warn": COMPLIANCE_SETTINGS},
            model=schemas.ComplianceSettingsOut,
        )
    },
    *ex.AUTH,
    _scope("admin", ERROR_SCOPE_ADMIN),
)
CHECK_PROJECT_BODY = ex.body({"the 9:16 output against the project's kit": CHECK_BODY})
CHECK_PROJECT_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The findings (an empty list when the edit keeps every rule).",
            {"the 9:16 output against the project's kit": CHECK_REPORT},
            model=schemas.ComplianceReport,
        )
    },
    *ex.AUTH,
    ex.scope("projects:read"),
    _READ,
    ("no such project in this workspace", ex.ERROR_PROJECT_NOT_FOUND),
    ("the edit names no brand kit and none is given", ERROR_CHECK_NO_KIT),
)
CHECK_TEMPLATE_BODY = ex.body({"this week's values, vertical output": CHECK_TEMPLATE_BODY})
CHECK_TEMPLATE_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The findings, with the merged edit they point into.",
            {"this week's values, vertical output": CHECK_TEMPLATE_REPORT},
            model=schemas.ComplianceReport,
        )
    },
    *ex.AUTH,
    _scope("templates:read", ERROR_SCOPE_TEMPLATES_READ),
    _READ,
    ("no such template in this workspace", ERROR_TEMPLATE_NOT_FOUND),
)
RENDER_BLOCKED: ex.Named = (
    "the workspace blocks renders that break their kit's rules",
    ERROR_COMPLIANCE_FAILED,
)
"""For ``POST /v1/renders``' documented problems."""
