"""The ``reelforge`` command: render, validate, plan, schema and probe with no server; upload,
import and push to a running service (:mod:`reelforge.client`).

User errors (a bad edit, a missing file, FFmpeg refusing) print a located message and exit
non-zero; a traceback means a bug in Reelforge.
"""

# No `from __future__ import annotations` here: Typer reads every command's annotations at each
# start, and string annotations are compiled one by one (only TYPE_CHECKING names are quoted).
import json
import shlex
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reelforge import __version__
from reelforge.command_groups import lazy_group
from reelforge.edit.errors import EditError, Problem
from reelforge.remote import register as register_remote
from reelforge.terminal import LazyConsole, escape

# Each command imports what it needs when it runs: `validate` never loads the encoder's
# progress bar, `probe` never builds the edit models (tests/test_startup.py guards this).
if TYPE_CHECKING:
    from rich.progress import Progress, TaskID
    from rich.table import Table

    from reelforge.edit.models import Edit
    from reelforge.ffmpeg.runner import Progress as RenderProgress

# The sub-apps (`keys`, `renders`...), built into Click groups only when one is used.
sub_apps: dict[str, typer.Typer] = {}
app = typer.Typer(
    cls=lazy_group(sub_apps),
    name="reelforge",
    help="Render JSON video edits with FFmpeg.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = LazyConsole()
err = LazyConsole(stderr=True)

EXIT_INVALID = 2
EXIT_FAILED = 1
EXIT_CANCELLED = 130

EditArg = Annotated[Path, typer.Argument(help="The edit file (JSON).", show_default=False)]
VarsOpt = Annotated[
    Path | None,
    typer.Option("--vars", help="A JSON file of values for {{placeholders}}.", show_default=False),
]
ResolutionOpt = Annotated[
    str | None,
    typer.Option(
        "--resolution",
        help="Render every output at this size, keeping its aspect ratio: 720p, 1080p (the shorter "
        "side) or WxH (fits inside it).",
        show_default=False,
    ),
]
LocaleOpt = Annotated[
    str | None,
    typer.Option(
        "--locale", help="For a template: the locale whose values to use (e.g. fr).", show_default=False
    ),
]


def _print_problems(exc: EditError, source: str) -> None:
    # One problem per line, never wrapped: people grep and paste these lines.
    err.print(
        f"[bold red]{source}: {len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}[/]",
        soft_wrap=True,
    )
    for p in exc.problems:
        err.print(
            f"  [cyan]{_escape(p.pointer or '/')}[/]: {_escape(p.message)}", highlight=False, soft_wrap=True
        )


def _escape(text: str) -> str:
    return escape(text)


def _table(title: str | None = None) -> "Table":
    from rich.table import Table  # only the commands that print tables pay for it

    return Table(title=title)


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


def _local_asset_info(base: Path) -> Any:
    """What a template's asset variable names locally: a file (relative to the template), its
    kind and, for pictures, its size (for the variables' `kinds` and `min_width`/`min_height`)."""
    from reelforge.edit.templates import AssetFacts

    def lookup(ref: str) -> AssetFacts | None:
        path = (base / ref).resolve()
        if not path.is_file():
            return None
        suffix = path.suffix.lower()
        fixed = {
            ".srt": "subtitles",
            ".vtt": "subtitles",
            ".ass": "subtitles",
            ".ssa": "subtitles",
            ".ttf": "font",
            ".otf": "font",
            ".ttc": "font",
            ".cube": "lut",
        }
        if suffix in fixed:
            return {"kind": fixed[suffix]}
        from reelforge.ffmpeg.probe import MediaProbeError, probe

        try:
            info = probe(path)
        except MediaProbeError:
            return {"kind": "unknown"}
        return {"kind": info.kind, "width": info.width, "height": info.height}

    return lookup


def _load(edit_path: Path, vars_path: Path | None, locale: str | None = None) -> "Edit":
    """The edit to work on: an edit file (placeholders filled from ``--vars``), or a template
    file filled with ``--vars`` in ``--locale``."""
    from reelforge.edit.validate import load_edit
    from reelforge.edit.variables import is_template_document

    variables = _load_vars(vars_path)
    try:
        document = json.loads(edit_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        document = None  # load_edit reports it, located
    try:
        if not is_template_document(document):
            if locale is not None:
                err.print(
                    f"[red]{_escape(str(edit_path))} is an edit, not a template: --locale picks a "
                    "template's per-locale values[/]"
                )
                raise typer.Exit(EXIT_INVALID)
            return load_edit(edit_path, variables)
        # The template machinery loads only for a template: plain edits start quicker.
        from reelforge.edit.templates import fill_template, parse_template
        from reelforge.edit.validate import parse_edit
        from reelforge.edit.variables import find_placeholders

        assert isinstance(document, dict)
        template = parse_template(document)
        # Brand kits live in the service; here a {{brand.…}} has nothing to fill it.
        branded = [
            Problem(
                "/edit" + where,
                f"no value for {{{{{name}}}}}: brand kits are filled by the service",
                "unknown_variable",
            )
            for name, wheres in find_placeholders(template.edit).items()
            if name.startswith("brand.")
            for where in wheres
        ]
        if branded:
            raise EditError(branded)
        filled = fill_template(
            template, variables or {}, locale=locale, asset_info=_local_asset_info(edit_path.resolve().parent)
        )
        return parse_edit(filled, placeholders=False)  # a value's "{{…}}" is its text
    except EditError as exc:
        _print_problems(exc, str(edit_path) if vars_path is None else f"{edit_path} with {vars_path}")
        raise typer.Exit(EXIT_INVALID) from None


def _at_resolution(edit: "Edit", resolution: str | None) -> "Edit":
    """``edit`` with every output scaled to ``--resolution`` (exit 2 naming a bad value)."""
    from reelforge.edit.encoding import scaled_output

    if resolution is None:
        return edit
    try:
        outputs = [scaled_output(o, resolution) for o in edit.outputs]
    except ValueError as exc:
        err.print(f"[red]--resolution: {_escape(str(exc))}[/]", highlight=False)
        raise typer.Exit(EXIT_INVALID) from None
    return edit.model_copy(update={"outputs": outputs})


def _check_limits(edit: "Edit", source: Path, plan: Any = None) -> None:
    """Refuse (exit 2) an edit beyond the installation's default limits (``REELFORGE_LIMIT_*``),
    as the service would: checked on the edit before any work, and on a plan once its sources
    are probed (``length: "auto"`` clips)."""
    from reelforge.render.limits import configured_limits, edit_limit_problems, plan_limit_problems

    limits = configured_limits()
    found = plan_limit_problems(plan, limits) if plan is not None else edit_limit_problems(edit, limits)
    if found:
        problems = [Problem(p.pointer, f"{p.detail} (limit `{p.limit}`)", "limit_exceeded") for p in found]
        _print_problems(EditError(problems), str(source))
        raise typer.Exit(EXIT_INVALID)


def _transcribe_step(resolver: Any) -> Any:
    """Captions made from speech, transcribed (and cached) with the ``REELFORGE_ASR_*`` settings
    before the edit is compiled. The transcriber and the settings load only for an edit that
    has such captions."""

    def step(edit: "Edit") -> "Edit":
        from reelforge.edit.models import CaptionAsset

        if not any(
            isinstance(clip.asset, CaptionAsset) and clip.asset.transcribe is not None
            for track in edit.timeline.tracks
            for clip in track.clips
        ):
            return edit
        from reelforge.media.transcribe import Transcriber
        from reelforge.settings import Settings

        return Transcriber.from_settings(Settings()).edit(edit, resolver)

    return step


@app.command()
def validate(
    edit_path: EditArg,
    vars_path: VarsOpt = None,
    locale: LocaleOpt = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            envvar="REELFORGE_VALIDATE_SERVER",
            help="Check the edit on this service instead: its assets, the versions they resolve "
            "to, and which are not approved (or whose approval ended), before any render.",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", envvar="REELFORGE_TOKEN", help="An API key of the workspace.", show_default=False
        ),
    ] = None,
) -> None:
    """Check an edit (or a template with --vars) and its media without rendering; list every
    problem with its location."""
    from reelforge.render.engine import plan_edit
    from reelforge.render.sources import LocalResolver

    if server is not None:
        if vars_path is not None:
            # A template's values are filled on the server: its check is POST /v1/templates/{id}/check.
            err.print("[red]--vars does not go with --server: give the filled edit[/]")
            raise typer.Exit(EXIT_INVALID)
        _validate_on_server(edit_path, server, token)
        return
    edit = _load(edit_path, vars_path, locale)
    _check_limits(edit, edit_path)
    base = edit_path.resolve().parent
    with tempfile.TemporaryDirectory(prefix="reelforge-") as tmp:
        try:
            resolver = LocalResolver(base)
            plan = plan_edit(
                edit,
                resolver=resolver,
                out_dir=Path(tmp),
                work_dir=Path(tmp),
                transcribe=_transcribe_step(resolver),
            )
        except EditError as exc:
            _print_problems(exc, str(edit_path))
            raise typer.Exit(EXIT_INVALID) from None
        _check_limits(edit, edit_path, plan)
    outputs = ", ".join(f"{o.path.name} ({o.width}x{o.height})" for o in plan.outputs)
    out.print(
        f"[green]valid[/]: {float(plan.duration):.3f} s, {len(plan.outputs)} output(s): {_escape(outputs)}"
    )


