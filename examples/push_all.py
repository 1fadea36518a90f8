"""Render every example edit through a running service (``make demo-service``).

Each example is pushed with ``reelforge push``: the local media it names (``examples/media``,
made by ``make_media.py``) are uploaded with tus (each file once per server: the service
deduplicates identical bytes), the paths become asset ids, the edit is saved as a project and
rendered, and the outputs are downloaded into ``out/service``. A template is filled with its
``NAME.vars.json``.

Usage: ``REELFORGE_TOKEN=rf_live_… python examples/push_all.py [--server URL]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "out" / "service"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", default=os.environ.get("REELFORGE_SERVER", "http://127.0.0.1:8000"))
    parser.add_argument("--wait", default="1800", help="seconds to wait for each render")
    args = parser.parse_args()
    if not os.environ.get("REELFORGE_TOKEN"):
        print("set REELFORGE_TOKEN to an API key of the server (reelforge serve prints one)", file=sys.stderr)
        return 2
    failed = []
    for edit in sorted(HERE.glob("*.json")):
        if edit.name.endswith(".vars.json"):
            continue
        print(f"== {edit.name}", flush=True)
        cmd = [sys.executable, "-m", "reelforge", "push", str(edit), "--server", args.server]
        cmd += ["--render", "--wait", args.wait, "-o", str(OUT / edit.stem)]
        if subprocess.run(cmd).returncode != 0:
            failed.append(edit.name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    print(f"every example rendered by the service into {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
