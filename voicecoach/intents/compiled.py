"""The shipped templates, compiled once and kept in the user's cache folder.

Compiling the templates (about 5,000 expanded sentences, each normalized) takes 0.15-0.2 s;
reading the compiled catalog back takes a few tens of milliseconds, so the coach's first
prompt and every `voicecoach parse` start sooner. The cache file is named by a hash of
everything the compilation reads (the template files and the code that compiles them), so an
edited template or a new version compiles afresh.

The cache is plain JSON data, never code: reading it can do nothing but fail. It is read only
from a folder of the user's that nobody else may write to, from a file that is no symlink,
is the user's and writable by nobody else (checked on the open file), and every value is
checked for its type as it is read (`catalog_from_json`). A cache file that is damaged, odd,
not ours or unreadable is ignored (said under --verbose) and written again; without a cache
folder the templates are simply compiled every time.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from voicecoach.files import private_folder, read_private, write_private
from voicecoach.intents.catalog import (
    BUILTIN_LISTS,
    CONTEXT_KEYS,
    Catalog,
    CompiledSentence,
    _build_index,
    _Template,
)
from voicecoach.intents.grammar import Placeholder, TemplateError, parse_template
from voicecoach.intents.types import ASIDES

log = logging.getLogger(__name__)
CACHE_PREFIX = "catalog-"
CACHE_SUFFIX = ".json"
FORMAT = 1                         # the layout of the JSON below; a change makes a new file name
MAX_CACHE_BYTES = 50_000_000       # the shipped catalog is about 1 MB
CODE_DIR = Path(__file__).parent
# The code whose output the cache holds: every module of the intents package, and the limits.
CODE_FILES = tuple(sorted(CODE_DIR.glob("*.py"))) + (CODE_DIR.parent / "limits.py",)

Built = tuple[Catalog | None, list[str]]


class DamagedCache(ValueError):
    """A cache file whose content is not a compiled catalog; the message says what is wrong."""


def source_digest(template_dir: Path) -> str:
    """A hash of the template files and the compiling code: what the compiled catalog depends on."""
    digest = hashlib.sha256(f"{sys.version_info[:2]} json {FORMAT}".encode())
    for path in sorted(template_dir.glob("*.yaml")) + list(CODE_FILES):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("voicecoach"))


def cached(template_dir: Path, build: Callable[[], Built], cache_dir: Path | None,
           keep: Callable[[Built], bool] = lambda built: not built[1], variant: str = "") -> Built:
    """`build()`'s (catalog, problems) for `template_dir`, read from `cache_dir` when it was kept
    there; a new result is kept when `keep(result)` and it has a catalog. `variant` names what
    else the build used (the content's exercise names): each variant is kept side by side."""
    if cache_dir is None:
        return build()
    try:
        base = f"{CACHE_PREFIX}{source_digest(template_dir)}"
    except OSError as exc:
        log.info("the compiled templates are not cached: %s", exc)
        return build()
    tag = f"-{hashlib.sha256(variant.encode()).hexdigest()[:12]}" if variant else ""
    path = cache_dir / f"{base}{tag}{CACHE_SUFFIX}"
    kept = _read(path)
    if kept is not None:
        return kept, []
    built = build()
    if built[0] is not None and keep(built):
        _write(path, built[0], base)
    return built


def _read(path: Path) -> Catalog | None:
    try:
        private_folder(path.parent)
        data = read_private(path, MAX_CACHE_BYTES)
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.info("%s is not read (%s); compiling the templates", path, exc)
        return None
    try:
        return catalog_from_json(json.loads(data.decode("utf-8"), parse_constant=_no_constant))
    except (ValueError, RecursionError) as exc:    # DamagedCache, bad JSON, bad UTF-8
        log.info("%s is damaged (%s); compiling the templates", path, exc)
        return None


def _write(path: Path, catalog: Catalog, base: str) -> None:
    """Atomically, private to the user; catalogs of older templates (not named `base`...) are removed."""
    try:
        private_folder(path.parent)
        write_private(path, json.dumps(catalog_to_json(catalog), ensure_ascii=False).encode("utf-8"))
        for old in path.parent.glob(f"{CACHE_PREFIX}*"):
            if not old.name.startswith(base):
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.info("the compiled templates are not cached: %s", exc)


def _no_constant(name: str) -> float:
    raise DamagedCache(f"{name} is not a number we write")


# ----- the catalog as JSON ------------------------------------------------------------------

def catalog_to_json(catalog: Catalog) -> dict[str, Any]:
    """Everything of `catalog` but what is quickly derived again (its index, the templates' trees)."""
    return {
        "format": FORMAT,
        "intents": list(catalog.intents),
        "sentences": [[s.intent, s.slots, [_unit_to_json(u) for u in s.units], s.context, s.where]
                      for s in catalog.sentences],
        "list_phrases": {name: [[list(tokens), value] for tokens, value in phrases.items()]
                         for name, phrases in catalog.list_phrases.items()},
        "rule_phrases": {name: sorted(list(tokens) for tokens in phrases) for name, phrases in catalog.rule_phrases.items()},
        "list_raw": {name: [[raw, value] for raw, value in phrases] for name, phrases in catalog.list_raw.items()},
        "rule_raw": catalog.rule_raw,
        "weights": catalog.weights,
        "rule_weights": catalog.rule_weights,
        "question_slots": {intent: [slot, sorted(openers)] for intent, (slot, openers) in catalog.question_slots.items()},
        "asides": sorted(catalog.asides),
        "templates": [[t.intent, t.text, t.slots, t.context, t.where] for t in catalog.templates],
        "max_phrase_len": catalog.max_phrase_len,
    }


def _unit_to_json(unit: str | Placeholder) -> str | list[str]:
    return unit if isinstance(unit, str) else [unit.kind, unit.name]


def catalog_from_json(data: Any) -> Catalog:
    """The catalog `catalog_to_json` wrote, every value checked as it is read.
    Raises DamagedCache naming the first thing that is not as written."""
    doc = _dict(data, "the file")
    if doc.get("format") != FORMAT:
        raise DamagedCache(f"format {doc.get('format')!r}, not {FORMAT}")
    list_phrases = {_str(name, "a list name"): {_tokens(tokens, name): _value(value, name)
                                                for tokens, value in (_pair(p, name) for p in _list(phrases, name))}
                    for name, phrases in _dict(doc.get("list_phrases"), "list_phrases").items()}
    rule_phrases = {_str(name, "a rule name"): frozenset(_tokens(t, name) for t in _list(phrases, name))
                    for name, phrases in _dict(doc.get("rule_phrases"), "rule_phrases").items()}
    known = _Known(set(list_phrases) | set(BUILTIN_LISTS), set(rule_phrases))
    intents = tuple(_str(i, "an intent") for i in _list(doc.get("intents"), "intents"))
    sentences = [_sentence(item, known, set(intents)) for item in _list(doc.get("sentences"), "sentences")]
    rule_weights = _weights(doc.get("rule_weights"), "rule_weights")
    if set(rule_weights) != set(rule_phrases):
        raise DamagedCache("rule_weights do not name the rules")
    catalog = Catalog(
        intents=intents, sentences=sentences, list_phrases=list_phrases, rule_phrases=rule_phrases,
        list_raw={_str(name, "a list name"): [_raw_pair(p, name) for p in _list(phrases, name)]
                  for name, phrases in _dict(doc.get("list_raw"), "list_raw").items()},
        rule_raw={_str(name, "a rule name"): [_str(p, name) for p in _list(phrases, name)]
                  for name, phrases in _dict(doc.get("rule_raw"), "rule_raw").items()},
        weights=_weights(doc.get("weights"), "weights"), rule_weights=rule_weights,
        question_slots=_question_slots(doc.get("question_slots"), set(list_phrases)),
        asides=frozenset(_aside(a) for a in _list(doc.get("asides"), "asides")),
        templates=[_template(item, known) for item in _list(doc.get("templates"), "templates")],
        max_phrase_len=_count(doc.get("max_phrase_len"), "max_phrase_len"),
    )
    if set(catalog.list_raw) != set(list_phrases) or set(catalog.rule_raw) != set(rule_phrases):
        raise DamagedCache("the raw lists and rules do not match the compiled ones")
    catalog.index = _build_index(catalog)
    return catalog


class _Known:
    """The slot lists and rules a placeholder may name."""

    def __init__(self, lists: set[str], rules: set[str]) -> None:
        self.lists, self.rules = lists, rules

    def check(self, placeholder: Placeholder) -> Placeholder:
        names = self.lists if placeholder.kind == "list" else self.rules
        if placeholder.name not in names:
            raise DamagedCache(f"{placeholder.kind} {placeholder.name!r} is not defined")
        return placeholder


def _sentence(item: Any, known: _Known, intents: set[str]) -> CompiledSentence:
    intent, slots, units, context, where = _fields(item, 5, "a sentence")
    if _str(intent, "a sentence's intent") not in intents:
        raise DamagedCache(f"a sentence of unknown intent {intent!r}")
    checked = tuple(_unit(u, known) for u in _list(units, "a sentence's units"))
    if not checked:
        raise DamagedCache("a sentence with no words")
    return CompiledSentence(intent, _slots(slots), checked, _context(context), _str(where, "a sentence's place"))


def _unit(item: Any, known: _Known) -> str | Placeholder:
    if isinstance(item, str):
        return item
    kind, name = _fields(item, 2, "a placeholder")
    if kind not in ("list", "rule"):
        raise DamagedCache(f"placeholder kind {kind!r}")
    return known.check(Placeholder(kind, _str(name, "a placeholder name")))


def _template(item: Any, known: _Known) -> _Template:
    intent, text, slots, context, where = _fields(item, 5, "a template")
    tpl = _Template(_str(intent, "a template's intent"), _str(text, "a template"), _slots(slots),
                    _context(context), _str(where, "a template's place"))
    try:
        tpl.tree = parse_template(tpl.text)
    except TemplateError as exc:
        raise DamagedCache(str(exc)) from None
    return tpl


def _question_slots(data: Any, lists: set[str]) -> dict[str, tuple[str, frozenset[str]]]:
    out = {}
    for intent, item in _dict(data, "question_slots").items():
        slot, openers = _fields(item, 2, "a question slot")
        if _str(slot, "a question slot") not in lists:
            raise DamagedCache(f"question slot {slot!r} is not a slot list")
        out[intent] = (slot, frozenset(_str(o, "an opener") for o in _list(openers, "openers")))
    return out


def _aside(value: Any) -> str:
    if value not in ASIDES:
        raise DamagedCache(f"{value!r} is not an aside")
    return value


def _slots(data: Any) -> dict[str, Any]:
    return {_str(name, "a slot name"): _value(value, name) for name, value in _dict(data, "slots").items()}


def _context(data: Any) -> dict[str, Any] | None:
    if data is None:
        return None
    context = _dict(data, "a context")
    for key, value in context.items():
        if key not in CONTEXT_KEYS or not isinstance(value, CONTEXT_KEYS[key]):
            raise DamagedCache(f"context {key!r}: {value!r}")
    return context


def _weights(data: Any, what: str) -> dict[str, float]:
    out = {}
    for word, weight in _dict(data, what).items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise DamagedCache(f"{what}: {word!r} weighs {weight!r}")
        out[word] = float(weight)
    return out


def _pair(item: Any, what: str) -> tuple[Any, Any]:
    first, second = _fields(item, 2, f"a phrase of {what!r}")
    return first, second


def _raw_pair(item: Any, what: str) -> tuple[str, Any]:
    raw, value = _pair(item, what)
    return _str(raw, what), _value(value, what)


def _tokens(data: Any, what: str) -> tuple[str, ...]:
    return tuple(_str(t, f"a word of {what!r}") for t in _list(data, what))


def _value(value: Any, what: str) -> Any:
    """A slot value: a name, a finite number or a yes/no."""
    if isinstance(value, (str, bool)) or (isinstance(value, (int, float)) and math.isfinite(value)):
        return value
    raise DamagedCache(f"{what}: {value!r} is not a slot value")


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DamagedCache(f"{what}: {value!r}")
    return value


def _fields(data: Any, n: int, what: str) -> list[Any]:
    items = _list(data, what)
    if len(items) != n:
        raise DamagedCache(f"{what} has {len(items)} fields, not {n}")
    return items


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise DamagedCache(f"{what} is {type(value).__name__}, not text")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise DamagedCache(f"{what} is {type(value).__name__}, not a list")
    return value


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DamagedCache(f"{what} is {type(value).__name__}, not a mapping")
    return value
