"""Layout per output: overrides, safe areas, focus points for cover crops and CSS colours,
checked on the pixels of real renders of small generated media."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from frames import close, mean_rgb, video_frames
from mediagen import run_ffmpeg
from reelforge.edit.errors import EditError
from reelforge.edit.validate import parse_edit
from reelforge.edit.values import parse_color
from reelforge.render.engine import RenderResult, plan_edit, render_edit
from reelforge.render.sources import LocalResolver

WIDE = {"width": 320, "height": 180, "fps": 25, "quality": "draft", "audio": False}
TALL = {"width": 180, "height": 320, "fps": 25, "quality": "draft", "audio": False}


def render(doc: dict[str, Any], tmp_path: Path, out: str = "out") -> RenderResult:
    edit = parse_edit(doc)
    return render_edit(edit, out_dir=tmp_path / out, base_dir=tmp_path, resolver=LocalResolver(tmp_path))


def white_mask(frame: np.ndarray, level: int = 200) -> np.ndarray:
    return np.asarray(frame.min(axis=2) > level)


def bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """left, top, right, bottom (exclusive) of the true pixels."""
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def near(box: tuple[int, int, int, int], expected: tuple[int, int, int, int], tol: int = 2) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(box, expected, strict=True))


# ---------------------------------------------------------------------- overrides


def test_an_override_moves_and_resizes_a_clip_only_in_9_16(tmp_path: Path) -> None:
    badge = {
        "asset": {"type": "color", "color": "white"},
        "length": "4f",
        "width": 0.2,
        "height": 0.2,
        "anchor": "top-left",
        "overrides": {"9:16": {"anchor": "bottom-right", "width": 0.5, "offset": {"y": -0.1}}},
    }
    doc = {"timeline": {"tracks": [{"clips": [badge]}]}, "outputs": [WIDE, TALL]}
    result = render(doc, tmp_path)
    wide = video_frames(result.outputs[0].path)[1]
    tall = video_frames(result.outputs[1].path)[1]
    # 16:9: the clip as written, 64x36 in the top-left corner.
    assert near(bbox(white_mask(wide)), (0, 0, 64, 36))
    # 9:16: 90x64 (half the width, the clip's own height) at the bottom right, raised by 32 px.
    assert near(bbox(white_mask(tall)), (90, 320 - 64 - 32, 180, 320 - 32))


def test_an_override_by_output_name_wins_over_the_aspect_ratio(tmp_path: Path) -> None:
    clip = {
        "asset": {"type": "color", "color": "red"},
        "length": "2f",
        "overrides": {"9:16": {"asset": {"color": "blue"}}, "story": {"asset": {"color": "#0f0"}}},
    }
    doc = {
        "timeline": {"tracks": [{"clips": [clip]}]},
        "outputs": [WIDE, TALL, {**TALL, "name": "story"}],
    }
    result = render(doc, tmp_path)
    colours = [mean_rgb(video_frames(o.path)[0]) for o in result.outputs]
    assert close(colours[0], (255, 0, 0)) and close(colours[1], (0, 0, 255))
    assert close(colours[2], (0, 255, 0)), colours


def problems(doc: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(EditError) as info:
        parse_edit(doc)
    return {p.pointer: p.message for p in info.value.problems}


def test_invalid_overrides_point_inside_overrides() -> None:
    at = "/timeline/tracks/0/clips/0/overrides/"

    def found_in(overrides: dict[str, Any]) -> dict[str, str]:
        clip = {"asset": {"type": "text", "text": "Hi"}, "overrides": overrides}
        return problems({"timeline": {"tracks": [{"clips": [clip]}]}, "outputs": [WIDE]})

    # What the override's own fields say (checked with the clip's models)...
    found = found_in({"9:16": {"offset": {"y": 5}}, "1:1": {"start": 2, "fit": "squash"}})
    assert set(found) == {at + "9:16/offset/y", at + "1:1/start", at + "1:1/fit"}, found
    assert "every output shares one timeline" in found[at + "1:1/start"]
    # ...then the asset, checked once merged into the clip's, and the keys.
    found = found_in(
        {
            "9:16": {"asset": {"style": {"size": 3, "color": "rgb(1, 2)"}}},
            "1:1": {"asset": {"src": "other.mp4"}},
            "nowhere": {"scale": 2},
        }
    )
    assert set(found) == {
        at + "9:16/asset/style/size",
        at + "9:16/asset/style/color",
        at + "1:1/asset/src",
        at + "nowhere",
    }, found
    assert "rgb() takes 3 values" in found[at + "9:16/asset/style/color"]
    assert "no output is named 'nowhere'" in found[at + "nowhere"]


# ---------------------------------------------------------------------- safe area


def test_safe_area_keeps_a_clip_out_of_the_9_16_platform_zones(tmp_path: Path) -> None:
    def badge(safe: bool) -> dict[str, Any]:
        return {
            "asset": {"type": "color", "color": "white"},
            "length": "2f",
            "width": 0.5,
            "height": 0.1,
            "anchor": "bottom",
            "safe_area": safe,
        }

    doc = {
        "timeline": {"tracks": [{"clips": [badge(False)]}, {"clips": [{**badge(True), "anchor": "top"}]}]},
        "outputs": [WIDE, TALL],
    }
    result = render(doc, tmp_path)
    wide = white_mask(video_frames(result.outputs[0].path)[0])
    tall = white_mask(video_frames(result.outputs[1].path)[0])
    # 16:9 has no safe zone: the safe clip stays at the very top, the other at the very bottom.
    assert wide[:18].mean() > 0.45 and wide[-18:].mean() > 0.45
    # 9:16: the top 14 % (45 px) is kept clear for the safe clip; the other one ignores the zone.
    top_rows = tall[:44].any(axis=1)
    assert not top_rows.any(), "the safe clip reaches into the top zone"
    assert near(bbox(tall[:160]), (45, 45, 135, 45 + 32))
    assert tall[-32:].mean() > 0.45


def test_safe_area_wins_over_an_offset_pushing_the_clip_out(tmp_path: Path) -> None:
    clip = {
        "asset": {"type": "color", "color": "white"},
        "length": "2f",
        "width": 0.4,
        "height": 0.1,
        "anchor": "bottom",
        "offset": {"y": 0.5},
        "safe_area": True,
    }
    doc = {"timeline": {"tracks": [{"clips": [clip]}]}, "outputs": [TALL]}
    tall = white_mask(video_frames(render(doc, tmp_path).outputs[0].path)[0])
    # The bottom 20 % (64 px) stays clear: the box ends at 256 px.
    assert near(bbox(tall), (54, 256 - 32, 126, 256))


def test_safe_area_lifts_captions_above_the_9_16_bottom_zone(tmp_path: Path) -> None:
    def captions(safe: bool) -> dict[str, Any]:
        return {
            "asset": {
                "type": "caption",
                "cues": [{"start": 0, "end": 1, "text": "HELLO"}],
                "style": {"margin_y": 0.02, "size": 0.05, "outline": 0},
            },
            "length": "5f",
            "safe_area": safe,
        }

    rows = []
    for safe in (False, True):
        doc = {"timeline": {"tracks": [{"clips": [captions(safe)]}]}, "outputs": [TALL]}
        frame = video_frames(render(doc, tmp_path, f"safe-{safe}").outputs[0].path)[2]
        rows.append(bbox(white_mask(frame, 150)))
    assert rows[0][3] > 300, rows  # 2 % from the bottom: in the player's UI
    assert 256 - 24 <= rows[1][3] <= 256, rows  # the bottom 20 % (64 px) kept clear


# ---------------------------------------------------------------------- focus


def moving_disc(path: Path, *, x: int = 260, moving: bool = True) -> Path:
    """A 16:9 source, dark grey, with a bright disc moving around ``x`` on the right third."""
    wobble = "10*sin(T*6)" if moving else "0"
    lum = f"if(lt(hypot(X-({x}+{wobble}),Y-(90+{wobble})),16),235,40)"
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"color=c=gray:s=320x180:r=25:d=1,format=gray,geq=lum='{lum}',format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            str(path),
        ]
    )
    return path


def disc_doc(focus: Any) -> dict[str, Any]:
    clip: dict[str, Any] = {"asset": {"type": "video", "src": "disc.mp4"}, "fit": "cover"}
    if focus is not None:
        clip["focus"] = focus
    return {"timeline": {"tracks": [{"clips": [clip]}]}, "outputs": [TALL]}


def bright_share(result: RenderResult) -> float:
    frames = video_frames(result.outputs[0].path)
    return float(np.mean([white_mask(f).mean() for f in frames]))


def test_auto_focus_keeps_an_off_centre_moving_subject_in_a_9_16_crop(tmp_path: Path) -> None:
    moving_disc(tmp_path / "disc.mp4")
    centred = bright_share(render(disc_doc(None), tmp_path, "centred"))
    # The centre crop keeps x 110-211 of the source: the disc (x 234-286) is cut away.
    assert centred < 0.005
    plan = plan_edit(
        parse_edit(disc_doc("auto")),
        resolver=LocalResolver(tmp_path),
        out_dir=tmp_path / "out",
        work_dir=tmp_path / "work",
    )
    focus = plan.sources["disc.mp4"].focus
    assert focus is not None and focus.method == "motion" and focus.x > 0.7, focus
    assert 0.35 < focus.y < 0.65
    # In the 9:16 render the disc (a circle of radius 16 px, about 8 % of the source's height
    # scaled up 1.78 times) fills several percent of the picture.
    assert bright_share(render(disc_doc("auto"), tmp_path)) > 0.03


def test_auto_focus_finds_a_still_subject_by_contrast(tmp_path: Path) -> None:
    moving_disc(tmp_path / "disc.mp4", x=270, moving=False)
    plan = plan_edit(
        parse_edit(disc_doc("auto")),
        resolver=LocalResolver(tmp_path),
        out_dir=tmp_path / "out",
        work_dir=tmp_path / "work",
    )
    focus = plan.sources["disc.mp4"].focus
    assert focus is not None and focus.method == "contrast" and focus.x > 0.75, focus


def drawn_face(path: Path, *, face_x: int = 500) -> Path:
    """A 640x360 still: a drawn frontal face (hair, brows, eyes, a lit nose, a mouth, blurred a
    little as a camera would) at ``face_x``, and a black-and-white checkerboard on the left third,
    the picture's most contrasted region."""
    from PIL import Image, ImageDraw, ImageFilter

    picture = Image.new("L", (640, 360), 90)
    draw = ImageDraw.Draw(picture)
    for row in range(0, 360, 20):
        for col in range(0, 200, 20):
            draw.rectangle([col, row, col + 19, row + 19], fill=255 if (row + col) // 20 % 2 else 0)
    cx, cy = face_x, 170
    draw.ellipse([cx - 55, cy - 70, cx + 55, cy + 70], fill=200)
    draw.ellipse([cx - 60, cy - 85, cx + 60, cy - 35], fill=40)
    for ex in (cx - 24, cx + 24):
        draw.rectangle([ex - 16, cy - 35, ex + 16, cy - 30], fill=60)
        draw.ellipse([ex - 13, cy - 21, ex + 13, cy - 9], fill=70)
        draw.ellipse([ex - 5, cy - 20, ex + 5, cy - 10], fill=20)
    draw.polygon([(cx, cy - 15), (cx - 8, cy + 22), (cx + 8, cy + 22)], fill=215)
    draw.ellipse([cx - 24, cy + 38, cx + 24, cy + 50], fill=80)
    picture.filter(ImageFilter.GaussianBlur(2)).convert("RGB").save(path)
    return path


def test_auto_focus_finds_a_face_before_a_more_contrasted_region(tmp_path: Path) -> None:
    drawn_face(tmp_path / "face.png")
    clip = {"asset": {"type": "image", "src": "face.png"}, "fit": "cover", "length": "2f", "focus": "auto"}
    doc = {"timeline": {"tracks": [{"clips": [clip]}]}, "outputs": [TALL]}
    plan = plan_edit(
        parse_edit(doc),
        resolver=LocalResolver(tmp_path),
        out_dir=tmp_path / "out",
        work_dir=tmp_path / "work",
    )
    focus = plan.sources["face.png"].focus
    # The face's centre is at x 500 / 640 = 0.78 of the picture; the checkerboard is left of 0.31.
    assert focus is not None and focus.method == "faces" and 0.7 < focus.x < 0.86, focus
    assert 0.35 < focus.y < 0.6, focus

    # The 9:16 crop shows the face, where the centred crop shows neither it nor the checkerboard.
    def skin_and_squares(focus: Any, out: str) -> tuple[float, float]:
        shown = {**doc, "timeline": {"tracks": [{"clips": [{**clip, "focus": focus}]}]}}
        grey = video_frames(render(shown, tmp_path, out).outputs[0].path)[0].mean(axis=2)
        return float(((grey > 180) & (grey < 225)).mean()), float(((grey > 235) | (grey < 15)).mean())

    skin, squares = skin_and_squares("auto", "auto")
    assert skin > 0.06 and squares < 0.01, (skin, squares)
    assert skin_and_squares(None, "centred")[0] < 0.005


def test_a_focus_point_chooses_the_cover_crop_window(tmp_path: Path) -> None:
    # Left half red, right half blue.
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=160x180:r=25:d=0.2[l];color=c=blue:s=160x180:r=25:d=0.2[r];[l][r]hstack",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            str(tmp_path / "halves.mp4"),
        ]
    )
    seen = []
    for x in (0.0, 1.0, 0.5):
        clip = {"asset": {"type": "video", "src": "halves.mp4"}, "focus": {"x": x, "y": 0.5}}
        doc = {"timeline": {"tracks": [{"clips": [clip]}]}, "outputs": [TALL]}
        seen.append(mean_rgb(video_frames(render(doc, tmp_path, f"x{x}").outputs[0].path)[0]))
    assert close(seen[0], (255, 0, 0), 40) and close(seen[1], (0, 0, 255), 40), seen
    assert seen[2][0] > 60 and seen[2][2] > 60  # the centre shows both halves


