"""A small OpenID Connect provider for the single sign-on tests, served on loopback: discovery,
an authorization endpoint that signs in whoever the test says (no login form), a token
endpoint checking the client, the code, the redirect URI and PKCE, and ID tokens signed RS256
with Authlib's JOSE library (joserfc). ``tamper`` makes it misbehave in one chosen way."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "reelforge"
CLIENT_SECRET = "provider-side-secret-for-tests"


@dataclass
class Provider:
    issuer: str = ""
    person: dict[str, Any] = field(default_factory=dict)
    """The claims of whoever signs in next: sub, email, name, groups."""
    tamper: str | None = None
    """``nonce``, ``audience``, ``issuer``, ``expired`` or ``key``: an ID token wrong that way."""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            **self.person,
        }
        key = self.key
        if self.tamper == "nonce":
            claims["nonce"] = "another"
        elif self.tamper == "audience":
            claims["aud"] = "someone-else"
        elif self.tamper == "issuer":
            claims["iss"] = "http://127.0.0.1:1/elsewhere"
        elif self.tamper == "expired":
            claims["exp"] = now - 60
        elif self.tamper == "key":
            key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }

        @app.get("/jwks")
        def jwks() -> dict[str, Any]:
            return KeySet([self.key]).as_dict(private=False)

        @app.get("/authorize")
        def authorize(request: Request) -> Any:
            q = request.query_params
            if (
                q.get("client_id") != CLIENT_ID
                or q.get("code_challenge_method") != "S256"
                or not q.get("nonce")
            ):
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "redirect_uri": q["redirect_uri"],
                "challenge": q["code_challenge"],
                "nonce": q["nonce"],
            }
            target = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q.get("state", "")})
            return RedirectResponse(target, status_code=302)

        @app.post("/token")
        def token(
            request: Request,
            code: str = Form(""),
            redirect_uri: str = Form(""),
            code_verifier: str = Form(""),
        ) -> Any:
            basic = request.headers.get("authorization", "").removeprefix("Basic ")
            if base64.b64decode(basic or "Og==").decode() != f"{CLIENT_ID}:{CLIENT_SECRET}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            grant = self.codes.pop(code, None)
            if (
                grant is None
                or grant["redirect_uri"] != redirect_uri
                or create_s256_code_challenge(code_verifier) != grant["challenge"]
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            return {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(grant["nonce"]),
            }

        return app
