"""Domain errors become problem details in one place: each error's code is a published problem
type, answered with that type's status, its ``errors`` and extra members as they are."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from reelforge.api.problems import CATALOGUE, install_problem_handlers
from reelforge.services import errors


def _error_classes() -> list[type[errors.ServiceError]]:
    found = [errors.ServiceError]
    i = 0
    while i < len(found):
        found += found[i].__subclasses__()
        i += 1
    return [c for c in found if c.__module__ == errors.__name__]


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_every_domain_error_names_a_published_problem_type(cls: type[errors.ServiceError]) -> None:
    assert cls.default_code in CATALOGUE


def test_a_domain_error_is_answered_as_its_problem_type() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/thing")
    def thing() -> None:
        raise errors.PreconditionFailed(
            "the project changed since you read it",
            errors=[{"pointer": "#/edit", "detail": "stale"}],
            current_revision=3,
        )

    @app.get("/edit")
    def edit() -> None:
        raise errors.Invalid("1 problem in the edit", code="edit-invalid")

    with TestClient(app) as client:
        r = client.get("/thing")
        assert r.status_code == 412 and r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["code"] == "precondition-failed" and body["instance"] == "/thing"
        assert body["errors"] == [{"pointer": "#/edit", "detail": "stale"}] and body["current_revision"] == 3
        r = client.get("/edit")
        assert r.status_code == 422 and r.json()["type"].endswith("/edit-invalid")
