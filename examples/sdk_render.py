"""Render an edit through a running service with the Python SDK, follow it with a progress bar
and download its outputs.

Usage: ``REELFORGE_SERVER=http://127.0.0.1:8000 REELFORGE_API_KEY=rf_live_… python
examples/sdk_render.py [examples/lower-third.json] [-o out/sdk]``

The SDK needs only the light install (``pip install reelforge``), not the server's packages.

Local media an edit names must be uploaded first (``reelforge push`` does that); the default
edit here needs none: a few seconds of colour with a title.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from reelforge.client import Client, ReelforgeError

DEFAULT_EDIT: dict[str, Any] = {
    "timeline": {
        "tracks": [
            {"clips": [{"asset": {"type": "text", "text": "Made with the SDK"}, "length": 3}]},
            {"clips": [{"asset": {"type": "color", "color": "#1d3557"}, "length": 3}]},
        ]
    },
    "outputs": [{"resolution": "720p", "quality": "draft"}],
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("edit", nargs="?", type=Path, help="an edit JSON file (default: a built-in one)")
    parser.add_argument("-o", "--output", type=Path, default=Path("out/sdk"))
    args = parser.parse_args()
    edit = json.loads(args.edit.read_text(encoding="utf-8")) if args.edit else DEFAULT_EDIT
    try:
        with Client() as rf:
            render = rf.renders.create(edit=edit).wait(progress=True)
            if render.state != "succeeded":
                print(f"{render.id} {render.state}: {render.data.get('error')}", file=sys.stderr)
                return 1
            for path in render.download(args.output):
                print(path)
    except ReelforgeError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
