"""The CLI's commands against a server (``reelforge renders|assets|templates|batches|events``,
``login``, ``logout``), on the Python SDK (:mod:`reelforge.client`, imported inside each command
so the local commands start without it).

The server and key come from ``reelforge --server URL --token KEY``, else ``REELFORGE_SERVER``
and ``REELFORGE_API_KEY`` (or ``REELFORGE_TOKEN``), else the profile saved by ``reelforge
login`` (``--profile`` or ``REELFORGE_PROFILE``, default ``default``). Rendering stays local
unless one of these commands is used."""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reelforge.terminal import LazyConsole, escape

if TYPE_CHECKING:
    from reelforge.client import Client, Render

__all__ = ["Connection", "connection", "register"]

out = LazyConsole()
err = LazyConsole(stderr=True)
EXIT_FAILED = 1
EXIT_INVALID = 2


@dataclass
class Connection:
    """What ``reelforge --server/--token/--profile`` named (None: look further)."""

    server: str | None = None
    token: str | None = None
    profile: str | None = None


connection = Connection()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, help="How many to show (newest first).")]
DownloadOpt = Annotated[
    Path | None,
    typer.Option("--download", "-o", help="Download the outputs into this folder.", show_default=False),
]
WaitOpt = Annotated[float | None, typer.Option("--timeout", help="Give up waiting after this many seconds.")]


@contextmanager
def _client() -> Iterator[Client]:
    """A client of the named server; refusals and network failures end the command, in the
    local commands' error style."""
    from reelforge.client import Client, ReelforgeError
    from reelforge.client.profiles import load_profile

    server, token = connection.server, connection.token
    if connection.profile and (server is None or token is None):
        saved = load_profile(connection.profile)
        if saved is None:
            err.print(f"[red]no profile {escape(connection.profile)}: run `reelforge login`[/]")
            raise typer.Exit(EXIT_INVALID)
        server, token = server or saved["server"], token or saved["api_key"]
    try:
        client = Client(server, token)
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(EXIT_INVALID) from None
    try:
        with client:
            yield client
    except ReelforgeError as exc:
        err.print(f"[red]{escape(str(exc))}[/]", soft_wrap=True)
        raise typer.Exit(EXIT_FAILED) from None


def _json(value: Any) -> None:
    out.print_json(json.dumps(value, default=str))


def _table(*columns: str) -> Any:
    from rich.table import Table

    table = Table()
    for column in columns:
        table.add_column(column)
    return table


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        err.print(f"[red]cannot read {escape(str(path))}: {escape(str(exc))}[/]")
        raise typer.Exit(EXIT_INVALID) from None


def _finish(render: Render, wait: bool, timeout: float | None, download: Path | None, as_json: bool) -> None:
    """Wait for ``render`` (with a progress bar) when asked, download its outputs, print it; a
    render that did not succeed fails the command."""
    if wait or download is not None:
        try:
            render.wait(progress=not as_json, timeout=timeout)
        except TimeoutError as exc:
            err.print(f"[red]{escape(str(exc))}[/]")
            raise typer.Exit(EXIT_FAILED) from None
    if as_json:
        _json(render.data)
    else:
        _print_render(render)
    if render.state in ("failed", "cancelled"):
        raise typer.Exit(EXIT_FAILED)
    if download is not None and render.state == "succeeded":
        for path in render.download(download):
            out.print(str(path), markup=False, highlight=False)


def _print_render(render: Render) -> None:
    data = render.data
    line = f"{render.id} {render.state}"
    if render.state not in ("succeeded", "failed", "cancelled"):
        line += f" {float(data.get('progress') or 0):.0%}"
    out.print(line, markup=False, highlight=False)
    error = data.get("error")
    if error:
        err.print(f"[red]{escape(str(error.get('code')))}: {escape(str(error.get('message')))}[/]")
    for output in render.outputs:
        out.print(f"  {output['id']} {output['name']} {output['size_bytes']} bytes", markup=False)


# ------------------------------------------------------------------ login


