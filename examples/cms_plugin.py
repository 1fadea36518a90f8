"""A CMS plugin connecting to a Reelforge workspace on a person's behalf: register the app,
authorize (PKCE), call the API, refresh, revoke. See docs/accounts.md.

    python examples/cms_plugin.py --server http://127.0.0.1:8000 --key rf_live_…

It prints a link: open it in a browser, sign in as a member of the workspace and allow. The
browser then comes back to this script on http://127.0.0.1:8765/callback.
"""

from __future__ import annotations

import argparse
import http.server
from urllib.parse import urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client


def callback_server(port: int) -> tuple[http.server.HTTPServer, list[str]]:
    """A server on the redirect URI's port (listening before the link is shown), and the list
    the URL the browser comes back to (with ``code`` and ``state``) arrives in."""
    arrived: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if urlsplit(self.path).path == "/callback":
                arrived.append(f"http://127.0.0.1:{port}{self.path}")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"Connected. You can close this tab.\n")

        def log_message(self, *args: object) -> None:
            pass

    return http.server.HTTPServer(("127.0.0.1", port), Handler), arrived


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True, help="an API key with keys:write (registers the app)")
    parser.add_argument("--callback-port", type=int, default=8765, help="where the browser comes back")
    args = parser.parse_args()
    base = args.server.rstrip("/")
    callback = f"http://127.0.0.1:{args.callback_port}/callback"

    # 1. Register the app (once, by an admin of the workspace).
    registered = (
        httpx.post(
            f"{base}/v1/oauth/apps",
            headers={"Authorization": f"Bearer {args.key}"},
            json={
                "name": "CMS plugin (example)",
                "redirect_uris": [callback],
                "scopes": ["assets:read", "renders:read"],
            },
            timeout=30,
        )
        .raise_for_status()
        .json()
    )
    print(f"registered {registered['client_id']}")

    meta = httpx.get(f"{base}/.well-known/oauth-authorization-server", timeout=30).json()
    client = OAuth2Client(
        client_id=registered["client_id"],
        client_secret=registered["client_secret"],
        redirect_uri=callback,
        scope="assets:read renders:read",
        code_challenge_method="S256",
    )

    # 2. Authorize: the person signs in and allows.
    verifier = generate_token(48)
    url, _ = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
    server, arrived = callback_server(args.callback_port)
    print(f"\nOpen this link in a browser, sign in and allow:\n\n  {url}\n", flush=True)
    with server:
        while not arrived:
            server.handle_request()
    came_back = arrived[0]

    # 3. Exchange the code, then call the API as the person.
    token = client.fetch_token(
        meta["token_endpoint"], authorization_response=came_back, code_verifier=verifier
    )
    print(f"granted: {token['scope']}")
    api = httpx.Client(base_url=base, timeout=30)
    assets = api.get("/v1/assets", headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    print(f"the workspace has {len(assets['data'])} assets on the first page")

    # 4. Refresh: a new access token and a new refresh token (the old one is spent).
    token = client.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    print("refreshed")

    # 5. Revoke: the grant ends, and its tokens with it.
    client.revoke_token(meta["revocation_endpoint"], token=token["refresh_token"])
    after = api.get("/v1/assets", headers={"Authorization": f"Bearer {token['access_token']}"})
    print(f"revoked; the access token now gets {after.status_code}")


if __name__ == "__main__":
    main()