def _validate_on_server(edit_path: Path, server: str, token: str | None) -> None:
    """``validate --server``: the service checks the edit as a render would (its assets by id,
    version references, queries) and reports each file's version and approval."""
    from reelforge.client import ServiceError

    if not token:
        err.print("[red]--server needs an API key: --token or REELFORGE_TOKEN[/]")
        raise typer.Exit(EXIT_FAILED)
    try:
        document = json.loads(edit_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        err.print(f"[red]{_escape(str(edit_path))}: {_escape(str(exc))}[/]")
        raise typer.Exit(EXIT_INVALID) from None
    problems: list[tuple[str, str, str]] = []
    try:
        with _client(server, token) as client:
            try:
                client.request(
                    "POST", "/v1/renders", json={"edit": document, "dry_run": True, "purpose": "draft"}
                )
            except ServiceError as exc:
                if exc.status != 422:
                    raise
                for e in exc.problem.get("errors") or []:
                    problems.append(
                        (str(e.get("pointer", "")), str(e.get("code", "")), str(e.get("detail", "")))
                    )
            report = client.request("POST", "/v1/assets/check", json={"edit": document})
    except (ServiceError, OSError) as exc:
        raise _service_failed(exc) from None
    for f in report["files"]:
        state = "approved" if f["approved"] else f["state"]
        out.print(f"{_escape(f['pointer'])}: {f['asset']} version {f['version']} ({state})", soft_wrap=True)
    seen = {p[0] for p in problems}
    problems += [
        (p["pointer"], p["code"], p["detail"]) for p in report["problems"] if p["pointer"] not in seen
    ]
    if problems:
        err.print(
            f"[bold red]{_escape(str(edit_path))}: {len(problems)} problem{'s' if len(problems) != 1 else ''}[/]"
        )
        for ptr, code, detail in problems:
            err.print(f"  {_escape(ptr)}: {_escape(detail)} ({_escape(code)})", soft_wrap=True)
        raise typer.Exit(EXIT_INVALID)
    out.print(f"[green]valid[/] on {_escape(server)}: every file resolves to an approved version")


@app.command()
def plan(
    edit_path: EditArg,
    vars_path: VarsOpt = None,
    output_dir: Annotated[Path, typer.Option("-o", "--output-dir", help="Where outputs would go.")] = Path(
        "out"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    locale: LocaleOpt = None,
    resolution: ResolutionOpt = None,
) -> None:
    """Print the render plan: the timeline in frames, the outputs and the exact FFmpeg command."""
    from reelforge.ffmpeg.binary import ffmpeg_exe
    from reelforge.render.engine import plan_edit
    from reelforge.render.segments import SegmentPolicy, one_pass_reason
    from reelforge.render.sources import LocalResolver

    edit = _at_resolution(_load(edit_path, vars_path, locale), resolution)
    _check_limits(edit, edit_path)
    base = edit_path.resolve().parent
    work = Path(tempfile.gettempdir()) / "reelforge-plan"
    try:
        resolver = LocalResolver(base)
        render_plan = plan_edit(
            edit,
            resolver=resolver,
            out_dir=output_dir.resolve(),
            work_dir=work,
            transcribe=_transcribe_step(resolver),
        )
    except EditError as exc:
        _print_problems(exc, str(edit_path))
        raise typer.Exit(EXIT_INVALID) from None
    command = [ffmpeg_exe(), *render_plan.ffmpeg_args(inline_graph=True)]
    segmented = render_plan.segmented
    segments: dict[str, Any] = (
        {"one_pass": one_pass_reason(render_plan, SegmentPolicy.configured())}
        if segmented is None
        else segmented.describe(ffmpeg_exe())
    )
    if as_json:
        doc = {
            "duration": float(render_plan.duration),
            "timelines": {
                f"{fps.numerator}/{fps.denominator}": {
                    "frames": tl.frames,
                    "clips": [
                        {
                            "pointer": c.pointer,
                            "start_frame": c.start,
                            "frames": c.length,
                            "type": c.clip.asset.type,
                        }
                        for c in tl.clips()
                    ],
                }
                for fps, tl in render_plan.timelines.items()
            },
            "outputs": [
                {
                    "path": str(o.path),
                    "width": o.width,
                    "height": o.height,
                    "fps": str(o.fps),
                    "frames": o.frames,
                }
                for o in render_plan.outputs
            ],
            "artifacts": [
                {"kind": a.kind, "path": str(a.path), "pointer": a.pointer} for a in render_plan.artifacts
            ],
            "focus": {
                src: {"x": s.focus.x, "y": s.focus.y, "method": s.focus.method}
                for src, s in render_plan.sources.items()
                if s.focus is not None
            },
            "graph": render_plan.graph,
            "command": command,
            "segmented": segments,
        }
        out.print_json(data=doc)
        return
    for fps, tl in render_plan.timelines.items():
        table = _table(
            title=f"timeline at {float(fps):g} fps: {tl.frames} frames ({float(tl.duration):.3f} s)"
        )
        for col in ("clip", "type", "start", "frames", "end"):
            table.add_column(col)
        for c in tl.clips():
            table.add_row(c.pointer, c.clip.asset.type, str(c.start), str(c.length), str(c.end))
        out.print(table)
    for o in render_plan.outputs:
        out.print(
            f"output [bold]{_escape(str(o.path))}[/]: {o.width}x{o.height} @ {float(o.fps):g} fps, "
            f"{o.frames} frames"
        )
    for src, source in render_plan.sources.items():
        if source.focus is not None:
            f = source.focus
            out.print(
                f"focus of {_escape(src)}: x {f.x:.3f}, y {f.y:.3f} (found by {f.method})",
                highlight=False,
            )
    out.print("\n[bold]filter graph[/]")
    out.print(render_plan.graph, markup=False, highlight=False)
    out.print("\n[bold]command[/] (one pass)")
    out.print(shlex.join(command), markup=False, highlight=False, soft_wrap=True)
    if segmented is None:
        out.print(f"\nrendered in one pass: {_escape(str(segments['one_pass']))}")
        return
    table = _table(title=f"rendered as {len(segmented.segments)} segments (the one-pass command is not run)")
    for col in ("segment", "frames", "clips", "inputs"):
        table.add_column(col)
    for s in segmented.segments:
        table.add_row(
            str(s.index), f"{s.start_frame}-{s.end_frame}", str(len(s.clips)), str(len(s.plan.inputs))
        )
    out.print(table)
    parts = segments["audio_parts"]
    steps = [
        (f"audio mix {k + 1} of {len(parts) + 1} (running sum)", p["command"]) for k, p in enumerate(parts)
    ]
    ranges = segments["audio_ranges"]
    steps += [
        (
            f"audio range {r['index'] + 1} of {len(ranges)} (samples {r['samples'][0]}-{r['samples'][1]})",
            r["command"],
        )
        for r in ranges
    ]
    if segments["audio"]:
        last = f"audio mix {len(parts) + 1} of {len(parts) + 1}" if parts else "audio mix"
        last = "audio mix (the ranges joined)" if ranges else last
        steps.append((last, segments["audio"]["command"]))
    steps += [(f"segment {s['index']}", s["command"]) for s in segments["segments"]]
    steps += [("join " + j["path"], j["command"]) for j in segments["joins"]]
    for label, step_command in steps:
        out.print(f"\n[bold]{_escape(label)}[/]")
        out.print(shlex.join(step_command), markup=False, highlight=False, soft_wrap=True)


class _RenderBar:
    """The render's progress bar on stderr, made on FFmpeg's first progress report: Rich's
    progress machinery then loads while FFmpeg works, not before it starts."""

    def __init__(self, *, disabled: bool) -> None:
        self._disabled = disabled
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def update(self, p: "RenderProgress") -> None:
        if self._bar is None:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

            columns = (
                TextColumn("[bold]rendering"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[fps]}"),
                TimeRemainingColumn(),
            )
            self._bar = Progress(*columns, console=err.console, disable=self._disabled, transient=True)
            self._bar.start()
            self._task = self._bar.add_task("render", total=1.0, fps="")
        assert self._task is not None
        self._bar.update(self._task, completed=p.fraction, fps=f"{p.fps:.0f} fps" if p.fps else "")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


@app.command()
def render(
    edit_path: EditArg,
    vars_path: VarsOpt = None,
    output_dir: Annotated[
        Path, typer.Option("-o", "--output-dir", help="Where to write the outputs.")
    ] = Path("out"),
    name: Annotated[str | None, typer.Option(help="Base name of the output files.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds.")] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No progress bar.")] = False,
    locale: LocaleOpt = None,
    resolution: ResolutionOpt = None,
) -> None:
    """Render every output of an edit (or of a template filled with --vars) with one FFmpeg run.
    Edits beyond the default limits (``REELFORGE_LIMIT_*``) are refused, as the service does."""
    edit = _at_resolution(_load(edit_path, vars_path, locale), resolution)
    _check_limits(edit, edit_path)
    base = edit_path.resolve().parent
    from reelforge.ffmpeg.runner import CancelToken, RenderCancelled
    from reelforge.render.engine import RenderError, render_edit
    from reelforge.render.sources import LocalResolver

    resolver = LocalResolver(base)
    cancel = CancelToken()
    previous = signal.signal(signal.SIGTERM, lambda *_: cancel.cancel())
    bar = _RenderBar(disabled=quiet)
    try:
        try:
            result = render_edit(
                edit,
                out_dir=output_dir,
                base_dir=base,
                resolver=resolver,
                name=name or edit_path.stem,
                transcribe=_transcribe_step(resolver),
                on_progress=bar.update,
                cancel=cancel,
                timeout=timeout,
            )
        finally:
            bar.close()
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
    from reelforge.edit.schema import edit_json_schema

    sys.stdout.write(json.dumps(edit_json_schema(), indent=2) + "\n")


@app.command(name="probe")
def probe_command(file: Annotated[Path, typer.Argument(help="A media file.", show_default=False)]) -> None:
    """Print what a media file holds: duration, size, frame rate, codecs, audio."""
    from reelforge.ffmpeg.probe import MediaProbeError, probe

    try:
        info = probe(file)
    except MediaProbeError as exc:
        err.print(f"[red]{_escape(str(exc))}[/]")
        raise typer.Exit(EXIT_INVALID) from None
    out.print_json(data=info.to_dict())


@app.command()
def transcribe(
    media: Annotated[Path, typer.Argument(help="A video or audio file.", show_default=False)],
    output: Annotated[
        Path,
        typer.Option("-o", "--output", help="Where to write: .srt, .vtt, .ass or .json (words with times)."),
    ] = Path("captions.srt"),
    language: Annotated[
        str | None, typer.Option(help="The spoken language (e.g. en); detected when not given.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="A Whisper model name or directory (default: REELFORGE_ASR_MODEL).", show_default=False
        ),
    ] = None,
    max_chars: Annotated[int, typer.Option(help="Characters per caption line.")] = 18,
    max_lines: Annotated[int, typer.Option(help="Lines per caption.")] = 2,
    max_duration: Annotated[float, typer.Option(help="Longest caption, seconds.")] = 3.0,
    pause: Annotated[float, typer.Option(help="A silence this long (s) starts a new caption.")] = 0.6,
) -> None:
    """Caption speech: transcribe a media file (faster-whisper, extra reelforge[asr]) into word-timed
    captions, broken into short cues for vertical video by default."""
    from pydantic import ValidationError

    from reelforge.edit.models import CueBreaking
    from reelforge.media.transcribe import AsrUnavailable, Transcriber, export_transcript
    from reelforge.settings import Settings

    formats = {".srt": "srt", ".vtt": "vtt", ".ass": "ass", ".json": "json"}
    fmt = formats.get(output.suffix.lower())
    if fmt is None:
        err.print(f"[red]{_escape(str(output))}: the output must end in .srt, .vtt, .ass or .json[/]")
        raise typer.Exit(EXIT_INVALID)
    if not media.is_file():
        err.print(f"[red]{_escape(str(media))}: no such file[/]")
        raise typer.Exit(EXIT_INVALID)
    try:
        breaking = CueBreaking(
            max_chars=max_chars, max_lines=max_lines, max_duration=max_duration, pause=pause
        )
    except ValidationError as exc:
        err.print(f"[red]{_escape(str(exc))}[/]")
        raise typer.Exit(EXIT_INVALID) from None
    settings = Settings()
    if model is not None:
        settings = settings.model_copy(update={"asr_model": model})
    transcriber = Transcriber.from_settings(settings)
    try:
        transcript = transcriber.transcribe(media.resolve(), language=language)
    except AsrUnavailable as exc:
        err.print(f"[bold red]transcription failed[/]: {_escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(export_transcript(transcript, fmt, breaking), encoding="utf-8")  # type: ignore[arg-type]
    out.print(
        f"[green]{len(transcript.words)} words[/] ({transcript.language}, {float(transcript.duration):.1f} s) "
        f"-> {_escape(str(output))}"
    )


EXAMPLE_EDIT = {
    "timeline": {
        "background": "#1d3557",
        "tracks": [
            {
                "clips": [
                    {
                        "asset": {
                            "type": "text",
                            "text": "Hello from Reelforge",
                            "animation_in": {"type": "pop"},
                        },
                        "length": 3,
                    }
                ]
            }
        ],
    },
    "outputs": [
        {"resolution": "720p", "aspect_ratio": "16:9"},
        {"resolution": "720p", "aspect_ratio": "9:16"},
    ],
}


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0: any free port).")] = 8000,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="Serve the API alone: no render worker, webhook dispatcher, delivery worker or "
            "retention runs in this process (`reelforge worker` processes do the work).",
        ),
    ] = False,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="Serve HTTPS with this PEM certificate (chain).")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="The certificate's PEM private key.")
    ] = None,
) -> None:
    """Run the REST service (settings from REELFORGE_* variables and .env). With --tls-cert and
    --tls-key it speaks HTTPS itself (and sends HSTS); behind a reverse proxy, list the proxy's
    addresses in REELFORGE_TRUSTED_PROXIES so its X-Forwarded-* headers are believed."""
    from reelforge import serve as serving
    from reelforge.api.app import create_app
    from reelforge.extras import check_settings
    from reelforge.logs import configure_logging
    from reelforge.services.context import open_services
    from reelforge.services.workspaces import bootstrap
    from reelforge.settings import Settings

    settings = Settings()
    check_settings(settings.database_url, settings.redis_url, settings.queue)
    if settings.queue == "celery" and not settings.broker_url:
        err.print(
            "error: REELFORGE_QUEUE=celery needs REELFORGE_BROKER_URL (redis://… or amqp://…)", markup=False
        )
        raise typer.Exit(EXIT_FAILED)
    configure_logging(settings.log_format)
    if (tls_cert is None) != (tls_key is None):
        err.print("[red]give both --tls-cert and --tls-key[/]")
        raise typer.Exit(EXIT_INVALID)
    for given in (tls_cert, tls_key):
        if given is not None and not given.is_file():
            err.print(f"error: {given} is not a file", markup=False, highlight=False)
            raise typer.Exit(EXIT_INVALID)
    # Bound first: a busy port is reported before a database or a first key is made.
    try:
        sock = serving.listen(host, port)
    except serving.CannotListen as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILED) from None
    url = serving.url_of(sock, tls=tls_cert is not None)
    if "public_url" not in settings.model_fields_set:
        # Links and the printed example name the port actually listened on.
        local = url.replace("://0.0.0.0:", "://127.0.0.1:").replace("://[::]:", "://[::1]:")
        settings = settings.model_copy(update={"public_url": local})
    services = open_services(settings)
    token = bootstrap(services)
    base = settings.public_url.rstrip("/")
    if token is not None:
        body = json.dumps({"edit": EXAMPLE_EDIT})
        out.print(
            "[bold green]First start:[/] made workspace 'default' and an admin API key. "
            "It is shown only now; keep it somewhere safe:\n",
            soft_wrap=True,
        )
        out.print(f"  {token}\n", markup=False, highlight=False)
        out.print("Render an example (then GET the render's URL until its state is succeeded):\n")
        curl = (
            f"curl -sS -X POST {base}/v1/renders -H 'Authorization: Bearer {token}' "
            f"-H 'Content-Type: application/json' -d '{body}'"
        )
        out.print(f"  {curl}\n", markup=False, highlight=False, soft_wrap=True)
    out.print(
        f"API docs: {base}/docs   database: {settings.resolved_database_url()}",
        markup=False,
        highlight=False,
        soft_wrap=True,  # a long database URL stays on its line
    )

    def started() -> None:
        out.print(f"Listening on {url} (Ctrl+C to stop)", markup=False, highlight=False)

    # Our middleware logs every request with its id; uvicorn's own access log would repeat it.
    app_ = create_app(services=services, start_worker=not no_worker)
    serving.run(
        app_,
        sock,
        started,
        log_config=None,
        access_log=False,
        **serving.transport_config(settings.trusted_proxies, tls_cert, tls_key),
    )


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Renders run at once (default REELFORGE_WORKER_CONCURRENCY)."),
    ] = None,
    queues: Annotated[
        str,
        typer.Option(
            help="What this process does, comma-separated: renders, previews, webhooks (Celery "
            "queues), deliveries, retention (loops on the database)."
        ),
    ] = "renders,previews,webhooks,deliveries",
    name: Annotated[
        str | None,
        typer.Option(
            help="A stable, unique name for this process (default REELFORGE_WORKER_NAME or host:pid)."
        ),
    ] = None,
    max_memory: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="MiB of resident memory after which the process exits once its renders end "
            "(a supervisor starts a fresh one; default REELFORGE_WORKER_MAX_MEMORY_MB, 0: never).",
        ),
    ] = None,
    max_renders: Annotated[
        int | None,
        typer.Option(min=0, help="Renders after which the process exits the same way (0: never)."),
    ] = None,
) -> None:
    """Run a Celery worker: renders, previews and webhook dispatch for a service whose
    REELFORGE_QUEUE is celery (broker REELFORGE_BROKER_URL, the shared REELFORGE_DATABASE_URL)."""
    from reelforge.extras import MissingExtra, check_settings
    from reelforge.logs import configure_logging
    from reelforge.settings import Settings

    settings = Settings()
    try:
        check_settings(settings.database_url, settings.redis_url, "celery")
    except MissingExtra as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILED) from None
    if not settings.broker_url:
        err.print("error: a worker needs REELFORGE_BROKER_URL (redis://… or amqp://…)", markup=False)
        raise typer.Exit(EXIT_FAILED)
    roles = [r.strip() for r in queues.split(",") if r.strip()]
    from reelforge.jobs.distributed import ROLES, run_worker

    unknown = sorted(set(roles) - set(ROLES))
    if not roles or unknown:
        err.print(
            f"error: --queues takes {', '.join(ROLES)} (got {', '.join(unknown) or 'none'})", markup=False
        )
        raise typer.Exit(EXIT_INVALID)
    configure_logging(settings.log_format)
    from reelforge.services.context import open_services

    services = open_services(settings)
    background: dict[str, Any] = {}
    if "deliveries" in roles:
        from reelforge.delivery.worker import DeliveryWorker
        from reelforge.services.destinations import credential_box

        background["deliveries"] = DeliveryWorker(
            services.sessions,
            services.storage,
            settings,
            credential_box(services),
            name=f"{name or settings.worker_name}:delivery" if (name or settings.worker_name) else None,
        )
    if "retention" in roles:
        from reelforge.services.retention import RetentionScheduler

        background["retention"] = RetentionScheduler(services, settings.retention_interval or 3600)
    run_worker(
        services,
        background=background,
        roles=roles,
        concurrency=concurrency or settings.worker_concurrency,
        name=name or settings.worker_name,
        max_memory_mb=settings.worker_max_memory_mb if max_memory is None else max_memory,
        max_renders=settings.worker_max_renders if max_renders is None else max_renders,
    )


