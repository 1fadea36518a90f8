"""The recorded examples are package data that the examples modules read whole.

``scripts/record_examples.py`` writes ``reelforge/api/recorded/<area>.json``; each examples
module names every value it arranges. A value recorded but not read, or a file no module reads,
is a sign the recorder and the module went apart.
"""

from __future__ import annotations

import importlib
import json
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECORDED = files("reelforge.api.recorded")
MODULES = {
    "core": "reelforge.api.examples",
    **{
        area: f"reelforge.api.examples_{area}"
        for area in (
            "accounts",
            "batches",
            "brand_kits",
            "events",
            "idempotency",
            "otio",
            "ratelimit",
            "templates",
            "transcripts",
            "uploads",
            "webhooks",
            "workspaces",
        )
    },
}


def test_every_file_belongs_to_a_module() -> None:
    found = {entry.name.removesuffix(".json") for entry in RECORDED.iterdir() if entry.name.endswith(".json")}
    assert found == set(MODULES)


@pytest.mark.parametrize("area", sorted(MODULES))
def test_the_module_reads_every_recorded_value(area: str) -> None:
    recorded = json.loads(RECORDED.joinpath(f"{area}.json").read_text(encoding="utf-8"))
    module = importlib.import_module(MODULES[area])
    for name in recorded:
        assert hasattr(module, name), name


def test_the_files_ship_with_the_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "api/recorded/*.json" in config["tool"]["setuptools"]["package-data"]["reelforge"]
