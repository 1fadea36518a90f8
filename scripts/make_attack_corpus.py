"""Write the attack corpus the security tests run (tests/corpus/*.json and the hostile files).

The strings, paths and addresses are data (tests/corpus/*.json, written by this script so
they stay reproducible and reviewable); the hostile files (decoder bombs of each picture and
video format, polyglots) are bytes made here on demand, since they are easier to review as
the code that makes them than as binaries::

    python scripts/make_attack_corpus.py            # rewrite tests/corpus/*.json
    python scripts/make_attack_corpus.py DIR        # ... and write every hostile file into DIR

Long strings are kept short in the JSON as ``{"repeat": "A", "times": 100000}`` (see
:func:`expand`).
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"

BIG = 16000
"""The side every bomb declares: 256 Mpx, far above the 8192x8192 limit."""

# ------------------------------------------------------------------ strings

INJECTIONS: dict[str, list[Any]] = {
    "ffmpeg_filter": [
        "a';movie=/etc/passwd[x];[x]overlay",
        "x:text='\\'':fontfile=/etc/passwd",
        "[in]null[out];[out]drawtext=text=%{pict_type}",
        "%{localtime}%{eif:1/0:d}%{metadata:title}",
        "100:100,scale=99999:99999",
        "\\\\'\\,\\;\\[\\]\\:",
        "concat:/etc/passwd|/etc/shadow",
        "subfile,,start,0,end,0,,:/etc/passwd",
        "amovie=/dev/zero,volume=1000",
    ],
    "ass_override": [
        "{\\fnDejaVu Sans\\fs999\\c&H0000FF&}big",
        "{\\p1}m 0 0 l 100000 0 100000 100000{\\p0}",
        "{\\t(0,100000,\\frz360)}{\\move(0,0,99999,99999)}",
        "\\N\\n\\h{\\r}{\\k100}",
        "[Script Info]\nPlayResX: 99999\n[Events]\nDialogue: 0,0:00:00.00,9:00:00.00,Default,,0,0,0,,x",
        "{\\fn../../../../etc/passwd}x",
    ],
    "shell": [
        "$(touch /tmp/reelforge-pwned)",
        "`id`",
        "; rm -rf / #",
        "| cat /etc/passwd",
        "&& curl http://127.0.0.1:9/",
        "'\"; --",
        "-i /etc/passwd",
        "--help",
    ],
    "format_string": ["%s%s%s%n%n", "{0.__class__.__mro__}", "{{7*7}}", "${7*7}", "%(x)s", "{__import__}"],
    "control": [
        "nul\x00byte",
        "\x00",
        "bell\x07\x1b[31mred\x1b[0m",
        "cr\rlf\nend",
        "\u202eevil\u202c txt.exe",  # right-to-left override
        "\u2066isolate\u2069\u200f\u200e",
        "\ufeffbom",
        "zero\u200bwidth\u200djoin",
        "\ud7ff\ue000\uffff",
    ],
    "unicode": [
        "Z̸̡̛͚̦̘̈́͂a̵͎̐l̷̰̈́g̸̣̓o̶͍̊",  # combining marks
        "مرحبا بالعالم",
        "שלום עולם",
        "𝕳𝖊𝖑𝖑𝖔 🎬🧨",
        "²³¹",
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    ],
    "markup": [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "]]><!--",
        "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>",
        "' OR 1=1 --",
        "'; DROP TABLE assets; --",
    ],
    "long": [
        {"repeat": "A", "times": 5000},
        {"repeat": "\u0645", "times": 5000},
        {"repeat": "{\\b1}", "times": 1000},
        {"repeat": "%", "times": 100000},
        {"repeat": "a\n", "times": 2000},
    ],
}

TRAVERSAL = [
    "../../../../etc/passwd",
    "..\\..\\..\\windows\\win.ini",
    "/etc/passwd",
    "/proc/self/environ",
    "/dev/zero",
    "/dev/stdin",
    "~/.ssh/id_rsa",
    "file:///etc/passwd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%252f..%252fetc%252fpasswd",
    "....//....//etc/passwd",
    "./../data/reelforge.db",
    "clip.mp4\x00.png",
    "con",
    "\\\\127.0.0.1\\share\\x.mp4",
    "pipe:0",
    "concat:a.mp4|/etc/passwd",
    "subfile,,start,0,end,0,,:/etc/passwd",
    "data:text/plain;base64,QUFB",
    "http://127.0.0.1:9/x.mp4",
    "fd:0",
    "a" * 300 + ".mp4",
]

# Every spelling of a loopback, private, link-local, metadata or unspecified address. Only IP
# literals and names the machine answers itself (localhost), never a name going to DNS.
SSRF_HOSTS = [
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "127.000.000.001",
    "2130706433",
    "0x7f000001",
    "0x7f.0x0.0x0.0x1",
    "0x7f.1",
    "0177.0.0.1",
    "017700000001",
    "0",
    "0.0.0.0",
    "0x0",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::127.0.0.1]",
    "[::ffff:0:7f00:1]",
    "[64:ff9b::7f00:1]",
    "[2002:7f00:1::]",
    "[fe80::1]",
    "[fd00::1]",
    "[fd00:ec2::254]",
    "169.254.169.254",
    "2852039166",
    "0xa9fea9fe",
    "0251.0376.0251.0376",
    "[::ffff:169.254.169.254]",
    "[::ffff:a9fe:a9fe]",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.0.1",
    "100.64.0.1",
    "100.100.100.200",
    "224.0.0.1",
    "255.255.255.255",
    "localhost",
    "LOCALHOST",
    "localhost.",
    "LocalHost",
]


def ssrf_urls(port: int) -> list[str]:
    """The SSRF corpus as URLs aimed at ``port`` (a listener the test watches)."""
    hosts = json.loads((CORPUS / "ssrf.json").read_text())["hosts"]
    urls = []
    for host in hosts:
        urls += [f"http://{host}:{port}/hook", f"https://{host}:{port}/hook"]
    urls += [
        # user-info and fragment tricks, with IP literals only (no name goes to DNS)
        f"http://user@127.0.0.1:{port}/",
        f"http://192.0.2.1@127.0.0.1:{port}/",
        f"http://127.0.0.1:{port}#@192.0.2.1/",
        f"http://127.0.0.1:{port}\\@192.0.2.1/",
    ]
    return urls


def expand(value: Any) -> Any:
    """A corpus entry as the string it stands for (``{"repeat": s, "times": n}`` -> ``s * n``)."""
    if isinstance(value, dict):
        return str(value["repeat"]) * int(value["times"])
    return value


def strings() -> list[str]:
    """Every injection string of the corpus, expanded."""
    data = json.loads((CORPUS / "strings.json").read_text())
    return [expand(v) for group in data["injections"].values() for v in group]


def paths() -> list[str]:
    return list(json.loads((CORPUS / "paths.json").read_text())["traversal"])


# ------------------------------------------------------------------ hostile files


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _pil(fmt: str, size: tuple[int, int] = (4, 4), **kw: Any) -> bytes:
    from PIL import Image

    out = BytesIO()
    Image.new("RGB", size, "blue").save(out, format=fmt, **kw)
    return out.getvalue()


def png_bomb() -> bytes:
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", BIG, BIG, 8, 6, 0, 0, 0))
    idat = _chunk(b"IDAT", zlib.compress(bytes(1 + 4 * BIG) * 64, 9))
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat + _chunk(b"IEND", b"")


def apng_bomb() -> bytes:
    """An animated PNG: a small default image, 10,000 frames of the full huge canvas declared."""
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", BIG, BIG, 8, 6, 0, 0, 0))
    actl = _chunk(b"acTL", struct.pack(">II", 10000, 0))
    return (
        b"\x89PNG\r\n\x1a\n" + ihdr + actl + _chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _chunk(b"IEND", b"")
    )


def gif_bomb() -> bytes:
    data = bytearray(_pil("GIF"))
    data[6:10] = struct.pack("<HH", BIG, BIG)
    return bytes(data)


def animated_gif_bomb() -> bytes:
    """Many frames each declaring the huge canvas: a video bomb in a picture format."""
    from PIL import Image

    frames = [Image.new("P", (4, 4), i % 256) for i in range(50)]
    out = BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=1, loop=0)
    data = bytearray(out.getvalue())
    data[6:10] = struct.pack("<HH", BIG, BIG)
    return bytes(data)


def bmp_bomb() -> bytes:
    data = bytearray(_pil("BMP"))
    data[18:26] = struct.pack("<ii", BIG, BIG)
    return bytes(data)


def jpeg_bomb() -> bytes:
    data = bytearray(_pil("JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", BIG, BIG)
    return bytes(data)


def progressive_jpeg_bomb() -> bytes:
    data = bytearray(_pil("JPEG", progressive=True))
    sof = data.index(b"\xff\xc2")
    data[sof + 5 : sof + 9] = struct.pack(">HH", BIG, BIG)
    return bytes(data)


def webp_bomb() -> bytes:
    """A lossless WebP (VP8L) whose header declares 16000x16000."""
    data = bytearray(_pil("WEBP", lossless=True))
    at = data.index(b"VP8L") + 8  # the chunk's payload: signature 0x2f, then 14+14 bits
    bits = (BIG - 1) | ((BIG - 1) << 14) | (struct.unpack("<I", data[at + 1 : at + 5])[0] & ~((1 << 28) - 1))
    data[at + 1 : at + 5] = struct.pack("<I", bits)
    return bytes(data)


def tiff_bomb() -> bytes:
    """A TIFF whose ImageWidth, ImageLength and RowsPerStrip (LONG tags) say 16000."""
    data = _pil("TIFF")
    for tag in (256, 257, 278):
        data = data.replace(struct.pack("<HHII", tag, 4, 1, 4), struct.pack("<HHII", tag, 4, 1, BIG))
    return data


def ico_bomb() -> bytes:
    data = bytearray(_pil("ICO", (16, 16), sizes=[(16, 16)]))
    data[6:8] = b"\x00\x00"  # 0 means 256 in the directory; the PNG/BMP inside is what counts
    return bytes(data)


def svg_bomb() -> bytes:
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="16000" height="16000">'
        b'<rect width="16000" height="16000" fill="red"/></svg>'
    )


def svg_billion_laughs() -> bytes:
    ents = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return (
        f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY l0 "lol">{ents}]>'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&l9;</text></svg>'
    ).encode()


def y4m_bomb() -> bytes:
    """Raw video whose header declares 16000x16000 frames, then one short frame."""
    return f"YUV4MPEG2 W{BIG} H{BIG} F25:1 Ip A1:1 C420jpeg\n".encode() + b"FRAME\n" + bytes(1024)


def _tiny(fmt: str, *codec: str) -> bytes:
    """A 0.2 s 16x16 blue video in ``fmt`` (through a file: mp4 needs to seek back)."""
    import tempfile

    import imageio_ffmpeg

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"tiny.{fmt}"
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                "color=c=blue:s=16x16:d=0.2:r=10",
                *codec,
                "-f",
                fmt,
                str(out),
            ],
            check=True,
        )
        return out.read_bytes()


def mjpeg_avi_bomb() -> bytes:
    """Motion JPEG in AVI, every frame's SOF declaring 16000x16000 (the container says 16x16)."""
    data = _tiny("avi", "-c:v", "mjpeg")
    return data.replace(
        b"\xff\xc0\x00\x11\x08\x00\x10\x00\x10", b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", BIG, BIG)
    )


