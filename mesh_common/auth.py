"""JWT keys, issuing and verification shared by the CLI, the services and the gateway.

Tokens are ES256 with claims sub, role, iat, exp, iss, aud. The public half is published as a
JWKS file so Envoy and every service verify with the same keys, and production can swap
the file without code changes.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

# Re-exported: callers that verify tokens and use cases that only read the caller share one type.
from mesh_common.principal import Principal, Role

ALGORITHM = "ES256"
DEFAULT_ISSUER = "booking-mesh"
DEFAULT_AUDIENCE = "booking-api"

# The one token rule, shared by the gateway (rendered into Envoy and its Lua filter) and by
# TokenVerifier, so a token is either valid everywhere or nowhere:
# clocks may differ by this much between the issuer, the gateway and the services ...
CLOCK_SKEW_SECONDS = 30
# ... and a token may live at most this long (exp - iat): a stolen token expires within a day.
DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600


class InvalidToken(Exception):
    """The token is missing, malformed, expired, wrongly signed or for someone else."""


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    kid: str

    @classmethod
    def generate(cls) -> "KeyPair":
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cls(private_pem=pem, kid=uuid.uuid4().hex[:16])

    def jwks(self) -> dict:
        public = serialization.load_pem_private_key(self.private_pem, password=None).public_key()
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
        return {"keys": [{**jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}]}

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        private = directory / "jwt-private.pem"
        private.write_bytes(self.private_pem)
        private.chmod(0o600)
        (directory / "jwt-kid").write_text(self.kid)
        (directory / "jwks.json").write_text(json.dumps(self.jwks(), indent=2))

    @classmethod
    def load(cls, directory: Path) -> "KeyPair":
        return cls(private_pem=(directory / "jwt-private.pem").read_bytes(), kid=(directory / "jwt-kid").read_text().strip())

    @classmethod
    def load_or_create(cls, directory: Path) -> "KeyPair":
        if (directory / "jwt-private.pem").exists():
            return cls.load(directory)
        pair = cls.generate()
        pair.save(directory)
        return pair


def issue_token(
    keys: KeyPair,
    sub: str,
    role: Role = Role.CUSTOMER,
    *,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    ttl_seconds: int = 3600,
    now: float | None = None,
) -> str:
    issued = int(now if now is not None else time.time())
    claims = {"sub": sub, "role": role.value, "iss": issuer, "aud": audience, "iat": issued, "exp": issued + ttl_seconds}
    return jwt.encode(claims, keys.private_pem, algorithm=ALGORITHM, headers={"kid": keys.kid})


class TokenVerifier:
    """Verifies bearer tokens against a JWKS document (the same file Envoy reads).

    An ES256 signature check costs ~0.1-0.2 ms of CPU, and a client sends the same token with every
    request: the claims of a token whose signature, issuer and audience held are kept (LRU, at most
    `cache_size` tokens, keyed by the whole token, so any changed byte is a different key), and every
    use re-applies the clock rules to them, so a cached token expires exactly when an uncached one would.
    """

    def __init__(
        self,
        jwks: dict,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        max_lifetime_seconds: int = DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ):
        self._keys = {k.get("kid"): jwt.PyJWK(k, algorithm=ALGORITHM) for k in jwks.get("keys", [])}
        self._issuer = issuer
        self._audience = audience
        self._max_lifetime = max_lifetime_seconds
        self._clock = clock
        self._cache_size = cache_size
        self._verified: OrderedDict[str, dict] = OrderedDict()
        # The gRPC servers are asyncio, but a verifier may be shared with threads (sync servers, tests).
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path, **kwargs) -> "TokenVerifier":
        return cls(json.loads(Path(path).read_text()), **kwargs)

    @property
    def cached_tokens(self) -> int:
        return len(self._verified)

    def verify(self, authorization: str | None, *, now: float | None = None) -> Principal:
        if not authorization:
            raise InvalidToken("missing bearer token")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise InvalidToken("authorization must be 'Bearer <token>'")
        claims = self._cached(token)
        fresh = claims is None
        if fresh:
            claims = self._decode(token)
        try:
            check_claims(claims, now=self._clock() if now is None else now, max_lifetime_seconds=self._max_lifetime)
        except InvalidToken:
            if not fresh:  # expired: it will never be valid again, so it leaves room for one that is
                self._forget(token)
            raise
        if fresh:
            self._remember(token, claims)
        # Any role but exactly ADMIN is a customer, as at the gateway's RBAC: least privilege.
        role = Role.ADMIN if claims.get("role") == Role.ADMIN.value else Role.CUSTOMER
        return Principal(user_id=claims["sub"], role=role)

    def _decode(self, token: str) -> dict:
        """Signature, issuer, audience and the required claims: what does not change with time."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._keys.get(kid) if kid is not None else next(iter(self._keys.values()), None)
            if key is None:
                raise InvalidToken("token signed by an unknown key")
            return jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                # The clock checks are check_claims', at the one ``now`` it is given.
                options={"require": ["sub", "exp", "iat", "iss", "aud"], "verify_exp": False, "verify_iat": False,
                         "verify_nbf": False},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc

    def _cached(self, token: str) -> dict | None:
        if not self._cache_size:
            return None
        with self._lock:
            claims = self._verified.get(token)
            if claims is not None:
                self._verified.move_to_end(token)
            return claims

    def _remember(self, token: str, claims: dict) -> None:
        if not self._cache_size:
            return
        with self._lock:
            self._verified[token] = claims
            self._verified.move_to_end(token)
            while len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)

    def _forget(self, token: str) -> None:
        with self._lock:
            self._verified.pop(token, None)


def check_claims(claims: dict, *, now: float, max_lifetime_seconds: int) -> None:
    """The claims rules after signature, issuer and audience; the gateway applies the same
    (jwt_authn for exp and nbf with CLOCK_SKEW_SECONDS, its Lua filter for sub, iat and lifetime).
    """
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise InvalidToken("the subject (sub) must be a non-empty string")
    iat, exp, nbf = claims.get("iat"), claims.get("exp"), claims.get("nbf", 0)
    if not (_is_number(iat) and _is_number(exp) and _is_number(nbf)):
        raise InvalidToken("iat, exp and nbf must be numbers")
    if exp < now - CLOCK_SKEW_SECONDS:
        raise InvalidToken("expired")
    if iat > now + CLOCK_SKEW_SECONDS or nbf > now + CLOCK_SKEW_SECONDS:
        raise InvalidToken("not valid yet")
    if exp - iat > max_lifetime_seconds:
        raise InvalidToken("lives longer than allowed")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
