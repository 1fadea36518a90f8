"""Colour/image effects and Ken Burns motion, rendered by the real FFmpeg on tiny lavfi sources.

Every check looks at pixels: means, channel ratios, alpha, and the tracked position of a blob.
"""

from __future__ import annotations

import pickle
import subprocess
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from reelforge.edit.models import Effects, Motion
from reelforge.ffmpeg.binary import ffmpeg_exe
from reelforge.render.effects import LutFileError, add_effects, effect_filters, parse_cube_file
from reelforge.render.graph import Filter, FilterGraph
from reelforge.render.motion import motion_filters

W, H = 64, 36
BARS = f"smptebars=s={W}x{H}:r=25"
PATTERN = f"testsrc2=s={W}x{H}:r=25"
GREYS = f"nullsrc=s={W}x{H}:r=25,geq=lum='64+X*2':cb=128:cr=128"  # a mid-grey ramp that does not clip

CHANNELS = {"rgb24": 3, "rgba": 4, "gray": 1}


def render(
    source: str,
    filters: Sequence[Filter] = (),
    *,
    pix_fmt: str = "rgb24",
    frames: int | None = 1,
    size: tuple[int, int] = (W, H),
) -> np.ndarray:
    """Frames (n, h, w, channels) of the lavfi ``source`` (written by these tests) after ``filters``."""
    vf = ",".join([*(str(f) for f in filters), f"format={pix_fmt}"])
    limit = ["-frames:v", str(frames)] if frames is not None else []
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
           "-f", "lavfi", "-i", source, "-vf", vf, *limit, "-f", "rawvideo", "-"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, check=True, timeout=60).stdout
    return np.frombuffer(out, np.uint8).reshape(-1, size[1], size[0], CHANNELS[pix_fmt]).astype(float)


def one(source: str, effects: Effects, **kwargs: object) -> np.ndarray:
    """The first frame (h, w, c) of ``source`` with ``effects``."""
    return render(source, effect_filters(effects, canvas_height=H, **kwargs))[0]  # type: ignore[arg-type]


def luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def detail(rgb: np.ndarray) -> float:
    """High-frequency energy: mean absolute difference between neighbours."""
    y = luma(rgb)
    return float(np.abs(np.diff(y, axis=0)).mean() + np.abs(np.diff(y, axis=1)).mean())


def write_cube(path: Path, size: int, mapping: str = "identity") -> Path:
    lines = ["# written by the test", 'TITLE "test"', f"LUT_3D_SIZE {size}"]
    for b in range(size):  # red changes fastest
        for g in range(size):
            for r in range(size):
                rgb = (r, g, b) if mapping == "identity" else (b, g, r)
                lines.append(" ".join(f"{c / (size - 1):.6f}" for c in rgb))
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- what is emitted


def test_neutral_effects_emit_nothing() -> None:
    assert effect_filters(Effects(), canvas_height=1080) == []
    neutral = Effects(temperature=6500, vignette={"strength": 0}, blur=0, sharpen=0, hue=0)
    assert effect_filters(neutral, canvas_height=1080) == []


def test_one_setting_is_one_filter() -> None:
    assert [str(f) for f in effect_filters(Effects(saturation=1.2), canvas_height=1080)] == [
        "eq=saturation=1.2"
    ]
    assert [str(f) for f in effect_filters(Effects(hue=40), canvas_height=1080)] == ["hue=h=40"]


def test_eq_presets_fold_into_the_colour_eq() -> None:
    filters = effect_filters(Effects(preset="boost", brightness=0.1, hue=20), canvas_height=1080)
    assert [f.name for f in filters] == ["eq", "hue"]
    assert [f.name for f in effect_filters(Effects(preset="greyscale", hue=90), canvas_height=1080)] == ["eq"]


def test_documented_order(tmp_path: Path) -> None:
    everything = Effects(
        lut="look.cube",
        preset="sepia",
        temperature=4000,
        brightness=0.1,
        hue=10,
        blur=5,
        sharpen=1,
        vignette={"strength": 0.3},
        chroma_key={"color": "#00ff00"},
    )
    names = [f.name for f in effect_filters(everything, lut_path=tmp_path / "look.cube", canvas_height=720)]
    assert names == [
        "lut3d",
        "colorchannelmixer",
        "lutrgb",
        "eq",
        "hue",
        "gblur",
        "unsharp",
        "vignette",
        "chromakey",
    ]


