"""WeChat's side of message encryption (消息加解密), written from WeChat's documentation and not from
the desk's code, so a test can't pass by the desk agreeing with itself:

- AESKey = base64decode(EncodingAESKey + "="), 32 bytes; the IV is its first 16 bytes.
- Encrypt = base64(AES-256-CBC(random(16) + len(msg) as 4 bytes big-endian + msg + AppID)), padded
  PKCS#7-style to a multiple of 32 bytes.
- msg_signature = sha1 of the sorted, concatenated [token, timestamp, nonce, Encrypt].

The official sample vectors (from WeChat's WXBizMsgCrypt samples) pin this peer to the real thing.
"""
from __future__ import annotations

import base64
import hashlib
import os
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# WeChat's Java sample (WXBizMsgCryptTest): encrypting 我是中文abcd123 with the random string
# aaaabbbbccccdddd gives this ciphertext.
JAVA_SAMPLE = dict(encoding_aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", token="pamtest",
                   app_id="wxb11529c136998cb6", random=b"aaaabbbbccccdddd", message="我是中文abcd123",
                   encrypted="jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVO"
                             "fg==")
# WeChat's Python sample (Sample.py): a compatible-mode push (plaintext fields and <Encrypt>) with its
# query string's timestamp, nonce and msg_signature.
PYTHON_SAMPLE = dict(
    encoding_aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", token="spamtest", app_id="wx2c2769f8efd9abc2",
    timestamp="1409735669", nonce="1320562132", msg_signature="5d197aaffba7e9b25a30732f161a50dee96bd5fa",
    body=("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs"
          "]]></FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA["
          "abcdteT]]></Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53R"
          "EIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE3"
          "28HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KW"
          "wMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6Oewpus"
          "jZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=]]></Encrypt></xml>").encode())


@dataclass
class PeerCrypto:
    encoding_aes_key: str
    app_id: str
    token: str

    @property
    def key(self) -> bytes:
        key = base64.b64decode(self.encoding_aes_key + "=")
        assert len(key) == 32
        return key

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: bytes, *, random: bytes | None = None, app_id: str | None = None) -> str:
        data = (random or os.urandom(16)) + struct.pack("!I", len(message)) + message + (app_id or self.app_id).encode()
        n = 32 - (len(data) % 32)
        data += bytes([n] * n)
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(data) + enc.finalize()).decode()

    def decrypt(self, encrypted: str) -> tuple[bytes, str]:
        dec = self._cipher().decryptor()
        data = dec.update(base64.b64decode(encrypted)) + dec.finalize()
        data = data[:-data[-1]]
        (size,) = struct.unpack("!I", data[16:20])
        return data[20:20 + size], data[20 + size:].decode()

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return hashlib.sha1("".join(sorted([self.token, timestamp, nonce, encrypted])).encode()).hexdigest()
