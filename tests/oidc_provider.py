"""A real OpenID provider for the tests: panva/oidc-provider (OpenID certified) under Node,
from tests/oidc (package.json and package-lock.json; ``npm ci`` installs it when its
node_modules is missing). Started on a free port, stopped at the end of the session.

Without Node the SSO tests skip on a developer's machine; under CI (``CI=true``) they
fail instead, so CI can never pass without having run them."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

HERE = Path(__file__).parent / "oidc"
REDIRECT = "http://localhost/logg-inn/sso/tilbake"  # the Flask test client's host
CLIENT_ID, CLIENT_SECRET = "stigen", "test-client-secret-not-for-production"

# The provider's people: their claims, as a directory would give them.
ACCOUNTS = {
    "kari": {
        "preferred_username": "Kari.Leder",
        "name": "Kari Leder",
        "groups": ["stigen-leder", "kontor-bodo", "stigen-kontor-tromso", "alle-ansatte"],
    },
    "ola": {"preferred_username": "ola.admin", "groups": ["stigen-leder", "stigen-admin"]},
    "frida": {"preferred_username": "frida.forsker", "groups": ["stigen-forsker"]},
    "ukjent": {"preferred_username": "uten.tilgang", "groups": ["alle-ansatte"]},
    "kontorlos": {"preferred_username": "kontorlos", "groups": ["stigen-leder", "kontor-ukjent"]},
    "navnebror": {"preferred_username": "admin", "groups": ["stigen-admin"]},
}

CONFIG = {
    "STIGEN_OIDC_CLIENT_ID": CLIENT_ID,
    "STIGEN_OIDC_CLIENT_SECRET": CLIENT_SECRET,
    "STIGEN_OIDC_SCOPES": "openid profile email groups",
    "STIGEN_OIDC_ROLES": "stigen-admin=admin, stigen-forsker=forsker, stigen-leder=leder",
    "STIGEN_OIDC_OFFICES": "kontor-bodo=bodo, kontor-ukjent=finnes-ikke",
    "STIGEN_OIDC_OFFICE_PREFIX": "stigen-kontor-",
}


@dataclass
class Provider:
    issuer: str
    key: RSAKey
    process: subprocess.Popen

    def config(self, **extra) -> dict:
        return {"STIGEN_OIDC_ISSUER": self.issuer, **CONFIG, **extra}

    def sign(self, claims: dict, key: RSAKey | None = None) -> str:
        """A token signed with the provider's own key (or ``key``, under its key id)."""
        key = key or self.key
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, key)


def _node_or_fail() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        return node
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("Node.js and npm are needed for the SSO tests (tests/oidc)")
    pytest.skip("Node.js and npm are needed for the SSO tests (CI runs them)")


def _installed() -> None:
    if (HERE / "node_modules" / "oidc-provider" / "package.json").exists():
        return
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(HERE)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        pytest.fail(f"npm ci in tests/oidc failed:\n{done.stdout}\n{done.stderr}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(folder: Path) -> Provider:
    node = _node_or_fail()
    _installed()
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, private=True)
    key.ensure_kid()
    port = _free_port()
    config = {
        "port": port,
        "jwks": {"keys": [key.as_dict(private=True)]},
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [REDIRECT],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
            }
        ],
        "accounts": ACCOUNTS,
    }
    path = folder / "provider.json"
    path.write_text(json.dumps(config))
    output = folder / "provider.log"  # a file, not a pipe: nothing to drain, nothing to block
    with output.open("w") as sink:
        process = subprocess.Popen(
            [node, str(HERE / "provider.mjs"), str(path)],
            cwd=HERE,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while f"listening {issuer}\n" not in output.read_text():
        if process.poll() is not None:
            raise RuntimeError("the OpenID provider stopped: " + output.read_text())
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError("the OpenID provider did not start in 30 s: " + output.read_text())
        time.sleep(0.05)
    return Provider(issuer, key, process)


def stop(provider: Provider) -> None:
    provider.process.terminate()
    try:
        provider.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        provider.process.kill()
        provider.process.wait()


def through_provider(client, who: str, start_path: str = "/logg-inn/sso"):
    """Sign ``who`` in at the provider as a browser would: Stigen sends the browser to the
    provider, which sends it back with a code; returns Stigen's answer to that."""
    response = client.get(start_path)
    assert response.status_code == 302, response.status_code
    url = response.headers["Location"] + "&login_hint=" + who
    browser = requests.Session()
    for _ in range(10):
        answer = browser.get(url, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), (answer.status_code, answer.text[:300])
        url = urljoin(url, answer.headers["Location"])
        if url.startswith(REDIRECT):
            return client.get(url.removeprefix("http://localhost"))
    raise AssertionError("the provider never sent the browser back")


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def with_claims(token: str, **changes) -> str:
    """``token`` with its payload changed and its signature kept: a tampered token."""
    head, _, signature = token.split(".")
    claims = {**claims_of(token), **changes}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{payload}.{signature}"