keys_app = typer.Typer(
    help="Manage API keys directly in the database (an admin tool for this machine).", no_args_is_help=True
)
sub_apps["keys"] = keys_app
workspaces_app = typer.Typer(
    help="Manage workspaces (tenants) directly in the database: the operator's tool on this machine. "
    "Over HTTP, a key made with `reelforge keys create --operator` does the same at /v1/workspaces.",
    no_args_is_help=True,
)
sub_apps["workspaces"] = workspaces_app


users_app = typer.Typer(help="People: the first owner of a workspace.", no_args_is_help=True)
sub_apps["users"] = users_app
retention_app = typer.Typer(help="Expire old render outputs and prune old logs.", no_args_is_help=True)
sub_apps["retention"] = retention_app
destinations_app = typer.Typer(help="Manage delivery destinations on this machine.", no_args_is_help=True)
sub_apps["destinations"] = destinations_app


@retention_app.command("run")
def retention_run(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """One retention run now: remove the bytes of render outputs older than each workspace's
    output_retention_days (pinned assets and assets running renders read are kept; the assets
    stay, marked expired), and prune old events, audit entries, idempotency records and
    finished deliveries. Run it from cron when the server's in-process schedule is off
    (REELFORGE_RETENTION_INTERVAL=0)."""
    from reelforge.services.retention import run_retention

    report = run_retention(_key_services())
    if as_json:
        sys.stdout.write(json.dumps(report.as_json()) + "\n")
        return
    out.print(
        f"expired {report.expired_assets} outputs ({report.freed_bytes} bytes freed); pruned "
        f"{report.events} events, {report.audit_entries} audit entries, "
        f"{report.idempotency_records} idempotency records, {report.deliveries} deliveries",
        markup=False,
        highlight=False,
    )


@destinations_app.command("rotate-keys")
def destinations_rotate_keys() -> None:
    """Re-encrypt every destination's stored credentials with the first key of
    REELFORGE_DELIVERY_CREDENTIAL_KEYS; afterwards the older keys can be removed."""
    from reelforge.delivery.crypto import CredentialError
    from reelforge.services.destinations import rotate_keys

    try:
        count = rotate_keys(_key_services())
    except CredentialError as exc:
        raise _refused(exc) from None
    out.print(f"re-encrypted the credentials of {count} destinations", markup=False, highlight=False)


@destinations_app.command("new-key")
def destinations_new_key() -> None:
    """Print a new key for REELFORGE_DELIVERY_CREDENTIAL_KEYS."""
    from reelforge.delivery.crypto import generate_key

    sys.stdout.write(generate_key() + "\n")


def _key_services() -> Any:
    from reelforge.services.context import open_services
    from reelforge.settings import Settings

    return open_services(Settings())


def _refused(exc: Exception) -> typer.Exit:
    """A service's refusal (no such key, workspace...) as a one-line message, exit 2."""
    err.print(f"[red]{_escape(str(exc))}[/]")
    return typer.Exit(EXIT_INVALID)


WorkspaceOpt = Annotated[str | None, typer.Option(help="Workspace id (default: the first).")]


@users_app.command("create-owner")
def users_create_owner(
    email: Annotated[str, typer.Option(help="The person's e-mail address (their sign-in name).")],
    name: Annotated[str, typer.Option(help="Their name.")] = "",
    workspace: WorkspaceOpt = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (one line).")
    ] = False,
    sso_only: Annotated[
        bool, typer.Option("--sso-only", help="No password: the person signs in with single sign-on.")
    ] = False,
) -> None:
    """Make a person the owner of a workspace (the first owner: later ones are invited). Asks
    for a password (at least 12 characters) unless --password-stdin or --sso-only."""
    from reelforge.services import accounts, workspaces
    from reelforge.services.errors import ServiceError

    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not sso_only:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    services = _key_services()
    with services.sessions() as db:
        try:
            ws = workspaces.workspace_or_first(db, workspace)
            user, _ = accounts.create_owner(db, ws.id, email, password, name)
        except ServiceError as exc:
            raise _refused(exc) from None
    out.print(f"{user.id}  {user.email}  owner of {ws.id}", markup=False, highlight=False, soft_wrap=True)


