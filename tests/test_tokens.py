"""AccessToken2 RTC tokens: Agora's reference vectors, round trips, tampering and input rules.

The reference tokens come from the tests of Agora's open-source token tools
(github.com/AgoraIO/Tools, DynamicKey/AgoraDynamicKey/python3/test/AccessToken2Test.py).
Tampered tokens are made here with a small packer written independently of the module.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import string
import struct
import time
import zlib

import attrs
import pytest
from agora_recording.errors import AgoraError, ValidationError
from agora_recording.tokens import (
    MAX_TOKEN_EXPIRE,
    InvalidTokenError,
    ParsedToken,
    Privilege,
    Role,
    ServiceType,
    TokenExpiredError,
    TokenFormatError,
    TokenLifetimeError,
    TokenSignatureError,
    build_rtc_token,
    check_token,
    parse_token,
    token_expiry_for,
    verify_token,
)
from hypothesis import given
from hypothesis import strategies as st

# Inputs of Agora's reference tests.
APP_ID = "970CA35de60c44645bbae8a215061b33"
CERT = "5CFd2fd1755d40ecb72977518be15d3b"
CHANNEL = "7d72365eb983485397e3e3f9d460bdda"
UID = 2882341273
ISSUED_AT = 1111111
EXPIRE = 600
SALT = 1

# AccessToken2Test.test_service_rtc and test_service_rtc_account: join privilege only.
REF_UID = (
    "007eJxTYBBbsMMnKq7p9Hf/HcIX5kce9b518kCiQgSr5Zrp4X1Tu6UUGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcw"
    "Mk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiVwMRhYWRsYmhkbmxgDCaiTj"
)
# AccessToken2Test.test_service_rtc_uid_0.
REF_UID_0 = (
    "007eJxTYLhzZP08Lxa1Pg57+TcXb/3cZ3wi4V6kbpbOog0G2dOYk20UGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcw"
    "Mk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiQwMADacImo="
)
# AccessToken2Test.test_multi_service: RTC (4 privileges), RTM, FPA, chat and APaaS.
REF_MULTI = (
    "007eJxTYHh8IPKzTvBdf9ce8bk7G61vs06oca1e815/ot4+x7rfjDIKDJbmBs6OxqYpqWYGySYmZiamSUmJqRaJRoamBmaG"
    "ScbG7l8EGCKYGBgYGRgYWIEkCxCD+ExgkhlMsoBJBQbzFHMjYzPT1CRLC2MTC1NjS/NU41TjNMsUEzODpJSURC4GIwsLI2"
    "MTQyNzYyagORCTkEVZ4KKsWOXZgWIQm1HF//8HAL01L5I="
)
# AccessToken2Test.test_parse_extended_services_from_cpp: streaming, FCDN and RTM2.
REF_EXTENDED = (
    "007eJxTYPj86Lzdz79M25wNn/lMfvu+TkfmdpiviKvChm8ZV3SWndytwGBpbuDsaGyakmpmkGxiYmZimpSUmGqRaGRoamBm"
    "mGRs7P5FgCGCiYGBkYGBgRkImYAsEJ8JTCowmKeYGxmbmaYmWVoYm1iYGluapxqnGqdZppiYGSSlpCRyMRhZWBgZmxgamR"
    "uzUaSbA6gXopuToSS1uCS+tDi1iJkB4jQmoGBuanFxYnqqbiKCmcTIAIEcDMUlRamJubqJLGD1jAxsDCD9uokAO/VDvQ=="
)

OTHER_CERT = "0123456789abcdef0123456789ABCDEF"
ALL_PRIVILEGES = dict.fromkeys(Privilege, EXPIRE)
CHANNEL_CHARS = string.ascii_letters + string.digits + " !#$%&()+-:;<=.>?@[]^_{}|~,"


def _reference(uid: int | str) -> str:
    """Build with the inputs of Agora's reference tests (join only, so the subscriber role)."""
    return build_rtc_token(
        APP_ID,
        CERT,
        CHANNEL,
        uid,
        role=Role.SUBSCRIBER,
        token_expire=EXPIRE,
        privilege_expire=EXPIRE,
        issued_at=ISSUED_AT,
        salt=SALT,
    )


# An independent packer, to make tokens the module would never build.


def _s(data: bytes) -> bytes:
    return struct.pack("<H", len(data)) + data


