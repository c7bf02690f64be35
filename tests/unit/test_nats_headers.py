"""The split header parser gives what nats-py's email-based parse gives for NATS headers."""

from email.parser import BytesParser

from hypothesis import given
from hypothesis import strategies as st

from hub.nats_headers import HeaderParser, use_fast_headers

NAME = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=":"),
    min_size=1,
    max_size=20,
)
VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


def email_parse(raw: bytes) -> dict[str, str]:
    # What nats-py does without our parser (nats/aio/client.py, _process_headers).
    return {k.strip(): v.strip() for k, v in BytesParser().parsebytes(raw).items()}


@given(st.lists(st.tuples(NAME, VALUE), max_size=8))
def test_same_as_the_email_parser_for_header_lines(pairs: list[tuple[str, str]]) -> None:
    raw = b"".join(f"{n}: {v}\r\n".encode() for n, v in pairs) + b"\r\n"
    assert HeaderParser().parsebytes(raw) == email_parse(raw)


def test_message_ids_with_colons_and_the_content_type() -> None:
    raw = b"Content-Type: application/cloudevents+json\r\nNats-Msg-Id: deadletter:a:b\r\n\r\n"
    assert HeaderParser().parsebytes(raw) == {
        "Content-Type": "application/cloudevents+json",
        "Nats-Msg-Id": "deadletter:a:b",
    }


def test_invalid_utf8_becomes_replacement_characters_not_surrogates() -> None:
    headers = HeaderParser().parsebytes(b"Nats-Msg-Id: \xff\xfe\r\n\r\n")
    assert headers["Nats-Msg-Id"] == "\ufffd\ufffd"
    headers["Nats-Msg-Id"].encode()  # storable as UTF-8


def test_lines_without_a_colon_are_ignored() -> None:
    assert HeaderParser().parsebytes(b"garbage\r\nA: 1\r\n\r\n") == {"A": "1"}


def test_installed_only_on_a_client_that_keeps_a_parser() -> None:
    class Client:
        _hdr_parser = BytesParser()

    client, other = Client(), object()
    use_fast_headers(client)
    use_fast_headers(other)
    assert isinstance(client._hdr_parser, HeaderParser)