def test_focus_is_refused_where_no_cover_crop_uses_it() -> None:
    clips = [
        {"asset": {"type": "text", "text": "x"}, "focus": "auto"},
        {"asset": {"type": "video", "src": "a.mp4"}, "fit": "contain", "focus": {"x": 0.2}},
    ]
    found = problems({"timeline": {"tracks": [{"clips": clips}]}, "outputs": [WIDE]})
    assert found == {
        "/timeline/tracks/0/clips/0/focus": "`focus` chooses what a `cover` crop keeps of a video or image",
        "/timeline/tracks/0/clips/1/focus": "`focus` chooses what a `cover` crop keeps of a video or image; "
        "this clip's fit is 'contain'",
    }


# ---------------------------------------------------------------------- colours


@pytest.mark.parametrize(
    ("text", "rgba"),
    [
        ("rebeccapurple", (102, 51, 153, 255)),
        ("LightGoldenRodYellow", (250, 250, 210, 255)),
        ("transparent", (0, 0, 0, 0)),
        ("#f80", (255, 136, 0, 255)),
        ("#f808", (255, 136, 0, 136)),
        ("#ff8800", (255, 136, 0, 255)),
        ("#ff880080", (255, 136, 0, 128)),
        ("rgb(255, 136, 0)", (255, 136, 0, 255)),
        ("rgba(255, 136, 0, 0.5)", (255, 136, 0, 128)),
        ("rgb(255 136 0 / 50%)", (255, 136, 0, 128)),
        ("rgb(100% 0% 50%)", (255, 0, 128, 255)),
        ("hsl(120 100% 50%)", (0, 255, 0, 255)),
        ("hsla(240, 100%, 50%, 0.25)", (0, 0, 255, 64)),
        ("hsl(0.5turn 100% 50% / 1)", (0, 255, 255, 255)),
        ("HSL(-120deg, 100%, 50%)", (0, 0, 255, 255)),
    ],
)
def test_every_css_colour_form_parses(text: str, rgba: tuple[int, int, int, int]) -> None:
    assert parse_color(text) == rgba


