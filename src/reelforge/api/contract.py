"""The typed contract in ``/openapi.json``: problem details as a component, the security schemes,
and which credential (and scope) each operation needs.

FastAPI builds the document from the routes; this pass completes it once it is built:

* ``Problem`` (and ``ProblemError``) join ``components``: every problem response refers to them
  (``examples.PROBLEM_SCHEMA``), but FastAPI only lists models that routes name as their own.
* A success response documented with a model (``responses={200: {"model": ...}}``) of a route
  whose return annotation FastAPI also turned into a schema gets both merged; the model wins.
* ``securitySchemes``: the API key as an HTTP bearer token, and the OAuth 2.0 client-credentials
  flow with every scope. Each operation lists them with the scope its ``require(...)`` dependency
  asks for (no scope: any credential); operations without a credential list none.
* The ``/auth`` JSON routes for people in a browser take the console session instead: the
  ``sessionCookie`` scheme (the ``rf_session`` cookie; unsafe requests also send the session's
  CSRF token as ``X-CSRF-Token``), found by the ``session_cookie`` mark of their dependency.
* The ``operator`` scope (every workspace of the installation) is not in the OAuth flow: only the
  operator's CLI grants it, to an API key, and no OAuth client can hold it. An operation that
  needs it lists the API key alone; one that also takes it instead of its own scope (a
  dependency's ``alternative_scope``) lists the API key with ``operator`` as one more way in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic.json_schema import models_json_schema

from reelforge.services.credentials import OPERATOR, SCOPES

from .auth import authenticate
from .schemas import Problem

__all__ = [
    "API_KEY",
    "OAUTH2",
    "SESSION_COOKIE",
    "TOKEN_URL",
    "install_contract",
    "operation_scopes",
    "operation_security",
]

API_KEY = "apiKey"
OAUTH2 = "oauth2"
SESSION_COOKIE = "sessionCookie"
TOKEN_URL = "/v1/oauth/token"
_REF_TEMPLATE = "#/components/schemas/{model}"

_SCOPE_TEXT = {
    "read": "Read {family}",
    "write": "Create, change and delete {family}",
    "approve": "Review {family}' versions: approve, reject, archive (not implied by assets:write)",
}


def _scope_description(scope: str) -> str:
    if scope == "admin":
        return "Everything, including workspace settings and the audit log"
    family, _, action = scope.partition(":")
    return _SCOPE_TEXT[action].format(family=family.replace("_", " "))


def security_schemes() -> dict[str, Any]:
    return {
        API_KEY: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "rf_live_…",
            "description": "An API key (`rf_live_…`) as `Authorization: Bearer <key>`; it holds the "
            "scopes it was created with. A key made by the installation's operator with "
            "`reelforge keys create --operator` also holds the `operator` scope: create, list and "
            "rename every workspace (`/v1/workspaces`). Only that command grants it; `admin` does "
            "not include it, and no OAuth client can hold it.",
        },
        SESSION_COOKIE: {
            "type": "apiKey",
            "in": "cookie",
            "name": "rf_session",
            "description": "A person's console session (`/auth/sign-in` or single sign-on sets the "
            "cookie; HttpOnly, SameSite=Lax, Secure over TLS). Unsafe requests made with it also send "
            "the session's `csrf_token` (`GET /auth/session`) as `X-CSRF-Token`. Only the `/auth` "
            "routes take it; the `/v1` API takes bearer credentials.",
        },
        OAUTH2: {
            "type": "oauth2",
            "description": "An access token from an OAuth client (client credentials), sent as "
            "`Authorization: Bearer <token>`.",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": TOKEN_URL,
                    "scopes": {scope: _scope_description(scope) for scope in SCOPES},
                }
            },
        },
    }


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def operation_scopes(route: Any) -> list[str] | None:
    """The scopes ``route`` (an APIRoute, or its context in an included router) requires
    (``[]``: any credential), or None when it takes none."""
    scopes: list[str] = []
    authenticated = False
    for dependant in _dependants(route.dependant):
        scope = getattr(dependant.call, "required_scope", None)
        if isinstance(scope, str) and scope not in scopes:
            scopes.append(scope)
        authenticated = authenticated or dependant.call is authenticate
    return scopes if scopes or authenticated else None


def _alternative_scopes(route: Any) -> list[str]:
    """Scopes that also let the caller in, each on its own (``alternative_scope``)."""
    found: list[str] = []
    for dependant in _dependants(route.dependant):
        scope = getattr(dependant.call, "alternative_scope", None)
        if isinstance(scope, str) and scope not in found:
            found.append(scope)
    return found


def operation_security(route: Any) -> list[dict[str, list[str]]] | None:
    """The ``security`` of ``route``'s operation (any one requirement lets the caller in), or None
    when it takes no credential. A requirement with ``operator`` names the API key alone."""
    if any(getattr(d.call, "session_cookie", False) for d in _dependants(route.dependant)):
        return [{SESSION_COOKIE: []}]
    scopes = operation_scopes(route)
    if scopes is None:
        return None
    security: list[dict[str, list[str]]] = []
    for needed in [scopes, *([scope] for scope in _alternative_scopes(route))]:
        security.append({API_KEY: list(needed)})
        if OPERATOR not in needed:
            security.append({OAUTH2: list(needed)})
    return security


def _add_components(spec: dict[str, Any]) -> None:
    _, top = models_json_schema([(Problem, "serialization")], ref_template=_REF_TEMPLATE)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(top.get("$defs", {}))


def _keep_model_schemas(spec: dict[str, Any]) -> None:
    for item in spec.get("paths", {}).values():
        for op in item.values():
            for response in (op.get("responses") or {}).values() if isinstance(op, dict) else ():
                for media in (response.get("content") or {}).values():
                    schema = media.get("schema")
                    if isinstance(schema, dict) and "$ref" in schema and len(schema) > 1:
                        media["schema"] = {"$ref": schema["$ref"]}


def _add_security(app: FastAPI, spec: dict[str, Any]) -> None:
    spec.setdefault("components", {})["securitySchemes"] = security_schemes()
    for route in iter_route_contexts(app.routes):  # also the routes of included routers
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        security = operation_security(route)
        if security is None:
            continue
        item = spec["paths"].get(route.path_format, {})
        for method in route.methods or ():
            op = item.get(method.lower())
            if op is not None:
                op["security"] = [{name: list(scopes) for name, scopes in s.items()} for s in security]


def install_contract(app: FastAPI) -> None:
    """Complete ``app``'s document as the module says, once, when it is first built."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            _add_components(spec)
            _keep_model_schemas(spec)
            _add_security(app, spec)
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]