def test_back_to_yuv_after_rgb_filters() -> None:
    names = [f.name for f in effect_filters(Effects(preset="vintage", blur=3), canvas_height=720)]
    assert names == ["curves", "format", "gblur"]
    assert [f.name for f in effect_filters(Effects(preset="vintage"), canvas_height=720)] == ["curves"]


def test_lut_needs_its_path() -> None:
    with pytest.raises(ValueError, match="lut_path"):
        effect_filters(Effects(lut="look.cube"), canvas_height=720)


# --------------------------------------------------------------------------- colour


def test_brightness_raises_luma() -> None:
    before = luma(one(PATTERN, Effects())).mean()
    assert luma(one(PATTERN, Effects(brightness=0.2))).mean() > before + 20
    assert luma(one(PATTERN, Effects(brightness=-0.2))).mean() < before - 20


def test_contrast_spreads_and_gamma_lifts() -> None:
    plain = luma(one(GREYS, Effects()))
    assert luma(one(GREYS, Effects(contrast=1.5))).std() == pytest.approx(plain.std() * 1.5, rel=0.05)
    assert luma(one(GREYS, Effects(gamma=1.8))).mean() > plain.mean() + 20


@pytest.mark.parametrize("effects", [Effects(saturation=0), Effects(preset="greyscale")])
def test_no_saturation_is_grey(effects: Effects) -> None:
    rgb = one(BARS, effects)
    assert np.abs(rgb[..., 0] - rgb[..., 1]).max() <= 3
    assert np.abs(rgb[..., 1] - rgb[..., 2]).max() <= 3


def test_boost_and_muted_change_saturation() -> None:
    def spread(rgb: np.ndarray) -> float:
        return float((rgb.max(axis=-1) - rgb.min(axis=-1)).mean())

    plain = spread(one(BARS, Effects()))
    assert spread(one(BARS, Effects(preset="boost"))) > plain * 1.1
    assert spread(one(BARS, Effects(preset="muted"))) < plain * 0.8


def test_sepia_on_grey_is_warm() -> None:
    r, g, b = one(f"color=c=0x808080:s={W}x{H}", Effects(preset="sepia")).mean(axis=(0, 1))
    assert r > g + 10 > b + 20


def test_vintage_changes_the_look() -> None:
    assert np.abs(one(BARS, Effects(preset="vintage")) - one(BARS, Effects())).mean() > 10


def test_negative_inverts() -> None:
    plain = one(BARS, Effects())
    assert np.abs(one(BARS, Effects(preset="negative")) - (255 - plain)).mean() < 3


def test_hue_180_turns_red_towards_cyan() -> None:
    r, g, b = one(f"color=c=red:s={W}x{H}", Effects(hue=180)).mean(axis=(0, 1))
    assert g > r + 100 and b > r + 100


def test_low_temperature_is_warmer_and_high_is_cooler() -> None:
    grey = f"color=c=0xa0a0a0:s={W}x{H}"
    r, _, b = one(grey, Effects(temperature=3000)).mean(axis=(0, 1))
    assert r / b > 1.5
    r, _, b = one(grey, Effects(temperature=12000)).mean(axis=(0, 1))
    assert b / r > 1.1


def test_identity_lut_keeps_and_swap_lut_swaps(tmp_path: Path) -> None:
    # The name exercises both escaping levels; it is a file in the work dir like the compiler's.
    weird = tmp_path / "it's a [lut], 50%: swap;.cube"
    write_cube(weird, 9, "swap")
    identity = write_cube(tmp_path / "identity.cube", 5)
    parse_cube_file(weird)
    parse_cube_file(identity)
    source = f"color=c=0xc04020:s={W}x{H}"
    kept = one(source, Effects(lut="x.cube"), lut_path=identity).mean(axis=(0, 1))
    assert np.abs(kept - (0xC0, 0x40, 0x20)).max() <= 4
    swapped = one(source, Effects(lut="x.cube"), lut_path=weird).mean(axis=(0, 1))
    assert np.abs(swapped - (0x20, 0x40, 0xC0)).max() <= 4