def _content(services: bytes, count: int, *, app_id: bytes = APP_ID.encode()) -> bytes:
    return _s(app_id) + struct.pack("<IIIH", ISSUED_AT, EXPIRE, SALT, count) + services


def _service(kind: int, privileges: dict[int, int], *fields: bytes) -> bytes:
    packed = struct.pack("<HH", kind, len(privileges))
    packed += b"".join(struct.pack("<HI", k, v) for k, v in sorted(privileges.items()))
    return packed + b"".join(_s(f) for f in fields)


def _signature(content: bytes, cert: str = CERT) -> bytes:
    key = hmac.new(struct.pack("<I", ISSUED_AT), cert.encode(), hashlib.sha256).digest()
    key = hmac.new(struct.pack("<I", SALT), key, hashlib.sha256).digest()
    return hmac.new(key, content, hashlib.sha256).digest()


def _wrap(raw: bytes) -> str:
    return "007" + base64.b64encode(zlib.compress(raw)).decode()


def _raw(token: str) -> bytes:
    return zlib.decompress(base64.b64decode(token[3:]))


# --- Agora's reference tokens -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("uid", "expected"),
    [(UID, REF_UID), (0, REF_UID_0), (str(UID), REF_UID)],
    ids=["uid", "uid-0", "account"],
)
def test_reference_vectors_are_reproduced_byte_for_byte(uid: int | str, expected: str) -> None:
    """Fixed inputs give exactly the tokens Agora's own tools publish in their tests."""
    assert _reference(uid) == expected


def test_publisher_service_is_packed_as_in_agoras_multi_service_token() -> None:
    """A publisher's RTC service (four privileges) has the exact bytes of Agora's reference."""
    token = build_rtc_token(
        APP_ID, CERT, CHANNEL, UID, token_expire=EXPIRE, issued_at=ISSUED_AT, salt=SALT
    )
    services_offset = 2 + 32 + 2 + 32 + 4 + 4 + 4 + 2
    ours = _raw(token)[services_offset:]
    assert len(ours) == 2 + 2 + 4 * 6 + 2 + len(CHANNEL) + 2 + len(str(UID))
    assert _raw(REF_MULTI)[services_offset : services_offset + len(ours)] == ours


@pytest.mark.parametrize("token", [REF_UID, REF_UID_0, REF_MULTI, REF_EXTENDED])
def test_reference_tokens_verify_with_their_certificate_only(token: str) -> None:
    """Agora's tokens pass verification with the right certificate and fail with another."""
    assert verify_token(token, CERT)
    assert not verify_token(token, OTHER_CERT)


def test_reference_token_parses_to_its_inputs() -> None:
    """Parsing a reference token gives back the app ID, times, salt, channel, uid and privilege."""
    parsed = parse_token(REF_UID)
    assert isinstance(parsed, ParsedToken)
    assert (parsed.app_id, parsed.issued_at, parsed.expire, parsed.salt) == (
        APP_ID,
        ISSUED_AT,
        EXPIRE,
        SALT,
    )
    assert parsed.expires_at == ISSUED_AT + EXPIRE
    assert len(parsed.services) == 1
    rtc = parsed.rtc
    assert rtc is not None
    assert rtc.type is ServiceType.RTC
    assert (rtc.channel_name, rtc.user) == (CHANNEL, str(UID))
    assert dict(rtc.privileges) == {Privilege.JOIN_CHANNEL: EXPIRE}
    assert parse_token(REF_UID_0).services[0].user == ""


def test_multi_service_reference_token_lists_every_service() -> None:
    """A token with RTC, RTM, FPA, chat and APaaS services parses each one, in order."""
    parsed = check_token(REF_MULTI, CERT)
    assert [s.type for s in parsed.services] == [
        ServiceType.RTC,
        ServiceType.RTM,
        ServiceType.FPA,
        ServiceType.CHAT,
        ServiceType.APAAS,
    ]
    assert parsed.services[0].privileges == ALL_PRIVILEGES
    assert [s.user for s in parsed.services] == [str(UID), str(UID), None, str(UID), str(UID)]
    assert parsed.unparsed_services == 0


