"""Render every example edit into ``out/examples`` (``make demo``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "out" / "examples"


def main() -> int:
    failed = []
    for edit in sorted(HERE.glob("*.json")):
        if edit.name.endswith(".vars.json"):
            continue
        cmd = [sys.executable, "-m", "reelforge", "render", str(edit), "-o", str(OUT)]
        variables = edit.with_name(edit.stem + ".vars.json")
        if variables.exists():
            cmd += ["--vars", str(variables)]
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
