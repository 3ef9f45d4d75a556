"""Single sign-on for staff through OpenID Connect (issue 14), beside the local accounts.

The authorization code flow with PKCE (S256), by Authlib: ``begin`` makes the state, nonce
and code verifier (kept in this browser's session only until the provider sends the visitor
back) and the provider's address; ``finish`` checks the state, trades the code for tokens
and verifies the ID token against the provider's JWKS: signature, issuer, audience, expiry,
issued-at and nonce. ``account_for`` then finds or makes the staff account, with the role
and offices the provider's groups claim maps to (``STIGEN_OIDC_ROLES``,
``STIGEN_OIDC_OFFICES``, ``STIGEN_OIDC_OFFICE_PREFIX``); an account that maps to no role is
refused (``Refused``), and so is one that would take a local account's username.

An SSO account is found by a hash of issuer and subject, never by its username. Its role
and offices are the provider's at every sign-in; a change ends the account's other sessions
(``survey.auth.sessions``) like a change an admin makes. Tokens, codes and claims are never
logged: a refusal logs its reason code, a failed verification the name of the check.
Nothing here commits; the view does.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import func, select

from .. import audit
from ..caching import Cache
from ..extensions import db
from ..models import Account, Office
from .accounts import end_sessions, scramble_password

# Authlib, joserfc and requests are imported where they are used: with SSO off (the
# default) no process loads them (about 25 MB, which the export's memory budget feels).
if TYPE_CHECKING:
    from authlib.integrations.requests_client import OAuth2Session

log = logging.getLogger(__name__)

ROLES = ("admin", "forsker", "leder")  # most rights first: several groups give the first
FLOW_KEY = "sso_flow"  # the session key that holds one sign-in's state until it returns
HTTP_TIMEOUT = 10  # seconds for any request to the provider
METADATA_TTL = 3600  # seconds a provider's metadata and JWKS are kept before a refetch
ASYMMETRIC = [
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
]  # never "none", never a shared-secret HMAC
LEEWAY = 60  # seconds of clock difference allowed on exp and iat

# Why a sign-in was refused (shown on the refusal page; logged as the code).
NO_ROLE, NO_OFFICE, TAKEN, INACTIVE, FAILED = "no_role", "no_office", "taken", "inactive", "failed"


class Refused(Exception):
    """An SSO sign-in Stigen does not let in; ``reason`` is one of the codes above."""

    def __init__(self, reason: str, username: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.username = username


# --- pure rules (no Flask, no database) ----------------------------------------------------


def parse_mapping(text: str) -> dict[str, str]:
    """``"group=value, group=value"`` (commas or new lines between pairs) as a dict. The
    last ``=`` splits, so a group name may hold one; empty pairs are skipped."""
    mapping: dict[str, str] = {}
    for pair in text.replace("\n", ",").split(","):
        if not pair.strip():
            continue
        group, equals, value = pair.rpartition("=")
        if not equals or not group.strip() or not value.strip():
            raise ValueError(f"not a group=value pair: {pair.strip()!r}")
        mapping[group.strip()] = value.strip()
    return mapping


def role_mapping(text: str) -> dict[str, str]:
    mapping = parse_mapping(text)
    unknown = sorted(set(mapping.values()) - set(ROLES))
    if unknown:
        raise ValueError(f"STIGEN_OIDC_ROLES names unknown roles: {', '.join(unknown)}")
    return mapping


def groups_of(claims: dict, claim: str) -> list[str]:
    """The groups claim as a list of strings (a provider may send one string)."""
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [g for g in value if isinstance(g, str)]
    return []


def map_groups(
    groups: list[str], roles: dict[str, str], offices: dict[str, str], office_prefix: str = ""
) -> tuple[str | None, list[str]]:
    """The role (the one with most rights among those the groups map to; None if none
    does) and the office slugs (sorted, no repeats) the groups give."""
    given = {roles[g] for g in groups if g in roles}
    role = next((r for r in ROLES if r in given), None)
    slugs = {offices[g] for g in groups if g in offices}
    if office_prefix:
        slugs |= {
            g[len(office_prefix) :]
            for g in groups
            if g.startswith(office_prefix) and len(g) > len(office_prefix)
        }
    return role, sorted(slugs)


def config_problem(config) -> str | None:
    """What is wrong with the SSO settings, for a refusal to start; None when SSO is off
    or set up right."""
    issuer = config.get("STIGEN_OIDC_ISSUER") or ""
    if not issuer:
        return None
    if not issuer.startswith("https://") and config.get("STIGEN_PRODUCTION"):
        return "STIGEN_OIDC_ISSUER must be an https:// address in production."
    if not issuer.startswith(("https://", "http://")):
        return f"STIGEN_OIDC_ISSUER must be the provider's issuer URL (got {issuer!r})."
    if not config.get("STIGEN_OIDC_CLIENT_ID") or not config.get("STIGEN_OIDC_CLIENT_SECRET"):
        return "With STIGEN_OIDC_ISSUER set, STIGEN_OIDC_CLIENT_ID and _CLIENT_SECRET are needed."
    if "openid" not in (config.get("STIGEN_OIDC_SCOPES") or "").split():
        return "STIGEN_OIDC_SCOPES must include openid."
    try:
        roles = role_mapping(config.get("STIGEN_OIDC_ROLES") or "")
        parse_mapping(config.get("STIGEN_OIDC_OFFICES") or "")
    except ValueError as error:
        return f"Single sign-on: {error}."
    if not roles:
        return "With STIGEN_OIDC_ISSUER set, STIGEN_OIDC_ROLES must map at least one group."
    return None


def subject_key(issuer: str, subject: str) -> str:
    """What ``account.sso_subject`` holds: the pair, hashed to a fixed length."""
    return hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()


def username_from(claims: dict, claim: str, key: str) -> str:
    """The account's username: the configured claim, lower case, else ``sso-`` and a
    piece of the subject key."""
    value = claims.get(claim)
    if isinstance(value, str) and value.strip():
        return value.strip().lower()[:80]
    return f"sso-{key[:12]}"


def verify_id_token(
    id_token: str,
    jwks: dict,
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str | None = None,
    now: int | None = None,
    algorithms: list[str] | None = None,
) -> dict:
    """The ID token's claims if its signature is one of ``jwks``'s keys and its issuer,
    audience (and authorized party), expiry, issued-at, nonce (and at_hash) are right;
    raises ``joserfc.errors.JoseError`` otherwise."""
    from authlib.oidc.core import CodeIDToken
    from joserfc import jwt
    from joserfc.jwk import KeySet
    from joserfc.jws import JWSRegistry

    registry = JWSRegistry(algorithms=algorithms or ASYMMETRIC)
    # The provider's JWKS document as fetched; joserfc types it as a TypedDict.
    key_set = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    token = jwt.decode(id_token, key_set, registry=registry)
    params = {"nonce": nonce, "client_id": client_id}
    if access_token:
        params["access_token"] = access_token
    # The audience is checked here, by joserfc: Authlib's ID token classes check only that
    # an authorized party, when one is needed, is this client.
    options = {
        "iss": {"essential": True, "values": [issuer]},
        "aud": {"essential": True, "values": [client_id]},
    }
    claims = CodeIDToken(token.claims, token.header, options, params)
    claims.validate(now=now, leeway=LEEWAY)
    return dict(claims)


# --- the provider (metadata and keys, cached) ------------------------------------------------


@dataclass
class _Cached:
    metadata: dict
    jwks: dict
    fetched: float = field(default_factory=time.monotonic)


# By issuer; fresh for METADATA_TTL (checked in ``provider``). Bound: the one configured
# issuer, and those tests start.
_providers: Cache[str, _Cached] = Cache(maxsize=8)


def _get_json(url: str) -> dict:
    import requests

    response = requests.get(url, timeout=HTTP_TIMEOUT)
    response.raise_for_status()
    return response.json()


def provider(issuer: str, refresh_keys: bool = False) -> _Cached:
    """The provider's discovery document and JWKS, fetched at most once an hour (and the
    keys again when a token names a key they do not hold: the provider rotated)."""
    cached = _providers.get(issuer)
    if cached and not refresh_keys and time.monotonic() - cached.fetched < METADATA_TTL:
        return cached
    metadata = (
        cached.metadata
        if cached and refresh_keys
        else _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    )
    if metadata.get("issuer") != issuer:
        raise ValueError("the provider's metadata names another issuer")
    return _providers.put(issuer, _Cached(metadata, _get_json(metadata["jwks_uri"])))


def unreachable() -> type[Exception]:
    """What the provider's HTTP client raises when it cannot be reached (``requests``,
    loaded only when SSO is used)."""
    import requests

    return requests.RequestException


def forget() -> None:
    """Drop the cached metadata and keys (tests start providers with new keys)."""
    _providers.clear()


# --- with Flask ------------------------------------------------------------------------------


def enabled() -> bool:
    return bool(current_app.config.get("STIGEN_OIDC_ISSUER"))


def local_passwords() -> bool:
    """Whether staff may sign in with a local password: always without SSO; with SSO
    unless ``STIGEN_OIDC_LOCAL_PASSWORDS`` is off."""
    return not enabled() or bool(current_app.config.get("STIGEN_OIDC_LOCAL_PASSWORDS", True))


def _client(redirect_uri: str) -> OAuth2Session:
    from authlib.integrations.requests_client import OAuth2Session

    config = current_app.config
    return OAuth2Session(
        config["STIGEN_OIDC_CLIENT_ID"],
        config["STIGEN_OIDC_CLIENT_SECRET"],
        scope=config["STIGEN_OIDC_SCOPES"],
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )


def begin(redirect_uri: str) -> tuple[str, dict]:
    """The provider's authorization address to send the visitor to, and what the session
    keeps until they come back (state, nonce, PKCE verifier)."""
    from authlib.common.security import generate_token

    issuer = current_app.config["STIGEN_OIDC_ISSUER"]
    flow = {
        "state": generate_token(32),
        "nonce": generate_token(32),
        "verifier": generate_token(64),
    }
    endpoint = provider(issuer).metadata["authorization_endpoint"]
    with _client(redirect_uri) as client:
        url, _ = client.create_authorization_url(
            endpoint, state=flow["state"], nonce=flow["nonce"], code_verifier=flow["verifier"]
        )
    return url, flow


def finish(flow: dict | None, args: dict, redirect_uri: str) -> dict:
    """The verified ID token's claims for the provider's answer ``args`` (the query of the
    return address), given the ``flow`` kept by ``begin``. Raises ``Refused(FAILED)`` for
    anything wrong: no flow, another state, an error from the provider, another issuer, a
    failed exchange or a token that does not verify."""
    from joserfc.errors import InvalidKeyIdError, JoseError

    config = current_app.config
    issuer = config["STIGEN_OIDC_ISSUER"]
    if (
        not flow
        or not isinstance(flow, dict)
        or not args.get("state")
        or args.get("state") != flow.get("state")
    ):
        raise _failed("state")
    if args.get("error"):
        raise _failed("provider_error")
    if args.get("iss") and args["iss"] != issuer:  # RFC 9207: a mix-up of providers
        raise _failed("iss_parameter")
    code = args.get("code")
    if not code:
        raise _failed("no_code")
    known = provider(issuer)
    try:
        with _client(redirect_uri) as client:
            tokens = exchange(client, known.metadata["token_endpoint"], code, flow["verifier"])
    except Exception as error:  # the message may quote the provider's answer: name only
        raise _failed(f"exchange:{type(error).__name__}") from None
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise _failed("no_id_token")
    algorithms = [
        a
        for a in known.metadata.get("id_token_signing_alg_values_supported", ASYMMETRIC)
        if a in ASYMMETRIC
    ] or ASYMMETRIC
    for attempt in (0, 1):
        try:
            return verify_id_token(
                id_token,
                known.jwks,
                issuer,
                config["STIGEN_OIDC_CLIENT_ID"],
                flow["nonce"],
                tokens.get("access_token"),
                now=clock(),
                algorithms=algorithms,
            )
        except InvalidKeyIdError:
            if attempt:
                raise _failed("unknown_key") from None
            known = provider(issuer, refresh_keys=True)
        except JoseError as error:
            raise _failed(
                f"id_token:{type(error).__name__}:{getattr(error, 'claim', '')}"
            ) from None
        except ValueError as error:  # not a JWT at all, or a key that will not import
            raise _failed(f"id_token:{type(error).__name__}") from None
    raise _failed("unknown_key")  # pragma: no cover (the loop returns or raises)


def exchange(client: OAuth2Session, token_endpoint: str, code: str, verifier: str) -> dict:
    """The provider's token response for ``code`` (and the PKCE verifier)."""
    return dict(
        client.fetch_token(
            token_endpoint,
            grant_type="authorization_code",
            code=code,
            code_verifier=verifier,
            timeout=HTTP_TIMEOUT,
        )
    )


