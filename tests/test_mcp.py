"""``reelforge mcp``: the MCP server driven by the official SDK's own client, in-process (local
engine, and against a live service over HTTP on loopback) and over stdio as an agent starts it.
Renders are real (FFmpeg on a second of colour)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mcp import Client as McpClient
from mcp.client.stdio import StdioServerParameters

from reelforge.client import Client
from reelforge.mcp_server import Backend, build_server
from service import live_server, running_service

SRC = Path(__file__).resolve().parents[1] / "src"
TOOLS = {
    "validate_edit",
    "plan_edit",
    "render_edit",
    "fetch_outputs",
    "list_assets",
    "upload_asset",
    "fill_template",
    "compliance_check",
}


def color_edit(fps: Any = 25) -> dict[str, Any]:
    return {
        "timeline": {"tracks": [{"clips": [{"asset": {"type": "color", "color": "olive"}, "length": 1}]}]},
        "outputs": [{"resolution": "360p", "quality": "draft", "fps": fps, "audio": False}],
    }


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    data = result.structured_content
    assert isinstance(data, dict), result
    return data.get("result", data) if set(data) == {"result"} else data


def test_local_tools_and_resources_in_process(tmp_path: Path, media: Any) -> None:
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "intro.mp4").write_bytes(Path(media.video()).read_bytes())

    async def scenario() -> None:
        async with McpClient(build_server(Backend(base_dir=tmp_path))) as agent:
            assert {t.name for t in (await agent.list_tools()).tools} >= TOOLS

            bad = structured(await agent.call_tool("validate_edit", {"edit": color_edit(fps=-5)}))
            assert bad["valid"] is False
            assert any(p["pointer"] == "/outputs/0/fps" for p in bad["problems"]), bad
            good = structured(await agent.call_tool("plan_edit", {"edit": color_edit()}))
            assert good["valid"] and good["outputs"][0]["height"] == 360

            assets = structured(await agent.call_tool("list_assets", {}))
            assert assets["assets"] == [{"src": "clips/intro.mp4"}]

            progress: list[float] = []

            async def on_progress(value: float, total: float | None, message: str | None) -> None:
                progress.append(value)

            rendered = structured(
                await agent.call_tool(
                    "render_edit",
                    {"edit": color_edit(), "output_dir": str(tmp_path / "out")},
                    progress_callback=on_progress,
                )
            )
            assert rendered["state"] == "succeeded"
            assert Path(rendered["outputs"][0]["path"]).stat().st_size > 0
            assert progress and progress[-1] == 1.0

            template = {
                "edit": {
                    "timeline": {
                        "tracks": [{"clips": [{"asset": {"type": "text", "text": "{{title}}"}, "length": 1}]}]
                    },
                    "outputs": [{"width": 160, "height": 90, "fps": 25}],
                },
                "variables": [{"name": "title", "type": "text", "required": True}],
            }
            filled = structured(
                await agent.call_tool("fill_template", {"template": template, "values": {"title": "Hi"}})
            )
            assert filled["edit"]["timeline"]["tracks"][0]["clips"][0]["asset"]["text"] == "Hi"
            missing = structured(await agent.call_tool("fill_template", {"template": template, "values": {}}))
            assert missing["valid"] is False and missing["problems"]

            # Server-only tools say so instead of pretending.
            refused = await agent.call_tool(
                "fetch_outputs", {"render_id": "rnd_x", "output_dir": str(tmp_path)}
            )
            assert refused.is_error and "server" in str(refused.content)

            schema = await agent.read_resource("reelforge://schema/edit")
            assert "timeline" in json.loads(schema.contents[0].text)["properties"]
            index = json.loads((await agent.read_resource("reelforge://examples/index")).contents[0].text)
            assert "social-promo" in index
            example = await agent.read_resource("reelforge://examples/social-promo")
            assert "timeline" in json.loads(example.contents[0].text)
            doc = await agent.read_resource("reelforge://docs/edit-format")
            assert "timeline" in doc.contents[0].text

    asyncio.run(scenario())


def test_tools_against_a_server_in_process(tmp_path: Path, media: Any) -> None:
    async def scenario(base: str, token: str, project_id: str, template_id: str) -> None:
        async with McpClient(build_server(Backend(server=base, api_key=token))) as agent:
            uploaded = structured(
                await agent.call_tool("upload_asset", {"path": str(media.video()), "name": "clip"})
            )
            assert uploaded["id"].startswith("ast_") and uploaded["kind"] == "video"
            listed = structured(await agent.call_tool("list_assets", {}))
            assert [a["id"] for a in listed["assets"]] == [uploaded["id"]]

            bad = structured(await agent.call_tool("validate_edit", {"edit": color_edit(fps=-5)}))
            assert bad["valid"] is False and bad["request_id"]
            assert any(p["pointer"] == "/outputs/0/fps" for p in bad["problems"]), bad
            plan = structured(await agent.call_tool("validate_edit", {"edit": color_edit()}))
            assert plan["valid"] and plan["outputs"]

            progress: list[float] = []

            async def on_progress(value: float, total: float | None, message: str | None) -> None:
                progress.append(value)

            rendered = structured(
                await agent.call_tool(
                    "render_edit",
                    {"edit": color_edit(), "output_dir": str(tmp_path / "out")},
                    progress_callback=on_progress,
                )
            )
            assert rendered["state"] == "succeeded", rendered
            assert rendered["files"] and all(Path(f).stat().st_size > 0 for f in rendered["files"])
            assert progress
            fetched = structured(
                await agent.call_tool(
                    "fetch_outputs", {"render_id": rendered["id"], "output_dir": str(tmp_path / "again")}
                )
            )
            assert [Path(f).read_bytes() for f in fetched["files"]] == [
                Path(f).read_bytes() for f in rendered["files"]
            ]

            filled = structured(
                await agent.call_tool(
                    "fill_template", {"template_id": template_id, "values": {"title": "Hello"}}
                )
            )
            assert "Hello" in json.dumps(filled)
            checked = structured(await agent.call_tool("compliance_check", {"project_id": project_id}))
            assert isinstance(checked["findings"], list), checked

            # A refusal reaches the agent as a tool error it can read: what and which request.
            refused = await agent.call_tool(
                "compliance_check", {"project_id": "prj_0000000000000000000000000"}
            )
            assert refused.is_error and "404" in str(refused.content) and "req_" in str(refused.content)

    with running_service(tmp_path / "svc", workers=1) as svc, live_server(svc) as base:
        with Client(base, api_key=svc.token) as rf:
            kit = rf.json("POST", "/v1/brand_kits", json={"name": "house"})
            project = rf.projects.create(name="p", edit={**color_edit(), "brand": kit["id"]})
            template = rf.templates.create(
                name="t",
                edit={
                    "timeline": {
                        "tracks": [{"clips": [{"asset": {"type": "text", "text": "{{title}}"}, "length": 1}]}]
                    },
                    "outputs": [{"width": 160, "height": 90, "fps": 25}],
                },
                variables=[{"name": "title", "type": "text", "required": True}],
            )
        asyncio.run(scenario(base, svc.token, project["id"], template["id"]))


def test_over_stdio_as_an_agent_starts_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELFORGE_")}
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "reelforge", "mcp", "--local", "--base-dir", str(tmp_path)],
        env={**env, "PYTHONPATH": str(SRC), "XDG_CONFIG_HOME": str(tmp_path)},
    )

    async def scenario() -> None:
        async with McpClient(params, read_timeout_seconds=300) as agent:
            assert {t.name for t in (await agent.list_tools()).tools} >= TOOLS
            bad = structured(
                await agent.call_tool("validate_edit", {"edit": {"timeline": {}, "outputs": []}})
            )
            assert bad["valid"] is False and all("pointer" in p for p in bad["problems"])
            good = structured(await agent.call_tool("validate_edit", {"edit": color_edit()}))
            assert good["valid"] is True

    asyncio.run(scenario())


def test_over_streamable_http(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELFORGE_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "reelforge", "mcp", "--local", "--transport", "http", "--port", str(port)],
        env={**env, "PYTHONPATH": str(SRC), "XDG_CONFIG_HOME": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the MCP server did not listen"
                time.sleep(0.1)

        async def scenario() -> None:
            async with McpClient(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=300) as agent:
                assert {t.name for t in (await agent.list_tools()).tools} >= TOOLS
                bad = structured(await agent.call_tool("validate_edit", {"edit": color_edit(fps=-5)}))
                assert any(p["pointer"] == "/outputs/0/fps" for p in bad["problems"]), bad

        asyncio.run(scenario())
    finally:
        server.terminate()
        server.wait(timeout=30)
