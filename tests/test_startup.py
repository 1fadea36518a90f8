"""The command starts quickly because it imports only what a command needs.

Structural guards, never timings: a fresh interpreter imports the CLI (or runs a command) and
reports which heavy packages ended up in ``sys.modules``. Timings are in
``bench/startup_bench.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# The service's stack, the decoder library and the progress bar: none is needed to start.
HEAVY = ("fastapi", "starlette", "sqlalchemy", "alembic", "av", "uvicorn", "rich.progress")

REPORT = """
import json, sys
{body}
print("MODULES " + json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def loaded_after(body: str, cwd: Path | None = None) -> list[str]:
    code = REPORT.format(body=body, heavy=HEAVY)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=300)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("MODULES "))
    return list(json.loads(line.removeprefix("MODULES ")))


def test_importing_the_cli_loads_no_service_decoder_or_progress_bar() -> None:
    assert loaded_after("import reelforge.cli") == []


def test_validating_an_edit_without_media_loads_none_of_the_service(tmp_path: Path) -> None:
    edit = tmp_path / "edit.json"
    edit.write_text(
        json.dumps(
            {
                "timeline": {"tracks": [{"clips": [{"asset": {"type": "text", "text": "hi"}, "length": 1}]}]},
                "outputs": [{"width": 160, "height": 90, "fps": 25}],
            }
        )
    )
    body = (
        "from reelforge.cli import app\n"
        f"sys.argv = ['reelforge', 'validate', {str(edit)!r}]\n"
        "try:\n    app()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
    )
    assert loaded_after(body) == []
