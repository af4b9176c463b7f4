"""Text from files and recognizers shown on a terminal: control characters escaped.

A script line or a transcript may hold escape sequences (ESC [ ... to move the cursor, clear
the screen, set the window title), C1 controls, or bidirectional overrides that make text read
other than it is. Shown, each becomes a visible escape (`\\x1b`, `\\u202e`); the rest of the text is
left as it is.
"""
from __future__ import annotations

import re

# C0 and C1 controls, DEL, bidirectional marks and overrides, lone surrogates, line and
# paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def escaped(text: str) -> str:
    """`text` with every control character written as a visible escape."""
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def json_safe(line: str) -> str:
    """A JSON text (as json.dumps writes it) with the controls JSON leaves raw (DEL, C1,
    bidirectional marks) written as \\u escapes: the same JSON value, harmless on a terminal."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", line)