def test_every_css_named_colour_matches_an_independent_table() -> None:
    """All 148 CSS Color 4 names (webcolors' CSS3 list plus rebeccapurple), checked against Pillow's
    own colour table, in any letter case."""
    import webcolors
    from PIL import ImageColor

    names = set(webcolors.names("css3")) | {"rebeccapurple"}
    assert len(names) == 148
    for name in sorted(names):
        expected = (*ImageColor.getrgb(name)[:3], 255)
        assert parse_color(name) == expected, name
        assert parse_color(name.upper()) == expected, name


def test_colour_errors_name_the_field() -> None:
    doc = {
        "timeline": {
            "background": "rgb(1, 2)",
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "color", "color": "blurple"}},
                        {"asset": {"type": "text", "text": "x", "style": {"color": "hsl(10%, 50%, 50%)"}}},
                        {"asset": {"type": "shape", "shape": "circle", "fill": "#12345"}},
                    ]
                }
            ],
        },
        "outputs": [WIDE],
    }
    found = problems(doc)
    assert "rgb() takes 3 values" in found["/timeline/background"]
    assert "'blurple' is not a CSS colour name" in found["/timeline/tracks/0/clips/0/asset/color"]
    assert "the hue '10%' is an angle" in found["/timeline/tracks/0/clips/1/asset/style/color"]
    assert "'#12345' is not a hex colour" in found["/timeline/tracks/0/clips/2/asset/fill"]