def test_extended_reference_token_reads_streaming_fcdn_and_rtm2() -> None:
    """Streaming, FCDN and RTM2 services (with RTM2 permissions) parse without an RTC service."""
    parsed = check_token(REF_EXTENDED, CERT)
    assert [(s.type, s.channel_name, s.user) for s in parsed.services] == [
        (ServiceType.STREAMING, CHANNEL, str(UID)),
        (ServiceType.FCDN, CHANNEL, str(UID)),
        (ServiceType.RTM2, None, "test_user"),
    ]
    assert parsed.rtc is None
    assert not parsed.grants_join(CHANNEL, UID)


# --- building ---------------------------------------------------------------------------------


def test_publisher_gets_join_and_publish_privileges_subscriber_only_join() -> None:
    """The publisher role grants join and the three publish privileges; subscriber only join."""
    publisher = parse_token(build_rtc_token(APP_ID, CERT, CHANNEL, UID, token_expire=3600))
    subscriber = parse_token(
        build_rtc_token(APP_ID, CERT, CHANNEL, UID, role=Role.SUBSCRIBER, token_expire=3600)
    )
    assert publisher.rtc is not None
    assert subscriber.rtc is not None
    assert publisher.rtc.privileges == dict.fromkeys(Privilege, 3600)
    assert subscriber.rtc.privileges == {Privilege.JOIN_CHANNEL: 3600}


def test_privilege_expiry_may_be_shorter_than_the_token() -> None:
    """privilege_expire is stored per privilege while token_expire stays the token's lifetime."""
    parsed = parse_token(
        build_rtc_token(
            APP_ID, CERT, CHANNEL, UID, token_expire=7200, privilege_expire=3600, issued_at=100
        )
    )
    assert parsed.expire == 7200
    assert parsed.expires_at == 7300
    assert parsed.privilege_expires_at(Privilege.PUBLISH_VIDEO_STREAM) == 3700


def test_defaults_use_the_current_time_a_random_salt_and_24_hours() -> None:
    """Without issued_at and salt the token is stamped now, salted randomly and valid 24 h."""
    before = int(time.time())
    first = parse_token(build_rtc_token(APP_ID, CERT, CHANNEL, UID))
    after = int(time.time())
    second = parse_token(build_rtc_token(APP_ID, CERT, CHANNEL, UID))
    assert before <= first.issued_at <= after
    assert first.expire == MAX_TOKEN_EXPIRE
    assert first.rtc is not None
    assert set(first.rtc.privileges.values()) == {MAX_TOKEN_EXPIRE}
    assert 1 <= first.salt <= 99_999_999
    assert first.salt != second.salt  # one chance in 10^8 of a false failure


def test_string_accounts_round_trip_and_bound_the_join() -> None:
    """A user account is stored as given and only that account (or uid 0 tokens) may join."""
    token = build_rtc_token(APP_ID, CERT, "room 1", "alice.smith@example", issued_at=1, salt=7)
    parsed = check_token(token, CERT)
    assert parsed.rtc is not None
    assert parsed.rtc.user == "alice.smith@example"
    assert parsed.grants_join("room 1", "alice.smith@example")
    assert not parsed.grants_join("room 1", "bob")
    assert not parsed.grants_join("room 2", "alice.smith@example")
    anyone = parse_token(build_rtc_token(APP_ID, CERT, "room 1", 0))
    assert anyone.grants_join("room 1", 527841)
    assert anyone.grants_join("room 1", "carol")


@given(
    app_id=st.text("0123456789abcdefABCDEF", min_size=32, max_size=32),
    cert=st.text("0123456789abcdef", min_size=32, max_size=32),
    channel=st.text(CHANNEL_CHARS, min_size=1, max_size=64),
    uid=st.integers(0, 2**32 - 1) | st.text(CHANNEL_CHARS, min_size=1, max_size=255),
    role=st.sampled_from(Role),
    token_expire=st.integers(1, MAX_TOKEN_EXPIRE),
    data=st.data(),
    issued_at=st.integers(0, 2**32 - 1),
    salt=st.integers(0, 2**32 - 1),
)
def test_build_then_parse_round_trips(
    app_id: str,
    cert: str,
    channel: str,
    uid: int | str,
    role: Role,
    token_expire: int,
    data: st.DataObject,
    issued_at: int,
    salt: int,
) -> None:
    """Every valid input comes back from parse_token, and only its own certificate verifies it."""
    privilege_expire = data.draw(st.integers(1, token_expire))
    token = build_rtc_token(
        app_id,
        cert,
        channel,
        uid,
        role=role,
        token_expire=token_expire,
        privilege_expire=privilege_expire,
        issued_at=issued_at,
        salt=salt,
    )
    parsed = check_token(token, cert)
    assert (parsed.app_id, parsed.issued_at, parsed.expire, parsed.salt) == (
        app_id,
        issued_at,
        token_expire,
        salt,
    )
    assert parsed.rtc is not None
    assert parsed.rtc.channel_name == channel
    assert parsed.rtc.user == ("" if uid == 0 else str(uid))
    granted = Privilege if role is Role.PUBLISHER else [Privilege.JOIN_CHANNEL]
    assert parsed.rtc.privileges == dict.fromkeys(granted, privilege_expire)
    assert parsed.grants_join(channel, uid)
    assert not verify_token(token, "f" * 32 if cert != "f" * 32 else "e" * 32)


