"""bot.wecom.crypto against the official vectors (wecom-reference §1.8) and hostile input."""

from __future__ import annotations

import base64

import pytest
from wechatpy.crypto.base import WeChatCipher
from wechatpy.work.crypto import WeChatCrypto

from bot.wecom.crypto import CryptoError, EnvelopeError, WeComCrypto, parse_envelope, parse_plain

A_TOKEN, A_KEY = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
A_CORP = "wx5823bf96d3bd56c7"
A_ECHO = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
A_POST_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3Qczc"
    "dCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd"
    "4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r"
    "+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4"
    "XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIG"
    "HBZZIs2pDBS8R07+qN+E7Q=="
)
A_POST_PLAIN = (
    b"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    b"<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    b"<CreateTime>1409659813</CreateTime>\n"
    b"<MsgType><![CDATA[text]]></MsgType>\n"
    b"<Content><![CDATA[hello]]></Content>\n"
    b"<MsgId>4561255354251345929</MsgId>\n"
    b"<AgentID>218</AgentID>\n"
    b"</xml>"
)
B_TOKEN, B_KEY, B_CORP = (
    "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
    "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
    "ww1436e0e65a779aee",
)
B_ECHO = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
B_POST_ENCRYPT = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAg"
    "GzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9"
    "U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qA"
    "RR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL"
    "6aSDPOYuPDGOCI8jmnKiypE+"
)
B_POST_PLAIN = (
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
    "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
    "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
).encode()
REPLY_PLAIN = (
    b"<xml><ToUserName><![CDATA[mycreate]]></ToUserName><FromUserName><![CDATA[wx5823bf96d3bd56c7]]>"
    b"</FromUserName><CreateTime>1409659813</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    b"<Content><![CDATA[hello back]]></Content></xml>"
)
REPLY_ENCRYPT = (
    "y514aRT8yYkYNee3kPvkrPENw5b82x/uh2vcPCLzfT1ULZqNBpCf+FKLjQWgwgLkdd/om4Yiu1wInvxJLl8Pg/9GOA/Z"
    "2Ke+pdRK5P2JXZlZ4t0rVz99R8Wyxzs4xTcX1D9ydvyE25eKyEHc4G78WJCdb14Xvux/0fFujykSXh4+MX5VCGutub"
    "PcgLiTSK0NyH8pCQZkZQin857W54fmX4lZFSkItcoIh5mg6DXrcG4ZpJ9JSx9P/WjogQotcTStIiqISVw28tfhS1ga"
    "XBP7Aw0s08lM8RFXXEn3icvczmRwgZNfezkIhYkOWkWc8GzYiyfB2N0sNCc1AvjTVUumNuWcVvhSwn5YsKh2DcrGLy"
    "aVshoOV86lQDVr4HIweo66"
)


@pytest.fixture
def a() -> WeComCrypto:
    """Set A credentials."""
    return WeComCrypto(A_TOKEN, A_KEY, A_CORP)


@pytest.fixture
def b() -> WeComCrypto:
    """Set B credentials."""
    return WeComCrypto(B_TOKEN, B_KEY, B_CORP)


def _post_body(corp: str, encrypt: str, agent: str) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
        f"<AgentID><![CDATA[{agent}]]></AgentID></xml>"
    ).encode()


def test_set_a_url_verification(a: WeComCrypto) -> None:
    sig = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
    assert a.verify(sig, "1409659589", "263014780", A_ECHO)
    assert a.decrypt(A_ECHO) == b"1616140317555161061"


def test_set_a_post(a: WeComCrypto) -> None:
    envelope = parse_envelope(_post_body(A_CORP, A_POST_ENCRYPT, "218"))
    assert envelope == {"ToUserName": A_CORP, "Encrypt": A_POST_ENCRYPT, "AgentID": "218"}
    assert a.verify("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149",
                    envelope["Encrypt"])  # fmt: skip
    plain = a.decrypt(envelope["Encrypt"])
    assert plain == A_POST_PLAIN
    assert parse_plain(plain) == {
        "ToUserName": A_CORP, "FromUserName": "mycreate", "CreateTime": "1409659813",
        "MsgType": "text", "Content": "hello", "MsgId": "4561255354251345929", "AgentID": "218",
    }  # fmt: skip


def test_set_b_url_verification(b: WeComCrypto) -> None:
    sig = "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
    assert b.verify(sig, "1476416373", "47744683", B_ECHO)
    assert b.decrypt(B_ECHO) == b"1288432023552776189"


def test_set_b_post(b: WeComCrypto) -> None:
    envelope = parse_envelope(_post_body(B_CORP, B_POST_ENCRYPT, "1000002"))
    assert b.verify("0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914",
                    envelope["Encrypt"])  # fmt: skip
    plain = b.decrypt(envelope["Encrypt"])
    assert plain == B_POST_PLAIN
    assert parse_plain(plain)["Content"] == "你好"


def test_derived_reply_vector(a: WeComCrypto) -> None:
    random16 = b"1234567890123456"
    assert a.encrypt(REPLY_PLAIN, random16=random16) == REPLY_ENCRYPT
    assert a.signature("1409659813", "1372623149", REPLY_ENCRYPT) == (
        "1512338e6713fde1515b506c28b54bc9322c4f09"
    )
    envelope = parse_envelope(a.build_reply(REPLY_PLAIN, "1409659813", "1372623149",
                                            random16=random16))  # fmt: skip
    assert envelope == {
        "Encrypt": REPLY_ENCRYPT,
        "MsgSignature": "1512338e6713fde1515b506c28b54bc9322c4f09",
        "TimeStamp": "1409659813",
        "Nonce": "1372623149",
    }


