"""OpenAPI examples for templates: CRUD with versions, the values' JSON Schema, preview, renders.

Every value in the captured block was recorded from a running service (real assets, a real
render): ``.venv/bin/python tests/test_api_templates.py`` records them again and rewrites the
block. The arrangement per operation follows :mod:`reelforge.api.examples`.
"""

from __future__ import annotations

from typing import Any

from . import examples as ex
from . import schemas

# --- captured: begin
# Recorded by `python tests/test_api_templates.py` from a running service; do not edit by hand.

TEMPLATE_CREATE: dict[str, Any] = {
    "name": "Weekly picks",
    "edit": {
        "timeline": {
            "background": "#ffffff",
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "color", "color": "{{accent}}"}, "length": 2},
                        {
                            "repeat": {"for": "products", "as": "product"},
                            "asset": {"type": "image", "src": "{{product.image}}"},
                            "length": "{{seconds}}",
                            "motion": {"type": "zoom-in", "amount": 0.1},
                        },
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{title}}",
                                "style": {"size": 0.09, "weight": "bold", "language": "{{locale}}"},
                                "animation_in": {"type": "pop"},
                            },
                            "length": 2,
                        },
                        {
                            "repeat": {"for": "products", "as": "product"},
                            "asset": {
                                "type": "text",
                                "text": "{{product.name}} · €{{product.price}}",
                                "style": {"size": 0.07, "background": {"color": "#000000b0", "radius": 0.25}},
                                "animation_in": {"type": "fade", "duration": 0.3},
                            },
                            "length": "{{seconds}}",
                            "anchor": "bottom",
                            "offset": {"y": -0.08},
                        },
                    ]
                },
                {
                    "if": "sale",
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{sale}}",
                                "style": {
                                    "size": 0.06,
                                    "color": "#ffffff",
                                    "background": {"color": "{{accent}}", "radius": 0.3},
                                },
                            },
                            "start": 2,
                            "length": "end",
                            "anchor": "top-right",
                            "offset": {"x": -0.04, "y": 0.04},
                        }
                    ],
                },
            ],
        },
        "outputs": [{"aspect_ratio": "1:1", "resolution": "360p", "quality": "low"}],
    },
    "variables": [
        {
            "name": "title",
            "type": "text",
            "localizable": True,
            "required": True,
            "validation": {"max_length": 40},
            "description": "The opening card's headline.",
        },
        {
            "name": "products",
            "type": "list",
            "validation": {"min_items": 1, "max_items": 12},
            "description": "One slide per product, in order.",
            "fields": [
                {
                    "name": "image",
                    "type": "asset",
                    "kinds": ["image"],
                    "required": True,
                    "validation": {"min_width": 600},
                },
                {
                    "name": "name",
                    "type": "text",
                    "localizable": True,
                    "required": True,
                    "validation": {"max_length": 30},
                },
                {"name": "price", "type": "number", "required": True, "validation": {"min": 0}},
            ],
        },
        {
            "name": "seconds",
            "type": "duration",
            "default": 2.5,
            "validation": {"min": 1, "max": 8},
            "description": "How long each product stays.",
        },
        {"name": "accent", "type": "color", "default": "#e63946"},
        {
            "name": "sale",
            "type": "text",
            "localizable": True,
            "validation": {"max_length": 20},
            "description": "A badge in the corner; no badge when not given.",
        },
    ],
    "locales": ["en", "fr"],
    "default_locale": "en",
    "message": "first version",
}
TEMPLATE_CREATED: dict[str, Any] = {
    "id": "tpl_01m8h5rd2ph1h87yb8c70se8bd",
    "object": "template",
    "name": "Weekly picks",
    "version": 1,
    "edit": {
        "timeline": {
            "background": "#ffffff",
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "color", "color": "{{accent}}"}, "length": 2},
                        {
                            "repeat": {"for": "products", "as": "product"},
                            "asset": {"type": "image", "src": "{{product.image}}"},
                            "length": "{{seconds}}",
                            "motion": {"type": "zoom-in", "amount": 0.1},
                        },
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{title}}",
                                "style": {"size": 0.09, "weight": "bold", "language": "{{locale}}"},
                                "animation_in": {"type": "pop"},
                            },
                            "length": 2,
                        },
                        {
                            "repeat": {"for": "products", "as": "product"},
                            "asset": {
                                "type": "text",
                                "text": "{{product.name}} · €{{product.price}}",
                                "style": {"size": 0.07, "background": {"color": "#000000b0", "radius": 0.25}},
                                "animation_in": {"type": "fade", "duration": 0.3},
                            },
                            "length": "{{seconds}}",
                            "anchor": "bottom",
                            "offset": {"y": -0.08},
                        },
                    ]
                },
                {
                    "if": "sale",
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{sale}}",
                                "style": {
                                    "size": 0.06,
                                    "color": "#ffffff",
                                    "background": {"color": "{{accent}}", "radius": 0.3},
                                },
                            },
                            "start": 2,
                            "length": "end",
                            "anchor": "top-right",
                            "offset": {"x": -0.04, "y": 0.04},
                        }
                    ],
                },
            ],
        },
        "outputs": [{"aspect_ratio": "1:1", "resolution": "360p", "quality": "low"}],
    },
    "variables": [
        {
            "name": "title",
            "type": "text",
            "localizable": True,
            "required": True,
            "validation": {"max_length": 40},
            "description": "The opening card's headline.",
        },
        {
            "name": "products",
            "type": "list",
            "validation": {"min_items": 1, "max_items": 12},
            "description": "One slide per product, in order.",
            "fields": [
                {
                    "name": "image",
                    "type": "asset",
                    "kinds": ["image"],
                    "required": True,
                    "validation": {"min_width": 600},
                },
                {
                    "name": "name",
                    "type": "text",
                    "localizable": True,
                    "required": True,
                    "validation": {"max_length": 30},
                },
                {"name": "price", "type": "number", "required": True, "validation": {"min": 0}},
            ],
        },
        {
            "name": "seconds",
            "type": "duration",
            "default": 2.5,
            "validation": {"min": 1, "max": 8},
            "description": "How long each product stays.",
        },
        {"name": "accent", "type": "color", "default": "#e63946"},
        {
            "name": "sale",
            "type": "text",
            "localizable": True,
            "validation": {"max_length": 20},
            "description": "A badge in the corner; no badge when not given.",
        },
    ],
    "locales": ["en", "fr"],
    "default_locale": "en",
    "created_at": "2026-11-28T13:33:17.782595Z",
    "updated_at": "2026-11-28T13:33:17.782595Z",
    "versions_url": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/versions",
    "variables_url": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/variables",
}
TEMPLATE_CREATED_HEADERS: dict[str, Any] = {
    "ETag": '"1"',
    "Location": "http://127.0.0.1:8000/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd",
}
TEMPLATE: dict[str, Any] = {
    "id": "tpl_01m8h5rd2ph1h87yb8c70se8bd",
    "object": "template",
    "name": "Weekly picks",
    "version": 1,
    "edit": {
        "timeline": {
            "background": "#ffffff",
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "color", "color": "{{accent}}"}, "length": 2},
                        {
                            "repeat": {"for": "products", "as": "product"},
                            "asset": {"type": "image", "src": "{{product.image}}"},
                            "length": "{{seconds}}",
                            "motion": {"type": "zoom-in", "amount": 0.1},
                        },
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{title}}",
                                "style": {"size": 0.09, "weight": "bold", "language": "{{locale}}"},
                                "animation_in": {"type": "pop"},
                            },
                            "length": 2,
                        },
                        {
                            "repeat": {"for": "products", "as": "product"},
                            "asset": {
                                "type": "text",
                                "text": "{{product.name}} · €{{product.price}}",
                                "style": {"size": 0.07, "background": {"color": "#000000b0", "radius": 0.25}},
                                "animation_in": {"type": "fade", "duration": 0.3},
                            },
                            "length": "{{seconds}}",
                            "anchor": "bottom",
                            "offset": {"y": -0.08},
                        },
                    ]
                },
                {
                    "if": "sale",
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{sale}}",
                                "style": {
                                    "size": 0.06,
                                    "color": "#ffffff",
                                    "background": {"color": "{{accent}}", "radius": 0.3},
                                },
                            },
                            "start": 2,
                            "length": "end",
                            "anchor": "top-right",
                            "offset": {"x": -0.04, "y": 0.04},
                        }
                    ],
                },
            ],
        },
        "outputs": [{"aspect_ratio": "1:1", "resolution": "360p", "quality": "low"}],
    },
    "variables": [
        {
            "name": "title",
            "type": "text",
            "localizable": True,
            "required": True,
            "validation": {"max_length": 40},
            "description": "The opening card's headline.",
        },
        {
            "name": "products",
            "type": "list",
            "validation": {"min_items": 1, "max_items": 12},
            "description": "One slide per product, in order.",
            "fields": [
                {
                    "name": "image",
                    "type": "asset",
                    "kinds": ["image"],
                    "required": True,
                    "validation": {"min_width": 600},
                },
                {
                    "name": "name",
                    "type": "text",
                    "localizable": True,
                    "required": True,
                    "validation": {"max_length": 30},
                },
                {"name": "price", "type": "number", "required": True, "validation": {"min": 0}},
            ],
        },
        {
            "name": "seconds",
            "type": "duration",
            "default": 2.5,
            "validation": {"min": 1, "max": 8},
            "description": "How long each product stays.",
        },
        {"name": "accent", "type": "color", "default": "#e63946"},
        {
            "name": "sale",
            "type": "text",
            "localizable": True,
            "validation": {"max_length": 20},
            "description": "A badge in the corner; no badge when not given.",
        },
    ],
    "locales": ["en", "fr"],
    "default_locale": "en",
    "created_at": "2026-11-28T13:33:17.782595Z",
    "updated_at": "2026-11-28T13:33:17.782595Z",
    "versions_url": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/versions",
    "variables_url": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/variables",
}
TEMPLATE_LIST: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": "tpl_01m8h5rd2ph1h87yb8c70se8bd",
            "object": "template",
            "name": "Weekly picks",
            "version": 1,
            "edit": {
                "timeline": {
                    "background": "#ffffff",
                    "tracks": [
                        {
                            "clips": [
                                {"asset": {"type": "color", "color": "{{accent}}"}, "length": 2},
                                {
                                    "repeat": {"for": "products", "as": "product"},
                                    "asset": {"type": "image", "src": "{{product.image}}"},
                                    "length": "{{seconds}}",
                                    "motion": {"type": "zoom-in", "amount": 0.1},
                                },
                            ]
                        },
                        {
                            "clips": [
                                {
                                    "asset": {
                                        "type": "text",
                                        "text": "{{title}}",
                                        "style": {"size": 0.09, "weight": "bold", "language": "{{locale}}"},
                                        "animation_in": {"type": "pop"},
                                    },
                                    "length": 2,
                                },
                                {
                                    "repeat": {"for": "products", "as": "product"},
                                    "asset": {
                                        "type": "text",
                                        "text": "{{product.name}} · €{{product.price}}",
                                        "style": {
                                            "size": 0.07,
                                            "background": {"color": "#000000b0", "radius": 0.25},
                                        },
                                        "animation_in": {"type": "fade", "duration": 0.3},
                                    },
                                    "length": "{{seconds}}",
                                    "anchor": "bottom",
                                    "offset": {"y": -0.08},
                                },
                            ]
                        },
                        {
                            "if": "sale",
                            "clips": [
                                {
                                    "asset": {
                                        "type": "text",
                                        "text": "{{sale}}",
                                        "style": {
                                            "size": 0.06,
                                            "color": "#ffffff",
                                            "background": {"color": "{{accent}}", "radius": 0.3},
                                        },
                                    },
                                    "start": 2,
                                    "length": "end",
                                    "anchor": "top-right",
                                    "offset": {"x": -0.04, "y": 0.04},
                                }
                            ],
                        },
                    ],
                },
                "outputs": [{"aspect_ratio": "1:1", "resolution": "360p", "quality": "low"}],
            },
            "variables": [
                {
                    "name": "title",
                    "type": "text",
                    "localizable": True,
                    "required": True,
                    "validation": {"max_length": 40},
                    "description": "The opening card's headline.",
                },
                {
                    "name": "products",
                    "type": "list",
                    "validation": {"min_items": 1, "max_items": 12},
                    "description": "One slide per product, in order.",
                    "fields": [
                        {
                            "name": "image",
                            "type": "asset",
                            "kinds": ["image"],
                            "required": True,
                            "validation": {"min_width": 600},
                        },
                        {
                            "name": "name",
                            "type": "text",
                            "localizable": True,
                            "required": True,
                            "validation": {"max_length": 30},
                        },
                        {"name": "price", "type": "number", "required": True, "validation": {"min": 0}},
                    ],
                },
                {
                    "name": "seconds",
                    "type": "duration",
                    "default": 2.5,
                    "validation": {"min": 1, "max": 8},
                    "description": "How long each product stays.",
                },
                {"name": "accent", "type": "color", "default": "#e63946"},
                {
                    "name": "sale",
                    "type": "text",
                    "localizable": True,
                    "validation": {"max_length": 20},
                    "description": "A badge in the corner; no badge when not given.",
                },
            ],
            "locales": ["en", "fr"],
            "default_locale": "en",
            "created_at": "2026-11-28T13:33:17.782595Z",
            "updated_at": "2026-11-28T13:33:17.782595Z",
            "versions_url": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/versions",
            "variables_url": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/variables",
        }
    ],
    "has_more": False,
    "next_cursor": None,
    "url": "/v1/templates",
}
TEMPLATE_REPLACE: dict[str, Any] = {
    "edit": {
        "timeline": {
            "background": "#ffffff",
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "color", "color": "{{accent}}"}, "length": 2},
                        {
                            "repeat": {"for": "products", "as": "product"},
                            "asset": {"type": "image", "src": "{{product.image}}"},
                            "length": "{{seconds}}",
                            "motion": {"type": "zoom-in", "amount": 0.1},
                        },
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{title}}",
                                "style": {"size": 0.09, "weight": "bold", "language": "{{locale}}"},
                                "animation_in": {"type": "pop"},
                            },
                            "length": 2,
                        },
                        {
                            "repeat": {"for": "products", "as": "product"},
                            "asset": {
                                "type": "text",
                                "text": "{{product.name}} · €{{product.price}}",
                                "style": {"size": 0.07, "background": {"color": "#000000b0", "radius": 0.25}},
                                "animation_in": {"type": "fade", "duration": 0.3},
                            },
                            "length": "{{seconds}}",
                            "anchor": "bottom",
                            "offset": {"y": -0.08},
                        },
                    ]
                },
                {
                    "if": "sale",
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{sale}}",
                                "style": {
                                    "size": 0.08,
                                    "color": "#ffffff",
                                    "background": {"color": "{{accent}}", "radius": 0.3},
                                },
                            },
                            "start": 2,
                            "length": "end",
                            "anchor": "top-right",
                            "offset": {"x": -0.04, "y": 0.04},
                        }
                    ],
                },
            ],
        },
        "outputs": [{"aspect_ratio": "1:1", "resolution": "360p", "quality": "low"}],
    },
    "variables": [
        {
            "name": "title",
            "type": "text",
            "localizable": True,
            "required": True,
            "validation": {"max_length": 40},
            "description": "The opening card's headline.",
        },
        {
            "name": "products",
            "type": "list",
            "validation": {"min_items": 1, "max_items": 12},
            "description": "One slide per product, in order.",
            "fields": [
                {
                    "name": "image",
                    "type": "asset",
                    "kinds": ["image"],
                    "required": True,
                    "validation": {"min_width": 600},
                },
                {
                    "name": "name",
                    "type": "text",
                    "localizable": True,
                    "required": True,
                    "validation": {"max_length": 30},
                },
                {"name": "price", "type": "number", "required": True, "validation": {"min": 0}},
            ],
        },
        {
            "name": "seconds",
            "type": "duration",
            "default": 2.5,
            "validation": {"min": 1, "max": 8},
            "description": "How long each product stays.",
        },
        {"name": "accent", "type": "color", "default": "#e63946"},
        {
            "name": "sale",
            "type": "text",
            "localizable": True,
            "validation": {"max_length": 20},
            "description": "A badge in the corner; no badge when not given.",
        },
    ],
    "locales": ["en", "fr"],
    "default_locale": "en",
    "message": "a bigger sale badge",
}
TEMPLATE_REPLACED: dict[str, Any] = {
    "id": "tpl_01m8h5rd2ph1h87yb8c70se8bd",
    "object": "template",
    "name": "Weekly picks",
    "version": 2,
    "edit": {
        "timeline": {
            "background": "#ffffff",
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "color", "color": "{{accent}}"}, "length": 2},
                        {
                            "repeat": {"for": "products", "as": "product"},
                            "asset": {"type": "image", "src": "{{product.image}}"},
                            "length": "{{seconds}}",
                            "motion": {"type": "zoom-in", "amount": 0.1},
                        },
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{title}}",
                                "style": {"size": 0.09, "weight": "bold", "language": "{{locale}}"},
                                "animation_in": {"type": "pop"},
                            },
                            "length": 2,
                        },
                        {
                            "repeat": {"for": "products", "as": "product"},
                            "asset": {
                                "type": "text",
                                "text": "{{product.name}} · €{{product.price}}",
                                "style": {"size": 0.07, "background": {"color": "#000000b0", "radius": 0.25}},
                                "animation_in": {"type": "fade", "duration": 0.3},
                            },
                            "length": "{{seconds}}",
                            "anchor": "bottom",
                            "offset": {"y": -0.08},
                        },
                    ]
                },
                {
                    "if": "sale",
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{sale}}",
                                "style": {
                                    "size": 0.08,
                                    "color": "#ffffff",
                                    "background": {"color": "{{accent}}", "radius": 0.3},
                                },
                            },
                            "start": 2,
                            "length": "end",
                            "anchor": "top-right",
                            "offset": {"x": -0.04, "y": 0.04},
                        }
                    ],
                },
            ],
        },
        "outputs": [{"aspect_ratio": "1:1", "resolution": "360p", "quality": "low"}],
    },
    "variables": [
        {
            "name": "title",
            "type": "text",
            "localizable": True,
            "required": True,
            "validation": {"max_length": 40},
            "description": "The opening card's headline.",
        },
        {
            "name": "products",
            "type": "list",
            "validation": {"min_items": 1, "max_items": 12},
            "description": "One slide per product, in order.",
            "fields": [
                {
                    "name": "image",
                    "type": "asset",
                    "kinds": ["image"],
                    "required": True,
                    "validation": {"min_width": 600},
                },
                {
                    "name": "name",
                    "type": "text",
                    "localizable": True,
                    "required": True,
                    "validation": {"max_length": 30},
                },
                {"name": "price", "type": "number", "required": True, "validation": {"min": 0}},
            ],
        },
        {
            "name": "seconds",
            "type": "duration",
            "default": 2.5,
            "validation": {"min": 1, "max": 8},
            "description": "How long each product stays.",
        },
        {"name": "accent", "type": "color", "default": "#e63946"},
        {
            "name": "sale",
            "type": "text",
            "localizable": True,
            "validation": {"max_length": 20},
            "description": "A badge in the corner; no badge when not given.",
        },
    ],
    "locales": ["en", "fr"],
    "default_locale": "en",
    "created_at": "2026-11-28T13:33:17.782595Z",
    "updated_at": "2026-11-28T13:33:17.850179Z",
    "versions_url": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/versions",
    "variables_url": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/variables",
}
TEMPLATE_VERSION_LIST: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "object": "template_version",
            "template": "tpl_01m8h5rd2ph1h87yb8c70se8bd",
            "number": 2,
            "edit": {
                "timeline": {
                    "background": "#ffffff",
                    "tracks": [
                        {
                            "clips": [
                                {"asset": {"type": "color", "color": "{{accent}}"}, "length": 2},
                                {
                                    "repeat": {"for": "products", "as": "product"},
                                    "asset": {"type": "image", "src": "{{product.image}}"},
                                    "length": "{{seconds}}",
                                    "motion": {"type": "zoom-in", "amount": 0.1},
                                },
                            ]
                        },
                        {
                            "clips": [
                                {
                                    "asset": {
                                        "type": "text",
                                        "text": "{{title}}",
                                        "style": {"size": 0.09, "weight": "bold", "language": "{{locale}}"},
                                        "animation_in": {"type": "pop"},
                                    },
                                    "length": 2,
                                },
                                {
                                    "repeat": {"for": "products", "as": "product"},
                                    "asset": {
                                        "type": "text",
                                        "text": "{{product.name}} · €{{product.price}}",
                                        "style": {
                                            "size": 0.07,
                                            "background": {"color": "#000000b0", "radius": 0.25},
                                        },
                                        "animation_in": {"type": "fade", "duration": 0.3},
                                    },
                                    "length": "{{seconds}}",
                                    "anchor": "bottom",
                                    "offset": {"y": -0.08},
                                },
                            ]
                        },
                        {
                            "if": "sale",
                            "clips": [
                                {
                                    "asset": {
                                        "type": "text",
                                        "text": "{{sale}}",
                                        "style": {
                                            "size": 0.08,
                                            "color": "#ffffff",
                                            "background": {"color": "{{accent}}", "radius": 0.3},
                                        },
                                    },
                                    "start": 2,
                                    "length": "end",
                                    "anchor": "top-right",
                                    "offset": {"x": -0.04, "y": 0.04},
                                }
                            ],
                        },
                    ],
                },
                "outputs": [{"aspect_ratio": "1:1", "resolution": "360p", "quality": "low"}],
            },
            "variables": [
                {
                    "name": "title",
                    "type": "text",
                    "localizable": True,
                    "required": True,
                    "validation": {"max_length": 40},
                    "description": "The opening card's headline.",
                },
                {
                    "name": "products",
                    "type": "list",
                    "validation": {"min_items": 1, "max_items": 12},
                    "description": "One slide per product, in order.",
                    "fields": [
                        {
                            "name": "image",
                            "type": "asset",
                            "kinds": ["image"],
                            "required": True,
                            "validation": {"min_width": 600},
                        },
                        {
                            "name": "name",
                            "type": "text",
                            "localizable": True,
                            "required": True,
                            "validation": {"max_length": 30},
                        },
                        {"name": "price", "type": "number", "required": True, "validation": {"min": 0}},
                    ],
                },
                {
                    "name": "seconds",
                    "type": "duration",
                    "default": 2.5,
                    "validation": {"min": 1, "max": 8},
                    "description": "How long each product stays.",
                },
                {"name": "accent", "type": "color", "default": "#e63946"},
                {
                    "name": "sale",
                    "type": "text",
                    "localizable": True,
                    "validation": {"max_length": 20},
                    "description": "A badge in the corner; no badge when not given.",
                },
            ],
            "locales": ["en", "fr"],
            "default_locale": "en",
            "message": "a bigger sale badge",
            "created_at": "2026-11-28T13:33:17.850179Z",
        },
        {
            "object": "template_version",
            "template": "tpl_01m8h5rd2ph1h87yb8c70se8bd",
            "number": 1,
            "edit": {
                "timeline": {
                    "background": "#ffffff",
                    "tracks": [
                        {
                            "clips": [
                                {"asset": {"type": "color", "color": "{{accent}}"}, "length": 2},
                                {
                                    "repeat": {"for": "products", "as": "product"},
                                    "asset": {"type": "image", "src": "{{product.image}}"},
                                    "length": "{{seconds}}",
                                    "motion": {"type": "zoom-in", "amount": 0.1},
                                },
                            ]
                        },
                        {
                            "clips": [
                                {
                                    "asset": {
                                        "type": "text",
                                        "text": "{{title}}",
                                        "style": {"size": 0.09, "weight": "bold", "language": "{{locale}}"},
                                        "animation_in": {"type": "pop"},
                                    },
                                    "length": 2,
                                },
                                {
                                    "repeat": {"for": "products", "as": "product"},
                                    "asset": {
                                        "type": "text",
                                        "text": "{{product.name}} · €{{product.price}}",
                                        "style": {
                                            "size": 0.07,
                                            "background": {"color": "#000000b0", "radius": 0.25},
                                        },
                                        "animation_in": {"type": "fade", "duration": 0.3},
                                    },
                                    "length": "{{seconds}}",
                                    "anchor": "bottom",
                                    "offset": {"y": -0.08},
                                },
                            ]
                        },
                        {
                            "if": "sale",
                            "clips": [
                                {
                                    "asset": {
                                        "type": "text",
                                        "text": "{{sale}}",
                                        "style": {
                                            "size": 0.06,
                                            "color": "#ffffff",
                                            "background": {"color": "{{accent}}", "radius": 0.3},
                                        },
                                    },
                                    "start": 2,
                                    "length": "end",
                                    "anchor": "top-right",
                                    "offset": {"x": -0.04, "y": 0.04},
                                }
                            ],
                        },
                    ],
                },
                "outputs": [{"aspect_ratio": "1:1", "resolution": "360p", "quality": "low"}],
            },
            "variables": [
                {
                    "name": "title",
                    "type": "text",
                    "localizable": True,
                    "required": True,
                    "validation": {"max_length": 40},
                    "description": "The opening card's headline.",
                },
                {
                    "name": "products",
                    "type": "list",
                    "validation": {"min_items": 1, "max_items": 12},
                    "description": "One slide per product, in order.",
                    "fields": [
                        {
                            "name": "image",
                            "type": "asset",
                            "kinds": ["image"],
                            "required": True,
                            "validation": {"min_width": 600},
                        },
                        {
                            "name": "name",
                            "type": "text",
                            "localizable": True,
                            "required": True,
                            "validation": {"max_length": 30},
                        },
                        {"name": "price", "type": "number", "required": True, "validation": {"min": 0}},
                    ],
                },
                {
                    "name": "seconds",
                    "type": "duration",
                    "default": 2.5,
                    "validation": {"min": 1, "max": 8},
                    "description": "How long each product stays.",
                },
                {"name": "accent", "type": "color", "default": "#e63946"},
                {
                    "name": "sale",
                    "type": "text",
                    "localizable": True,
                    "validation": {"max_length": 20},
                    "description": "A badge in the corner; no badge when not given.",
                },
            ],
            "locales": ["en", "fr"],
            "default_locale": "en",
            "message": "first version",
            "created_at": "2026-11-28T13:33:17.782595Z",
        },
    ],
    "has_more": False,
    "next_cursor": None,
    "url": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/versions",
}
TEMPLATE_VERSION: dict[str, Any] = {
    "object": "template_version",
    "template": "tpl_01m8h5rd2ph1h87yb8c70se8bd",
    "number": 1,
    "edit": {
        "timeline": {
            "background": "#ffffff",
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "color", "color": "{{accent}}"}, "length": 2},
                        {
                            "repeat": {"for": "products", "as": "product"},
                            "asset": {"type": "image", "src": "{{product.image}}"},
                            "length": "{{seconds}}",
                            "motion": {"type": "zoom-in", "amount": 0.1},
                        },
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{title}}",
                                "style": {"size": 0.09, "weight": "bold", "language": "{{locale}}"},
                                "animation_in": {"type": "pop"},
                            },
                            "length": 2,
                        },
                        {
                            "repeat": {"for": "products", "as": "product"},
                            "asset": {
                                "type": "text",
                                "text": "{{product.name}} · €{{product.price}}",
                                "style": {"size": 0.07, "background": {"color": "#000000b0", "radius": 0.25}},
                                "animation_in": {"type": "fade", "duration": 0.3},
                            },
                            "length": "{{seconds}}",
                            "anchor": "bottom",
                            "offset": {"y": -0.08},
                        },
                    ]
                },
                {
                    "if": "sale",
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{sale}}",
                                "style": {
                                    "size": 0.06,
                                    "color": "#ffffff",
                                    "background": {"color": "{{accent}}", "radius": 0.3},
                                },
                            },
                            "start": 2,
                            "length": "end",
                            "anchor": "top-right",
                            "offset": {"x": -0.04, "y": 0.04},
                        }
                    ],
                },
            ],
        },
        "outputs": [{"aspect_ratio": "1:1", "resolution": "360p", "quality": "low"}],
    },
    "variables": [
        {
            "name": "title",
            "type": "text",
            "localizable": True,
            "required": True,
            "validation": {"max_length": 40},
            "description": "The opening card's headline.",
        },
        {
            "name": "products",
            "type": "list",
            "validation": {"min_items": 1, "max_items": 12},
            "description": "One slide per product, in order.",
            "fields": [
                {
                    "name": "image",
                    "type": "asset",
                    "kinds": ["image"],
                    "required": True,
                    "validation": {"min_width": 600},
                },
                {
                    "name": "name",
                    "type": "text",
                    "localizable": True,
                    "required": True,
                    "validation": {"max_length": 30},
                },
                {"name": "price", "type": "number", "required": True, "validation": {"min": 0}},
            ],
        },
        {
            "name": "seconds",
            "type": "duration",
            "default": 2.5,
            "validation": {"min": 1, "max": 8},
            "description": "How long each product stays.",
        },
        {"name": "accent", "type": "color", "default": "#e63946"},
        {
            "name": "sale",
            "type": "text",
            "localizable": True,
            "validation": {"max_length": 20},
            "description": "A badge in the corner; no badge when not given.",
        },
    ],
    "locales": ["en", "fr"],
    "default_locale": "en",
    "message": "first version",
    "created_at": "2026-11-28T13:33:17.782595Z",
}
TEMPLATE_RESTORE: dict[str, Any] = {"message": "back to the smaller badge"}
TEMPLATE_RESTORED: dict[str, Any] = {
    "id": "tpl_01m8h5rd2ph1h87yb8c70se8bd",
    "object": "template",
    "name": "Weekly picks",
    "version": 3,
    "edit": {
        "timeline": {
            "background": "#ffffff",
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "color", "color": "{{accent}}"}, "length": 2},
                        {
                            "repeat": {"for": "products", "as": "product"},
                            "asset": {"type": "image", "src": "{{product.image}}"},
                            "length": "{{seconds}}",
                            "motion": {"type": "zoom-in", "amount": 0.1},
                        },
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{title}}",
                                "style": {"size": 0.09, "weight": "bold", "language": "{{locale}}"},
                                "animation_in": {"type": "pop"},
                            },
                            "length": 2,
                        },
                        {
                            "repeat": {"for": "products", "as": "product"},
                            "asset": {
                                "type": "text",
                                "text": "{{product.name}} · €{{product.price}}",
                                "style": {"size": 0.07, "background": {"color": "#000000b0", "radius": 0.25}},
                                "animation_in": {"type": "fade", "duration": 0.3},
                            },
                            "length": "{{seconds}}",
                            "anchor": "bottom",
                            "offset": {"y": -0.08},
                        },
                    ]
                },
                {
                    "if": "sale",
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "{{sale}}",
                                "style": {
                                    "size": 0.06,
                                    "color": "#ffffff",
                                    "background": {"color": "{{accent}}", "radius": 0.3},
                                },
                            },
                            "start": 2,
                            "length": "end",
                            "anchor": "top-right",
                            "offset": {"x": -0.04, "y": 0.04},
                        }
                    ],
                },
            ],
        },
        "outputs": [{"aspect_ratio": "1:1", "resolution": "360p", "quality": "low"}],
    },
    "variables": [
        {
            "name": "title",
            "type": "text",
            "localizable": True,
            "required": True,
            "validation": {"max_length": 40},
            "description": "The opening card's headline.",
        },
        {
            "name": "products",
            "type": "list",
            "validation": {"min_items": 1, "max_items": 12},
            "description": "One slide per product, in order.",
            "fields": [
                {
                    "name": "image",
                    "type": "asset",
                    "kinds": ["image"],
                    "required": True,
                    "validation": {"min_width": 600},
                },
                {
                    "name": "name",
                    "type": "text",
                    "localizable": True,
                    "required": True,
                    "validation": {"max_length": 30},
                },
                {"name": "price", "type": "number", "required": True, "validation": {"min": 0}},
            ],
        },
        {
            "name": "seconds",
            "type": "duration",
            "default": 2.5,
            "validation": {"min": 1, "max": 8},
            "description": "How long each product stays.",
        },
        {"name": "accent", "type": "color", "default": "#e63946"},
        {
            "name": "sale",
            "type": "text",
            "localizable": True,
            "validation": {"max_length": 20},
            "description": "A badge in the corner; no badge when not given.",
        },
    ],
    "locales": ["en", "fr"],
    "default_locale": "en",
    "created_at": "2026-11-28T13:33:17.782595Z",
    "updated_at": "2026-11-28T13:33:17.873892Z",
    "versions_url": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/versions",
    "variables_url": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/variables",
}
TEMPLATE_VARIABLES: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Template values",
    "type": "object",
    "properties": {
        "title": {
            "anyOf": [
                {"type": "string", "maxLength": 40},
                {
                    "type": "object",
                    "properties": {
                        "$locales": {
                            "type": "object",
                            "minProperties": 1,
                            "additionalProperties": {"type": "string", "maxLength": 40},
                            "propertyNames": {"enum": ["en", "fr"]},
                        }
                    },
                    "required": ["$locales"],
                    "additionalProperties": False,
                },
            ],
            "description": "The opening card's headline.",
        },
        "products": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "image": {
                        "type": "string",
                        "minLength": 1,
                        "x-asset-kinds": ["image"],
                        "x-min-width": 600,
                    },
                    "name": {
                        "anyOf": [
                            {"type": "string", "maxLength": 30},
                            {
                                "type": "object",
                                "properties": {
                                    "$locales": {
                                        "type": "object",
                                        "minProperties": 1,
                                        "additionalProperties": {"type": "string", "maxLength": 30},
                                        "propertyNames": {"enum": ["en", "fr"]},
                                    }
                                },
                                "required": ["$locales"],
                                "additionalProperties": False,
                            },
                        ]
                    },
                    "price": {"type": "number", "minimum": 0.0},
                },
                "required": ["image", "name", "price"],
                "additionalProperties": False,
            },
            "minItems": 1,
            "maxItems": 12,
            "description": "One slide per product, in order.",
        },
        "seconds": {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {
                    "type": "string",
                    "pattern": "^(\\d+f|\\d+(\\.\\d+)?s?|(\\d+:)?\\d{1,2}:\\d{1,2}(\\.\\d+)?)$",
                },
            ],
            "description": "How long each product stays.",
            "x-seconds": {"min": 1.0, "max": 8.0},
            "default": 2.5,
        },
        "accent": {
            "type": "string",
            "format": "color",
            "description": 'A colour: "#rrggbb", "#rrggbbaa" or a CSS name.',
            "default": "#e63946",
        },
        "sale": {
            "anyOf": [
                {"type": "string", "maxLength": 20},
                {
                    "type": "object",
                    "properties": {
                        "$locales": {
                            "type": "object",
                            "minProperties": 1,
                            "additionalProperties": {"type": "string", "maxLength": 20},
                            "propertyNames": {"enum": ["en", "fr"]},
                        }
                    },
                    "required": ["$locales"],
                    "additionalProperties": False,
                },
            ],
            "description": "A badge in the corner; no badge when not given.",
        },
    },
    "required": ["title"],
    "additionalProperties": False,
    "$id": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/variables?version=3",
}
TEMPLATE_PREVIEW_REQUEST: dict[str, Any] = {
    "values": {
        "title": {"$locales": {"en": "This week's picks", "fr": "La sélection de la semaine"}},
        "products": [
            {
                "image": "ast_01m8h5rcg48rmt93936bkcescp",
                "name": {"$locales": {"en": "Sunset Lamp", "fr": "Lampe Couchant"}},
                "price": 49,
            },
            {
                "image": "ast_01m8h5rcqdjbskj7kjcyb4kqdh",
                "name": {"$locales": {"en": "Lagoon Mug", "fr": "Tasse Lagon"}},
                "price": 12.5,
            },
        ],
        "sale": {"$locales": {"en": "-20% this week", "fr": "-20 % cette semaine"}},
    },
    "locale": "fr",
}
TEMPLATE_PREVIEW: dict[str, Any] = {
    "object": "template_preview",
    "template": {"id": "tpl_01m8h5rd2ph1h87yb8c70se8bd", "version": 3, "locale": "fr"},
    "edit": {
        "timeline": {
            "background": "#ffffff",
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "color", "color": "#e63946"}, "length": 2},
                        {
                            "asset": {"type": "image", "src": "ast_01m8h5rcg48rmt93936bkcescp"},
                            "length": 2.5,
                            "motion": {"type": "zoom-in", "amount": 0.1},
                        },
                        {
                            "asset": {"type": "image", "src": "ast_01m8h5rcqdjbskj7kjcyb4kqdh"},
                            "length": 2.5,
                            "motion": {"type": "zoom-in", "amount": 0.1},
                        },
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "La sélection de la semaine",
                                "style": {"size": 0.09, "weight": "bold", "language": "fr"},
                                "animation_in": {"type": "pop"},
                            },
                            "length": 2,
                        },
                        {
                            "asset": {
                                "type": "text",
                                "text": "Lampe Couchant · €49",
                                "style": {"size": 0.07, "background": {"color": "#000000b0", "radius": 0.25}},
                                "animation_in": {"type": "fade", "duration": 0.3},
                            },
                            "length": 2.5,
                            "anchor": "bottom",
                            "offset": {"y": -0.08},
                        },
                        {
                            "asset": {
                                "type": "text",
                                "text": "Tasse Lagon · €12.5",
                                "style": {"size": 0.07, "background": {"color": "#000000b0", "radius": 0.25}},
                                "animation_in": {"type": "fade", "duration": 0.3},
                            },
                            "length": 2.5,
                            "anchor": "bottom",
                            "offset": {"y": -0.08},
                        },
                    ]
                },
                {
                    "clips": [
                        {
                            "asset": {
                                "type": "text",
                                "text": "-20 % cette semaine",
                                "style": {
                                    "size": 0.06,
                                    "color": "#ffffff",
                                    "background": {"color": "#e63946", "radius": 0.3},
                                },
                            },
                            "start": 2,
                            "length": "end",
                            "anchor": "top-right",
                            "offset": {"x": -0.04, "y": 0.04},
                        }
                    ]
                },
            ],
        },
        "outputs": [{"aspect_ratio": "1:1", "resolution": "360p", "quality": "low"}],
    },
}
TEMPLATE_RENDER_REQUEST: dict[str, Any] = {
    "values": {
        "title": {"$locales": {"en": "This week's picks", "fr": "La sélection de la semaine"}},
        "products": [
            {
                "image": "ast_01m8h5rcg48rmt93936bkcescp",
                "name": {"$locales": {"en": "Sunset Lamp", "fr": "Lampe Couchant"}},
                "price": 49,
            },
            {
                "image": "ast_01m8h5rcqdjbskj7kjcyb4kqdh",
                "name": {"$locales": {"en": "Lagoon Mug", "fr": "Tasse Lagon"}},
                "price": 12.5,
            },
        ],
        "sale": {"$locales": {"en": "-20% this week", "fr": "-20 % cette semaine"}},
    },
    "locale": "fr",
    "metadata": {"campaign": "week-48"},
}
TEMPLATE_RENDER_QUEUED: dict[str, Any] = {
    "id": "rnd_01m8h5rd6gme8z4m1g8nhr45q1",
    "object": "render",
    "state": "queued",
    "queue_position": 1,
    "progress": 0.0,
    "eta_seconds": None,
    "duration": None,
    "project_id": None,
    "revision": None,
    "created_at": "2026-11-28T13:33:17.906967Z",
    "started_at": None,
    "finished_at": None,
    "render_seconds": None,
    "attempts": 0,
    "cancel_requested": False,
    "error": None,
    "outputs": [],
    "metadata": {"campaign": "week-48"},
    "brand": None,
    "template": {"id": "tpl_01m8h5rd2ph1h87yb8c70se8bd", "version": 3, "locale": "fr"},
}
TEMPLATE_RENDER_DRY_RUN: dict[str, Any] = {
    "values": {
        "title": {"$locales": {"en": "This week's picks", "fr": "La sélection de la semaine"}},
        "products": [
            {
                "image": "ast_01m8h5rcg48rmt93936bkcescp",
                "name": {"$locales": {"en": "Sunset Lamp", "fr": "Lampe Couchant"}},
                "price": 49,
            },
            {
                "image": "ast_01m8h5rcqdjbskj7kjcyb4kqdh",
                "name": {"$locales": {"en": "Lagoon Mug", "fr": "Tasse Lagon"}},
                "price": 12.5,
            },
        ],
        "sale": {"$locales": {"en": "-20% this week", "fr": "-20 % cette semaine"}},
    },
    "locale": "en",
    "dry_run": True,
    "outputs": [{"aspect_ratio": "9:16", "resolution": "360p"}],
}
TEMPLATE_RENDER_PLAN: dict[str, Any] = {
    "object": "render_plan",
    "valid": True,
    "duration": 7.0,
    "outputs": [
        {
            "name": "render.mp4",
            "format": "mp4",
            "width": 360,
            "height": 640,
            "fps": 30.0,
            "fps_exact": "30/1",
            "frames": 210,
            "duration": 7.0,
            "quality": "medium",
            "audio": True,
            "poster": None,
            "thumbnail": None,
            "sidecars": [],
        }
    ],
    "estimated_render_seconds": 2.9,
    "estimate": "output pixels x frames at x264's rate for the quality, "
    "scaled by CPU cores; detailed footage takes about this "
    "long, flat graphics less",
    "template": {"id": "tpl_01m8h5rd2ph1h87yb8c70se8bd", "version": 3, "locale": "en"},
}
ERROR_SCOPE_TEMPLATES_READ: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `templates:read` scope",
    "instance": "/v1/templates",
    "code": "insufficient-scope",
    "request_id": "req_01m8h5rdh69ghtgq4wv94z6prn",
    "required_scope": "templates:read",
}
ERROR_SCOPE_TEMPLATES_WRITE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `templates:write` scope",
    "instance": "/v1/templates",
    "code": "insufficient-scope",
    "request_id": "req_01m8h5rdhem9kz55h9fv57yk8t",
    "required_scope": "templates:write",
}
ERROR_TEMPLATE_NOT_FOUND: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "no template tpl_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "instance": "/v1/templates/tpl_01jdzzzzzzzzzzzzzzzzzzzzzz",
    "code": "not-found",
    "request_id": "req_01m8h5rdhgqp3hg8mda3ew9p7r",
}
ERROR_TEMPLATE_INVALID: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/template-invalid",
    "title": "The template is not valid.",
    "status": 422,
    "detail": "2 problems in the template",
    "instance": "/v1/templates",
    "code": "template-invalid",
    "request_id": "req_01m8h5rdhmyc2sdjgq0x81hnfs",
    "errors": [
        {
            "pointer": "#/variables/2/validation/pattern",
            "detail": "`pattern` does not apply to a duration (it takes min, max)",
            "code": "invalid",
        },
        {
            "pointer": "#/edit/timeline/tracks/1/clips/1/asset/text",
            "detail": "{{product.title}}: the items of products "
            "have no field 'title' (they have image, "
            "name, price)",
            "code": "unknown_variable",
        },
    ],
}
ERROR_TEMPLATE_VALIDATION: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/validation-error",
    "title": "Your request is not valid.",
    "status": 422,
    "detail": "1 problem in the request",
    "instance": "/v1/templates",
    "code": "validation-error",
    "request_id": "req_01m8h5rdhqrqzcyda52vjrbtjz",
    "errors": [
        {"detail": "unknown field (check its spelling)", "code": "extra_forbidden", "pointer": "#/title"}
    ],
}
ERROR_TEMPLATE_STALE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/precondition-failed",
    "title": "The resource changed since you read it.",
    "status": 412,
    "detail": "the template changed since you read it (it is now at "
    "version 3); GET it again, re-apply your change and send "
    "the new ETag in If-Match",
    "instance": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd",
    "code": "precondition-failed",
    "request_id": "req_01m8h5rdhskd2mt4wjvb48wg7e",
    "errors": [{"header": "If-Match", "detail": '"1" does not match the current ETag', "code": "stale_etag"}],
}
ERROR_TEMPLATE_NO_IF_MATCH: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/precondition-required",
    "title": "This request must be conditional (If-Match).",
    "status": 428,
    "detail": "changing a template needs If-Match with its ETag "
    "(from GET), so concurrent editors cannot overwrite "
    "each other; If-Match: * to overwrite whatever is "
    "there",
    "instance": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd",
    "code": "precondition-required",
    "request_id": "req_01m8h5rdhxxnawmd22pbpf2vyv",
    "errors": [{"header": "If-Match", "detail": "this header is required", "code": "missing"}],
}
ERROR_TEMPLATE_VERSION_NOT_FOUND: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/not-found",
    "title": "The resource does not exist.",
    "status": 404,
    "detail": "template tpl_01m8h5rd2ph1h87yb8c70se8bd has no version 9 (the latest is 3)",
    "instance": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/versions/9",
    "code": "not-found",
    "request_id": "req_01m8h5rdj15wqmjgs8p9w5b21e",
}
ERROR_VALUES_INVALID: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/values-invalid",
    "title": "The values do not fit the template's variables.",
    "status": 422,
    "detail": "4 problems in the values for template tpl_01m8h5rd2ph1h87yb8c70se8bd (version 3)",
    "instance": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/preview",
    "code": "values-invalid",
    "request_id": "req_01m8h5rdj66tr54qhkx3k0t5y0",
    "errors": [
        {
            "pointer": "#/locale",
            "detail": "the template has no locale 'de' (it has en, fr)",
            "code": "unknown_locale",
        },
        {
            "pointer": "#/values/colour",
            "detail": "colour: unknown variable; this template "
            "declares accent, products, sale, seconds, "
            "title",
            "code": "unknown_variable",
        },
        {
            "pointer": "#/values/products/0/price",
            "detail": "products[0].price: expected a number, got text",
            "code": "wrong_type",
        },
        {
            "pointer": "#/values/products/1/image",
            "detail": "products[1].image: required, and no value was given",
            "code": "missing",
        },
    ],
    "template_id": "tpl_01m8h5rd2ph1h87yb8c70se8bd",
    "version": 3,
}
ERROR_TEMPLATE_EDIT_INVALID: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/edit-invalid",
    "title": "The edit is not valid.",
    "status": 422,
    "detail": "version 3 of template "
    "tpl_01m8h5rd2ph1h87yb8c70se8bd filled with these "
    "values: 1 problem in the edit (pointers into the "
    "template, or into this body's `outputs`)",
    "instance": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/renders",
    "code": "edit-invalid",
    "request_id": "req_01m8h5rdjrnadfq034z9aywbn6",
    "errors": [
        {
            "pointer": "#/outputs/0",
            "detail": "codec 'vp9' does not go in mp4; use one of h264, h265",
            "code": "invalid",
        }
    ],
    "template_id": "tpl_01m8h5rd2ph1h87yb8c70se8bd",
    "version": 3,
}
ERROR_TEMPLATE_RENDERS_SCOPE: dict[str, Any] = {
    "type": "https://reelforge.dev/problems/insufficient-scope",
    "title": "The credential lacks a required scope.",
    "status": 403,
    "detail": "this needs the `renders:write` scope",
    "instance": "/v1/templates/tpl_01m8h5rd2ph1h87yb8c70se8bd/renders",
    "code": "insufficient-scope",
    "request_id": "req_01m8h5rdk34gasdym37dmayc6x",
    "required_scope": "renders:write",
}
# --- captured: end


