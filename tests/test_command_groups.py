"""Sub-apps made into Click groups on first use (reelforge.command_groups): the CLI behaves as
with ``add_typer``, and a command outside a sub-app never builds one."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from reelforge.command_groups import lazy_group


def _app() -> typer.Typer:
    sub_apps: dict[str, typer.Typer] = {}
    app = typer.Typer(cls=lazy_group(sub_apps), no_args_is_help=True)

    @app.command()
    def hello(name: str = "you") -> None:
        """Say hello."""
        typer.echo(f"hello {name}")

    @app.command()
    def bye() -> None:
        """Say goodbye."""
        typer.echo("bye")

    keys = typer.Typer(help="Manage keys.", no_args_is_help=True)

    @keys.command("create")
    def keys_create(label: str) -> None:
        """Make a key."""
        typer.echo(f"created {label}")

    # Registered after the app is made, as the CLI's own sub-apps are.
    sub_apps["keys"] = keys
    return app


@pytest.fixture()
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The commands Typer turned into Click commands, by function name, in order."""
    seen: list[str] = []
    real = typer.main.get_command_from_info

    def spy(command_info: Any, **kwargs: Any) -> Any:
        seen.append(command_info.callback.__name__)
        return real(command_info, **kwargs)

    monkeypatch.setattr(typer.main, "get_command_from_info", spy)
    return seen


def test_a_command_outside_the_sub_apps_builds_none(built: list[str]) -> None:
    result = CliRunner().invoke(_app(), ["hello", "--name", "Ada"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello Ada\n"
    assert built == ["hello", "bye"]


def test_a_sub_app_runs_as_if_added_with_add_typer(built: list[str]) -> None:
    result = CliRunner().invoke(_app(), ["keys", "create", "ci"])
    assert result.exit_code == 0, result.output
    assert result.output == "created ci\n"
    assert built == ["hello", "bye", "keys_create"]
    # Its own help names it as invoked, and it shows help with no arguments.
    result = CliRunner().invoke(_app(), ["keys"])
    assert "Usage: root keys [OPTIONS] COMMAND [ARGS]..." in result.output
    assert "Make a key." in result.output


def test_help_lists_commands_then_sub_apps_with_their_help() -> None:
    result = CliRunner().invoke(_app(), ["--help"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "Say " in line or "Manage keys." in line]
    assert [line.split()[1] for line in lines] == ["hello", "bye", "keys"]


def test_a_mistyped_sub_app_is_suggested_without_building_it(built: list[str]) -> None:
    result = CliRunner().invoke(_app(), ["keyz"])
    assert result.exit_code == 2
    assert "No such command 'keyz'" in result.output and "Did you mean 'keys'?" in result.output
    assert built == ["hello", "bye"]


def test_the_reelforge_cli_lists_the_same_commands_as_before_building_any() -> None:
    from reelforge.cli import app

    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    names = list(group.commands)
    for name in ("validate", "plan", "render", "probe", "login", "keys", "otio", "renders", "events"):
        assert name in names
    keys = group.get_command(typer.Context(group), "keys")
    assert keys is not None and keys.name == "keys"
    assert "create" in keys.commands  # type: ignore[attr-defined]