def test_parsed_token_is_immutable() -> None:
    """A ParsedToken cannot be altered after parsing, so it can be shared safely."""
    parsed = parse_token(REF_UID)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        parsed.expire = 86400  # type: ignore[misc]
    with pytest.raises(TypeError):
        parsed.services[0].privileges[Privilege.JOIN_CHANNEL] = 1  # type: ignore[index]


# --- verification and malformed tokens --------------------------------------------------------


def test_a_changed_byte_in_the_content_fails_the_signature() -> None:
    """Editing the signed content (here the expiry) makes verification fail and says why."""
    raw = bytearray(_raw(REF_UID))
    expire_offset = 2 + 32 + 2 + 32 + 4
    assert struct.unpack_from("<I", raw, expire_offset)[0] == EXPIRE
    struct.pack_into("<I", raw, expire_offset, 86400)
    forged = _wrap(bytes(raw))
    assert parse_token(forged).expire == 86400  # parsing alone does not check the signature
    assert not verify_token(forged, CERT)
    with pytest.raises(TokenSignatureError, match="signature does not match"):
        check_token(forged, CERT)


def test_a_wrong_certificate_is_a_signature_error() -> None:
    """A token checked against another project's certificate is rejected as badly signed."""
    with pytest.raises(TokenSignatureError) as caught:
        check_token(REF_UID, OTHER_CERT)
    assert isinstance(caught.value, InvalidTokenError)


def _truncated_content() -> str:
    raw = _raw(REF_UID)
    return _wrap(raw[:-5])


def _bad_signature_length() -> str:
    content = _raw(REF_UID)[34:]
    return _wrap(_s(b"\x00" * 16) + content)


def _trailing_bytes() -> str:
    return _wrap(_raw(REF_UID) + b"\x00\x00")


def _trailing_zlib_data() -> str:
    return "007" + base64.b64encode(zlib.compress(_raw(REF_UID)) + b"xx").decode()


def _not_utf8_app_id() -> str:
    content = _content(b"", 0, app_id=b"\xff" * 32)
    return _wrap(_s(_signature(content)) + content)


def _zlib_bomb() -> str:
    return "007" + base64.b64encode(zlib.compress(b"\x00" * 200_000)).decode()


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("006" + REF_UID[3:], 'version prefix "007"'),
        ("", 'version prefix "007"'),
        ("007eJxT!YBBb", "not valid base64"),
        (REF_UID[:-3], "not valid base64"),
        ("007" + base64.b64encode(b"not zlib at all").decode(), "not a valid zlib stream"),
        ("007" + base64.b64encode(zlib.compress(_raw(REF_UID))[:-8]).decode(), "incomplete"),
        (_truncated_content(), "truncated: RTC user needs 10 bytes"),
        (_wrap(b"\x20"), "truncated: signature length"),
        (_bad_signature_length(), "signature is 16 bytes"),
        (_trailing_bytes(), "2 unexpected bytes"),
        (_trailing_zlib_data(), "trailing data after its zlib stream"),
        (_not_utf8_app_id(), "app_id is not UTF-8"),
        (_zlib_bomb(), "decompresses to over"),
    ],
    ids=[
        "version",
        "empty",
        "base64-alphabet",
        "base64-padding",
        "zlib",
        "zlib-truncated",
        "content-truncated",
        "signature-truncated",
        "signature-length",
        "trailing-bytes",
        "trailing-zlib",
        "utf8",
        "bomb",
    ],
)
def test_malformed_tokens_raise_a_value_error_naming_the_problem(token: str, problem: str) -> None:
    """Each way a token can be broken raises TokenFormatError (AgoraError, ValueError) saying so."""
    with pytest.raises(TokenFormatError) as caught:
        parse_token(token)
    assert problem in str(caught.value)
    assert isinstance(caught.value, AgoraError)
    assert isinstance(caught.value, ValueError)
    assert not verify_token(token, CERT)
    if len(token) > 3:
        assert token[3:] not in str(caught.value)