def _scope(name: str, problem: dict[str, Any]) -> ex.Named:
    return f"a credential without `{name}`", problem


_READ = _scope("templates:read", ERROR_SCOPE_TEMPLATES_READ)
_WRITE = _scope("templates:write", ERROR_SCOPE_TEMPLATES_WRITE)
_NOT_FOUND = ("no such template in this workspace", ERROR_TEMPLATE_NOT_FOUND)
_VERSION_NOT_FOUND = ("the template has no such version", ERROR_TEMPLATE_VERSION_NOT_FOUND)
_ETAG = (
    "The template's version as a strong ETag: send it in If-Match to change the template",
    TEMPLATE_CREATED_HEADERS["ETag"],
)
_STALE = ("If-Match is not the current ETag (someone changed the template)", ERROR_TEMPLATE_STALE)
_INVALID = (
    "a placeholder without a variable, a bad variable definition…: each with its pointer",
    ERROR_TEMPLATE_INVALID,
)
_VALUES = (
    "values that do not fit the variables: every problem at once, each naming the variable",
    ERROR_VALUES_INVALID,
)
_EDIT = ("the filled edit cannot be rendered (pointers into the template)", ERROR_TEMPLATE_EDIT_INVALID)
_NOT_MODIFIED = {"description": "`If-None-Match` matched the current ETag: nothing changed (no body)."}