# --------------------------------------------------------------------------- detail, vignette, key


def test_blur_removes_and_sharpen_adds_detail() -> None:
    plain = detail(one(PATTERN, Effects()))
    assert detail(one(PATTERN, Effects(blur=30))) < plain * 0.6
    assert detail(one(PATTERN, Effects(sharpen=2))) > plain * 1.15


def test_blur_scales_with_the_canvas() -> None:
    assert [str(f) for f in effect_filters(Effects(blur=10), canvas_height=720)] == ["gblur=sigma=7.2"]
    assert [str(f) for f in effect_filters(Effects(blur=10), canvas_height=2160)] == ["gblur=sigma=21.6"]


def test_vignette_darkens_corners_by_its_strength() -> None:
    grey = f"color=c=0xc0c0c0:s={W}x{H}"
    rgb = one(grey, Effects(vignette={"strength": 0.6}))
    y = luma(rgb)
    centre = y[H // 2 - 2 : H // 2 + 2, W // 2 - 2 : W // 2 + 2].mean()
    corners = np.mean([y[0, 0], y[0, -1], y[-1, 0], y[-1, -1]])
    assert centre > 185
    assert corners / centre == pytest.approx(0.4, abs=0.1)


KEYED = f"color=c=0x00ff00:s={W}x{H},drawbox=x=16:y=8:w=32:h=20:c=0xd02020:t=fill"


def test_chroma_key_makes_green_transparent() -> None:
    rgba = render(
        KEYED, effect_filters(Effects(chroma_key={"color": "#00ff00"}), canvas_height=H), pix_fmt="rgba"
    )[0]
    alpha = rgba[..., 3]
    assert alpha[:4].max() == 0 and alpha[:, :8].max() == 0  # the green screen
    assert alpha[12:24, 20:44].min() == 255  # the red box
    assert np.abs(rgba[12:24, 20:44, :3].mean(axis=(0, 1)) - (0xD0, 0x20, 0x20)).max() < 8


# --------------------------------------------------------------------------- alpha

# An alpha ramp across the frame over colour bars.
ALPHA_SOURCE = f"{BARS},format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='X*4'"
RAMP = np.minimum(np.arange(W) * 4, 255)[None, :]


@pytest.mark.parametrize(
    "effects",
    [
        Effects(brightness=0.1, contrast=1.2, saturation=1.3, gamma=1.1),
        Effects(hue=60),
        Effects(temperature=3500),
        Effects(preset="sepia"),
        Effects(preset="vintage"),
        Effects(preset="negative"),
        Effects(sharpen=1),
        Effects(lut="x.cube"),
        Effects(preset="sepia", sharpen=1),  # RGB, then back to 4:2:0 for unsharp
    ],
    ids=["eq", "hue", "temperature", "sepia", "vintage", "negative", "sharpen", "lut", "rgb-then-yuv"],
)
def test_alpha_survives(effects: Effects, tmp_path: Path) -> None:
    lut = write_cube(tmp_path / "id.cube", 3)
    filters = effect_filters(effects, lut_path=lut, canvas_height=H)
    rgba = render(ALPHA_SOURCE, [*filters], pix_fmt="rgba")[0]
    assert np.abs(rgba[..., 3] - RAMP).max() <= 1


def render_graph(effects: Effects, source: str, *, alpha: bool) -> np.ndarray:
    graph = FilterGraph()
    out = add_effects(graph, "0:v", effects, canvas_height=H, alpha=alpha)
    graph.chain([out], [Filter("format", ("rgba",))], ["final"])
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", source,
           "-filter_complex", graph.render(), "-map", "[final]", "-frames:v", "1", "-f", "rawvideo", "-"]  # fmt: skip
    out_bytes = subprocess.run(cmd, capture_output=True, check=True, timeout=60).stdout
    return np.frombuffer(out_bytes, np.uint8).reshape(H, W, 4).astype(float)