def test_reply_readable_by_wechatpy(a: WeComCrypto) -> None:
    reply = a.build_reply(REPLY_PLAIN, "1409659813", "1372623149")
    envelope = parse_envelope(reply)
    theirs = WeChatCrypto(A_TOKEN, A_KEY, A_CORP)
    plain = theirs.decrypt_message(reply.decode(), envelope["MsgSignature"], "1409659813",
                                   "1372623149")  # fmt: skip
    assert plain == REPLY_PLAIN.decode()


@pytest.mark.parametrize("size", [0, 1, 11, 12, 13, 43, 44, 45, 1000])
def test_round_trip_every_padding(a: WeComCrypto, size: int) -> None:
    # Sizes around 32-byte boundaries (16 random + 4 length + 18 corp id = 38 overhead).
    message = ("好" * size).encode()[:size]
    assert a.decrypt(a.encrypt(message)) == message


def test_tampered_signature(a: WeComCrypto) -> None:
    good = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
    assert not a.verify(good[:-1] + "4", "1409659589", "263014780", A_ECHO)
    assert not a.verify(good, "1409659590", "263014780", A_ECHO)
    assert not a.verify("", "1409659589", "263014780", A_ECHO)
    assert not a.verify("签名", "1409659589", "263014780", A_ECHO)


def test_wrong_receive_id() -> None:
    other = WeComCrypto(A_TOKEN, A_KEY, "wwsomeoneelse")
    with pytest.raises(CryptoError, match="receive id"):
        other.decrypt(A_ECHO)


def _raw_encrypt(key: str, plaintext: bytes) -> str:
    cipher = WeChatCipher(base64.b64decode(key + "="))
    return base64.b64encode(cipher.encrypt(plaintext)).decode()


@pytest.mark.parametrize(
    "tail",
    [
        bytes([0]) * 32,  # pad value 0
        bytes([33]) * 32,  # pad value above the 32-byte block
        bytes([5]) * 31 + bytes([4]),  # pad bytes that disagree
        b"x" * 28 + bytes([9, 9, 7, 4]),
    ],
)
def test_bad_padding(a: WeComCrypto, tail: bytes) -> None:
    body = b"0" * 16 + (5).to_bytes(4, "big") + b"hello" + A_CORP.encode()
    plaintext = body + b"\x00" * (-len(body) % 32)  # fill to a block, then a whole bad block
    with pytest.raises(CryptoError, match="padding"):
        a.decrypt(_raw_encrypt(A_KEY, plaintext + tail))


def test_length_field_beyond_plaintext(a: WeComCrypto) -> None:
    body = b"0" * 16 + (999).to_bytes(4, "big") + b"hello" + A_CORP.encode()
    padded = body + bytes([32 - len(body) % 32]) * (32 - len(body) % 32)
    with pytest.raises(CryptoError, match="length"):
        a.decrypt(_raw_encrypt(A_KEY, padded))


@pytest.mark.parametrize(
    "encrypt",
    ["", "not base64!", "P9nAzCzyDtyTWESH", A_ECHO[:-4], A_ECHO + "AAAA", "AAAA" * 3],
)
def test_garbage_ciphertext(a: WeComCrypto, encrypt: str) -> None:
    with pytest.raises(CryptoError):
        a.decrypt(encrypt)


@pytest.mark.parametrize("key", ["short", A_KEY + "A", "!" * 43])
def test_bad_aes_key(key: str) -> None:
    with pytest.raises(CryptoError, match="EncodingAESKey"):
        WeComCrypto(A_TOKEN, key, A_CORP)


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "lol">'
    + b"".join(
        b'<!ENTITY %s "%s">' % (chr(98 + i).encode(), (b"&" + chr(97 + i).encode() + b";") * 10)
        for i in range(12)
    )
    + b"]><xml><Encrypt>&m;</Encrypt></xml>"
)
HOSTILE = {
    # 10^12 "lol"s if expanded: finishing at all shows nothing was expanded.
    "billion laughs": BILLION_LAUGHS,
    "external entity": b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<xml><Encrypt>&x;</Encrypt></xml>",
    "external dtd": b'<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd"><xml><Encrypt>a</Encrypt></xml>',
    "bare dtd": b"<!DOCTYPE xml><xml><Encrypt>a</Encrypt></xml>",
    "parameter entity": b'<!DOCTYPE xml [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
    b"<xml><Encrypt>a</Encrypt></xml>",
}
MALFORMED = {
    "empty": b"",
    "not xml": b"hello",
    "unclosed": b"<xml><Encrypt>abc</Encrypt>",
    "wrong root": b"<root><Encrypt>abc</Encrypt></root>",
    "no encrypt": b"<xml><ToUserName>a</ToUserName></xml>",
    "undefined entity": b"<xml><Encrypt>&nope;</Encrypt></xml>",
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_xml_rejected(body: bytes) -> None:
    with pytest.raises(EnvelopeError, match="forbidden"):
        parse_envelope(body)
    with pytest.raises(EnvelopeError, match="forbidden"):
        parse_plain(body)


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_envelope_rejected(body: bytes) -> None:
    with pytest.raises(EnvelopeError):
        parse_envelope(body)


def test_parse_plain_shape() -> None:
    xml = (
        b"<xml><MsgType>event</MsgType><Content>  spaced  </Content><Empty/>"
        b"<MemChangeList><Item>u1</Item><Item>u2</Item></MemChangeList>"
        b"<MsgType>dup</MsgType><Text><![CDATA[a]]]]><![CDATA[>b]]></Text></xml>"
    )
    assert parse_plain(xml) == {
        "MsgType": "event",  # first occurrence wins
        "Content": "  spaced  ",  # text kept verbatim
        "Empty": "",
        "MemChangeList": "",  # nested elements are not flattened
        "Text": "a]]>b",
    }