@keys_app.command("create")
def keys_create(
    scopes: Annotated[
        list[str] | None, typer.Option("--scope", help="A scope, e.g. renders:write; repeat it.")
    ] = None,
    name: Annotated[str, typer.Option(help="A label.")] = "",
    workspace: WorkspaceOpt = None,
    operator: Annotated[
        bool,
        typer.Option(
            "--operator",
            help="Also grant the operator scope: create, list and rename every workspace over the API "
            "(/v1/workspaces). Only this command grants it.",
        ),
    ] = False,
    metrics: Annotated[
        bool,
        typer.Option(
            "--metrics",
            help="Grant the metrics scope: read /metrics (counts of the whole installation), for a "
            "Prometheus scraper. Only this command grants it.",
        ),
    ] = False,
) -> None:
    """Create an API key and print its id and token (shown only once)."""
    from reelforge.services import keys, workspaces
    from reelforge.services.credentials import METRICS, OPERATOR
    from reelforge.services.errors import ServiceError

    wanted = [*(scopes or []), *([OPERATOR] if operator else []), *([METRICS] if metrics else [])]
    if not wanted:
        err.print("[red]give at least one --scope (or --operator, --metrics)[/]")
        raise typer.Exit(EXIT_INVALID)
    try:
        granted = keys.known_scopes(wanted, operator=True)
    except ValueError as exc:
        raise _refused(exc) from None
    services = _key_services()
    with services.sessions() as db:
        try:
            ws = workspaces.workspace_or_first(db, workspace)
        except ServiceError as exc:
            raise _refused(exc) from None
        key, token = keys.create_key(db, services, ws.id, name, granted)
    out.print(f"{key.id}  {token}", markup=False, highlight=False)


