"""Write the service's OpenAPI document to ``clients/typescript/openapi.json``, the input of
the TypeScript client's generated types (``make ts-client`` then runs openapi-typescript).
``tests/test_client_typescript.py`` fails when either drifted.

    PYTHONPATH=src python scripts/export_openapi.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

TARGET = Path(__file__).resolve().parents[1] / "clients" / "typescript" / "openapi.json"


def document_text() -> str:
    from reelforge.api.app import create_app

    document: dict[str, Any] = create_app().openapi()
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the file drifted")
    args = parser.parse_args()
    text = document_text()
    if args.check:
        same = TARGET.is_file() and TARGET.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{TARGET} drifted from the service's OpenAPI document")
        return 0 if same else 1
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