def test_vignette_keeps_alpha_through_add_effects() -> None:
    effects = Effects(vignette={"strength": 0.5}, saturation=1.1)
    dropped = render_graph(effects, ALPHA_SOURCE, alpha=False)
    assert dropped[..., 3].min() == 255  # what a bare vignette does to alpha
    kept = render_graph(effects, ALPHA_SOURCE, alpha=True)
    assert np.abs(kept[..., 3] - RAMP).max() <= 1
    assert luma(kept[:2, -8:]).mean() < luma(kept[H // 2 - 2 : H // 2 + 2, -8:]).mean()  # still vignetted


def test_chroma_key_multiplies_existing_alpha() -> None:
    half = f"{KEYED},format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(Y,18),255,128)'"
    rgba = render_graph(Effects(chroma_key={}), half, alpha=True)
    alpha = rgba[..., 3]
    assert alpha[:, :8].max() == 0
    assert alpha[10:16, 20:44].min() == 255
    assert np.abs(alpha[20:26, 20:44] - 128).max() <= 1


def test_add_effects_without_effects_is_the_input() -> None:
    graph = FilterGraph()
    assert add_effects(graph, "v0", Effects(), canvas_height=H, alpha=True) == "v0"
    assert graph.chains == []


# --------------------------------------------------------------------------- .cube files


def test_valid_cube_variants_pass(tmp_path: Path) -> None:
    cube = tmp_path / "ok.cube"
    rows = [f"{r} {g} {b}" for b in (0, 1) for g in (0, 1) for r in (0, 1)]
    cube.write_text("\n".join(["TITLE \"ok\"", "# comment", "LUT_3D_SIZE 2", "DOMAIN_MIN 0 0 0",
                               "DOMAIN_MAX 1 1 1", "", *rows, ""]), encoding="latin-1")  # fmt: skip
    parse_cube_file(cube)


GOOD_ROWS = [f"{r} {g} {b}" for b in (0, 1) for g in (0, 1) for r in (0, 1)]


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (GOOD_ROWS, "data before LUT_3D_SIZE"),
        (['TITLE "x"'], "no LUT_3D_SIZE"),
        (["LUT_3D_SIZE 2", *GOOD_ROWS[:7]], "7 data rows, expected 2³ = 8"),
        (["LUT_3D_SIZE 2", *GOOD_ROWS, "1 1 1"], "more than 2³"),
        (["LUT_3D_SIZE 2", *GOOD_ROWS[:7], "1 1 x"], "expected three numbers"),
        (["LUT_3D_SIZE 2", *GOOD_ROWS[:7], "1 1"], "expected three numbers"),
        (["LUT_3D_SIZE 2", *GOOD_ROWS[:7], "1 nan 1"], "finite"),
        (["LUT_3D_SIZE 1", "0 0 0"], "from 2 to 256"),
        (["LUT_3D_SIZE 300"], "from 2 to 256"),
        (["LUT_3D_SIZE two"], "from 2 to 256"),
        (["LUT_1D_SIZE 2", "0 0 0", "1 1 1"], "1D LUT"),
        (["  LUT_3D_SIZE 2", *GOOD_ROWS], "must start the line"),
        (["LUT_3D_SIZE 2", "LUT_3D_SIZE 2", *GOOD_ROWS], "second LUT_3D_SIZE"),
        (["LUT_3D_INPUT_RANGE 0 1", "LUT_3D_SIZE 2", *GOOD_ROWS], "unsupported keyword"),
        (["DOMAIN_MIN -1 -1 -1", "LUT_3D_SIZE 2", *GOOD_ROWS], "DOMAIN_MIN"),
        (["DOMAIN_MAX 4 4 4", "LUT_3D_SIZE 2", *GOOD_ROWS], "after LUT_3D_SIZE"),
    ],
)
def test_bad_cube_is_refused(tmp_path: Path, lines: list[str], reason: str) -> None:
    cube = tmp_path / "bad.cube"
    cube.write_text("\n".join(lines) + "\n")
    with pytest.raises(LutFileError, match=reason) as info:
        parse_cube_file(cube)
    assert info.value.path == str(cube)


def test_unreadable_cube(tmp_path: Path) -> None:
    with pytest.raises(LutFileError, match="cannot be read"):
        parse_cube_file(tmp_path / "missing.cube")
    binary = tmp_path / "image.cube"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    with pytest.raises(LutFileError, match="not a text file"):
        parse_cube_file(binary)