@keys_app.command("list")
def keys_list(workspace: WorkspaceOpt = None) -> None:
    """List API keys: prefix, scopes, last use; never the secret."""
    from reelforge.services import keys, workspaces
    from reelforge.services.errors import ServiceError

    services = _key_services()
    table = _table()
    for col in ("id", "prefix", "name", "scopes", "last used", "expires", "revoked"):
        table.add_column(col)
    with services.sessions() as db:
        try:
            ws = workspaces.workspace_or_first(db, workspace)
        except ServiceError as exc:
            raise _refused(exc) from None
        for k in keys.workspace_keys(db, ws.id):
            table.add_row(
                k.id,
                k.prefix + "…" + k.last4,
                k.name,
                " ".join(k.scopes),
                str(k.last_used_at or "-"),
                str(k.expires_at or "-"),
                str(k.revoked_at or "-"),
            )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (key_…).")]) -> None:
    """Revoke an API key at once."""
    from reelforge.services import keys
    from reelforge.services.errors import ServiceError

    services = _key_services()
    with services.sessions() as db:
        try:
            keys.revoke_key_by_id(db, services, key_id)  # audited as `key.revoked` by the `system` actor
        except ServiceError as exc:
            raise _refused(exc) from None
    out.print(f"revoked {key_id}")