def login(
    server: Annotated[str, typer.Option("--server", help="The service's URL.", prompt=True)],
    token: Annotated[str, typer.Option("--token", help="An API key.", prompt=True, hide_input=True)],
    profile: Annotated[str, typer.Option("--profile", help="The profile's name.")] = "default",
) -> None:
    """Check an API key against a server and save both as a profile (owner-only file): the
    commands against a server use it when no --server/--token or environment variable names one."""
    from reelforge.client import Client, ReelforgeError
    from reelforge.client.profiles import save_profile

    try:
        with Client(server, token, max_retries=1) as client:
            workspace = client.json("GET", "/v1/workspace")
    except ReelforgeError as exc:
        err.print(f"[red]{escape(str(exc))}[/]", soft_wrap=True)
        raise typer.Exit(EXIT_FAILED) from None
    path = save_profile(server, token, profile)
    out.print(
        f"logged in to {server} (workspace {workspace.get('name')}, {workspace.get('id')}); "
        f"profile {profile!r} saved in {path}",
        markup=False,
        highlight=False,
    )


def logout(
    profile: Annotated[str, typer.Option("--profile", help="The profile's name.")] = "default",
) -> None:
    """Forget a saved profile."""
    from reelforge.client.profiles import delete_profile

    if not delete_profile(profile):
        err.print(f"[yellow]no profile {escape(profile)}[/]")
        raise typer.Exit(EXIT_FAILED)
    out.print(f"profile {profile!r} removed", markup=False, highlight=False)


# ------------------------------------------------------------------ renders

renders_app = typer.Typer(help="Renders on a server.", no_args_is_help=True)


@renders_app.command("create")
def renders_create(
    edit_path: Annotated[
        Path | None, typer.Argument(help="An edit file (JSON) to render.", show_default=False)
    ] = None,
    project: Annotated[str | None, typer.Option(help="Render this project instead.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeat for several).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it ends, with a progress bar.")] = False,
    timeout: WaitOpt = None,
    download: DownloadOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Start a render of an edit file or a project (its media must be assets of the server:
    `reelforge push` uploads local files first)."""
    if (edit_path is None) == (project is None):
        err.print("[red]give an edit file or --project, not both[/]")
        raise typer.Exit(EXIT_INVALID)
    edit = _read_json(edit_path) if edit_path is not None else None
    with _client() as client:
        render = client.renders.create(edit=edit, project_id=project, tags=tag)
        _finish(render, wait, timeout, download, as_json)


@renders_app.command("list")
def renders_list(
    state: Annotated[str | None, typer.Option(help="Only renders in this state.")] = None,
    limit: LimitOpt = 20,
    as_json: JsonOpt = False,
) -> None:
    """The newest renders."""
    with _client() as client:
        shown = []
        for render in client.renders.list(state=state, limit=min(limit, 100)):
            shown.append(render)
            if len(shown) >= limit:
                break
    if as_json:
        _json([r.data for r in shown])
        return
    table = _table("id", "state", "progress", "created", "outputs")
    for r in shown:
        table.add_row(
            r.id,
            r.state,
            f"{float(r.data.get('progress') or 0):.0%}",
            r.data["created_at"],
            str(len(r.outputs)),
        )
    out.print(table)


@renders_app.command("get")
def renders_get(
    render_id: Annotated[str, typer.Argument(help="The render's id.")], as_json: JsonOpt = False
) -> None:
    """A render: state, progress, error, outputs."""
    with _client() as client:
        render = client.renders.get(render_id)
    _json(render.data) if as_json else _print_render(render)


@renders_app.command("cancel")
def renders_cancel(render_id: Annotated[str, typer.Argument(help="The render's id.")]) -> None:
    """Ask a render to stop."""
    with _client() as client:
        _print_render(client.renders.cancel(render_id))


@renders_app.command("wait")
def renders_wait(
    render_id: Annotated[str, typer.Argument(help="The render's id.")],
    timeout: WaitOpt = None,
    download: DownloadOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Follow a render until it ends (progress bar); fails unless it succeeded."""
    with _client() as client:
        _finish(client.renders.get(render_id), True, timeout, download, as_json)


# ------------------------------------------------------------------ assets

assets_app = typer.Typer(help="Assets on a server.", no_args_is_help=True)


@assets_app.command("upload")
def assets_upload(
    files: Annotated[list[Path], typer.Argument(help="Files to upload.", show_default=False)],
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeat for several).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Upload files (large ones resumable, with tus); print each asset's id."""
    from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn

    for file in files:
        if not file.is_file():
            err.print(f"[red]no such file: {escape(str(file))}[/]")
            raise typer.Exit(EXIT_INVALID)
    made = []
    with _client() as client:
        for file in files:
            with Progress(
                TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), console=err.console
            ) as bar:
                task = bar.add_task(escape(file.name), total=file.stat().st_size)

                def advance(done: int, total: int, bar: Progress = bar, task: TaskID = task) -> None:
                    bar.update(task, completed=done)

                asset = client.assets.upload(file, tags=tag, progress=advance)
            made.append(asset)
            if not as_json:
                out.print(asset["id"], markup=False, highlight=False)
    if as_json:
        _json(made)


