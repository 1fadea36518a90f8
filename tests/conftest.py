"""Shared pytest fixtures."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import mediagen


class MediaFiles:
    """Tiny media files made on first use and cached for the whole test session.

    Each method takes the keyword arguments of the matching :mod:`mediagen` helper plus
    ``suffix`` (which picks the container/codec), and returns the same path for the same
    arguments, so ``media.video()`` in twenty tests encodes one file::

        media.video()                                  # 1 s 320x180 h264+aac mp4, testsrc2 + 440 Hz
        media.video(color="red", duration=2)           # solid red
        media.video(suffix=".gif", size=(160, 90))     # animated GIF
        media.image()                                  # blue 320x180 png
        media.image(suffix=".jpg", pattern="smptebars")
        media.audio()                                  # 1 s 440 Hz stereo 48 kHz wav
        media.audio(suffix=".mp3", tone_hz=880)
        media.silence(duration=0.5)
        media.rotated_video(rotation=90)               # stored 320x180, displayed 180x320

    The files are shared: treat them as read-only (copy one into ``tmp_path`` to change it).
    ``media.dir`` is the session directory they live in.
    """

    def __init__(self, root: Path) -> None:
        self.dir = root
        self._made: dict[str, Path] = {}

    def _get(self, kind: str, maker: Callable[..., Path], suffix: str, kwargs: dict[str, Any]) -> Path:
        suffix = suffix if suffix.startswith(".") else f".{suffix}"
        key = f"{kind}{suffix}:{sorted(kwargs.items())!r}"
        path = self._made.get(key)
        if path is None or not path.exists():
            digest = hashlib.sha1(key.encode()).hexdigest()[:12]
            path = self.dir / f"{kind}-{digest}{suffix}"
            maker(path, **kwargs)
            self._made[key] = path
        return path

    def video(self, *, suffix: str = ".mp4", **kwargs: Any) -> Path:
        return self._get("video", mediagen.make_video, suffix, kwargs)

    def image(self, *, suffix: str = ".png", **kwargs: Any) -> Path:
        return self._get("image", mediagen.make_image, suffix, kwargs)

    def audio(self, *, suffix: str = ".wav", **kwargs: Any) -> Path:
        return self._get("audio", mediagen.make_audio, suffix, kwargs)

    def silence(self, *, suffix: str = ".wav", **kwargs: Any) -> Path:
        return self._get("silence", mediagen.make_silence, suffix, kwargs)

    def rotated_video(self, *, suffix: str = ".mp4", **kwargs: Any) -> Path:
        return self._get("rotated", mediagen.make_rotated_video, suffix, kwargs)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, tests marked ``slow`` first (in their order): each worker takes
    half the list from its start (``--dist worksteal``, see pyproject.toml) and an idle one
    steals from the end of the other's, so the long ones run early and the run ends on short
    ones instead of one worker finishing a long test alone."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> MediaFiles:
    """Lazily generated, session-cached test media (see :class:`MediaFiles`)."""
    return MediaFiles(tmp_path_factory.mktemp("media"))


# ------------------------------------------------------------------ the service

from service import close_templates, require_database, running_service  # noqa: E402


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    close_templates()  # the migrated databases tests copy theirs from (tests/service.py)


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """The API on a fresh database of each kind (PostgreSQL is skipped when none answers)."""
    require_database(request.param)
    with running_service(tmp_path, request.param) as svc:
        yield svc


@pytest.fixture(params=["sqlite", "postgresql"])
def rendering(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """The API with its in-process worker running one render at a time."""
    require_database(request.param)
    with running_service(tmp_path, request.param, workers=1) as svc:
        yield svc


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server on a free loopback port (real HTTP), one per test session; tests make a
    bucket of their own."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def sqlite_service(tmp_path: Path) -> Any:
    with running_service(tmp_path, "sqlite") as svc:
        yield svc


# ------------------------------------------------------------------ property-based tests

from hypothesis import HealthCheck, settings  # noqa: E402

# `ci` (the default) keeps `make test` within minutes on two cores: a fixed number of examples,
# no per-example deadline (a loaded machine is not a failure), no example database written into
# the tree. `REELFORGE_FUZZ=long` runs many more examples of the same properties.
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "long",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("long" if os.environ.get("REELFORGE_FUZZ") == "long" else "ci")