@keys_app.command("roll")
def keys_roll(
    key_id: Annotated[str, typer.Argument(help="The key's id (key_…).")],
    grace: Annotated[
        int, typer.Option(help="Seconds the old key keeps working (max 7 days).", max=7 * 86400)
    ] = 86400,
) -> None:
    """Issue a new key with the same scopes; the old one expires after the grace period."""
    from datetime import timedelta

    from reelforge.services import keys
    from reelforge.services.errors import ServiceError

    services = _key_services()
    with services.sessions() as db:
        try:
            old, new, token = keys.roll_by_id(db, services, key_id, timedelta(seconds=grace))
        except ServiceError as exc:
            raise _refused(exc) from None
        expires = old.expires_at
    out.print(f"{new.id}  {token}", markup=False, highlight=False)
    out.print(f"{key_id} expires at {expires.isoformat() if expires else '-'}")


WorkspaceName = Annotated[str, typer.Argument(help="The workspace's name (1 to 200 characters).")]


def _workspace_name(name: str) -> str:
    from reelforge.services.workspaces import clean_name

    try:
        return clean_name(name)
    except ValueError as exc:
        raise _refused(exc) from None


@workspaces_app.command("create")
def workspaces_create(
    name: WorkspaceName,
    key: Annotated[
        bool, typer.Option("--key/--no-key", help="Also make the workspace's first admin key.")
    ] = True,
) -> None:
    """Create a workspace; print its id and its first admin key's token (shown only once)."""
    from reelforge.services import workspaces

    clean = _workspace_name(name)
    services = _key_services()
    with services.sessions() as db:
        ws, _, token = workspaces.create_workspace(db, services, clean, admin_key=key)
        db.commit()
        ws_id = ws.id
    out.print(f"{ws_id}  {token}" if token else ws_id, markup=False, highlight=False)


