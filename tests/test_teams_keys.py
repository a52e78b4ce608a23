"""Bot Framework signing keys (bot.teams.keys): when they are fetched, and what happens when the service fails.

Against the local token service of tests/fake_openid.py, with a clock the
tests move instead of waiting.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from botframework.connector.auth import AuthenticationConstants
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from jwt.algorithms import RSAAlgorithm

from bot.teams import keys
from bot.teams.keys import KeysUnavailable, OpenIdKeys, UnknownSigningKey, parse_keys
from tests.fake_openid import KEYS_PATH, KID, FakeOpenId, rsa_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def service() -> Iterator[FakeOpenId]:
    with FakeOpenId().running() as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    return Clock()


def jwk(name: str, kid: str, **extra: object) -> dict[str, object]:
    return {**json.loads(RSAAlgorithm.to_jwk(rsa_key(name).public_key())), "kid": kid, **extra}


async def test_keys_are_fetched_once_and_kept_for_a_day(service: FakeOpenId, clock: Clock) -> None:
    source = OpenIdKeys(service.metadata_url, timeout_s=2, clock=clock)
    key = await source.get(KID)
    assert key.endorsements == ["msteams"]
    clock.now += keys.MAX_AGE_S - 1
    await source.get(KID)
    assert service.hits[KEYS_PATH] == 1
    clock.now += 2
    await source.get(KID)
    assert service.hits[KEYS_PATH] == 2


async def test_unknown_key_ids_refresh_at_most_every_few_minutes(service: FakeOpenId, clock: Clock) -> None:
    source = OpenIdKeys(service.metadata_url, timeout_s=2, clock=clock)
    await source.get(KID)
    for kid in ("forged-1", "forged-2", None, 5, ["x"]):
        with pytest.raises(UnknownSigningKey):
            await source.get(kid)
    assert service.hits[KEYS_PATH] == 1  # a stranger inventing key ids cannot make csbot fetch
    # Keys rotate: one published later is found on the next refresh the interval allows.
    service.extra_keys.append(jwk("rotated", "new-key", endorsements=["msteams"]))
    clock.now += keys.MIN_REFRESH_S
    assert (await source.get("new-key")).endorsements == ["msteams"]
    assert service.hits[KEYS_PATH] == 2


async def test_stale_keys_are_kept_while_the_service_fails(
    service: FakeOpenId, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    source = OpenIdKeys(service.metadata_url, timeout_s=2, clock=clock)
    await source.get(KID)
    service.fail = True
    clock.now += keys.MAX_AGE_S + 1
    with caplog.at_level(logging.INFO, logger="bot.teams.keys"):
        for _ in range(3):
            assert await source.get(KID)  # the day-old key still verifies tokens
        assert service.hits[KEYS_PATH] == 2  # one attempt, not one per request
        clock.now += keys.MIN_REFRESH_S
        await source.get(KID)
        assert service.hits[KEYS_PATH] == 3
        service.fail = False
        clock.now += keys.MIN_REFRESH_S
        await source.get(KID)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines  # one warning for the outage, one note when it is over
    assert "still using the keys fetched before" in lines[0] and "fetched again" in lines[1]


async def test_without_any_keys_a_failing_service_is_unavailable(service: FakeOpenId, clock: Clock) -> None:
    service.fail = True
    source = OpenIdKeys(service.metadata_url, timeout_s=2, clock=clock)
    for _ in range(2):
        with pytest.raises(KeysUnavailable):
            await source.get(KID)
    service.fail = False
    assert await source.get(KID)  # no waiting period when there is nothing to verify with


async def test_a_huge_or_empty_key_set_is_unavailable(service: FakeOpenId, clock: Clock) -> None:
    service.extra_keys.append({"kty": "oct", "kid": "padding", "k": "x" * (keys.MAX_DOCUMENT + 1)})
    with pytest.raises(KeysUnavailable):
        await OpenIdKeys(service.metadata_url, timeout_s=2, clock=clock).get(KID)
    with pytest.raises(KeysUnavailable):
        await OpenIdKeys(service.base + "/nothing-here", timeout_s=2, clock=clock).get(KID)


def test_only_well_formed_rsa_public_keys_are_used() -> None:
    good = jwk("published", "good", endorsements=["msteams", "webchat"])
    document = {
        "keys": [
            good,
            {**good, "kid": 7},
            {**good, "kid": "no-type", "kty": None},
            {**good, "kid": "private", "d": "AQAB"},
            {**good, "kid": "bad-modulus", "n": "!!!"},
            {**good, "kid": "odd-endorsements", "endorsements": "msteams"},
            "not a key",
        ]
    }
    parsed = parse_keys(document)
    assert set(parsed) == {"good", "odd-endorsements"}
    assert parsed["good"].endorsements == ["msteams", "webchat"]
    assert parsed["odd-endorsements"].endorsements == []
    assert parse_keys({"keys": "x"}) == {} and parse_keys([1]) == {} and parse_keys(None) == {}


def test_botbuilder_looks_every_key_up_through_the_installed_cache() -> None:
    sources = keys.install(timeout_s=3)
    for url in (
        AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
        AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL,
        "https://example.invalid/other",
    ):
        found = JwtTokenExtractor.get_open_id_metadata(url)
        assert isinstance(found, OpenIdKeys) and found is sources[url] and found.timeout_s == 3