def clock() -> int:
    """Now, in seconds since the epoch, for the expiry check."""
    return int(time.time())


def _failed(check: str) -> Refused:
    log.warning("SSO sign-in failed: %s", check)
    return Refused(FAILED)


def account_for(claims: dict) -> Account:
    """The staff account for verified ``claims``, made or brought up to date with the role
    and offices the groups map to. Raises ``Refused`` when the groups map to no role, a
    leader to no office, the account is deactivated in Stigen, or the username is a local
    account's (or another SSO account's)."""
    config = current_app.config
    key = subject_key(config["STIGEN_OIDC_ISSUER"], str(claims["sub"]))
    username = username_from(claims, config["STIGEN_OIDC_USERNAME_CLAIM"], key)
    groups = groups_of(claims, config["STIGEN_OIDC_GROUPS_CLAIM"])
    role, slugs = map_groups(
        groups,
        role_mapping(config["STIGEN_OIDC_ROLES"]),
        parse_mapping(config["STIGEN_OIDC_OFFICES"]),
        config["STIGEN_OIDC_OFFICE_PREFIX"],
    )
    if role is None:
        raise _refused(NO_ROLE, username)
    offices = (
        list(db.session.scalars(select(Office).where(Office.slug.in_(slugs)).order_by(Office.name)))
        if role == "leder"
        else []
    )
    if role == "leder" and not offices:
        raise _refused(NO_OFFICE, username)
    account = db.session.scalar(select(Account).where(Account.sso_subject == key))
    if account is None:
        taken = db.session.scalar(
            select(Account.id).where(func.lower(Account.username) == username)
        )
        if taken is not None:
            raise _refused(TAKEN, username)
        account = Account(username=username, role=role, active=True, sso_subject=key)
        scramble_password(account)  # no local password: only the provider signs it in
        account.offices = offices
        db.session.add(account)
        db.session.flush()
        audit.record("user.sso_created", _described(account), actor=account)
        return account
    if not account.active:
        raise _refused(INACTIVE, account.username)
    if account.role != role or {o.id for o in account.offices} != {o.id for o in offices}:
        account.role, account.offices = role, offices
        end_sessions(account)  # the old rights' sessions end, as when an admin changes them
        audit.record("user.sso_updated", _described(account), actor=account)
    return account


def _described(account: Account) -> dict:
    return {
        "username": account.username,
        "role": account.role,
        "offices": [o.slug for o in account.offices],
    }


def _refused(reason: str, username: str) -> Refused:
    log.warning("SSO sign-in refused: %s", reason)
    return Refused(reason, username)