def mkv_dimensions_bomb() -> bytes:
    """Matroska declaring 16000x16000 in its track header around a tiny FFV1 stream."""
    data = _tiny("matroska", "-c:v", "ffv1")
    # PixelWidth (0xB0) and PixelHeight (0xBA) as one-byte integers 16 -> two-byte 16000
    return data.replace(b"\xb0\x81\x10", b"\xb0\x82" + struct.pack(">H", BIG)).replace(
        b"\xba\x81\x10", b"\xba\x82" + struct.pack(">H", BIG)
    )


def h264_sps_bomb() -> bytes:
    """An H.264 elementary stream encoded at 16x16 whose container (mp4) claims 16000x16000."""
    data = _tiny("mp4", "-c:v", "libx264", "-preset", "ultrafast")
    return data.replace(struct.pack(">HH", 16, 16), struct.pack(">HH", BIG, BIG))


def long_duration_video() -> bytes:
    """A one-frame video whose mp4 header claims ten hours."""
    data = bytearray(_tiny("mp4", "-c:v", "libx264", "-preset", "ultrafast"))
    at = data.index(b"mvhd") + 4
    timescale_at = at + 12 if data[at] == 0 else at + 20
    if data[at] == 0:
        data[timescale_at + 4 : timescale_at + 8] = struct.pack(">I", 36000 * 1000)
        data[timescale_at : timescale_at + 4] = struct.pack(">I", 1000)
    return bytes(data)


