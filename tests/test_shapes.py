"""Shape rasterisation: rectangles, circles and lines checked pixel by pixel."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from reelforge.edit.models import ShapeAsset
from reelforge.render.shapes import render_shape, rounded_rect_mask

CANVAS_H = 180


def shape(kind: str, **fields: Any) -> ShapeAsset:
    return ShapeAsset.model_validate({"type": "shape", "shape": kind, **fields})


def px(image: Image.Image) -> np.ndarray:
    assert image.mode == "RGBA"
    return np.asarray(image).astype(int)


def test_plain_rectangle_fills_its_box() -> None:
    a = px(render_shape(shape("rectangle", fill="#ff8800"), (60, 40), CANVAS_H))
    assert a.shape == (40, 60, 4)
    assert (a == [255, 136, 0, 255]).all()


def test_translucent_fill_keeps_its_colour() -> None:
    a = px(render_shape(shape("rectangle", fill="#00ff0080"), (20, 10), CANVAS_H))
    assert (a == [0, 255, 0, 128]).all()


def test_rounded_rectangle_has_transparent_corners() -> None:
    a = px(render_shape(shape("rectangle", fill="#ffffff", radius=0.1), (100, 60), CANVAS_H))
    for y, x in ((0, 0), (0, 99), (59, 0), (59, 99)):
        assert a[y, x, 3] == 0
    # straight edges stay fully covered; the curve is antialiased
    assert a[0, 50, 3] == 255 and a[30, 0, 3] == 255
    corner = a[:18, :18, 3]
    assert ((corner > 0) & (corner < 255)).any()


def test_stroke_lies_inside_the_edge_over_the_fill() -> None:
    width = 0.05  # 9 px
    a = px(
        render_shape(
            shape("rectangle", fill="#0000ff", stroke="#ff0000", stroke_width=width), (80, 60), CANVAS_H
        )
    )
    red = (a == [255, 0, 0, 255]).all(axis=-1)
    blue = (a == [0, 0, 255, 255]).all(axis=-1)
    assert red[0].all() and red[-1].all() and red[:, 0].all() and red[:, -1].all()
    assert blue[30, 40]
    # the band across the middle row is as thick as asked
    assert red[30, :40].sum() == round(width * CANVAS_H)


def test_stroke_only_rectangle_is_hollow() -> None:
    a = px(
        render_shape(shape("rectangle", fill=None, stroke="#ffffff", stroke_width=0.02), (50, 50), CANVAS_H)
    )
    assert a[25, 25, 3] == 0 and a[0, 25, 3] == 255


def test_circle_fills_the_box_as_an_ellipse() -> None:
    a = px(render_shape(shape("circle", fill="#ffffff"), (120, 60), CANVAS_H))[..., 3]
    assert a[0, 0] == a[0, -1] == a[-1, 0] == a[-1, -1] == 0
    assert a[30, 60] == 255
    # it touches the middle of every side
    assert a[30, 0] > 100 and a[30, -1] > 100 and a[0, 60] > 100 and a[-1, 60] > 100
    assert ((a > 0) & (a < 255)).sum() > 50  # antialiased rim
    # an ellipse covers pi/4 of its box
    assert abs(a.sum() / 255 / a.size - np.pi / 4) < 0.02


def test_circle_stroke_ring() -> None:
    a = px(
        render_shape(shape("circle", fill="#000000", stroke="#ffffff", stroke_width=0.05), (90, 90), CANVAS_H)
    )
    assert (a[45, 2] == [255, 255, 255, 255]).all()
    assert (a[45, 45] == [0, 0, 0, 255]).all()


@pytest.mark.parametrize(
    ("fields", "rgb"), [({"stroke": "#ff0000"}, [255, 0, 0]), ({"stroke": None}, [255, 255, 255])]
)
def test_line_runs_across_the_box_centred(fields: dict[str, Any], rgb: list[int]) -> None:
    width = 0.05  # 9 px
    a = px(render_shape(shape("line", fill="#ffffff", stroke_width=width, **fields), (100, 41), CANVAS_H))
    rows = np.nonzero(a[:, 50, 3] == 255)[0]
    assert len(rows) == round(width * CANVAS_H)
    assert abs((rows[0] + rows[-1]) / 2 - 20) <= 1
    assert (a[rows, :, 3] == 255).all()  # the whole width
    assert (a[rows[0], :, :3] == rgb).all()
    assert a[0, :, 3].max() == 0 and a[-1, :, 3].max() == 0


def test_nothing_to_draw_is_transparent() -> None:
    a = px(render_shape(shape("rectangle", fill=None, stroke=None), (10, 10), CANVAS_H))
    assert a[..., 3].max() == 0


def test_rounded_rect_mask_radius_is_clamped() -> None:
    mask = np.asarray(rounded_rect_mask((40, 20), radius=500))
    assert mask[10, 20] == 255 and mask[0, 0] == 0 and mask[10, 0] > 100  # a stadium, not a crash


def test_oversized_box_is_refused() -> None:
    with pytest.raises(ValueError, match="too large"):
        render_shape(shape("rectangle"), (30000, 30000), CANVAS_H)
