"""A Typer app whose sub-apps become Click groups when one is used, not at every start.

Typer turns an app into Click commands each time the program starts, reading every command's
signature (annotations, options, defaults) on the way. ``reelforge validate`` has no use for the
commands of ``keys``, ``renders`` and the other sub-apps, yet building them was three fifths of
Typer's building of the whole CLI (4 % of ``validate``'s instructions). :func:`lazy_group`
gives the top-level app a group class that holds the sub-apps as they are and builds one when
it is looked up: to run it, or to list it in ``--help``. This is the pattern Click documents as
lazily loading subcommands.

The sub-apps are registered in a plain mapping (name -> :class:`typer.Typer`) instead of with
``app.add_typer``, which would build them with the rest.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import typer
from typer.core import TyperGroup

__all__ = ["lazy_group"]


class _Commands(MutableMapping[str, Any]):
    """A group's commands by name, its sub-apps among them as they are until one is read.

    Iterating lists every name without building anything (Typer's "did you mean" suggestions
    read the names only); reading a sub-app's name builds that one group, in its place."""

    def __init__(self, built: Mapping[str, Any], sub_apps: Mapping[str, typer.Typer]) -> None:
        # Commands first, then groups, as `add_typer` orders them in help (and a group wins).
        self._entries: dict[str, Any] = {**built, **sub_apps}

    def __getitem__(self, name: str) -> Any:
        entry = self._entries[name]
        if isinstance(entry, typer.Typer):
            entry = typer.main.get_group(entry)
            entry.name = name
            self._entries[name] = entry
        return entry

    def __setitem__(self, name: str, command: Any) -> None:
        self._entries[name] = command

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def lazy_group(sub_apps: Mapping[str, typer.Typer]) -> type[TyperGroup]:
    """A group class for ``typer.Typer(cls=...)`` that adds ``sub_apps`` (read when the program
    runs, so they may be registered after the app is made) as groups built on first use."""

    class LazySubAppsGroup(TyperGroup):
        def __init__(self, *, commands: Mapping[str, Any] | None = None, **attrs: Any) -> None:
            super().__init__(**attrs)
            self.commands = _Commands(commands or {}, sub_apps)

    return LazySubAppsGroup