@assets_app.command("list")
def assets_list(limit: LimitOpt = 20, as_json: JsonOpt = False) -> None:
    """The newest assets."""
    with _client() as client:
        shown = []
        for asset in client.assets.list(limit=min(limit, 100)):
            shown.append(asset)
            if len(shown) >= limit:
                break
    if as_json:
        _json(shown)
        return
    table = _table("id", "name", "kind", "bytes", "created")
    for a in shown:
        table.add_row(a["id"], escape(a["name"]), a["kind"], str(a["size_bytes"]), a["created_at"])
    out.print(table)


@assets_app.command("download")
def assets_download(
    asset_id: Annotated[str, typer.Argument(help="The asset's id.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="A file, or a folder for the asset's name.")
    ] = Path("."),
) -> None:
    """Download an asset's file."""
    with _client() as client:
        path = client.assets.download(asset_id, output)
    out.print(str(path), markup=False, highlight=False)


# ------------------------------------------------------------------ templates, batches

templates_app = typer.Typer(help="Templates on a server.", no_args_is_help=True)


@templates_app.command("list")
def templates_list(limit: LimitOpt = 20, as_json: JsonOpt = False) -> None:
    """The templates of the workspace."""
    with _client() as client:
        shown = []
        for template in client.templates.list(limit=min(limit, 100)):
            shown.append(template)
            if len(shown) >= limit:
                break
    if as_json:
        _json(shown)
        return
    table = _table("id", "name", "version")
    for t in shown:
        table.add_row(t["id"], escape(str(t.get("name"))), str(t.get("version")))
    out.print(table)


@templates_app.command("get")
def templates_get(template_id: Annotated[str, typer.Argument(help="The template's id.")]) -> None:
    """A template, as JSON."""
    with _client() as client:
        _json(client.templates.get(template_id))


@templates_app.command("render")
def templates_render(
    template_id: Annotated[str, typer.Argument(help="The template's id.")],
    values: Annotated[Path, typer.Option("--values", help="A JSON file of the variables' values.")],
    locale: Annotated[str | None, typer.Option(help="The locale whose values to use.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it ends, with a progress bar.")] = False,
    timeout: WaitOpt = None,
    download: DownloadOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Render a template filled with values."""
    filled = _read_json(values)
    with _client() as client:
        extra = {"locale": locale} if locale else {}
        render = client.templates.render(template_id, filled, **extra)
        _finish(render, wait, timeout, download, as_json)


batches_app = typer.Typer(help="Batches on a server.", no_args_is_help=True)


@batches_app.command("create")
def batches_create(
    template: Annotated[str, typer.Option("--template", help="The template's id.")],
    csv: Annotated[Path, typer.Option("--csv", help="The rows: CSV with a header of variable names.")],
    locale: Annotated[list[str] | None, typer.Option(help="Render each row in this locale (repeat).")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeat for several).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Render a template once per CSV row (and locale)."""
    try:
        rows = csv.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"[red]cannot read {escape(str(csv))}: {escape(str(exc))}[/]")
        raise typer.Exit(EXIT_INVALID) from None
    with _client() as client:
        batch = client.batches.create(
            template_id=template, rows_csv=rows, locales=locale or [], tags=tag or []
        )
    if as_json:
        _json(batch)
        return
    out.print(f"{batch['id']} {batch['state']}: {batch['renders']} renders", markup=False, highlight=False)
    for rejected in batch.get("rejected") or []:
        err.print(f"[yellow]{escape(json.dumps(rejected, default=str))}[/]")


@batches_app.command("get")
def batches_get(batch_id: Annotated[str, typer.Argument(help="The batch's id.")]) -> None:
    """A batch, as JSON."""
    with _client() as client:
        _json(client.batches.get(batch_id))


@batches_app.command("list")
def batches_list(limit: LimitOpt = 20, as_json: JsonOpt = False) -> None:
    """The newest batches."""
    with _client() as client:
        shown = []
        for batch in client.batches.list(limit=min(limit, 100)):
            shown.append(batch)
            if len(shown) >= limit:
                break
    if as_json:
        _json(shown)
        return
    table = _table("id", "state", "renders", "progress", "created")
    for b in shown:
        table.add_row(b["id"], b["state"], str(b["renders"]), f"{b['progress']:.0%}", b["created_at"])
    out.print(table)


# ------------------------------------------------------------------ events

events_app = typer.Typer(help="The workspace's events on a server.", no_args_is_help=True)


@events_app.command("tail")
def events_tail(
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Only events of this type (repeat; `render.*`).")
    ] = None,
    count: Annotated[int | None, typer.Option("--count", min=1, help="Stop after this many events.")] = None,
) -> None:
    """Follow the workspace's events as they happen (one JSON line each; Ctrl-C stops)."""
    seen = 0
    with _client() as client:
        try:
            for event in client.events.stream(type=type_ or None):
                print(json.dumps(event, separators=(",", ":")), flush=True)
                seen += 1
                if count is not None and seen >= count:
                    return
        except KeyboardInterrupt:
            return


