"""Probing real files made by the bundled FFmpeg (tests/mediagen.py), and every way it fails."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from mediagen import ffmpeg_exe, make_video, run_ffmpeg
from reelforge.ffmpeg import probe as probe_mod
from reelforge.ffmpeg.probe import MediaInfo, MediaProbeError, ProbeCache, probe, probe_cache


def _assert_probe_error(path: str | os.PathLike[str], code: str, *words: str) -> MediaProbeError:
    with pytest.raises(MediaProbeError) as info:
        probe(path)
    err = info.value
    assert type(err) is MediaProbeError  # never a PyAV error, nor a subclass of one
    assert err.code == code, (err.code, err.reason)
    assert err.path == Path(path)
    assert os.path.basename(os.fspath(path)) in str(err)  # the message names the file
    for word in words:
        assert word.lower() in err.reason.lower(), err.reason
    # No PyAV exception chained on (its traceback would be printed with ours).
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    return err


# ---------------------------------------------------------------------------- good files


def test_video_with_audio_mp4(media):
    path = media.video()
    info = probe(path)
    assert isinstance(info, MediaInfo)
    assert info.path == path.resolve()
    assert info.kind == "video"
    assert info.format_name.split(",")[0] == "mov"
    assert info.has_video and info.has_audio
    assert (info.width, info.height) == (320, 180)
    assert (info.coded_width, info.coded_height) == (320, 180)
    assert info.rotation == 0
    assert info.fps == Fraction(25)
    assert info.duration is not None and abs(info.duration - 1) <= Fraction(1, 25)
    assert isinstance(info.duration, Fraction)
    assert info.video_codec == "h264"
    assert info.pix_fmt == "yuv420p"
    assert info.has_alpha is False
    assert info.audio_codec == "aac"
    assert info.audio_channels == 2
    assert info.sample_rate == 48000
    assert info.bit_rate and info.bit_rate > 0
    assert info.size_bytes == path.stat().st_size


def test_solid_colour_video_without_audio(media):
    info = probe(media.video(color="red", duration=2, audio=False, size=(64, 36), fps=30))
    assert info.kind == "video"
    assert info.has_video and not info.has_audio
    assert info.audio_codec is None and info.audio_channels is None and info.sample_rate is None
    assert (info.width, info.height) == (64, 36)
    assert info.fps == 30
    assert info.duration is not None and abs(info.duration - 2) <= Fraction(1, 30)


def test_ntsc_film_rate_is_exact(media):
    info = probe(media.video(fps=Fraction(24000, 1001), audio=False))
    assert info.fps == Fraction(24000, 1001)
    assert info.duration is not None and abs(info.duration - 1) <= Fraction(1001, 24000)
    d = info.to_dict()
    assert d["fps"] == "24000/1001"
    assert d["fps_float"] == pytest.approx(23.976, abs=1e-3)


def test_to_dict_is_json_friendly(media):
    info = probe(media.video())
    d = json.loads(json.dumps(info.to_dict()))
    assert d["path"] == str(info.path)
    assert d["kind"] == "video"
    assert d["fps"] == "25/1" and d["fps_float"] == 25.0
    assert d["duration"] == pytest.approx(float(info.duration or 0))
    assert Fraction(d["duration_exact"]) == info.duration
    assert d["width"] == 320 and d["audio_channels"] == 2
    assert set(d) >= {f for f in MediaInfo.__dataclass_fields__}


def test_mediainfo_is_frozen(media):
    info = probe(media.image())
    with pytest.raises(AttributeError):
        info.width = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("suffix", "codec", "channels", "rate", "tolerance"),
    [
        (".wav", "pcm_s16le", 2, 48000, Fraction(1, 1000)),
        (".mp3", "mp3", 2, 48000, Fraction(1, 10)),  # encoder delay and padding
        (".m4a", "aac", 1, 44100, Fraction(1, 10)),
    ],
)
def test_audio_only(media, suffix, codec, channels, rate, tolerance):
    info = probe(media.audio(suffix=suffix, channels=channels, sample_rate=rate))
    assert info.kind == "audio"
    assert info.has_audio and not info.has_video
    assert info.audio_codec == codec
    assert info.audio_channels == channels
    assert info.sample_rate == rate
    assert info.duration is not None and abs(info.duration - 1) <= tolerance
    assert info.width is info.height is info.fps is info.video_codec is None
    assert info.rotation == 0 and info.has_alpha is False


def test_silence_is_audio(media):
    info = probe(media.silence(duration=0.5, channels=1))
    assert info.kind == "audio" and info.audio_channels == 1
    assert info.duration == Fraction(1, 2)


def test_mp3_cover_art_is_not_video(media, tmp_path):
    out = tmp_path / "with-cover.mp3"
    run_ffmpeg(
        [
            "-i",
            str(media.audio(suffix=".mp3")),
            "-i",
            str(media.image(size=(64, 64))),
            "-map",
            "0",
            "-map",
            "1",
            "-c",
            "copy",
            "-disposition:v",
            "attached_pic",
            str(out),
        ]
    )
    info = probe(out)
    assert info.kind == "audio"
    assert not info.has_video and info.width is None


@pytest.mark.parametrize(("suffix", "codec"), [(".png", "png"), (".jpg", "mjpeg"), (".webp", "webp")])
def test_still_images(media, suffix, codec):
    info = probe(media.image(suffix=suffix, size=(200, 100)))
    assert info.kind == "image"
    assert info.has_video and not info.has_audio
    assert (info.width, info.height) == (200, 100)
    assert info.video_codec == codec
    assert info.duration is None and info.fps is None and info.bit_rate is None
    assert info.rotation == 0


def test_png_alpha(media):
    assert probe(media.image(color="red@0.5", alpha=True)).has_alpha is True
    assert probe(media.image()).has_alpha is False


def test_animated_gif_is_video_and_single_frame_gif_is_image(media):
    anim = probe(media.video(suffix=".gif", size=(160, 90), fps=10))
    assert anim.kind == "video"
    assert anim.format_name == "gif"
    assert (anim.width, anim.height) == (160, 90)
    assert anim.fps == 10
    assert anim.duration is not None and abs(anim.duration - 1) <= Fraction(1, 10)

    still = probe(media.image(suffix=".gif"))
    assert still.kind == "image"
    assert still.duration is None and still.fps is None


def test_animated_png_is_timed_from_its_frames(media):
    # The apng demuxer states no duration: the probe adds up the frames.
    info = probe(media.video(suffix=".apng", size=(64, 64), fps=10, duration=0.5))
    assert info.kind == "video"
    assert info.duration == Fraction(1, 2)


# ---------------------------------------------------------------------------- rotation


def _first_frame_autorotated(
    path: Path, out: Path
) -> tuple[int, int, tuple[int, int, int], tuple[int, int, int]]:
    """Decode one frame with the FFmpeg CLI (which applies rotation metadata by default);
    return its size and the colours at the middle of its top and bottom edges."""
    from PIL import Image

    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-i", str(path), "-frames:v", "1", str(out)], check=True
    )
    with Image.open(out) as im:
        rgb = im.convert("RGB")
        w, h = rgb.size
        top = rgb.getpixel((w // 2, h // 8))
        bottom = rgb.getpixel((w // 2, h - 1 - h // 8))
    return w, h, top, bottom  # type: ignore[return-value]


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_video(media, tmp_path, rotation):
    # Stored 320x180 with the left half red; the display matrix turns it `rotation` degrees
    # clockwise, as a phone's portrait clip does.
    path = media.rotated_video(
        rotation=rotation,
        color="blue",
        audio=False,
        duration=0.2,
        vf="drawbox=x=0:y=0:w=iw/2:h=ih:color=red:t=fill",
    )
    info = probe(path)
    assert info.rotation == rotation
    assert (info.coded_width, info.coded_height) == (320, 180)
    expected = (180, 320) if rotation in (90, 270) else (320, 180)
    assert (info.width, info.height) == expected

    # The convention matches what FFmpeg renders: same displayed size, and a clockwise
    # quarter turn takes the left edge to the top.
    w, h, top, bottom = _first_frame_autorotated(path, tmp_path / "frame.png")
    assert (w, h) == expected
    if rotation in (90, 270):
        red_on_top = top[0] > 200 and top[2] < 60
        red_at_bottom = bottom[0] > 200 and bottom[2] < 60
        assert (red_on_top, red_at_bottom) == ((True, False) if rotation == 90 else (False, True))


def test_jpeg_exif_orientation_counts_as_rotation(tmp_path):
    from PIL import Image

    path = tmp_path / "portrait.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.new("RGB", (320, 180), "blue").save(path, exif=exif)
    info = probe(path)
    assert info.kind == "image"
    assert info.rotation == 90
    assert (info.width, info.height) == (180, 320)


# ---------------------------------------------------------------------------- errors


def test_missing_file(tmp_path):
    _assert_probe_error(tmp_path / "nope.mp4", "not_found", "not found")


def test_directory(tmp_path):
    _assert_probe_error(tmp_path, "is_directory", "directory")


def test_unreadable_file(media, tmp_path, monkeypatch):
    path = tmp_path / "secret.mp4"
    shutil.copyfile(media.video(), path)
    path.chmod(0)
    if os.geteuid() == 0:
        # root reads anything: make the read fail the way it does for other users.
        def denied(*args: object, **kwargs: object) -> None:
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr(probe_mod, "open", denied, raising=False)
    _assert_probe_error(path, "permission_denied", "permission denied")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.touch()
    _assert_probe_error(path, "empty", "empty")


def test_text_file(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("This is not a video.\nJust some notes.\n")
    _assert_probe_error(path, "not_media", "not a media file", "text")


def test_random_binary(tmp_path):
    path = tmp_path / "noise.bin"
    path.write_bytes(bytes((i * 7919 + 13) % 251 for i in range(20000)))
    _assert_probe_error(path, "not_media", "not a recognised media file")


def test_truncated_mp4_with_garbage(media, tmp_path):
    # As a camera writes it, with the index (moov) at the end: cut in half, the index is gone.
    data = make_video(tmp_path / "whole.mp4", audio=False).read_bytes()
    path = tmp_path / "truncated.mp4"
    path.write_bytes(data[: len(data) // 2] + bytes(range(256)) * 8)
    _assert_probe_error(path, "corrupt", "corrupt", "MP4")


def test_truncated_faststart_mp4(tmp_path):
    # Index at the front: it opens, but points at sample data that is no longer there.
    data = make_video(tmp_path / "whole.mp4", audio=False, faststart=True).read_bytes()
    path = tmp_path / "truncated.mp4"
    path.write_bytes(data[: len(data) // 2] + bytes(range(256)) * 8)
    _assert_probe_error(path, "corrupt", "truncated")


def test_fifo_is_refused_without_blocking(tmp_path):
    path = tmp_path / "pipe.mp4"
    os.mkfifo(path)
    _assert_probe_error(path, "not_regular", "not a regular file")


# ---------------------------------------------------------------------------- safety

HLS = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://127.0.0.1:9/seg.ts\n#EXT-X-ENDLIST\n"


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("playlist.m3u8", HLS, [".m3u8"]),
        ("playlist.mp4", HLS, ["HLS playlist"]),  # named like media: caught by content
        ("playlist.txt", "\ufeff  " + HLS, ["HLS playlist"]),  # BOM and whitespace first
        ("list.ffconcat", "ffconcat version 1.0\nfile a.mp4\n", [".ffconcat"]),
        ("list.mp4", "ffconcat version 1.0\nfile /etc/passwd\n", ["concat script"]),
        ("stream.sdp", "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\n", [".sdp"]),
        ("stream.mov", "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nm=video 9 RTP/AVP 96\r\n", ["SDP"]),
        ("manifest.mkv", '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">', ["DASH"]),
    ],
)
def test_playlists_and_manifests_are_refused(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    _assert_probe_error(path, "unsafe", *words)


def test_demuxer_whitelist_backs_up_sniffing(tmp_path, media, monkeypatch):
    # Even if sniffing missed it, FFmpeg may not use the concat demuxer (it would open
    # whatever files the script names).
    monkeypatch.setattr(probe_mod, "_reject_unsafe", lambda path, head: None)
    path = tmp_path / "list.txt"
    path.write_text(f"ffconcat version 1.0\nfile '{media.video()}'\n")
    _assert_probe_error(path, "unsafe", "not allowed")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x.mp4", "concat:a.mp4|b.mp4", "file:///etc/hostname"])
def test_urls_and_protocols_are_refused(url):
    with pytest.raises(MediaProbeError) as info:
        probe(url)
    assert info.value.code == "not_local"
    assert url in str(info.value)


def test_error_is_picklable_and_readable(tmp_path):
    with pytest.raises(MediaProbeError) as info:
        probe(tmp_path / "gone.wav")
    err = pickle.loads(pickle.dumps(info.value))
    assert (err.path, err.reason, err.code) == (info.value.path, info.value.reason, info.value.code)
    assert str(err) == str(info.value)
    assert "gone.wav" in str(err) and "not found" in str(err)


# ---------------------------------------------------------------------------- cache


def test_probe_cache_probes_each_file_version_once(media, tmp_path):
    cache = ProbeCache(maxsize=8)
    path = tmp_path / "clip.mp4"
    shutil.copyfile(media.video(audio=False, duration=0.2), path)

    first = cache(path)
    for _ in range(200):
        assert cache(path) is first
    assert cache(os.path.relpath(path)) is first  # same file by another name
    info = cache.cache_info()
    assert (info.misses, info.hits) == (1, 201)

    # Rewritten in place (new size and mtime): probed again.
    shutil.copyfile(media.video(audio=False, duration=0.2, size=(160, 90)), path)
    second = cache(path)
    assert second is not first and (second.width, second.height) == (160, 90)

    cache.cache_clear()
    assert cache.cache_info().currsize == 0


def test_probe_cache_does_not_cache_errors(tmp_path, media):
    cache = ProbeCache()
    path = tmp_path / "later.png"
    with pytest.raises(MediaProbeError):
        cache(path)
    shutil.copyfile(media.image(), path)
    assert cache(path).kind == "image"


def test_shared_probe_cache(media):
    assert probe_cache(media.image()) == probe(media.image())