def test_css_colour_functions_render(tmp_path: Path) -> None:
    doc = {
        "timeline": {
            "tracks": [
                {
                    "clips": [
                        {"asset": {"type": "color", "color": "hsl(240 100% 50%)"}, "length": "2f"},
                        {"asset": {"type": "color", "color": "rgb(255 0 0 / 100%)"}, "length": "2f"},
                        {"asset": {"type": "color", "color": "darkorange"}, "length": "2f"},
                    ]
                }
            ]
        },
        "outputs": [WIDE],
    }
    frames = video_frames(render(doc, tmp_path).outputs[0].path)
    assert close(mean_rgb(frames[0]), (0, 0, 255))
    assert close(mean_rgb(frames[2]), (255, 0, 0))
    assert close(mean_rgb(frames[4]), (255, 140, 0))


def test_the_json_schema_describes_the_layout_fields() -> None:
    import jsonschema

    from reelforge.edit.schema import edit_json_schema

    schema = edit_json_schema()
    clip = schema["$defs"]["Clip"]["properties"]
    assert {"focus", "safe_area", "overrides"} <= set(clip)
    override = schema["$defs"]["ClipOverride"]["properties"]
    assert "start" not in override and "offset" in override and "asset" in override
    assert override["safe_area"]["description"].startswith("Keep the clip inside the output's safe zone")
    assert "hsl()" in str(schema["$defs"]["Timeline"]["properties"]["background"])
    edit = {
        "timeline": {
            "background": "hsl(222 50% 12%)",
            "tracks": [
                {
                    "clips": [
                        {
                            "asset": {"type": "video", "src": "a.mp4"},
                            "focus": "auto",
                            "safe_area": True,
                            "overrides": {"9:16": {"focus": {"x": 0.8, "y": 0.5}, "width": 0.5}},
                        }
                    ]
                }
            ],
        }
    }
    jsonschema.validate(edit, schema)
    bad = {
        **edit,
        "timeline": {
            "tracks": [
                {"clips": [{"asset": {"type": "color", "color": "red"}, "overrides": {"9:16": {"start": 1}}}]}
            ]
        },
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
