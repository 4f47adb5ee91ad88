"""The one token rule of the services (the gateway renders the same constants; tests/integration/edge/test_hostile.py runs it)."""
from __future__ import annotations

import time

import jwt
import pytest

from mesh_common.auth import (
    CLOCK_SKEW_SECONDS,
    DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
    InvalidToken,
    KeyPair,
    Role,
    TokenVerifier,
    issue_token,
)

KEYS = KeyPair.generate()
VERIFIER = TokenVerifier(KEYS.jwks())
NOW = time.time()


def signed(**changes) -> str:
    claims = {"sub": "alice", "role": "CUSTOMER", "iss": "booking-mesh", "aud": "booking-api", "iat": int(NOW),
              "exp": int(NOW) + 600}  # fmt: skip
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return "Bearer " + jwt.encode(claims, KEYS.private_pem, algorithm="ES256", headers={"kid": KEYS.kid})


def test_the_cli_and_test_tokens_are_valid():
    principal = VERIFIER.verify("Bearer " + issue_token(KEYS, "staff-1", Role.ADMIN, now=NOW), now=NOW)
    assert principal.user_id == "staff-1" and principal.is_admin


def test_a_token_just_expired_within_the_clock_skew_is_still_accepted():
    token = signed(iat=int(NOW) - 600, exp=int(NOW) - CLOCK_SKEW_SECONDS // 2)
    assert VERIFIER.verify(token, now=NOW).user_id == "alice"


@pytest.mark.parametrize(
    "changes",
    [
        {"sub": None},
        {"sub": ""},
        {"sub": 42},
        {"iat": None},
        {"iat": "yesterday"},
        {"iat": int(NOW) + CLOCK_SKEW_SECONDS + 60, "exp": int(NOW) + 3600},
        {"exp": int(NOW) - CLOCK_SKEW_SECONDS - 1, "iat": int(NOW) - 600},
        {"exp": int(NOW) + 100 * 365 * 86400},
        {"exp": int(NOW) + DEFAULT_MAX_TOKEN_LIFETIME_SECONDS + 1},
        {"nbf": int(NOW) + CLOCK_SKEW_SECONDS + 60},
        {"exp": "tomorrow"},
    ],
    ids=["no-sub", "empty-sub", "number-sub", "no-iat", "text-iat", "iat-in-the-future", "expired-beyond-skew",
         "hundred-years", "just-over-max-lifetime", "not-before-in-the-future", "text-exp"],
)  # fmt: skip
def test_tokens_breaking_the_rule_are_refused(changes):
    with pytest.raises(InvalidToken):
        VERIFIER.verify(signed(**changes), now=NOW)


def test_a_valid_token_expires_once_its_time_and_the_skew_have_passed():
    token = signed()
    assert VERIFIER.verify(token, now=int(NOW) + 600 + CLOCK_SKEW_SECONDS).user_id == "alice"
    with pytest.raises(InvalidToken):
        VERIFIER.verify(token, now=int(NOW) + 600 + CLOCK_SKEW_SECONDS + 1)


def test_the_maximum_lifetime_is_configurable():
    strict = TokenVerifier(KEYS.jwks(), max_lifetime_seconds=300)
    with pytest.raises(InvalidToken):
        strict.verify(signed(), now=NOW)
    assert strict.verify(signed(exp=int(NOW) + 300), now=NOW).user_id == "alice"


def test_the_cli_refuses_to_mint_a_token_the_mesh_would_refuse(capsys):
    from booking_mesh.cli import main

    with pytest.raises(SystemExit):
        main(["token", "--sub", "alice", "--ttl", str(DEFAULT_MAX_TOKEN_LIFETIME_SECONDS + 1)])
    assert "the mesh refuses longer-lived tokens" in capsys.readouterr().err
