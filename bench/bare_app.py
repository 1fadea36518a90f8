"""The reference for the API benchmark: a bare FastAPI app that returns static JSON.

Usage: ``python bench/bare_app.py --port 8001 [--doc docs.json]``

``docs.json`` is an object of name -> JSON document; ``GET /doc/{name}`` returns that
document. ``api_bench.py`` fills it with the bodies Reelforge itself answered for
``GET /v1/renders/{id}`` and ``GET /v1/assets?limit=50``, so both sides send the same bytes
and the difference is what Reelforge does per request (auth, database, building the body,
middleware), not the size of the answer.

The endpoint is what a bare FastAPI endpoint looks like: ``async def`` returning a dict,
which FastAPI encodes (``jsonable_encoder``, then ``JSONResponse``) exactly as it encodes
Reelforge's dicts. ``GET /sync-doc/{name}`` is the same as a plain ``def`` endpoint, which
FastAPI runs in its thread pool as it does Reelforge's routes: measured only on request
(``api_bench.py --sync-bare``) to show what that hop costs. ``POST /sink`` reads a request
body to the end and discards it: ``upload_bench.py`` sends it the same multipart upload, to
show what receiving alone costs. ``POST /hash-write`` reads a body, hashes it (sha256) and
writes it to a file in the working directory (then removes it): the least any upload endpoint
does, the reference of ``tus_bench.py``. The server is started the way
``reelforge serve`` starts its app: ``uvicorn.run(app, host, port, log_level="info")``, one
process, access log on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request


def make_app(docs: dict[str, Any]) -> FastAPI:
    app = FastAPI(title="bare", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/doc/{name}")
    async def doc(name: str) -> Any:
        if name not in docs:
            raise HTTPException(404)
        return docs[name]

    @app.get("/sync-doc/{name}")
    def sync_doc(name: str) -> Any:
        if name not in docs:
            raise HTTPException(404)
        return docs[name]

    @app.post("/sink")
    async def sink(request: Request) -> dict[str, int]:
        """Receive a body and discard it: what uvicorn and Starlette cost to take in an upload."""
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"bytes": size}

    @app.post("/hash-write")
    async def hash_write(request: Request) -> dict[str, Any]:
        """Hash and write a body as it arrives: what storing an upload costs at the least."""
        digest = hashlib.sha256()
        size = 0
        fd, name = tempfile.mkstemp(dir=".", suffix=".part")
        try:
            async for chunk in request.stream():
                digest.update(chunk)
                os.write(fd, chunk)
                size += len(chunk)
        finally:
            os.close(fd)
            os.unlink(name)
        return {"bytes": size, "sha256": digest.hexdigest()}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--doc", type=Path, help="JSON object of name -> document")
    args = parser.parse_args()
    docs = json.loads(args.doc.read_text(encoding="utf-8")) if args.doc else {}
    uvicorn.run(make_app(docs), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
