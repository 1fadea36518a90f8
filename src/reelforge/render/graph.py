"""A small builder for FFmpeg filter graphs that escapes every value it is given.

FFmpeg parses a filter graph twice: the graph parser splits filters at ``[ ] , ;`` and the
filter's option parser splits ``key=value`` pairs at ``:``. Both honour backslashes and single
quotes, so a value is escaped once for each level (FFmpeg's "Notes on filtergraph escaping").
Nothing reaches the graph without going through :func:`filt`, which is why a file name or a
colour can never add a filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

__all__ = [
    "Filter",
    "FilterGraph",
    "chain_text",
    "escape_graph",
    "escape_value",
    "filt",
    "fmt_num",
    "fmt_rate",
    "fmt_seconds",
]

_VALUE_SPECIAL = re.compile(r"([\\':])")
_GRAPH_SPECIAL = re.compile(r"([\\'\[\],;])")


def escape_value(value: str) -> str:
    """Escape for the option parser (first level)."""
    return _VALUE_SPECIAL.sub(r"\\\1", value)


def escape_graph(text: str) -> str:
    """Escape for the graph parser (second level)."""
    return _GRAPH_SPECIAL.sub(r"\\\1", text)


def fmt_num(value: float | int | Fraction) -> str:
    """A number as FFmpeg reads it: no exponent, no trailing zeros, fractions kept exact."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        value = float(value)
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def fmt_seconds(value: Fraction) -> str:
    """A time in seconds as an option value: rounded through a float like every other number."""
    return fmt_num(float(value))


def fmt_rate(fps: Fraction) -> str:
    """A frame rate as FFmpeg's exact ``num/den``."""
    return f"{fps.numerator}/{fps.denominator}"


def _value_text(value: object) -> str:
    if isinstance(value, float | int | Fraction) and not isinstance(value, bool):
        return fmt_num(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


@dataclass(frozen=True, slots=True)
class Filter:
    name: str
    args: tuple[object, ...] = ()
    options: tuple[tuple[str, object], ...] = ()

    def __str__(self) -> str:
        parts = [escape_value(_value_text(a)) for a in self.args]
        parts += [f"{k}={escape_value(_value_text(v))}" for k, v in self.options]
        if not parts:
            return self.name
        return f"{self.name}={escape_graph(':'.join(parts))}"


def filt(name: str, *args: object, **options: object) -> Filter:
    """``filt("scale", 1280, 720, flags="bicubic")`` -> ``scale=1280:720:flags=bicubic``.

    Options whose value is ``None`` are left out.
    """
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError(f"not a filter name: {name!r}")
    return Filter(name, tuple(args), tuple((k, v) for k, v in options.items() if v is not None))


def chain_text(inputs: Iterable[str], filters: Sequence[Filter], outputs: Iterable[str]) -> str:
    """One chain of a graph: ``[in…]f1,f2[out…]``."""
    ins = "".join(f"[{label}]" for label in inputs)
    return ins + ",".join(str(f) for f in filters) + "".join(f"[{o}]" for o in outputs)


@dataclass
class Input:
    path: str
    options: tuple[str, ...] = ()


@dataclass
class FilterGraph:
    """Inputs and labelled filter chains; :meth:`render` gives the ``-filter_complex`` text."""

    inputs: list[Input] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=dict)

    def add_input(self, path: str, options: Sequence[str] = ()) -> int:
        """Add an ``-i`` input; returns its index (streams are ``f"{index}:v"``)."""
        self.inputs.append(Input(path, tuple(options)))
        return len(self.inputs) - 1

    def label(self, hint: str) -> str:
        hint = re.sub(r"[^A-Za-z0-9_]", "_", hint) or "s"
        n = self._counts.get(hint, 0)
        self._counts[hint] = n + 1
        return f"{hint}{n}"

    def chain(
        self,
        inputs: Iterable[str],
        filters: Sequence[Filter],
        outputs: Sequence[str] | int | None = None,
        *,
        hint: str = "s",
    ) -> list[str]:
        """Add ``[in…]f1,f2[out…]``. ``outputs`` is a list of labels, or a count of fresh labels
        (default one). Returns the output labels."""
        if not filters:
            raise ValueError("a chain needs at least one filter")
        if outputs is None:
            outputs = 1
        outs = [self.label(hint) for _ in range(outputs)] if isinstance(outputs, int) else list(outputs)
        self.chains.append(chain_text(inputs, filters, outs))
        return outs

    def split(self, label: str, count: int, *, audio: bool = False, hint: str | None = None) -> list[str]:
        """Fan one stream out to ``count`` users (a no-op for one)."""
        if count == 1:
            return [label]
        return self.chain(
            [label], [filt("asplit" if audio else "split", count)], count, hint=hint or f"{label}_"
        )

    def render(self) -> str:
        return ";\n".join(self.chains)