def gif_zip_polyglot() -> bytes:
    """A GIF that is also a ZIP (GIFAR)."""
    import zipfile

    out = BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("evil.html", "<script>alert(1)</script>")
    return _pil("GIF") + out.getvalue()


def png_html_polyglot() -> bytes:
    return _pil("PNG") + b"<html><script>alert(document.cookie)</script></html>"


def jpeg_php_polyglot() -> bytes:
    data = _pil("JPEG")
    com = b"<?php system($_GET['c']); ?>"
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(com) + 2) + com + data[2:]


def html_gif_polyglot() -> bytes:
    return b"GIF89a/*<html><script>alert(1)</script>*/=1;" + _pil("GIF")[6:]


def pdf_png_polyglot() -> bytes:
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + _pil("PNG")


def srt_with_html() -> bytes:
    return (
        b"1\n00:00:00,000 --> 00:00:01,000\n<script>alert(1)</script>{\\fnEvil}\n\n"
        b"2\n00:00:01,000 --> 99:59:59,999\n" + b"A" * 5000 + b"\n\n"
    )


def ass_with_includes() -> bytes:
    return (
        b"[Script Info]\nScriptType: v4.00+\nPlayResX: 99999\nPlayResY: 99999\n\n"
        b"[V4+ Styles]\nFormat: Name, Fontname, Fontsize\nStyle: Default,../../../etc/passwd,9999\n\n"
        b"[Fonts]\nfontname: evil.ttf\nM0000\n\n"
        b"[Events]\nFormat: Layer, Start, End, Style, Text\n"
        b"Dialogue: 0,0:00:00.00,9:59:59.99,Default,{\\p1}m 0 0 l 99999 0 99999 99999\n"
    )