def test_lut_error_pickles() -> None:
    error = pickle.loads(pickle.dumps(LutFileError("a.cube", "no LUT_3D_SIZE line")))
    assert (error.path, error.reason) == ("a.cube", "no LUT_3D_SIZE line")
    assert str(error) == "a.cube: not a usable 3D LUT: no LUT_3D_SIZE line"


# --------------------------------------------------------------------------- motion

MW, MH = 160, 90
FPS = Fraction(25)
CX = (MW - 1) / 2  # the centre pixel
# A soft 6x6 blob whose centre is at x = 119.5, 40 px right of the centre, in yuv420p like video.
BLOB = (
    f"color=black:s={MW}x{MH}:r=25,drawbox=x=117:y=42:w=6:h=6:c=white:t=fill,gblur=sigma=1.5,format=yuv420p"
)
SMOOTH = f"testsrc2=s={MW}x{MH}:r=25,gblur=sigma=1.5,format=gray"


def moved(source: str, motion: Motion, frames: int) -> np.ndarray:
    filters = motion_filters(motion, size=(MW, MH), frames=frames, fps=FPS)
    return render(source, filters, pix_fmt="gray", frames=None, size=(MW, MH))


def plain(source: str, frames: int) -> np.ndarray:
    return render(source, pix_fmt="gray", frames=frames, size=(MW, MH))[..., 0]


def centroids(frames: np.ndarray) -> np.ndarray:
    """(x, y) of the bright blob in each frame."""
    img = frames[..., 0] - frames[..., 0].min(axis=(1, 2), keepdims=True)
    total = img.sum(axis=(1, 2))
    x = (img.sum(axis=1) * np.arange(MW)).sum(axis=1) / total
    y = (img.sum(axis=2) * np.arange(MH)).sum(axis=1) / total
    return np.stack([x, y], axis=1)


