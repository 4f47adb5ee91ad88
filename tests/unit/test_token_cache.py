"""Verified tokens are remembered, but a remembered token obeys the same rules as a new one."""
from __future__ import annotations

import jwt
import pytest

from mesh_common.auth import CLOCK_SKEW_SECONDS, InvalidToken, KeyPair, TokenVerifier, issue_token

KEYS = KeyPair.generate()
OTHER_KEYS = KeyPair.generate()
T0 = 1_900_000_000.0


class FakeClock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def bearer(sub: str = "alice", ttl: int = 600, keys: KeyPair = KEYS) -> str:
    return "Bearer " + issue_token(keys, sub, ttl_seconds=ttl, now=T0)


def counting_decodes(verifier: TokenVerifier, monkeypatch) -> list[str]:
    calls = []
    decode = verifier._decode

    def spy(token):
        calls.append(token)
        return decode(token)

    monkeypatch.setattr(verifier, "_decode", spy)
    return calls


def test_a_token_is_checked_cryptographically_once_then_served_from_the_cache(monkeypatch):
    verifier = TokenVerifier(KEYS.jwks(), clock=FakeClock(T0))
    decodes = counting_decodes(verifier, monkeypatch)
    token = bearer()
    assert [verifier.verify(token).user_id for _ in range(3)] == ["alice"] * 3
    assert len(decodes) == 1 and verifier.cached_tokens == 1


def test_a_cached_token_still_expires_on_time():
    clock = FakeClock(T0)
    verifier = TokenVerifier(KEYS.jwks(), clock=clock)
    token = bearer(ttl=600)
    assert verifier.verify(token).user_id == "alice"
    clock.now = T0 + 600 + CLOCK_SKEW_SECONDS
    assert verifier.verify(token).user_id == "alice"
    clock.now += 1
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)
    assert verifier.cached_tokens == 0
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)


def test_a_token_not_valid_yet_is_not_remembered():
    clock = FakeClock(T0 - CLOCK_SKEW_SECONDS - 5)
    verifier = TokenVerifier(KEYS.jwks(), clock=clock)
    token = bearer()
    with pytest.raises(InvalidToken, match="not valid yet"):
        verifier.verify(token)
    assert verifier.cached_tokens == 0  # only successful verifications are remembered


def test_a_token_with_a_changed_signature_is_not_served_from_the_cache():
    verifier = TokenVerifier(KEYS.jwks(), clock=FakeClock(T0))
    token = bearer()
    verifier.verify(token)
    head, payload, signature = token.removeprefix("Bearer ").split(".")
    forged_signature = jwt.utils.base64url_encode(bytes(64)).decode()
    with pytest.raises(InvalidToken):
        verifier.verify(f"Bearer {head}.{payload}.{forged_signature}")
    # The same claims signed by a key the verifier does not know: a different token, refused.
    foreign = bearer(keys=OTHER_KEYS)
    assert foreign.split(".")[1] == token.split(".")[1]
    with pytest.raises(InvalidToken):
        verifier.verify(foreign)
    assert verifier.cached_tokens == 1


def test_a_token_with_changed_claims_is_not_served_from_the_cache():
    verifier = TokenVerifier(KEYS.jwks(), clock=FakeClock(T0))
    token = bearer()
    verifier.verify(token)
    head, _, signature = token.removeprefix("Bearer ").split(".")
    admin_claims = jwt.utils.base64url_encode(
        b'{"sub":"alice","role":"ADMIN","iss":"booking-mesh","aud":"booking-api","iat":1900000000,"exp":1900000600}'
    ).decode()
    with pytest.raises(InvalidToken):
        verifier.verify(f"Bearer {head}.{admin_claims}.{signature}")


def test_the_cache_is_bounded_and_keeps_the_recently_used_tokens(monkeypatch):
    verifier = TokenVerifier(KEYS.jwks(), clock=FakeClock(T0), cache_size=3)
    decodes = counting_decodes(verifier, monkeypatch)
    tokens = [bearer(f"user-{i}") for i in range(5)]
    for token in tokens[:3]:
        verifier.verify(token)
    verifier.verify(tokens[0])  # now the most recently used
    for token in tokens[3:]:
        verifier.verify(token)
    assert verifier.cached_tokens == 3
    decodes.clear()
    verifier.verify(tokens[0])
    assert decodes == []
    verifier.verify(tokens[1])
    assert len(decodes) == 1  # evicted, so checked again


def test_a_zero_sized_cache_verifies_every_time(monkeypatch):
    verifier = TokenVerifier(KEYS.jwks(), clock=FakeClock(T0), cache_size=0)
    decodes = counting_decodes(verifier, monkeypatch)
    token = bearer()
    verifier.verify(token)
    verifier.verify(token)
    assert len(decodes) == 2 and verifier.cached_tokens == 0