@workspaces_app.command("list")
def workspaces_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List every workspace, oldest first."""
    from reelforge.services import workspaces

    services = _key_services()
    with services.sessions() as db:
        found = [(w.id, w.name, w.created_at) for w in workspaces.all_workspaces(db)]
    if as_json:
        doc = [{"id": i, "name": n, "created_at": c.isoformat()} for i, n, c in found]
        sys.stdout.write(json.dumps(doc) + "\n")
        return
    table = _table()
    for col in ("id", "name", "created"):
        table.add_column(col)
    for ws_id, ws_name, created in found:
        table.add_row(ws_id, ws_name, str(created))
    out.print(table)


@workspaces_app.command("rename")
def workspaces_rename(
    workspace_id: Annotated[str, typer.Argument(help="The workspace's id (ws_…).")],
    name: WorkspaceName,
) -> None:
    """Rename a workspace (audited as `workspace.renamed` in its log)."""
    from reelforge.services import workspaces
    from reelforge.services.errors import ServiceError

    clean = _workspace_name(name)
    services = _key_services()
    with services.sessions() as db:
        try:
            workspaces.rename_workspace(db, workspace_id, clean)
        except ServiceError as exc:
            raise _refused(exc) from None
    out.print(f"renamed {workspace_id} to {clean}", markup=False, highlight=False)


@workspaces_app.command("limits")
def workspaces_limits(
    workspace_id: Annotated[str, typer.Argument(help="The workspace's id (ws_…).")],
    settings_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="NAME=VALUE: set one of the workspace's limits (repeat for several); "
            "NAME=default puts it back to the installation's default.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show (and with --set change) a workspace's limits and today's render seconds. Limits:
    timeline_seconds, clips, tracks, outputs, output_seconds, output_pixel_frames,
    render_seconds_per_day. Changes are audited as `workspace.limits_changed`."""
    from reelforge.services import limits, workspaces
    from reelforge.services.errors import ServiceError

    changes: dict[str, Any] = {}
    for item in settings_ or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise _refused(ValueError(f"--set takes NAME=VALUE, not {item!r}"))
        try:
            changes[name.strip()] = None if value.strip() == "default" else json.loads(value)
        except json.JSONDecodeError:
            raise _refused(ValueError(f"{name}: {value!r} is not a number")) from None
    services = _key_services()
    with services.sessions() as db:
        try:
            ws = workspaces.get_workspace(db, workspace_id)
            if changes:
                limits.set_workspace_limits(db, workspace_id, changes)
            doc: dict[str, Any] = {
                "workspace_id": ws.id,
                "limits": limits.limits_of(db, ws.id),
                "overrides": dict(ws.limits or {}),
                "usage": limits.usage_json(db, ws.id),
            }
        except ServiceError as exc:
            details = "; ".join(f"{e.get('pointer', '')}: {e.get('detail', '')}" for e in exc.errors or [])
            raise _refused(ValueError(f"{exc.detail}{': ' + details if details else ''}")) from None
    if as_json:
        sys.stdout.write(json.dumps(doc, default=str) + "\n")
        return
    table = _table(title=f"limits of {ws.id}")
    for col in ("limit", "value", "set for this workspace"):
        table.add_column(col)
    for name, value in doc["limits"].items():
        table.add_row(name, f"{value:g}", "yes" if name in doc["overrides"] else "")
    out.print(table)
    usage = doc["usage"]
    out.print(f"render seconds today: {usage['render_seconds_today']:g} (resets at {usage['resets_at']})")


# ------------------------------------------------------------------ talking to a server

ServerOpt = Annotated[
    str,
    typer.Option("--server", envvar="REELFORGE_SERVER", help="The service's URL.", show_envvar=True),
]
TokenOpt = Annotated[
    str,
    typer.Option(
        "--token",
        envvar="REELFORGE_TOKEN",
        help="An API key of the workspace.",
        show_envvar=True,
        show_default=False,
    ),
]


def _client(server: str, token: str) -> Any:
    from reelforge.client import ServiceClient, default_state_file

    return ServiceClient(server, token, state_file=default_state_file())


def _service_failed(exc: Exception) -> typer.Exit:
    err.print(f"[red]{_escape(str(exc))}[/]", soft_wrap=True)
    return typer.Exit(EXIT_FAILED)


def _upload_with_progress(client: Any, path: Path, **kw: Any) -> str:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), console=err.console
    ) as bar:
        task = bar.add_task(_escape(path.name), total=path.stat().st_size)
        asset_id: str = client.upload(
            path, progress=lambda done, total: bar.update(task, completed=done), **kw
        )
    return asset_id


@app.command()
def upload(
    file: Annotated[Path, typer.Argument(help="The file to upload.", show_default=False)],
    token: TokenOpt,
    server: ServerOpt = "http://127.0.0.1:8000",
    name: Annotated[str | None, typer.Option(help="The asset's name (default: the file's).")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeat for several).")] = None,
) -> None:
    """Upload a file to a server with tus (resumable: run it again after an interruption and
    only the missing bytes are sent); print the asset's id."""
    from reelforge.client import ServiceError

    if not file.is_file():
        err.print(f"[red]no such file: {_escape(str(file))}[/]")
        raise typer.Exit(EXIT_INVALID)
    try:
        with _client(server, token) as client:
            asset_id = _upload_with_progress(client, file, name=name, tags=tag or [])
    except (ServiceError, OSError) as exc:
        raise _service_failed(exc) from None
    out.print(asset_id, markup=False, highlight=False)


@app.command(name="import")
def import_command(
    url: Annotated[str, typer.Argument(help="An http(s) URL of a media file.", show_default=False)],
    token: TokenOpt,
    server: ServerOpt = "http://127.0.0.1:8000",
    wait: Annotated[float, typer.Option(help="Seconds to wait for the import to end.")] = 600,
) -> None:
    """Have the server import media from a URL; print the asset's id when it is done."""
    from reelforge.client import ServiceError

    try:
        with _client(server, token) as client:
            done = client.import_url(url, wait=wait)
    except ServiceError as exc:
        raise _service_failed(exc) from None
    if done["state"] == "succeeded":
        out.print(done["asset_id"], markup=False, highlight=False)
        return
    error = done.get("error") or {"detail": f"still {done['state']} after {wait:g} s ({done['id']})"}
    raise _service_failed(ValueError(f"import of {url} failed: {error.get('detail')}"))


