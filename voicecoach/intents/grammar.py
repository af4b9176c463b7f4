"""The template language: `(a|b)` alternatives, `[x]` optional, `{list}` slot, `<rule>` fragment.

`parse_template` turns a template string into a small tree; `expand` walks it into
every sequence of literal text and placeholders it can produce.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product

from voicecoach.limits import MAX_TEMPLATE_DEPTH


class TemplateError(ValueError):
    """A template that cannot be parsed; the message says where in the template."""


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Placeholder:
    kind: str   # "list" ({name}) or "rule" (<name>)
    name: str


@dataclass(frozen=True)
class Alternatives:
    options: tuple[Sequence, ...]   # an optional [x] is (x, empty)


Item = Text | Placeholder | Alternatives


@dataclass(frozen=True)
class Sequence:
    items: tuple[Item, ...]


def parse_template(template: str) -> Sequence:
    parser = _Parser(template)
    seq = parser.sequence(stop="")
    if parser.pos != len(template):
        raise TemplateError(f"unexpected {template[parser.pos]!r} at column {parser.pos + 1} in {template!r}")
    return seq


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    def sequence(self, stop: str) -> Sequence:
        items: list[Item] = []
        buf = ""
        while self.pos < len(self.text) and self.text[self.pos] not in stop:
            ch = self.text[self.pos]
            if ch in "([{<":
                if buf:
                    items.append(Text(buf))
                    buf = ""
                items.append(self.group(ch))
            elif ch in ")]}>|":
                raise TemplateError(f"unexpected {ch!r} at column {self.pos + 1} in {self.text!r}")
            else:
                buf += ch
                self.pos += 1
        if buf:
            items.append(Text(buf))
        return Sequence(tuple(items))

    def group(self, opener: str) -> Item:
        start = self.pos
        self.pos += 1
        if opener in "{<":
            closer = "}" if opener == "{" else ">"
            end = self.text.find(closer, self.pos)
            if end < 0:
                raise TemplateError(f"{opener!r} at column {start + 1} is never closed in {self.text!r}")
            name = self.text[self.pos:end].strip()
            if not name.replace("_", "").isalnum():
                raise TemplateError(f"bad name {name!r} at column {start + 1} in {self.text!r}")
            self.pos = end + 1
            return Placeholder("list" if opener == "{" else "rule", name)
        closer = ")" if opener == "(" else "]"
        self.depth += 1
        if self.depth > MAX_TEMPLATE_DEPTH:    # bounded before recursion runs out
            raise TemplateError(f"groups nested more than {MAX_TEMPLATE_DEPTH} deep at column {start + 1}")
        options = [self.sequence(stop="|" + closer)]
        while self.pos < len(self.text) and self.text[self.pos] == "|":
            self.pos += 1
            options.append(self.sequence(stop="|" + closer))
        self.depth -= 1
        if self.pos >= len(self.text) or self.text[self.pos] != closer:
            raise TemplateError(f"{opener!r} at column {start + 1} is never closed in {self.text!r}")
        self.pos += 1
        if opener == "[":
            options.append(Sequence(()))
        return Alternatives(tuple(options))


Piece = str | Placeholder


def expand(seq: Sequence, limit: int = 5000) -> Iterator[tuple[Piece, ...]]:
    """Every way through the template: a tuple of text chunks and placeholders."""
    for count, combo in enumerate(_expand_seq(seq), start=1):
        yield _merge_text(combo)
        if count >= limit:
            return


def _expand_seq(seq: Sequence) -> Iterator[tuple[Piece, ...]]:
    parts = [list(_expand_item(item)) for item in seq.items]
    for combo in product(*parts):
        yield tuple(piece for part in combo for piece in part)


def _expand_item(item: Item) -> Iterator[tuple[Piece, ...]]:
    if isinstance(item, Text):
        yield (item.text,)
    elif isinstance(item, Placeholder):
        yield (item,)
    else:
        for option in item.options:
            yield from _expand_seq(option)


def _merge_text(pieces: tuple[Piece, ...]) -> tuple[Piece, ...]:
    merged: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + " " + piece
        else:
            merged.append(piece)
    return tuple(" ".join(p.split()) if isinstance(p, str) else p for p in merged if p != "" and not (isinstance(p, str) and not p.strip()))


def count_expansions(seq: Sequence) -> int:
    total = 1
    for item in seq.items:
        if isinstance(item, Alternatives):
            total *= sum(count_expansions(o) for o in item.options)
    return total


def placeholders(seq: Sequence) -> Iterator[Placeholder]:
    for item in seq.items:
        if isinstance(item, Placeholder):
            yield item
        elif isinstance(item, Alternatives):
            for option in item.options:
                yield from placeholders(option)