def test_a_token_that_is_not_a_string_is_refused() -> None:
    """Bytes or None in place of a token string raise TokenFormatError, not a TypeError."""
    with pytest.raises(TokenFormatError, match="must be a str"):
        parse_token(REF_UID.encode())  # type: ignore[arg-type]


def test_unknown_service_types_stop_parsing_but_still_verify() -> None:
    """Services after a type with an unknown layout are counted, and the signature still holds."""
    services = _service(ServiceType.RTC, {1: EXPIRE}, CHANNEL.encode(), b"") + _service(
        999, {1: EXPIRE}
    )
    content = _content(services, 2)
    token = _wrap(_s(_signature(content)) + content)
    parsed = check_token(token, CERT)
    assert [s.type for s in parsed.services] == [ServiceType.RTC]
    assert parsed.unparsed_services == 1
    assert parsed.grants_join(CHANNEL, 42)


def test_repeated_service_types_are_all_kept_and_the_first_rtc_counts() -> None:
    """Two RTC services stay in token order; joins are judged by the first one."""
    services = _service(ServiceType.RTC, {1: EXPIRE}, b"a", b"") + _service(
        ServiceType.RTC, {4: EXPIRE}, b"b", b"5"
    )
    content = _content(services, 2)
    parsed = check_token(_wrap(_s(_signature(content)) + content), CERT)
    assert [s.channel_name for s in parsed.services] == ["a", "b"]
    assert parsed.grants_join("a", 5)
    assert not parsed.grants_join("b", 5)


def test_expiry_is_checked_against_the_given_time() -> None:
    """check_token with now refuses a token whose lifetime or join privilege has run out."""
    token = build_rtc_token(
        APP_ID, CERT, CHANNEL, UID, token_expire=7200, privilege_expire=3600, issued_at=1000
    )
    assert check_token(token, CERT, now=4599).issued_at == 1000
    with pytest.raises(TokenExpiredError, match="join-channel privilege expired at 4600"):
        check_token(token, CERT, now=4600)
    with pytest.raises(TokenExpiredError, match="token expired at 8200"):
        check_token(token, CERT, now=8200)
    assert verify_token(token, CERT)  # verify_token looks at the signature only


# --- input validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("app_id", {"app_id": APP_ID[:-1]}),
        ("app_id", {"app_id": "g" * 32}),
        ("app_id", {"app_id": 12345}),
        ("app_certificate", {"app_certificate": CERT + "0"}),
        ("app_certificate", {"app_certificate": "z" * 32}),
        ("channel_name", {"channel_name": ""}),
        ("channel_name", {"channel_name": "c" * 65}),
        ("channel_name", {"channel_name": "no*stars"}),
        ("channel_name", {"channel_name": "é"}),
        ("uid", {"uid": -1}),
        ("uid", {"uid": 2**32}),
        ("uid", {"uid": True}),
        ("uid", {"uid": 1.5}),
        ("uid", {"uid": ""}),
        ("uid", {"uid": "a" * 256}),
        ("uid", {"uid": "tab\there"}),
        ("role", {"role": 3}),
        ("role", {"role": True}),
        ("token_expire", {"token_expire": 0}),
        ("token_expire", {"token_expire": MAX_TOKEN_EXPIRE + 1}),
        ("token_expire", {"token_expire": 600.0}),
        ("privilege_expire", {"privilege_expire": 0}),
        ("privilege_expire", {"token_expire": 600, "privilege_expire": 601}),
        ("issued_at", {"issued_at": -1}),
        ("issued_at", {"issued_at": 2**32}),
        ("salt", {"salt": -1}),
        ("salt", {"salt": 2**32}),
    ],
)
def test_invalid_inputs_are_refused_naming_the_field(
    field: str, changes: dict[str, object]
) -> None:
    """A value outside the documented rules raises ValidationError for that argument."""
    kwargs: dict[str, object] = {
        "app_id": APP_ID,
        "app_certificate": CERT,
        "channel_name": CHANNEL,
        "uid": UID,
        **changes,
    }
    with pytest.raises(ValidationError) as caught:
        build_rtc_token(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "changes",
    [
        {"uid": 2**32 - 1},
        {"uid": "a" * 255},
        {"channel_name": "c" * 64},
        {"token_expire": MAX_TOKEN_EXPIRE},
        {"issued_at": 2**32 - 1, "salt": 2**32 - 1},
        {"app_id": APP_ID.lower(), "app_certificate": CERT.upper()},
    ],
)
def test_values_at_the_limits_are_accepted(changes: dict[str, object]) -> None:
    """The largest uid, account, channel name, lifetime and timestamps still build tokens."""
    kwargs: dict[str, object] = {
        "app_id": APP_ID,
        "app_certificate": CERT,
        "channel_name": CHANNEL,
        "uid": UID,
        **changes,
    }
    token = build_rtc_token(**kwargs)  # type: ignore[arg-type]
    assert verify_token(token, str(kwargs["app_certificate"]))