def cube_lut_bomb() -> bytes:
    return b'TITLE "x"\nLUT_3D_SIZE 65536\n0 0 0\n'


HOSTILE: dict[str, tuple[str, Callable[[], bytes]]] = {
    # name: (file name sent, maker)
    "png-bomb": ("big.png", png_bomb),
    "apng-bomb": ("anim.png", apng_bomb),
    "gif-bomb": ("big.gif", gif_bomb),
    "animated-gif-bomb": ("anim.gif", animated_gif_bomb),
    "bmp-bomb": ("big.bmp", bmp_bomb),
    "jpeg-bomb": ("big.jpg", jpeg_bomb),
    "progressive-jpeg-bomb": ("prog.jpg", progressive_jpeg_bomb),
    "webp-bomb": ("big.webp", webp_bomb),
    "tiff-bomb": ("big.tiff", tiff_bomb),
    "ico": ("fav.ico", ico_bomb),
    "svg-bomb": ("big.svg", svg_bomb),
    "svg-billion-laughs": ("lol.svg", svg_billion_laughs),
    "y4m-bomb": ("raw.y4m", y4m_bomb),
    "mjpeg-avi-bomb": ("clip.avi", mjpeg_avi_bomb),
    "mkv-dimensions-bomb": ("clip.mkv", mkv_dimensions_bomb),
    "mp4-dimensions-bomb": ("clip.mp4", h264_sps_bomb),
    "mp4-ten-hours": ("long.mp4", long_duration_video),
    "gif-zip-polyglot": ("gifar.gif", gif_zip_polyglot),
    "png-html-polyglot": ("page.png", png_html_polyglot),
    "jpeg-php-polyglot": ("shell.jpg", jpeg_php_polyglot),
    "html-gif-polyglot": ("x.gif", html_gif_polyglot),
    "pdf-png-polyglot": ("doc.png", pdf_png_polyglot),
    "srt-html": ("subs.srt", srt_with_html),
    "ass-includes": ("subs.ass", ass_with_includes),
    "cube-lut-bomb": ("grade.cube", cube_lut_bomb),
}


def write_json(corpus: Path = CORPUS) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    docs = {
        "strings.json": {"injections": INJECTIONS},
        "paths.json": {"traversal": TRAVERSAL},
        "ssrf.json": {"hosts": SSRF_HOSTS},
    }
    for name, doc in docs.items():
        (corpus / name).write_text(json.dumps(doc, indent=2, ensure_ascii=True) + "\n")


def main(argv: list[str]) -> None:
    write_json()
    if argv:
        out = Path(argv[0])
        out.mkdir(parents=True, exist_ok=True)
        for key, (name, make) in HOSTILE.items():
            (out / f"{key}-{name}").write_bytes(make())


if __name__ == "__main__":
    main(sys.argv[1:])
