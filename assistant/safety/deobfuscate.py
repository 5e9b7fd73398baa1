"""Readings of a text that undo obfuscation, so rules and the classifier judge what a text says, not how it is spelt.

Whoever can make a model obey can make it encode what it writes, and a planted instruction or a request can be
encoded the same way: zero-width characters, look-alike letters (folded by ``assistant.text.fold``), leetspeak,
letter-by-letter spelling, base64, hex, rot13 and reversed text are all undone here, and every screen and triage
match against each reading.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re

from assistant.text import fold, unhide

LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l"}
# Only inside a word ("h0me", "k3tamine", "4t"): a free-standing "1 mg" or "0.5" stays a number.
LEET_IN_WORD = re.compile(r"(?<=[A-Za-z])[013457@$!|]|[013457@$!|](?=[A-Za-z])")
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_-]{16,}={0,2}")
HEX_RUN = re.compile(r"\b(?:[0-9a-fA-F]{2}[ :]?){12,}")
# Text spelt letter by letter ("i g n o r e", "C-A-N-A-R-Y"): at least six single characters in a row.
SPELT = re.compile(r"(?<![\w])(?:\w[\s.\-_*·]+){5,}\w(?![\w])")


def _printable(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    shown = sum(ch.isprintable() or ch in "\n\t" for ch in text)
    return text if text and shown / len(text) >= 0.9 and re.search(r"[A-Za-z]{3}", text) else None


def _base64(run: str) -> str | None:
    padded = (run + "=" * (-len(run) % 4)).encode()
    for alphabet in (b"+/", b"-_"):
        try:
            text = _printable(base64.b64decode(padded, altchars=alphabet, validate=True))
        except (binascii.Error, ValueError):
            continue
        if text:
            return text
    return None


def _unspell(match: re.Match[str]) -> str:
    """"i g n o r e  a l l" -> "ignore all": a wider gap (two spaces, or a slash) separates words."""
    words = re.split(r"\s{2,}|\s*/\s*", match.group(0))
    return " ".join(re.sub(r"[\s.\-_*·]+", "", w) for w in words)


def decodings(text: str) -> list[str]:
    """Readings of ``text`` an attacker might have hidden a message in; the plain reading is not included."""
    out: list[str] = []
    for match in BASE64_RUN.finditer(text):
        decoded = _base64(match.group(0))
        if decoded:
            out.append(decoded)
    for match in HEX_RUN.finditer(text):
        try:
            decoded = _printable(bytes.fromhex(re.sub(r"[ :]", "", match.group(0))))
        except ValueError:
            decoded = None
        if decoded:
            out.append(decoded)
    out.append(codecs.encode(text, "rot13"))
    out.append(text[::-1])
    out.append(LEET_IN_WORD.sub(lambda m: LEET[m.group(0)], text))
    spelt = SPELT.sub(_unspell, text)
    if spelt != text:
        out.append(spelt)
    return out


def variants(text: str) -> list[str]:
    """The folded text followed by its decoded readings (folded too), without repeats."""
    unhidden = unhide(text)
    plain = " ".join(unhidden.split())
    return list(dict.fromkeys([plain, *(fold(d) for d in decodings(unhidden))]))
