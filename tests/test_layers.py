"""The architecture the README draws holds in the imports: each layer imports only the layers
below it (``api/cli -> services -> jobs -> media/webhooks -> render -> ffmpeg -> edit``, with the
database models beside the engine), routers never import routers, and services know nothing of
HTTP."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "reelforge"

RANK = {
    "settings": 0,
    "logs": 0,
    "extras": 0,  # which optional drivers are installed
    "metrics": 0,  # the Prometheus metrics every layer counts into
    "tracing": 0,  # OpenTelemetry spans when the extra is installed and configured
    "configured": 1,  # whether anything configures the installation, before reading the settings
    "edit": 0,
    "spec": 1,  # the deprecated alias of edit
    "ffmpeg": 1,
    "db": 1,
    "render": 2,
    "representations": 2,
    "media": 3,
    "webhooks": 3,
    "interchange": 3,  # OpenTimelineIO import and export, on the engine's timeline layout
    "jobs": 4,
    "delivery": 4,  # output delivery: uses media's S3 client and webhooks' signing and SSRF rules
    "services": 5,
    "api": 6,
    "serve": 6,  # binding and running uvicorn for `reelforge serve`
    "client": 6,  # the CLI's HTTP client of a server
    "terminal": 6,  # the CLI's Rich consoles, made on their first print
    "command_groups": 6,  # the CLI's sub-apps, made into Click groups when one is used
    "mcp_server": 7,  # `reelforge mcp`: tools for AI agents, on the SDK or the engine
    "remote": 8,  # the CLI's commands against a server (and `reelforge mcp`), on the SDK
    "cli": 9,
    "__main__": 10,
}
"""A module may import from its own layer and from layers of a lower rank only."""

HTTP = ("fastapi", "starlette", "uvicorn", "sse_starlette")


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module) of every import in ``path``, relative ones resolved."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1]  # a module's package; for an __init__.py, its own
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield node.lineno, node.module or ""
            else:
                base = list(package[: len(package) - node.level + 1])
                yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "reelforge" and len(parts) > 1 else None


def modules() -> Iterator[tuple[Path, str]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield path, path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def test_every_layer_is_ranked() -> None:
    assert {own for _, own in modules()} - {"__init__"} <= set(RANK)


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for path, own in modules():
        if own == "__init__":
            continue
        for line, module in imports(path):
            other = layer(module)
            upward = other is not None and other != own and RANK[other] >= RANK[own]
            if upward and (own, other) != ("cli", "api"):  # `reelforge serve` runs the app
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} ({own}) imports {module}")
    assert not wrong, "\n".join(wrong)


def test_routers_never_import_routers() -> None:
    routers = PACKAGE / "api" / "routers"
    wrong = [
        f"{path.name}:{line} imports {module}"
        for path in routers.glob("*.py")
        for line, module in imports(path)
        if module.startswith("reelforge.api.routers.") and path.name != "__init__.py"
    ]
    assert not wrong, wrong


def test_services_and_the_layers_below_know_nothing_of_http() -> None:
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module}"
        for path, own in modules()
        if RANK.get(own, 99) <= RANK["services"]
        for line, module in imports(path)
        if module.split(".")[0] in HTTP
    ]
    assert not wrong, "\n".join(wrong)


def test_the_engine_touches_no_database_or_storage() -> None:
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module}"
        for path, own in modules()
        if own in ("edit", "render", "ffmpeg")
        for line, module in imports(path)
        if module.split(".")[0] in ("sqlalchemy", "boto3") or layer(module) in ("db", "media")
    ]
    assert not wrong, "\n".join(wrong)


QUERYING_ROUTERS = {"webhooks.py"}
"""Routers that still build a query of their own (to move into their service)."""


def test_routers_build_no_queries() -> None:
    """Routers parse, call a service and represent: the queries are the services'."""
    routers = PACKAGE / "api" / "routers"
    query = re.compile(r"(?<![.\w])select\(|\bdb\.(execute|scalars?|query)\(")
    wrong = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted(routers.glob("*.py"))
        if path.name not in QUERYING_ROUTERS
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if query.search(line)
    ]
    assert not wrong, "\n".join(wrong)