CREATE_TEMPLATE_BODY = ex.body({"a product slideshow": TEMPLATE_CREATE})
CREATE_TEMPLATE_RESPONSES = ex.responses(
    {
        201: ex.success(
            "The template at version 1.",
            {"a product slideshow": TEMPLATE_CREATED},
            headers={"ETag": _ETAG, "Location": ("The template's URL", TEMPLATE_CREATED_HEADERS["Location"])},
            model=schemas.TemplateOut,
        )
    },
    *ex.AUTH,
    _WRITE,
    _INVALID,
    ("an unknown field", ERROR_TEMPLATE_VALIDATION),
)
LIST_TEMPLATES_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of templates, newest first, each at its current version.",
            {"one template": TEMPLATE_LIST},
            model=schemas.TemplateList,
        )
    },
    *ex.AUTH,
    _READ,
    *ex.LIST,
)
GET_TEMPLATE_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The template at its current version.",
            {"a template": TEMPLATE},
            headers={"ETag": _ETAG},
            model=schemas.TemplateOut,
        ),
        304: _NOT_MODIFIED,
    },
    *ex.AUTH,
    _READ,
    _NOT_FOUND,
)
REPLACE_TEMPLATE_BODY = ex.body({"add a price badge": TEMPLATE_REPLACE})
REPLACE_TEMPLATE_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The template at its new version.",
            {"add a price badge": TEMPLATE_REPLACED},
            headers={"ETag": _ETAG},
            model=schemas.TemplateOut,
        )
    },
    *ex.AUTH,
    _WRITE,
    _NOT_FOUND,
    _STALE,
    ("no If-Match", ERROR_TEMPLATE_NO_IF_MATCH),
    _INVALID,
)
DELETE_TEMPLATE_RESPONSES = ex.responses(
    {204: {"description": "Deleted with its versions; renders made from it keep their edit and outputs."}},
    *ex.AUTH,
    _WRITE,
    _NOT_FOUND,
    _STALE,
)
LIST_VERSIONS_RESPONSES = ex.responses(
    {
        200: ex.success(
            "A page of versions, newest first.",
            {"two versions": TEMPLATE_VERSION_LIST},
            model=schemas.TemplateVersionList,
        )
    },
    *ex.AUTH,
    _READ,
    _NOT_FOUND,
    *ex.LIST,
)
GET_VERSION_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The version with its template document.",
            {"the first version": TEMPLATE_VERSION},
            model=schemas.TemplateVersionOut,
        )
    },
    *ex.AUTH,
    _READ,
    _NOT_FOUND,
    _VERSION_NOT_FOUND,
)
RESTORE_VERSION_BODY = ex.body({"back to the first version": TEMPLATE_RESTORE})
RESTORE_VERSION_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The template at a new version holding the old version's document.",
            {"back to the first version": TEMPLATE_RESTORED},
            headers={"ETag": _ETAG},
            model=schemas.TemplateOut,
        )
    },
    *ex.AUTH,
    _WRITE,
    _NOT_FOUND,
    _VERSION_NOT_FOUND,
    _STALE,
    ("no If-Match", ERROR_TEMPLATE_NO_IF_MATCH),
)
VARIABLES_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The JSON Schema (draft 2020-12) of the `values` object.",
            {"a product slideshow's values": TEMPLATE_VARIABLES},
            model=schemas.ValuesSchema,
        )
    },
    *ex.AUTH,
    _READ,
    _NOT_FOUND,
    _VERSION_NOT_FOUND,
)
PREVIEW_BODY = ex.body({"two products in French": TEMPLATE_PREVIEW_REQUEST})
PREVIEW_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The merged edit, valid for rendering.",
            {"two products in French": TEMPLATE_PREVIEW},
            model=schemas.TemplatePreview,
        )
    },
    *ex.AUTH,
    _READ,
    _NOT_FOUND,
    _VALUES,
    _EDIT,
)
RENDER_TEMPLATE_BODY = ex.body(
    {"two products in French": TEMPLATE_RENDER_REQUEST, "dry run": TEMPLATE_RENDER_DRY_RUN}
)
RENDER_TEMPLATE_RESPONSES = ex.responses(
    {
        202: ex.success(
            "The render, queued, tagged with the template; follow it at `Location`.",
            {"two products in French": TEMPLATE_RENDER_QUEUED},
            headers={"Location": ("The render's URL", "https://reelforge.example/v1/renders/rnd_…")},
            model=schemas.RenderOut,
        ),
        200: ex.success(
            "A dry run: the validated plan with an estimate; nothing is created.",
            {"dry run": TEMPLATE_RENDER_PLAN},
            model=schemas.RenderPlan,
        ),
    },
    *ex.AUTH,
    _READ,
    ("a credential without `renders:write`", ERROR_TEMPLATE_RENDERS_SCOPE),
    _NOT_FOUND,
    _VALUES,
    _EDIT,
)
