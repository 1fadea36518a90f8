"""``reelforge mcp``: Reelforge for AI agents over the Model Context Protocol (the official
``mcp`` SDK), on stdio or streamable HTTP.

Tools take the edit language as structured JSON, never FFmpeg arguments: validate and plan an
edit (problems come back with their JSON pointers, so an agent can fix its own edit), render it
with progress notifications and fetch the outputs, fill a template, list and upload assets, run
a compliance check. Resources: the edit language's JSON Schema, the example edits and the docs.

Two backends: with a server (``--server``/``--token``, the environment or a saved profile) every
tool goes through the Python SDK and the key's scopes decide what is allowed; without one the
engine runs here, on files under ``--base-dir`` (assets are those files; nothing is uploaded).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError

from reelforge import __version__
from reelforge.edit.errors import EditError

__all__ = ["Backend", "build_server"]

ROOT = Path(__file__).resolve().parents[2]
MEDIA_SUFFIXES = frozenset(
    [
        ".mp4",
        ".mov",
        ".mkv",
        ".webm",
        ".m4v",
        ".avi",
        ".gif",
        ".png",
        ".jpg",
        ".jpeg",
        ".webp",
        ".wav",
        ".mp3",
        ".m4a",
        ".aac",
        ".flac",
        ".ogg",
        ".srt",
        ".vtt",
        ".ass",
    ]
)


@dataclass
class Backend:
    """Where tools run: ``server`` and ``api_key`` set (through the SDK), or locally on files
    under ``base_dir``."""

    server: str | None = None
    api_key: str | None = None
    base_dir: Path = Path(".")

    @property
    def remote(self) -> bool:
        return self.server is not None


def _problems(exc: EditError) -> list[dict[str, str]]:
    return [p.to_dict() for p in exc.problems]


def _edit_pointer(pointer: str) -> str:
    """A server's body pointer (``#/edit/outputs/0/fps``) as a pointer into the edit itself."""
    bare = pointer.removeprefix("#")
    return bare.removeprefix("/edit") if bare == "/edit" or bare.startswith("/edit/") else bare


def _api_problems(exc: Any) -> dict[str, Any]:
    """A refusal of the server as a tool result: the detail and each located problem."""
    return {
        "valid": False,
        "status": exc.status_code,
        "code": exc.code,
        "detail": exc.detail,
        "problems": [
            {
                "pointer": _edit_pointer(str(e.get("pointer") or "")),
                "message": e.get("detail"),
                "code": e.get("code"),
            }
            for e in exc.errors
        ],
        "request_id": exc.request_id,
    }