# ------------------------------------------------------------------ MCP


def mcp_command(
    transport: Annotated[str, typer.Option(help="stdio, or http (streamable HTTP).")] = "stdio",
    host: Annotated[str, typer.Option(help="Address for --transport http.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for --transport http.")] = 8765,
    base_dir: Annotated[Path, typer.Option(help="Local mode: the folder of the media edits name.")] = Path(
        "."
    ),
    local: Annotated[
        bool, typer.Option("--local", help="Render here even when a server is configured.")
    ] = False,
) -> None:
    """Serve Reelforge to AI agents over the Model Context Protocol: against the configured
    server (with its key's scopes), or locally with the engine only (no server named, or
    --local)."""
    from reelforge.client._core import resolve_config
    from reelforge.client.profiles import load_profile
    from reelforge.extras import require

    require("mcp", "mcp", "`reelforge mcp`")
    from reelforge.mcp_server import Backend, build_server

    if transport not in ("stdio", "http"):
        err.print("[red]--transport is stdio or http[/]")
        raise typer.Exit(EXIT_INVALID)
    backend = Backend(base_dir=base_dir)
    if not local:
        server, token = connection.server, connection.token
        if connection.profile:
            saved = load_profile(connection.profile)
            if saved is not None:
                server, token = server or saved["server"], token or saved["api_key"]
        try:
            backend.server, backend.api_key = resolve_config(server, token)
        except ValueError:
            backend.server = backend.api_key = None  # nothing configured: the engine only
    mcp = build_server(backend)
    if transport == "stdio":
        mcp.run("stdio")
    else:
        mcp.run("streamable-http", host=host, port=port)


def register(app: typer.Typer, sub_apps: MutableMapping[str, typer.Typer]) -> None:
    """Add the commands against a server to ``app`` and its ``sub_apps``, and the global
    ``--server/--token/--profile``."""

    @app.callback()
    def _global(
        server: Annotated[
            str | None,
            typer.Option(
                "--server", help="A Reelforge server, for the commands against one.", show_default=False
            ),
        ] = None,
        token: Annotated[str | None, typer.Option("--token", help="Its API key.", show_default=False)] = None,
        profile: Annotated[
            str | None,
            typer.Option("--profile", help="A profile saved by `reelforge login`.", show_default=False),
        ] = None,
    ) -> None:
        """Render JSON video edits with FFmpeg, here or on a server."""
        connection.server = server
        connection.token = token
        connection.profile = profile  # REELFORGE_PROFILE is read by the SDK, after the variables

    app.command("login")(login)
    app.command("mcp")(mcp_command)
    app.command("logout")(logout)
    sub_apps["renders"] = renders_app
    sub_apps["assets"] = assets_app
    sub_apps["templates"] = templates_app
    sub_apps["batches"] = batches_app
    sub_apps["events"] = events_app