def _local_document(edit_path: Path, vars_path: Path | None, locale: str | None) -> Any:
    """The edit to push, as JSON: the file itself, a template filled with ``--vars``, or an edit
    whose placeholders ``--vars`` fills."""
    from reelforge.edit.templates import fill_template, is_template_document, parse_template
    from reelforge.edit.variables import substitute

    values = _load_vars(vars_path)
    try:
        document = json.loads(edit_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        err.print(f"[red]cannot read {_escape(str(edit_path))}: {_escape(str(exc))}[/]")
        raise typer.Exit(EXIT_INVALID) from None
    try:
        if is_template_document(document):
            return fill_template(
                parse_template(document),
                values or {},
                locale=locale,
                asset_info=_local_asset_info(edit_path.resolve().parent),
            )
        return substitute(document, values) if values else document
    except EditError as exc:
        _print_problems(exc, str(edit_path))
        raise typer.Exit(EXIT_INVALID) from None


@app.command()
def push(
    edit_path: EditArg,
    token: TokenOpt,
    server: ServerOpt = "http://127.0.0.1:8000",
    vars_path: VarsOpt = None,
    locale: LocaleOpt = None,
    name: Annotated[str | None, typer.Option(help="The project's name (default: the file's).")] = None,
    render: Annotated[bool, typer.Option("--render", help="Also start a render of the project.")] = False,
    wait: Annotated[float, typer.Option(help="With --render: seconds to wait for it (0: do not wait).")] = 0,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="With --render and --wait: download the outputs here."),
    ] = None,
) -> None:
    """Push an edit to a server: upload the local files it names (tus, resumable; each file
    once), replace their paths with asset ids and save it as a project; with `--render`, render
    it. A template is filled with `--vars` first (a `NAME.vars.json` next to it is used when
    `--vars` is not given). URLs stay as they are: the server imports them."""
    from reelforge.client import ServiceError
    from reelforge.edit.references import asset_references, is_asset_id

    if vars_path is None:
        sibling = edit_path.with_name(edit_path.stem + ".vars.json")
        vars_path = sibling if sibling.is_file() else None
    document = _local_document(edit_path, vars_path, locale)
    base = edit_path.resolve().parent
    local = [
        ref
        for ref in asset_references(document)
        if not is_asset_id(ref.src) and not ref.src.lower().startswith(("http://", "https://"))
    ]
    try:
        with _client(server, token) as client:
            ids: dict[Path, str] = {}
            for ref in local:
                path = (base / ref.src).resolve()
                if not path.is_file():
                    err.print(f"[red]{_escape(ref.pointer)}: no such file {_escape(str(path))}[/]")
                    raise typer.Exit(EXIT_INVALID)
                if path not in ids:
                    ids[path] = _upload_with_progress(client, path)
                _set_pointer(document, ref.pointer, ids[path])
            project = client.request(
                "POST", "/v1/projects", json={"name": name or edit_path.stem, "edit": document}, expect=(201,)
            )
            out.print(f"project {project['id']} ({len(ids)} file{'s' if len(ids) != 1 else ''} uploaded)")
            if not render:
                return
            made = client.request("POST", "/v1/renders", json={"project_id": project["id"]}, expect=(202,))
            out.print(f"render {made['id']} {made['state']}")
            if wait <= 0:
                return
            done = client.wait_render(made["id"], wait=wait)
            out.print(f"render {done['id']} {done['state']}")
            if done["state"] != "succeeded":
                raise _service_failed(ValueError(json.dumps(done.get("error"))))
            for produced in done.get("outputs") or []:
                if output is not None:
                    target = client.download(produced["id"], output / _output_name(str(produced["name"])))
                    out.print(f"  {target}", markup=False, highlight=False)
                else:
                    out.print(f"  {produced['id']}  {produced['name']}", markup=False, highlight=False)
    except (ServiceError, OSError) as exc:
        raise _service_failed(exc) from None


def _output_name(name: str) -> str:
    """The file name to write a downloaded output under, inside the output directory: a
    server names outputs, and a hostile one must not write elsewhere (``..``, absolute paths;
    of a name with folders only the last part is kept)."""
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
        raise OSError(f"the server named an output {name!r}, outside the output directory")
    base = parts[-1]
    if base in ("", "."):
        raise OSError(f"the server named an output {name!r}, not a file name")
    return base


def _set_pointer(document: Any, pointer: str, value: str) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]
    target = document
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(parts[-1])] = value
    else:
        target[parts[-1]] = value


@app.command()
def version() -> None:
    """Print the version."""
    out.print(f"reelforge {__version__}")


# ------------------------------------------------------------------ OpenTimelineIO

otio_app = typer.Typer(help="Import and export OpenTimelineIO (.otio) timelines.", no_args_is_help=True)
sub_apps["otio"] = otio_app


def _print_notes(notes: list[Any]) -> None:
    for note in notes:
        err.print(f"[yellow]{_escape(note.where)}[/]: {_escape(note.message)}", highlight=False)


@otio_app.command("export")
def otio_export(
    edit_path: EditArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="The .otio file to write.")],
) -> None:
    """Write an edit as an OpenTimelineIO timeline (its media probed from the edit's folder);
    what other editors will not see is listed."""
    from reelforge.extras import require

    require("opentimelineio", "otio", "`reelforge otio`")
    import opentimelineio as otio

    from reelforge.interchange import edit_to_otio

    try:
        document = json.loads(edit_path.read_text(encoding="utf-8"))
        timeline, notes = edit_to_otio(document, edit_path.resolve().parent)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        err.print(f"[red]cannot read {_escape(str(edit_path))}: {_escape(str(exc))}[/]")
        raise typer.Exit(EXIT_INVALID) from None
    except EditError as exc:
        _print_problems(exc, str(edit_path))
        raise typer.Exit(EXIT_INVALID) from None
    otio.adapters.write_to_file(timeline, str(output))
    _print_notes(notes)
    out.print(f"[green]wrote[/] {_escape(str(output))}")


@otio_app.command("import")
def otio_import(
    otio_path: Annotated[Path, typer.Argument(help="An .otio timeline.", show_default=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="The edit file (JSON) to write.")],
) -> None:
    """Turn an OpenTimelineIO timeline into an edit; what it cannot carry over (markers, nested
    stacks, media without a path...) is listed, never dropped silently."""
    from reelforge.extras import require

    require("opentimelineio", "otio", "`reelforge otio`")
    import opentimelineio as otio

    from reelforge.interchange import otio_to_edit

    try:
        timeline = otio.adapters.read_from_file(str(otio_path))
    except Exception as exc:  # OTIO raises its own and ValueError/OSError variants
        err.print(f"[red]cannot read {_escape(str(otio_path))}: {_escape(str(exc))}[/]")
        raise typer.Exit(EXIT_INVALID) from None
    if not isinstance(timeline, otio.schema.Timeline):
        err.print(f"[red]{_escape(str(otio_path))} holds a {type(timeline).__name__}, not a timeline[/]")
        raise typer.Exit(EXIT_INVALID)
    try:
        document, notes = otio_to_edit(timeline)
    except EditError as exc:
        _print_problems(exc, str(otio_path))
        raise typer.Exit(EXIT_INVALID) from None
    output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _print_notes(notes)
    out.print(f"[green]wrote[/] {_escape(str(output))}")


# The commands against a server (renders, assets, templates, batches, events, login).
register_remote(app, sub_apps)


def main() -> None:
    from reelforge.extras import MissingExtra, server_missing

    try:
        app()
    except MissingExtra as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        sys.exit(EXIT_INVALID)
    except ModuleNotFoundError as exc:
        # A light install (`pip install reelforge`) runs the commands against a server; the
        # local ones need `reelforge[server]`, said in one line rather than a traceback.
        advice = server_missing(exc)
        if advice is None:
            raise
        err.print(advice, markup=False, highlight=False, soft_wrap=True)
        sys.exit(EXIT_INVALID)