# --- secrets ----------------------------------------------------------------------------------


def test_the_certificate_and_token_never_appear_in_messages_or_reprs() -> None:
    """Neither the App Certificate nor the token shows in a repr, str or exception message."""
    token = build_rtc_token(APP_ID, CERT, CHANNEL, UID)
    parsed = check_token(token, CERT)
    shown = [repr(parsed), str(parsed), repr(parsed.rtc)]
    near_miss = "5CFd2fd1755d40ecb72977518be15d3bX"  # the certificate plus one character
    failures: list[BaseException] = []
    for call in (
        lambda: build_rtc_token(APP_ID, near_miss, CHANNEL, UID),
        lambda: build_rtc_token(CERT + "!", CERT, CHANNEL, UID),
        lambda: check_token(token, near_miss),
        lambda: check_token(token, OTHER_CERT),
        lambda: check_token(token, CERT, now=2**40),
        lambda: parse_token(token[:-4]),
        lambda: parse_token("006" + token[3:]),
    ):
        with pytest.raises(AgoraError) as caught:
            call()
        failures.append(caught.value)
    shown += [str(e) for e in failures] + [repr(e) for e in failures]
    for text in shown:
        assert CERT not in text
        assert CERT.lower() not in text
        assert token[3:40] not in text
        assert parsed.signature.hex() not in text


# --- choosing a lifetime ----------------------------------------------------------------------


def test_expiry_for_a_duration_adds_the_margin() -> None:
    """A three-hour recording gets a token valid three hours plus the ten-minute margin."""
    expiry = token_expiry_for(3 * 3600)
    assert expiry.token_expire == 3 * 3600 + 600
    assert expiry.covers
    assert token_expiry_for(59.2, margin=0).token_expire == 60
    assert token_expiry_for(0, margin=0).token_expire == 1
    assert token_expiry_for(MAX_TOKEN_EXPIRE - 60, margin=60).covers


def test_expiry_for_too_long_a_duration_raises_or_reports() -> None:
    """Over 24 h with the margin, strict mode raises and lenient mode returns covers=False."""
    with pytest.raises(TokenLifetimeError, match="covers at most 85800 s, got 86000 s") as caught:
        token_expiry_for(86000)
    assert isinstance(caught.value, ValueError)
    assert caught.value.max_duration_seconds == 85800
    lenient = token_expiry_for(30 * 3600, strict=False)
    assert not lenient.covers
    assert lenient.token_expire == MAX_TOKEN_EXPIRE
    build_rtc_token(APP_ID, CERT, CHANNEL, UID, token_expire=lenient.token_expire)


@pytest.mark.parametrize(
    ("duration", "margin"),
    [(-1, 600), (float("nan"), 600), (float("inf"), 600), (True, 600), ("60", 600), (60, -1)],
)
def test_expiry_for_rejects_nonsense(duration: object, margin: int) -> None:
    """Negative, non-finite or non-numeric durations and negative margins are refused."""
    with pytest.raises(ValidationError):
        token_expiry_for(duration, margin=margin)  # type: ignore[arg-type]
