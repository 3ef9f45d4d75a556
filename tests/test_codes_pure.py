"""Access codes and admissions as pure functions: no app, no database."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.domain import access_codes
from survey.domain.access_codes import ALPHABET, CodeError, code_hash, display, generate, normalise

code_strategy = st.text(alphabet=ALPHABET, min_size=8, max_size=8)


def test_the_alphabet_has_no_look_alikes_and_no_repeats():
    for ch in "0O1IL5S2Z8B6GQUV":
        assert ch not in ALPHABET
    assert access_codes.CONFUSABLE == "0O1IL5S2Z8B6GQUV"
    assert len(set(ALPHABET)) == len(ALPHABET) == 20
    assert ALPHABET.upper() == ALPHABET and ALPHABET.isalnum()


@given(code_strategy)
def test_a_displayed_code_normalises_back_to_itself(code):
    shown = display(code)
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", shown)
    assert normalise(shown) == code
    assert normalise(shown.lower()) == code
    assert normalise(" " + shown.replace("-", " ") + " \n") == code
    assert normalise(shown.replace("-", "\u2013")) == code  # an en dash from a phone
    assert normalise(code[:2] + " " + code[2:5] + "." + code[5:]) == code


@given(code_strategy)
def test_full_width_characters_fold_to_the_code(code):
    wide = "".join(chr(ord(ch) + 0xFEE0) for ch in code)
    assert normalise(wide) == code


@pytest.mark.parametrize(
    "typed, reason, character",
    [
        ("", "empty", ""),
        (None, "empty", ""),
        ("  - ", "empty", ""),
        ("K7RM-XH4", "length", ""),
        ("K7RM-XH4PP", "length", ""),
        ("K7RM-XH0P", "character", "0"),
        ("k7rm-xhop", "character", "O"),
        ("K7RM-XH1P", "character", "1"),
        ("K7RM-XHLP", "character", "L"),
        ("K7RM-5H4P", "character", "5"),
        ("K7RM-ZH4P", "character", "Z"),
        ("K7RM-XH8P", "character", "8"),
        ("K7RM-XHBP", "character", "B"),
        ("K7RM/XH4P", "character", "/"),
        ("K7RM-XH4P\x00", "character", "\x00"),
    ],
)
def test_what_cannot_be_a_code_is_refused_with_a_reason(typed, reason, character):
    with pytest.raises(CodeError) as caught:
        normalise(typed)
    assert caught.value.reason == reason
    assert caught.value.character == character


def test_a_very_long_paste_is_cut_before_it_is_looked_at():
    with pytest.raises(CodeError) as caught:
        normalise("A" * 100_000)
    assert caught.value.reason == "length"


@settings(max_examples=20)
@given(st.integers(min_value=1, max_value=400))
def test_a_batch_is_unique_and_drawn_from_the_alphabet(count):
    batch = generate(count)
    assert len(batch) == count == len(set(batch))
    assert all(len(c) == 8 and set(c) <= set(ALPHABET) for c in batch)


def test_a_batch_of_the_largest_size_is_unique_and_avoids_what_exists():
    avoid = set(generate(100))
    batch = generate(access_codes.MAX_COUNT, avoid=avoid)
    assert len(set(batch)) == access_codes.MAX_COUNT
    assert not avoid & set(batch)
    for bad in (0, -1, access_codes.MAX_COUNT + 1):
        with pytest.raises(ValueError):
            generate(bad)


def test_generated_codes_are_spread_over_the_alphabet():
    seen = "".join(generate(2000))
    counts = [seen.count(ch) for ch in ALPHABET]
    expected = len(seen) / len(ALPHABET)
    assert min(counts) > expected * 0.8 and max(counts) < expected * 1.2


@given(code_strategy)
def test_the_hash_is_keyed_hmac_sha256(code):
    digest = code_hash(code, "key-one")
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == code_hash(code, b"key-one")
    assert digest != code_hash(code, "key-two")  # a rotated key no longer matches
    import hashlib

    assert digest != hashlib.sha256(code.encode()).hexdigest()  # not a plain hash


def test_an_admission_admits_its_office_and_nonce_only():
    nonce = "a" * 32
    token = access_codes.admission("key", 7, nonce)
    assert access_codes.admits("key", token, 7, nonce)
    assert not access_codes.admits("key", token, 8, nonce)
    assert not access_codes.admits("key", token, 7, "b" * 32)
    assert not access_codes.admits("other-key", token, 7, nonce)
    assert not access_codes.admits(
        "key", token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), 7, nonce
    )
    for junk in (None, "", "x", "a.b.c", "é" * 40, "x" * 10_000):
        assert not access_codes.admits("key", junk, 7, nonce)


def test_an_admission_expires():
    token = access_codes.admission("key", 7, "a" * 32)
    time.sleep(1.1)
    assert access_codes.read_admission("key", token, max_age=0) is None
    assert access_codes.read_admission("key", token, max_age=60) == access_codes.Admission(
        7, "a" * 32
    )


def test_a_signed_payload_of_another_shape_is_no_admission():
    from itsdangerous import URLSafeTimedSerializer

    signer = URLSafeTimedSerializer("key", salt=access_codes.ADMISSION_SALT)
    for payload in (
        [7, "n"],
        {"office": "7", "nonce": "n"},
        {"office": True, "nonce": "n"},
        {"office": 7, "nonce": 5},
        "text",
    ):
        assert access_codes.read_admission("key", signer.dumps(payload)) is None


@pytest.mark.parametrize("configured, minimum", [(None, 20), (0, 20), (5, 20), (20, 20), (50, 50)])
def test_a_batch_is_never_allowed_below_twenty(configured, minimum):
    assert access_codes.BATCH_MIN_FLOOR == 20
    assert access_codes.batch_minimum(configured) == minimum
