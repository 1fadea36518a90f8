"""Check that what an installed distribution asks for, with the extras named, is installed here
at versions that fit: ``pip check`` sees only base requirements, and Reelforge's server is an
extra (``reelforge[server]``, brought by ``reelforge[dev]``). ``make`` runs it after installing
the lock, so a lock that lacks something ``pyproject.toml`` asks for fails there.

    python scripts/check_install.py 'reelforge[dev]'    # exit 1 and list what is missing
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import sys

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def _applies(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": extra}) for extra in extras | {""})


def walk(reqs: list[Requirement]) -> tuple[set[str], list[str]]:
    """Every distribution ``reqs`` reach through the installed metadata (extras followed, a
    distribution's requirements of itself included), and what is missing or does not fit."""
    seen: dict[str, set[str]] = {}
    problems: list[str] = []
    todo = list(reqs)
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        try:
            version = md.version(name)
        except md.PackageNotFoundError:
            problems.append(f"{req} is not installed")
            continue
        if not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req} does not fit the installed {name} {version}")
        extras = set(req.extras)
        if name in seen and extras <= seen[name]:
            continue
        seen[name] = seen.get(name, set()) | extras
        todo += [r for r in map(Requirement, md.requires(name) or []) if _applies(r, seen[name])]
    return set(seen), sorted(set(problems))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("requirement", nargs="+", help="e.g. 'reelforge[dev]'")
    args = parser.parse_args(argv)
    _, problems = walk([Requirement(r) for r in args.requirement])
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