def _local_plan(edit: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    from reelforge.edit.validate import parse_edit
    from reelforge.render.engine import plan_edit
    from reelforge.render.sources import LocalResolver

    try:
        parsed = parse_edit(edit)
        with tempfile.TemporaryDirectory(prefix="reelforge-mcp-") as tmp:
            plan = plan_edit(parsed, resolver=LocalResolver(base_dir), out_dir=Path(tmp), work_dir=Path(tmp))
    except EditError as exc:
        return {"valid": False, "problems": _problems(exc)}
    return {
        "valid": True,
        "problems": [],
        "duration": float(plan.duration),
        "outputs": [{"name": o.path.name, "width": o.width, "height": o.height} for o in plan.outputs],
    }


def build_server(backend: Backend) -> MCPServer:
    """The MCP server of ``backend`` (tools and resources registered)."""
    server: MCPServer = MCPServer(
        name="reelforge",
        version=__version__,
        instructions=(
            "Reelforge renders videos from JSON edits (read the resource reelforge://schema/edit). "
            "Validate an edit first: each problem has a JSON pointer into it. Then render it."
        ),
    )

    @asynccontextmanager
    async def client() -> AsyncIterator[Any]:
        """An SDK client of the server; its refusals become tool errors the agent reads (the
        problem's detail, located errors and request id)."""
        from reelforge.client import AsyncClient, ReelforgeError

        try:
            async with AsyncClient(backend.server, backend.api_key) as rf:
                yield rf
        except ReelforgeError as exc:
            raise ToolError(str(exc)) from exc

    @server.tool()
    async def validate_edit(edit: dict[str, Any]) -> dict[str, Any]:
        """Check an edit (the Reelforge edit language, JSON) without rendering it: `valid`, and
        every `problem` with the JSON `pointer` of what to fix; when valid, the plan (duration,
        outputs with their sizes)."""
        if not backend.remote:
            return await asyncio.to_thread(_local_plan, edit, backend.base_dir)
        from reelforge.client import APIStatusError

        async with client() as rf:
            try:
                plan = await rf.json("POST", "/v1/renders", json={"edit": edit, "dry_run": True})
            except APIStatusError as exc:
                if exc.status_code != 422:
                    raise
                return _api_problems(exc)
        return {"valid": True, "problems": [], **plan}

    @server.tool()
    async def plan_edit(edit: dict[str, Any]) -> dict[str, Any]:
        """The render plan of an edit: duration and outputs (name, size, frame rate) and, on a
        server, the estimated render time; or the problems (with JSON pointers) that stop it."""
        result: dict[str, Any] = await validate_edit(edit)
        return result

    @server.tool()
    async def render_edit(
        edit: dict[str, Any], ctx: Context, output_dir: str | None = None, timeout_seconds: float = 1800
    ) -> dict[str, Any]:
        """Render an edit; progress is reported while it runs. Returns the render's state and
        outputs; with `output_dir`, the output files are written there (their paths returned).
        An invalid edit returns its problems (with JSON pointers) instead."""
        if backend.remote:
            return await _render_remote(edit, ctx, output_dir, timeout_seconds)
        return await _render_local(edit, ctx, output_dir, timeout_seconds)

    async def _render_remote(
        edit: dict[str, Any], ctx: Context, output_dir: str | None, timeout: float
    ) -> dict[str, Any]:
        from reelforge.client import APIStatusError

        async with client() as rf:
            try:
                render = await rf.renders.create(edit=edit)
            except APIStatusError as exc:
                if exc.status_code != 422:
                    raise
                return _api_problems(exc)

            async def report(r: Any) -> None:
                await ctx.report_progress(float(r.data.get("progress") or 0), 1.0, r.state)

            await render.wait(timeout=timeout, on_update=report)
            files = (
                [str(p) for p in await render.download(output_dir)]
                if output_dir and render.state == "succeeded"
                else []
            )
        return _render_summary(render.data, files)

    async def _render_local(
        edit: dict[str, Any], ctx: Context, output_dir: str | None, timeout: float
    ) -> dict[str, Any]:
        from reelforge.edit.validate import parse_edit
        from reelforge.ffmpeg.runner import Progress
        from reelforge.render.engine import RenderError
        from reelforge.render.engine import render_edit as render_locally

        try:
            parsed = parse_edit(edit)
        except EditError as exc:
            return {"valid": False, "problems": _problems(exc)}
        target = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix="reelforge-mcp-"))
        latest: list[float] = [0.0]
        changed = threading.Event()

        def on_progress(p: Progress) -> None:
            latest[0] = p.fraction
            changed.set()

        job = asyncio.create_task(
            asyncio.to_thread(
                render_locally,
                parsed,
                out_dir=target,
                base_dir=backend.base_dir,
                on_progress=on_progress,
                timeout=timeout,
            )
        )
        reported = -1.0
        while not job.done():
            await asyncio.wait({job}, timeout=0.25)
            if changed.is_set() and latest[0] != reported:
                changed.clear()
                reported = latest[0]
                await ctx.report_progress(reported, 1.0, "rendering")
        try:
            result = job.result()
        except EditError as exc:
            return {"valid": False, "problems": _problems(exc)}
        except RenderError as exc:
            return {"state": "failed", "error": str(exc)}
        await ctx.report_progress(1.0, 1.0, "succeeded")
        return {
            "state": "succeeded",
            "outputs": [
                {
                    "path": str(o.path),
                    "width": o.info.width,
                    "height": o.info.height,
                    "duration": o.info.duration,
                }
                for o in result.outputs
            ],
        }

    @server.tool()
    async def fetch_outputs(render_id: str, output_dir: str) -> dict[str, Any]:
        """Download the output files of a finished render (server) into `output_dir`."""
        _need_server("fetch_outputs")
        async with client() as rf:
            render = await rf.renders.get(render_id)
            files = [str(p) for p in await render.download(output_dir)]
        return _render_summary(render.data, files)

    @server.tool()
    async def list_assets(limit: int = 50) -> dict[str, Any]:
        """The assets an edit can name: on a server, its assets (`id`, `name`, `kind`, media
        info; name them by id as `src`); locally, the media files under the base folder (name
        them by relative path)."""
        if not backend.remote:
            base = backend.base_dir.resolve()
            files = sorted(
                str(p.relative_to(base))
                for p in base.rglob("*")
                if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES
            )
            return {"assets": [{"src": f} for f in files[:limit]]}
        async with client() as rf:
            page = await rf.assets.list(limit=min(limit, 100))
            found = []
            async for asset in page:
                found.append({k: asset.get(k) for k in ("id", "name", "kind", "size_bytes", "media", "tags")})
                if len(found) >= limit:
                    break
        return {"assets": found}

    @server.tool()
    async def upload_asset(
        path: str, name: str | None = None, tags: list[str] | None = None
    ) -> dict[str, Any]:
        """Upload a local file to the server as an asset (large files resumable); its id and
        media info."""
        _need_server("upload_asset")
        async with client() as rf:
            asset = await rf.assets.upload(path, name=name, tags=tags)
        return {k: asset.get(k) for k in ("id", "name", "kind", "size_bytes", "media")}

    @server.tool()
    async def fill_template(
        values: dict[str, Any],
        template_id: str | None = None,
        template: dict[str, Any] | None = None,
        locale: str | None = None,
    ) -> dict[str, Any]:
        """Fill a template with values: a server's template by `template_id`, or a template
        document given inline. Returns the filled edit, or the problems (with pointers)."""
        if template_id is not None:
            _need_server("fill_template with template_id")
            from reelforge.client import APIStatusError

            body: dict[str, Any] = {"values": values}
            if locale:
                body["locale"] = locale
            async with client() as rf:
                try:
                    return dict(await rf.json("POST", f"/v1/templates/{template_id}/preview", json=body))
                except APIStatusError as exc:
                    if exc.status_code != 422:
                        raise
                    return _api_problems(exc)
        if template is None:
            raise ToolError("give template_id (a server's template) or template (a document)")
        from reelforge.edit.templates import fill_template as fill
        from reelforge.edit.templates import parse_template

        try:
            return {"valid": True, "edit": fill(parse_template(template), values, locale=locale)}
        except EditError as exc:
            return {"valid": False, "problems": _problems(exc)}

    @server.tool()
    async def compliance_check(project_id: str, outputs: list[int] | None = None) -> dict[str, Any]:
        """Run the workspace's brand compliance check on a project (server): findings with the
        rule, severity and the JSON pointer of what breaks it."""
        _need_server("compliance_check")
        body = {"outputs": outputs} if outputs is not None else {}
        async with client() as rf:
            return dict(await rf.json("POST", f"/v1/projects/{project_id}/check", json=body))

    def _need_server(tool: str) -> None:
        if not backend.remote:
            raise ToolError(
                f"{tool} needs a Reelforge server: start `reelforge mcp --server URL --token KEY`"
            )

    # ------------------------------------------------------------------ resources

    @server.resource("reelforge://schema/edit", mime_type="application/schema+json")
    def edit_schema() -> str:
        """The edit language's JSON Schema (what `edit` arguments follow)."""
        from reelforge.edit.schema import edit_json_schema

        return json.dumps(edit_json_schema())

    @server.resource("reelforge://examples/{name}", mime_type="application/json")
    def example(name: str) -> str:
        """An example edit or template (`reelforge://examples/index` lists them)."""
        folder = ROOT / "examples"
        if name == "index":
            return json.dumps(
                sorted(p.stem for p in folder.glob("*.json") if not p.name.endswith(".vars.json"))
            )
        path = folder / f"{name}.json"
        if path.parent != folder or not path.is_file():
            raise ResourceNotFoundError(f"no example {name!r}")
        return path.read_text(encoding="utf-8")

    @server.resource("reelforge://docs/{name}", mime_type="text/markdown")
    def document(name: str) -> str:
        """A page of the documentation: `edit-format`, `api`, `sdk`, `operations`, `observability`."""
        folder = ROOT / "docs"
        path = folder / f"{name}.md"
        if path.parent != folder or not path.is_file():
            raise ResourceNotFoundError(f"no document {name!r}")
        return path.read_text(encoding="utf-8")

    return server


def _render_summary(data: Any, files: list[str]) -> dict[str, Any]:
    return {
        "id": data["id"],
        "state": data["state"],
        "error": data.get("error"),
        "outputs": [
            {k: o.get(k) for k in ("id", "name", "size_bytes", "media", "file_name")}
            for o in data.get("outputs") or []
        ],
        "files": files,
    }
