"""Render every example edit into ``out/examples`` (``make demo``).

The examples render at 1080p, as written; ``--resolution 720p`` (``make demo RESOLUTION=720p``)
renders every output at another size, keeping its aspect ratio.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "out" / "examples"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resolution", help="720p, 1080p (the shorter side) or WxH")
    args = parser.parse_args()
    failed = []
    for edit in sorted(HERE.glob("*.json")):
        if edit.name.endswith(".vars.json"):
            continue
        cmd = [sys.executable, "-m", "reelforge", "render", str(edit), "-o", str(OUT)]
        variables = edit.with_name(edit.stem + ".vars.json")
        if variables.exists():
            cmd += ["--vars", str(variables)]
        if args.resolution:
            cmd += ["--resolution", args.resolution]
        print(f"== {edit.name}", flush=True)
        if subprocess.run(cmd).returncode != 0:
            failed.append(edit.name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    print(f"all examples rendered into {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
