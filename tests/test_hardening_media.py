"""Decoder bombs and crash leftovers: pictures are bounded before anything decodes them, and
temporary files of dead processes are swept at start (never those of a live one)."""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from reelforge.ffmpeg.binary import MAX_PIXELS, RASTER_SIDE, base_args, ffmpeg_exe, input_args
from reelforge.ffmpeg.probe import MediaProbeError, probe
from reelforge.media.storage import LocalStorage
from service import Service, running_service

# ------------------------------------------------------------------------------ bomb makers

SVG_BOMB = (
    b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
    b"<!-- caf\x81 -->\n"  # not UTF-8 nor Windows-1252: not taken for text
    b'<svg xmlns="http://www.w3.org/2000/svg" width="16000" height="16000">'
    b'<rect width="16000" height="16000" fill="red"/></svg>\n'
)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png(width: int, height: int, *, body: bool = True) -> bytes:
    """A valid RGBA PNG of ``width`` x ``height`` transparent pixels, small on disk.

    Decoded it needs width*height*4 bytes (a gigabyte at 16000x16000). The zlib stream is one
    block of rows compressed after a full flush, repeated: a full flush resets the compressor's
    history, so each repetition is the same bytes. All data is zeros, so its Adler-32 is easy.
    """
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
    if not body:
        return b"\x89PNG\r\n\x1a\n" + ihdr + _chunk(b"IEND", b"")
    rows_per_block = 16
    block = bytes((1 + 4 * width) * rows_per_block)
    assert height % rows_per_block == 0
    comp = zlib.compressobj(9)
    first = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    end = comp.flush()[:-4]  # the final empty block, without the Adler-32 of only two blocks
    total = len(block) * (height // rows_per_block)
    adler = ((total % 65521) << 16) | 1
    data = first + again * (height // rows_per_block - 1) + end + struct.pack(">I", adler)
    return b"\x89PNG\r\n\x1a\n" + ihdr + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def _small(fmt: str) -> bytes:
    out = BytesIO()
    Image.new("RGB", (4, 4), "blue").save(out, format=fmt)
    return out.getvalue()


def huge_gif() -> bytes:
    data = bytearray(_small("GIF"))
    data[6:10] = struct.pack("<HH", 16000, 16000)  # the logical screen
    return bytes(data)


def huge_bmp() -> bytes:
    data = bytearray(_small("BMP"))
    data[18:26] = struct.pack("<ii", 16000, 16000)
    return bytes(data)


def huge_jpeg() -> bytes:
    data = bytearray(_small("JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 16000, 16000)  # height, width
    return bytes(data)


def upload(service: Service, name: str, content: bytes) -> Any:
    return service.post("/v1/assets", files={"file": (name, content, "application/octet-stream")})


def stored_files(service: Service) -> list[Path]:
    """Every file in storage but this process's temporary lock files."""
    root = service.services.storage.root
    return [p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".lock")]


# ------------------------------------------------------------------------------ ingest


def test_an_svg_bomb_is_drawn_once_into_a_bounded_png(service: Service) -> None:
    r = upload(service, "logo.svg", SVG_BOMB)
    assert r.status_code == 201, r.text
    asset = r.json()
    assert (asset["kind"], asset["content_type"], asset["name"]) == ("image", "image/png", "logo.png")
    assert asset["media"]["rasterised_from"] == "image/svg+xml"
    assert (asset["media"]["width"], asset["media"]["height"]) == (RASTER_SIDE, RASTER_SIDE)
    content = service.get(f"/v1/assets/{asset['id']}/content")
    assert content.status_code == 200 and content.content.startswith(b"\x89PNG")
    assert Image.open(BytesIO(content.content)).size == (RASTER_SIDE, RASTER_SIDE)
    # Drawn again the same, it is the same asset.
    again = upload(service, "logo.svg", SVG_BOMB)
    assert again.status_code == 200 and again.json()["id"] == asset["id"], again.text
    # Only the PNG is stored, never the drawing.
    originals = [p for p in stored_files(service) if p.name.startswith("original")]
    assert [p.suffix for p in originals] == [".png"]
    # Its name does not matter, nor does a plain UTF-8 spelling; the aspect ratio is kept.
    plain = (
        SVG_BOMB.replace(b"\x81", b"e")
        .replace(b"ISO-8859-1", b"UTF-8")
        .replace(b'height="16000"', b'height="4000"')
    )
    r = upload(service, "picture.png", plain)
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "image/png" and r.json()["name"] == "picture.png"
    assert (r.json()["media"]["width"], r.json()["media"]["height"]) == (RASTER_SIDE, RASTER_SIDE // 4)


def test_an_svg_is_drawn_at_its_own_size_within_the_bound(service: Service) -> None:
    box = (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 60"><rect width="120" height="60"/></svg>'
    )
    r = upload(service, "box.svg", box)
    assert r.status_code == 201, r.text
    assert (r.json()["media"]["width"], r.json()["media"]["height"]) == (120, 60)


_SVG_NS = b'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


@pytest.mark.parametrize(
    ("case", "content", "words"),
    [
        (
            "billion-laughs",
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&b;</text></svg>',
            "DOCTYPE",
        ),
        (
            "utf16-entities",
            '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">]>'
            '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&a;</text></svg>'.encode(
                "utf-16"
            ),
            "DOCTYPE",
        ),
        ("malformed", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect', "well-formed"),
        ("http", b"<svg " + _SVG_NS + b'><image href="http://127.0.0.1:PORT/x.png"/></svg>', "references"),
        ("file", b"<svg " + _SVG_NS + b'><image xlink:href="file:///etc/passwd"/></svg>', "references"),
        ("path", b"<svg " + _SVG_NS + b'><image href="/etc/passwd"/></svg>', "references"),
        ("use", b"<svg " + _SVG_NS + b'><use href="other.svg#x"/></svg>', "references"),
        ("css-url", b"<svg " + _SVG_NS + b'><rect style="fill:url(http://127.0.0.1:PORT/p)"/></svg>', "url("),
        (
            "import",
            b"<svg " + _SVG_NS + b"><style>@import 'http://127.0.0.1:PORT/s.css';</style></svg>",
            "style",
        ),
        ("not-svg", b'<?xml version="1.0"?><!-- <svg> --><html xmlns="x"><svg/></html>', "root element"),
    ],
)
def test_an_svg_that_cannot_be_drawn_safely_is_refused(
    service: Service, case: str, content: bytes, words: str
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = str(listener.getsockname()[1]).encode()
    try:
        r = upload(service, f"{case}.svg", content.replace(b"PORT", port))
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "media-unsupported" and "SVG" in body["detail"] and words in body["detail"]
        assert body["errors"][0]["pointer"] == "#/file"
        assert "root:" not in r.text  # nothing of /etc/passwd
        assert stored_files(service) == []
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing was fetched
    finally:
        listener.close()


def test_the_rasteriser_never_fetches_what_a_drawing_names(tmp_path: Path) -> None:
    """The backstop behind the refusal: FFmpeg's SVG decoder loads nothing from outside."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    svg, out = tmp_path / "ext.svg", tmp_path / "ext.png"
    svg.write_bytes(
        b"<svg "
        + _SVG_NS
        + b' width="50" height="50">'
        + f'<image href="http://127.0.0.1:{port}/x.png" width="50" height="50"/>'.encode()
        + b'<image xlink:href="file:///etc/passwd" width="50" height="50"/></svg>'
    )
    options = ["-f", "svg_pipe", "-c:v", "librsvg", "-width", "50", "-height", "50", "-keep_ar", "1"]
    subprocess.run(
        [
            ffmpeg_exe(),
            *base_args(),
            *input_args(svg, options=options),
            "-frames:v",
            "1",
            "-update",
            "1",
            str(out),
        ],
        capture_output=True,
        timeout=120,
    )
    try:
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()


def test_drawing_an_svg_bomb_keeps_memory_bounded(tmp_path: Path) -> None:
    """Declared 16000x16000 is 1 GB as RGBA; it is drawn at the bound instead."""
    svg = tmp_path / "bomb.svg"
    svg.write_bytes(SVG_BOMB)
    script = textwrap.dedent(
        """
        import json, resource, sys
        from pathlib import Path
        from PIL import Image
        from reelforge.ffmpeg.rasterise import rasterise_svg
        size = rasterise_svg(Path(sys.argv[1]), Path(sys.argv[2]))
        # FFmpeg's peak, in KiB (children only: this interpreter is not counted).
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(json.dumps({"size": size, "png": Image.open(sys.argv[2]).size, "mb": peak_kb / 1024}))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(svg), str(tmp_path / "out.png")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(proc.stdout)
    assert result["size"] == [RASTER_SIDE, RASTER_SIDE] and result["png"] == [RASTER_SIDE, RASTER_SIDE]
    assert result["mb"] < 400, result


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("big.png", lambda: huge_png(16000, 16000, body=False)),
        ("big.gif", huge_gif),
        ("big.bmp", huge_bmp),
        ("big.jpg", huge_jpeg),
        ("wide.png", lambda: huge_png(8193, 16)),
    ],
)
def test_pictures_declaring_more_than_the_limit_are_refused(service: Service, name: str, make: Any) -> None:
    r = upload(service, name, make())
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "media-unsupported"
    assert "at most 8192x8192" in r.json()["detail"]
    assert stored_files(service) == []


def test_pictures_within_the_limit_are_accepted(service: Service) -> None:
    r = upload(service, "strip.png", huge_png(8192, 16))
    assert r.status_code == 201, r.text
    assert (r.json()["media"]["width"], r.json()["media"]["height"]) == (8192, 16)
    r = upload(service, "small.jpg", _small("JPEG"))
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "image" and r.json()["content_type"] == "image/jpeg"


def test_probing_a_bomb_never_decodes_it(tmp_path: Path) -> None:
    """Declared 16000x16000 RGBA is 1 GB decoded; the probe refuses it from its header."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(huge_png(16000, 16000))
    assert len(bomb.read_bytes()) < 2_000_000
    script = textwrap.dedent(
        """
        import json, re, sys
        from reelforge.ffmpeg.probe import MediaProbeError, probe
        try:
            probe(sys.argv[1])
            code = None
        except MediaProbeError as exc:
            code = exc.code
        # VmHWM: this process's own peak (getrusage's maxrss keeps the parent's across exec).
        with open("/proc/self/status") as status:
            peak_kb = int(re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1))
        print(json.dumps({"code": code, "mb": peak_kb / 1024}))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(bomb)], capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(proc.stdout)
    assert result["code"] == "too_large"
    assert result["mb"] < 400, result  # decoding it would take over 1000


def test_ffmpeg_inputs_bound_the_decoded_frame(tmp_path: Path) -> None:
    """The backstop: whatever reaches FFmpeg is opened with -max_pixels."""
    svg = tmp_path / "bomb.svg"
    svg.write_bytes(SVG_BOMB)
    proc = subprocess.run(
        [ffmpeg_exe(), *base_args(), *input_args(svg), "-frames:v", "1", "-f", "null", "-"],
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert f"max pixel count {MAX_PIXELS}" in proc.stderr.decode("utf-8", "replace")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("a.ppm", b"P6\n16000 16000\n255\n" + b"\x81\x00" * 100),
        ("a.qoi", b"qoif" + struct.pack(">II", 16000, 16000) + b"\x04\x00" + bytes(100)),
        ("a.psd", b"8BPS\x00\x01" + bytes(6) + struct.pack(">HIIHH", 3, 16000, 16000, 8, 3) + bytes(100)),
        ("a.svgz", zlib.compress(SVG_BOMB)),
    ],
)
def test_other_picture_formats_are_not_opened(tmp_path: Path, name: str, content: bytes) -> None:
    """FFmpeg learns these formats' size only by decoding them: they are refused unopened."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MediaProbeError) as exc:
        probe(path)
    assert "PNG, JPEG, GIF, WebP, BMP or TIFF" in exc.value.reason


def test_probe_names_why(tmp_path: Path) -> None:
    svg = tmp_path / "x.svg"
    svg.write_bytes(SVG_BOMB)
    with pytest.raises(MediaProbeError) as exc:
        probe(svg)
    assert exc.value.code == "vector"
    png = tmp_path / "x.png"
    png.write_bytes(huge_png(9000, 9000, body=False))
    with pytest.raises(MediaProbeError) as exc:
        probe(png)
    assert exc.value.code == "too_large" and "9000x9000" in exc.value.reason


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=120)


def test_videos_over_the_limit_are_refused_before_decoding(tmp_path: Path) -> None:
    wide = tmp_path / "wide.mkv"
    _ffmpeg("-f", "lavfi", "-i", "color=s=8200x16:r=5:d=0.4", "-c:v", "png", str(wide))
    with pytest.raises(MediaProbeError) as exc:
        probe(wide)
    assert exc.value.code == "too_large" and "8200x16" in exc.value.reason

    # An AVI whose headers say 16x16 around a 9000x9000 JPEG frame: the size is learnt only by
    # decoding, and the decoder is not allowed a frame over the limit.
    jpeg, avi = tmp_path / "big.jpg", tmp_path / "big.avi"
    Image.new("L", (9000, 9000)).save(jpeg, quality=30)
    _ffmpeg("-i", str(jpeg), "-c:v", "copy", str(avi))
    data = bytearray(avi.read_bytes())
    avih, strf = data.index(b"avih"), data.index(b"strf")
    data[avih + 40 : avih + 48] = struct.pack("<II", 16, 16)
    data[strf + 12 : strf + 20] = struct.pack("<ii", 16, 16)
    avi.write_bytes(bytes(data))
    with pytest.raises(MediaProbeError):
        probe(avi)


# ------------------------------------------------------------------------------ the CLI and engine


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reelforge", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("logo.svg", SVG_BOMB, "SVG"),
        ("big.png", huge_png(16000, 16000, body=False), "at most 8192x8192"),
    ],
)
def test_the_cli_refuses_a_local_bomb_and_points_at_the_clip(
    tmp_path: Path, name: str, content: bytes, words: str
) -> None:
    (tmp_path / name).write_bytes(content)
    edit = {
        "timeline": {
            "tracks": [
                {"clips": [{"asset": {"type": "color", "color": "red"}, "length": 0.5}]},
                {"clips": [{"asset": {"type": "image", "src": name}, "length": 0.5}]},
            ]
        },
        "outputs": [{"width": 160, "height": 90, "fps": 25, "quality": "draft", "audio": False}],
    }
    (tmp_path / "e.json").write_text(json.dumps(edit))
    for command in (["validate", "e.json"], ["render", "e.json", "-o", "out", "-q"]):
        proc = _cli(*command, cwd=tmp_path)
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert "/timeline/tracks/1/clips/0/asset/src" in proc.stderr
        assert words in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# ------------------------------------------------------------------------------ leftovers

_OWNER_SCRIPT = """
import os, signal, sys
from pathlib import Path
from reelforge.media.storage import LocalStorage

storage = LocalStorage(Path(sys.argv[1]))
tmp = storage.temp_dir()
(tmp / "upload-abc123").write_bytes(b"half an upload")
(tmp / "pv_01.png").write_bytes(b"half a preview")
(tmp / "render-rnd_1-a1").mkdir()
(tmp / "render-rnd_1-a1" / "out.mp4").write_bytes(b"half a render")
print(tmp, flush=True)
if sys.argv[2] == "die":
    os.kill(os.getpid(), signal.SIGKILL)
sys.stdin.read()  # alive until the test closes stdin
"""


def _owner(root: Path, mode: str) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _OWNER_SCRIPT, str(root), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line, "the owner process printed no directory"
    return proc, Path(line)


def test_leftovers_of_killed_processes_are_swept_at_start_and_live_ones_kept(tmp_path: Path) -> None:
    root = tmp_path / "data" / "storage"
    LocalStorage(root)
    dead, dead_dir = _owner(root, "die")
    assert dead.wait(timeout=60) == -9
    live, live_dir = _owner(root, "live")
    try:
        base = root / ".tmp"
        orphan = base / "p1-0123456789abcdef"  # an owner directory whose lock file is gone
        orphan.mkdir()
        (orphan / "x").write_bytes(b"x")
        old = base / "pv_old.png"  # the layout before owner directories: judged by age
        old.write_bytes(b"old")
        two_days_ago = time.time() - 2 * 86400
        os.utime(old, (two_days_ago, two_days_ago))
        recent = base / "upload-recent"
        recent.write_bytes(b"maybe someone's")
        assert (dead_dir / "upload-abc123").exists()

        with running_service(tmp_path) as svc:
            assert svc.services.storage.root == root.resolve()
            deadline = time.monotonic() + 60
            while dead_dir.exists() or orphan.exists() or old.exists():
                assert time.monotonic() < deadline, sorted(p.name for p in base.iterdir())
                time.sleep(0.05)
            assert not (base / f"{dead_dir.name}.lock").exists()
            # The live process's files and anything recent without an owner stay.
            assert (live_dir / "upload-abc123").read_bytes() == b"half an upload"
            assert (live_dir / "render-rnd_1-a1" / "out.mp4").exists()
            assert (base / f"{live_dir.name}.lock").exists()
            assert recent.exists()
            # The service works in its own directory, which a second sweep leaves alone too.
            own = svc.services.storage.temp_dir()
            (own / "in-use").write_bytes(b"x")
            assert svc.services.storage.sweep_temp() == 0
            assert (own / "in-use").exists() and live_dir.exists()
    finally:
        assert live.stdin is not None
        live.stdin.close()
        live.wait(timeout=60)
    # Once it has ended, its directory is a leftover like any other.
    assert LocalStorage(root).sweep_temp() >= 1
    assert not live_dir.exists()


def _serve(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {
        **os.environ,
        "REELFORGE_DATA_DIR": str(tmp_path / "data"),
        "REELFORGE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "REELFORGE_WORKERS": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "reelforge", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, "the server stopped"
        assert time.monotonic() < deadline, "the server did not start"
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:  # also makes its temp dir
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)


def test_a_server_killed_mid_preview_leaves_nothing_after_the_next_start(tmp_path: Path) -> None:
    root = tmp_path / "data" / "storage"
    first, _ = _serve(tmp_path)
    try:
        (own,) = [p for p in (root / ".tmp").iterdir() if p.is_dir() and p.name.startswith(f"p{first.pid}-")]
        (own / "pv_01half.png").write_bytes(b"\x89PNG half a preview")
        (own / "upload-x").write_bytes(b"half an upload")
    finally:
        first.kill()  # SIGKILL: no clean-up of any kind
        first.wait(timeout=60)
    live, live_dir = _owner(root, "live")
    second = None
    try:
        second, base = _serve(tmp_path)  # answers only once its start-up sweep is done
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert not own.exists() and not (root / ".tmp" / f"{own.name}.lock").exists()
        assert (live_dir / "upload-abc123").read_bytes() == b"half an upload"
    finally:
        if second is not None:
            second.send_signal(signal.SIGINT)
            second.wait(timeout=60)
        assert live.stdin is not None
        live.stdin.close()
        live.wait(timeout=60)
