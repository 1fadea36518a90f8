"""Record the OpenAPI examples again from a running service, into the package's JSON data.

Each area starts its own service (SQLite in a temporary directory and, where the examples show
renders, a worker running FFmpeg on generated media), sends real requests and keeps what the
service answered. The values go to ``src/reelforge/api/recorded/<area>.json``, which the
``reelforge.api.examples*`` modules read and arrange per operation::

    .venv/bin/python scripts/record_examples.py               # every area (a few minutes)
    .venv/bin/python scripts/record_examples.py core events   # some

The recorders (``scripts/recorders/<area>.py``) reuse the test suite's helpers: a service on a
fresh database (``tests/service.py``), generated media (``tests/mediagen.py``) and each area's
test module (a webhook receiver, uploads...), so run it from a checkout with the ``dev`` extra.
Review the result with ``git diff src/reelforge/api/recorded`` and run ``tests/test_openapi.py``
(and the area's test module), which send the examples to a service again.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "reelforge" / "api" / "recorded"
AREAS = (
    "core",
    "events",
    "webhooks",
    "batches",
    "brand_kits",
    "templates",
    "idempotency",
    "workspaces",
    "uploads",
    "transcripts",
    "otio",
    "accounts",
)
"""Each area's recorder module and JSON file (``core`` is ``reelforge.api.examples``)."""


def write(path: Path, kept: dict[str, Any]) -> None:
    """One JSON object, names in the order recorded (the order the examples module reads)."""
    text = json.dumps(kept, indent=2, ensure_ascii=False, default=str)
    path.write_text(text + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("areas", nargs="*", metavar="AREA", help=f"one of {', '.join(AREAS)} (default: all)")
    parser.add_argument(
        "--out", type=Path, default=OUT, help="directory of the JSON files (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    unknown = [area for area in args.areas if area not in AREAS]
    if unknown:
        parser.error(f"unknown area {', '.join(unknown)}; choose from {', '.join(AREAS)}")
    # This checkout's package first, then the test suite's helpers (`service`, `mediagen`, test modules).
    sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]
    args.out.mkdir(parents=True, exist_ok=True)
    for area in args.areas or AREAS:
        recorder = importlib.import_module(f"recorders.{area}")
        with tempfile.TemporaryDirectory(prefix=f"reelforge-examples-{area}-") as tmp:
            kept: dict[str, Any] = recorder.record(Path(tmp))
        target = args.out / f"{area}.json"
        before = set(json.loads(target.read_text(encoding="utf-8"))) if target.exists() else set(kept)
        write(target, kept)
        print(f"{area}: {len(kept)} examples into {target}", file=sys.stderr)
        added, dropped = sorted(set(kept) - before), sorted(before - set(kept))
        if added or dropped:  # the examples module names each value it reads
            print(
                f"  new: {added}; no longer recorded: {dropped}: update its examples module", file=sys.stderr
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
