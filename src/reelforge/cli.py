"""The ``reelforge`` command: render, validate, plan, schema and probe, with no server.

User errors (a bad edit, a missing file, FFmpeg refusing) print a located message and exit
non-zero; a traceback means a bug in Reelforge.
"""

from __future__ import annotations

import json
import shlex
import signal
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from reelforge import __version__
from reelforge.render.engine import RenderError, plan_edit, render_edit
from reelforge.render.ffmpeg import ffmpeg_exe
from reelforge.render.probe import MediaProbeError, probe
from reelforge.render.runner import CancelToken, RenderCancelled
from reelforge.render.runner import Progress as RenderProgress
from reelforge.render.sources import LocalResolver
from reelforge.spec.errors import EditError
from reelforge.spec.models import Edit
from reelforge.spec.schema import edit_json_schema
from reelforge.spec.validate import load_edit

app = typer.Typer(
    name="reelforge",
    help="Render JSON video edits with FFmpeg.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

EXIT_INVALID = 2
EXIT_FAILED = 1
EXIT_CANCELLED = 130

EditArg = Annotated[Path, typer.Argument(help="The edit file (JSON).", show_default=False)]
VarsOpt = Annotated[
    Path | None, typer.Option("--vars", help="A JSON file of values for {{placeholders}}.", show_default=False)
]


def _print_problems(exc: EditError, source: str) -> None:
    err.print(f"[bold red]{source}: {len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}[/]")
    for p in exc.problems:
        err.print(f"  [cyan]{_escape(p.pointer or '/')}[/]: {_escape(p.message)}", highlight=False)


def _escape(text: str) -> str:
    return escape(text)


def _load_vars(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        err.print(f"[red]no such variables file: {_escape(str(path))}[/]")
        raise typer.Exit(EXIT_INVALID) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        err.print(f"[red]cannot read variables from {_escape(str(path))}: {_escape(str(exc))}[/]")
        raise typer.Exit(EXIT_INVALID) from None
    if not isinstance(values, dict):
        err.print(f"[red]{_escape(str(path))}: variables are a JSON object of name: value[/]")
        raise typer.Exit(EXIT_INVALID)
    return values


def _load(edit_path: Path, vars_path: Path | None) -> Edit:
    variables = _load_vars(vars_path)
    try:
        return load_edit(edit_path, variables)
    except EditError as exc:
        _print_problems(exc, str(edit_path))
        raise typer.Exit(EXIT_INVALID) from None


@app.command()
def validate(edit_path: EditArg, vars_path: VarsOpt = None) -> None:
    """Check an edit and its media without rendering; list every problem with its location."""
    edit = _load(edit_path, vars_path)
    base = edit_path.resolve().parent
    with tempfile.TemporaryDirectory(prefix="reelforge-") as tmp:
        try:
            plan, _ = plan_edit(edit, resolver=LocalResolver(base), out_dir=Path(tmp), work_dir=Path(tmp))
        except EditError as exc:
            _print_problems(exc, str(edit_path))
            raise typer.Exit(EXIT_INVALID) from None
    outputs = ", ".join(f"{o.path.name} ({o.width}x{o.height})" for o in plan.outputs)
    out.print(f"[green]valid[/]: {float(plan.duration):.3f} s, {len(plan.outputs)} output(s): {_escape(outputs)}")


@app.command()
def plan(
    edit_path: EditArg,
    vars_path: VarsOpt = None,
    output_dir: Annotated[Path, typer.Option("-o", "--output-dir", help="Where outputs would go.")] = Path("out"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Print the render plan: the timeline in frames, the outputs and the exact FFmpeg command."""
    edit = _load(edit_path, vars_path)
    base = edit_path.resolve().parent
    work = Path(tempfile.gettempdir()) / "reelforge-plan"
    try:
        render_plan, _ = plan_edit(edit, resolver=LocalResolver(base), out_dir=output_dir.resolve(), work_dir=work)
    except EditError as exc:
        _print_problems(exc, str(edit_path))
        raise typer.Exit(EXIT_INVALID) from None
    command = [ffmpeg_exe(), *render_plan.ffmpeg_args(inline_graph=True)]
    if as_json:
        doc = {
            "duration": float(render_plan.duration),
            "timelines": {
                f"{fps.numerator}/{fps.denominator}": {
                    "frames": tl.frames,
                    "clips": [
                        {"pointer": c.pointer, "start_frame": c.start, "frames": c.length, "type": c.clip.asset.type}
                        for c in tl.clips()
                    ],
                }
                for fps, tl in render_plan.timelines.items()
            },
            "outputs": [
                {"path": str(o.path), "width": o.width, "height": o.height, "fps": str(o.fps), "frames": o.frames}
                for o in render_plan.outputs
            ],
            "artifacts": [{"kind": a.kind, "path": str(a.path), "pointer": a.pointer} for a in render_plan.artifacts],
            "graph": render_plan.graph,
            "command": command,
        }
        out.print_json(data=doc)
        return
    for fps, tl in render_plan.timelines.items():
        table = Table(title=f"timeline at {float(fps):g} fps: {tl.frames} frames ({float(tl.duration):.3f} s)")
        for col in ("clip", "type", "start", "frames", "end"):
            table.add_column(col)
        for c in tl.clips():
            table.add_row(c.pointer, c.clip.asset.type, str(c.start), str(c.length), str(c.end))
        out.print(table)
    for o in render_plan.outputs:
        out.print(f"output [bold]{_escape(str(o.path))}[/]: {o.width}x{o.height} @ {float(o.fps):g} fps, "
                  f"{o.frames} frames")
    out.print("\n[bold]filter graph[/]")
    out.print(render_plan.graph, markup=False, highlight=False)
    out.print("\n[bold]command[/]")
    out.print(shlex.join(command), markup=False, highlight=False, soft_wrap=True)


@app.command()
def render(
    edit_path: EditArg,
    vars_path: VarsOpt = None,
    output_dir: Annotated[Path, typer.Option("-o", "--output-dir", help="Where to write the outputs.")] = Path("out"),
    name: Annotated[str | None, typer.Option(help="Base name of the output files.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds.")] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No progress bar.")] = False,
) -> None:
    """Render every output of an edit with one FFmpeg run."""
    edit = _load(edit_path, vars_path)
    base = edit_path.resolve().parent
    cancel = CancelToken()
    previous = signal.signal(signal.SIGTERM, lambda *_: cancel.cancel())
    columns = (TextColumn("[bold]rendering"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[fps]}"),
               TimeRemainingColumn())
    try:
        with Progress(*columns, console=err, disable=quiet, transient=True) as bar:
            task = bar.add_task("render", total=1.0, fps="")

            def on_progress(p: RenderProgress) -> None:
                bar.update(task, completed=p.fraction, fps=f"{p.fps:.0f} fps" if p.fps else "")

            result = render_edit(edit, out_dir=output_dir, base_dir=base, name=name or edit_path.stem,
                                 on_progress=on_progress, cancel=cancel, timeout=timeout)
    except EditError as exc:
        _print_problems(exc, str(edit_path))
        raise typer.Exit(EXIT_INVALID) from None
    except RenderError as exc:
        err.print(f"[bold red]render failed[/]: {_escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    except (RenderCancelled, KeyboardInterrupt):
        err.print("[yellow]cancelled; partial files removed[/]")
        raise typer.Exit(EXIT_CANCELLED) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    for o in result.outputs:
        info = o.info
        size = f"{info.width}x{info.height}" if info.width else "audio"
        duration = f"{float(info.duration):.3f} s" if info.duration is not None else "still"
        out.print(f"[green]wrote[/] {_escape(str(o.path))} ({size}, {duration})")
        for extra in (o.poster, o.thumbnail, *o.sidecars):
            if extra is not None:
                out.print(f"[green]wrote[/] {_escape(str(extra))}")
    out.print(f"rendered in {result.elapsed:.2f} s")


@app.command()
def schema() -> None:
    """Print the edit language's JSON Schema."""
    sys.stdout.write(json.dumps(edit_json_schema(), indent=2) + "\n")


@app.command(name="probe")
def probe_command(file: Annotated[Path, typer.Argument(help="A media file.", show_default=False)]) -> None:
    """Print what a media file holds: duration, size, frame rate, codecs, audio."""
    try:
        info = probe(file)
    except MediaProbeError as exc:
        err.print(f"[red]{_escape(str(exc))}[/]")
        raise typer.Exit(EXIT_INVALID) from None
    out.print_json(data=info.to_dict())


@app.command()
def version() -> None:
    """Print the version."""
    out.print(f"reelforge {__version__}")


def main() -> None:
    app()