def bilinear(img: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    x1, y1 = np.minimum(x0 + 1, img.shape[1] - 1), np.minimum(y0 + 1, img.shape[0] - 1)
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def zoomed(img: np.ndarray, zoom: float) -> np.ndarray:
    """``img`` enlarged by ``zoom`` about its centre pixel (the expected Ken Burns frame)."""
    h, w = img.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(float)
    return bilinear(img, (w - 1) / 2 + (xs - (w - 1) / 2) / zoom, (h - 1) / 2 + (ys - (h - 1) / 2) / zoom)


def test_zoom_in_goes_from_the_source_to_its_enlarged_centre() -> None:
    source = plain(SMOOTH, 11)  # testsrc2 moves: compare frames at the same index
    frames = moved(SMOOTH, Motion(type="zoom-in", amount=0.25), 11)[..., 0]
    assert len(frames) == 11
    assert np.abs(frames[0] - source[0]).max() <= 1
    expected = zoomed(source[-1], 1.25)
    assert np.abs(frames[-1] - expected).mean() < 1.0
    assert np.abs(frames[-1] - source[-1]).mean() > 5 * np.abs(frames[-1] - expected).mean()
    # Zooms are geometric: halfway through, the scale is sqrt(1.25).
    assert np.abs(frames[5] - zoomed(source[5], 1.25**0.5)).mean() < 1.0


def test_zoom_out_ends_on_the_source() -> None:
    source = plain(SMOOTH, 8)
    frames = moved(SMOOTH, Motion(type="zoom-out", amount=0.2), 8)[..., 0]
    assert np.abs(frames[0] - zoomed(source[0], 1.2)).mean() < 1.0
    assert np.abs(frames[-1] - source[-1]).max() <= 1


@pytest.mark.parametrize(
    ("kind", "dx", "dy"),
    [("pan-left", 1, 0), ("pan-right", -1, 0), ("pan-up", 0, 1), ("pan-down", 0, -1)],
)
def test_pans_travel_their_amount(kind: str, dx: int, dy: int) -> None:
    # Camera directions: panning left moves the content right, by `amount` of the frame.
    path = centroids(moved(BLOB, Motion(type=kind, amount=0.1), 10))
    travel = path[-1] - path[0]
    assert travel[0] == pytest.approx(dx * 0.1 * MW, abs=0.1)
    assert travel[1] == pytest.approx(dy * 0.1 * MH, abs=0.1)


def ideal_zoom_path(frames: int, amount: float, eased: np.ndarray | None = None) -> np.ndarray:
    progress = np.linspace(0, 1, frames) if eased is None else eased
    return CX + 40 * (1 + amount) ** progress


def test_slow_zoom_is_smooth() -> None:
    # 4 px of travel over 60 frames: whole-pixel placement would stand still, then jump.
    frames = 60
    x = centroids(moved(BLOB, Motion(type="zoom-in", amount=0.1), frames))[:, 0]
    assert np.abs(x - ideal_zoom_path(frames, 0.1)).max() < 0.05
    steps = np.diff(x)
    assert steps.min() > 0.03  # no zero steps, no steps back (the ideal step is 0.065-0.071 px)


def test_smoothness_check_catches_zoompan_jitter() -> None:
    # The same check on FFmpeg's zoompan, which places its window on even pixels.
    zoompan = Filter("zoompan", (), (("z", "1+0.1*(on-1)/59"), ("x", "iw/2-iw/zoom/2"), ("y", "ih/2-ih/zoom/2"),
                                     ("d", 1), ("s", f"{MW}x{MH}"), ("fps", 25)))  # fmt: skip
    x = centroids(render(BLOB, [zoompan], pix_fmt="gray", frames=60, size=(MW, MH)))[:, 0]
    assert np.abs(x - ideal_zoom_path(60, 0.1)).max() > 0.5
    assert np.diff(x).min() < 0


def test_slow_pan_is_smooth() -> None:
    frames = 60
    x = centroids(moved(BLOB, Motion(type="pan-right", amount=0.1), frames))[:, 0]
    steps = np.diff(x)
    assert steps.mean() == pytest.approx(-0.1 * MW / (frames - 1), rel=0.01)
    assert np.abs(steps - steps.mean()).max() < 0.03  # 0.27 px a frame, every frame


@pytest.mark.parametrize("easing", ["ease-in", "ease-out", "ease-in-out"])
def test_easing_follows_its_curve(easing: str) -> None:
    frames = 30
    p = np.linspace(0, 1, frames)
    eased = {"ease-in": p * p, "ease-out": 1 - (1 - p) ** 2, "ease-in-out": p * p * (3 - 2 * p)}[easing]
    x = centroids(moved(BLOB, Motion(type="zoom-in", amount=0.2, easing=easing), frames))[:, 0]
    assert np.abs(x - ideal_zoom_path(frames, 0.2, eased)).max() < 0.05
    assert np.diff(x).min() > -0.02


def test_motion_ends_an_endless_still_and_keeps_alpha(tmp_path: Path) -> None:
    still = tmp_path / "still.png"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"{BLOB},format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='200'",
                    "-frames:v", "1", "-update", "1", str(still)], check=True)  # fmt: skip
    # A looped image is an endless stream; the motion stops it after `frames`.
    vf = [*motion_filters(Motion(type="pan-left", amount=0.2), size=(MW, MH), frames=7, fps=FPS)]
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-loop", "1", "-framerate", "25",
           "-i", str(still), "-vf", ",".join([*map(str, vf), "format=rgba"]), "-f", "rawvideo", "-"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, check=True, timeout=60).stdout
    rgba = np.frombuffer(out, np.uint8).reshape(-1, MH, MW, 4).astype(float)
    assert len(rgba) == 7
    assert np.abs(rgba[..., 3] - 200).max() <= 1
    path = centroids(rgba[..., :1])
    assert path[-1, 0] - path[0, 0] == pytest.approx(0.2 * MW, abs=0.2)


def test_motion_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        motion_filters(Motion(), size=(0, 10), frames=5, fps=FPS)
    with pytest.raises(ValueError):
        motion_filters(Motion(), size=(10, 10), frames=0, fps=FPS)


def test_single_frame_motion_is_the_start() -> None:
    frames = moved(SMOOTH, Motion(type="zoom-in"), 1)
    assert len(frames) == 1
    assert np.abs(frames[0, ..., 0] - plain(SMOOTH, 1)[0]).max() <= 1
