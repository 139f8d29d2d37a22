"""Stateless card challenges: recognised only by the key that issued them, for the
terminal they were issued to, until they expire."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from ballot_server.challenges import CHALLENGE_ID_BYTES, ChallengeKey

KEY = ChallengeKey(os.urandom(32))
NOW = 1_800_000_000


def test_an_issued_challenge_is_recognised_with_the_same_bytes() -> None:
    issued = KEY.issue("T1", NOW + 120)
    found = KEY.recognise("T1", issued.challenge_id, NOW)
    assert found == issued
    assert len(issued.challenge) == 32
    assert len(issued.challenge_id) == 2 * CHALLENGE_ID_BYTES


def test_every_issue_is_a_fresh_challenge() -> None:
    first, second = KEY.issue("T1", NOW), KEY.issue("T1", NOW)
    assert first.challenge_id != second.challenge_id
    assert first.challenge != second.challenge


def test_another_terminal_another_key_or_a_late_answer_is_not_recognised() -> None:
    issued = KEY.issue("T1", NOW + 120)
    assert KEY.recognise("T2", issued.challenge_id, NOW) is None
    assert ChallengeKey(os.urandom(32)).recognise("T1", issued.challenge_id, NOW) is None
    assert KEY.recognise("T1", issued.challenge_id, NOW + 120) is not None
    assert KEY.recognise("T1", issued.challenge_id, NOW + 121) is None


def test_a_changed_expiry_random_part_or_tag_is_not_recognised() -> None:
    identifier = bytes.fromhex(KEY.issue("T1", NOW + 120).challenge_id)
    for index in (0, 7, 8, 23, 24, CHALLENGE_ID_BYTES - 1):
        changed = bytearray(identifier)
        changed[index] ^= 0x01
        assert KEY.recognise("T1", changed.hex(), NOW) is None, index


def test_an_id_has_one_spelling_upper_case_is_refused() -> None:
    issued = KEY.issue("T1", NOW + 120)
    assert KEY.recognise("T1", issued.challenge_id.upper(), NOW) is None


def test_the_key_is_derived_from_the_inquiry_seed_and_never_shown() -> None:
    seed = os.urandom(32)
    issued = ChallengeKey.from_seed(seed).issue("T1", NOW + 60)
    assert ChallengeKey.from_seed(seed).recognise("T1", issued.challenge_id, NOW) == issued
    assert seed.hex() not in repr(ChallengeKey.from_seed(seed))


@given(st.text(max_size=200))
def test_junk_is_never_recognised(junk: str) -> None:
    assert KEY.recognise("T1", junk, NOW) is None
