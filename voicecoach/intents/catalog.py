"""The intent catalog: templates in voicecoach/intents/*.yaml, checked and compiled once.

The templates are the single source of truth. From them come the matcher's sentences
(`Catalog.sentences`), the sample sentences that tests and the speech corpus use
(`Catalog.samples`), and the word weights that say how telling each word is.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any, NamedTuple

from voicecoach.intents.grammar import (
    Placeholder,
    TemplateError,
    count_expansions,
    expand,
    parse_template,
    placeholders,
)
from voicecoach.intents.names import Intent
from voicecoach.intents.normalize import match_tokens
from voicecoach.intents.types import ASIDES, Context
from voicecoach.limits import MAX_PHRASES, MAX_TOTAL_PHRASES, MAX_TOTAL_SENTENCES
from voicecoach.yamlfile import line_of, load_yaml_mappings

INTENTS_DIR = Path(__file__).parent
BUILTIN_LISTS = ("seconds",)          # {seconds}: a duration, read by the normalizer
CONTEXT_KEYS: dict[str, type | tuple[type, ...]] = {"expecting": (str, type(None)), "exercising": bool, "paused": bool}
MAX_EXPANSIONS = 5000                 # per template: more means the template needs splitting
SLOT_WEIGHT = 2.5                     # how much a filled {slot} counts, like a telling word
UNKNOWN_WORD_WEIGHT = 2.0             # a word no template uses: counts against a match
MIN_OPENER_SENTENCES = 5              # a question opener opens at least this many sentences


class CatalogError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class CompiledSentence:
    intent: str
    slots: dict[str, Any]
    units: tuple[str | Placeholder, ...]   # stemmed literal tokens and placeholders
    context: dict[str, Any] | None
    where: str                             # "file:line" of its template


class Sample(NamedTuple):
    text: str
    intent: str
    slots: dict[str, Any]


class ContextSample(NamedTuple):
    text: str
    intent: str
    slots: dict[str, Any]
    context: Context


@dataclass
class _Template:
    intent: str
    text: str
    slots: dict[str, Any]
    context: dict[str, Any] | None
    where: str
    tree: Any = None


@dataclass
class Catalog:
    intents: tuple[str, ...]
    sentences: list[CompiledSentence]
    list_phrases: dict[str, dict[tuple[str, ...], Any]]     # list -> normalized phrase -> value
    rule_phrases: dict[str, frozenset[tuple[str, ...]]]     # rule -> normalized phrases
    list_raw: dict[str, list[tuple[str, Any]]]              # list -> (spoken phrase, value)
    rule_raw: dict[str, list[str]]
    weights: dict[str, float]
    rule_weights: dict[str, float] = field(default_factory=dict)
    # intent -> (slot list, words its sentences open with): see `question_slot` in docs/understanding.md
    question_slots: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)
    # intents marked `aside: true`: not commands, read as `none` with this aside (thanks ...)
    asides: frozenset[str] = frozenset()
    templates: list[_Template] = field(repr=False, default_factory=list)
    index: dict[str, list[int]] = field(repr=False, default_factory=dict)
    max_phrase_len: int = 1

    def named_values(self, slot: str) -> dict[str, str]:
        """Every value the templates can give `slot` (from its list or fixed in a template),
        with where it is written: to check them against the content's ids."""
        named = {str(value): f"the {{{slot}}} list" for _, value in self.list_raw.get(slot, [])}
        for sentence in self.sentences:
            if slot in sentence.slots and str(sentence.slots[slot]) not in named:
                named[str(sentence.slots[slot])] = sentence.where
        return named

    def weight(self, token: str) -> float:
        if token.startswith("#"):
            return SLOT_WEIGHT
        return self.weights.get(token, UNKNOWN_WORD_WEIGHT)

    def unit_weight(self, unit: str | Placeholder) -> float:
        """What a template unit counts for: a word by its weight, a slot like a telling word,
        a <rule> like the words it usually stands for."""
        if isinstance(unit, str):
            return self.weight(unit)
        return SLOT_WEIGHT if unit.kind == "list" else self.rule_weights[unit.name]

    def samples(self, per_template: int = 12) -> Iterator[Sample]:
        """Sentences expanded from the templates that need no context, with their intent and slots."""
        for sample in self._samples(per_template):
            if sample.context == Context():
                yield Sample(sample.text, sample.intent, sample.slots)

    def context_samples(self, per_template: int = 12) -> Iterator[ContextSample]:
        """Every sample, with the session context it belongs to."""
        yield from self._samples(per_template)

    def _samples(self, per_template: int) -> Iterator[ContextSample]:
        for tpl in self.templates:
            context = Context(**(tpl.context or {}))
            for n, (text, slots) in enumerate(self._spell_out(tpl)):
                if n >= per_template:
                    break
                yield ContextSample(text, tpl.intent, {**tpl.slots, **slots}, context)

    def _spell_out(self, tpl: _Template) -> Iterator[tuple[str, dict[str, Any]]]:
        """Concrete sentences for a template, spread over its alternatives and slot values."""
        paths = list(expand(tpl.tree, MAX_EXPANSIONS))
        seen: set[str] = set()
        # Visit expansions in a spread order so a few samples cover many alternatives.
        step = max(1, len(paths) // 7)
        order = [paths[(i * step + i // max(1, len(paths))) % len(paths)] for i in range(len(paths))] or paths
        for round_no, path in enumerate(order + paths):
            choices: list[list[tuple[str, dict[str, Any]]]] = []
            for piece in path:
                if isinstance(piece, str):
                    choices.append([(piece, {})])
                elif piece.kind == "rule":
                    raw = self.rule_raw[piece.name]
                    choices.append([(raw[round_no % len(raw)], {})])
                elif piece.name == "seconds":
                    secs = (30, 45, 60, 90, 20, 120)[round_no % 6]
                    choices.append([(_say_seconds(secs), {"seconds": secs})])
                else:
                    by_value: dict[Any, list[str]] = defaultdict(list)
                    for phrase, value in self.list_raw[piece.name]:
                        by_value[value].append(phrase)
                    choices.append([(ph[round_no % len(ph)], {piece.name: v}) for v, ph in by_value.items()])
            for combo in product(*choices):
                text = " ".join(" ".join(part for part, _ in combo).split())
                if text and text not in seen:
                    seen.add(text)
                    slots: dict[str, Any] = {}
                    for _, s in combo:
                        slots.update(s)
                    yield text, slots


def _say_seconds(seconds: int) -> str:
    words = {20: "twenty seconds", 30: "thirty seconds", 45: "forty five seconds", 60: "a minute",
             90: "a minute and a half", 120: "two minutes"}
    return words.get(seconds, f"{seconds} seconds")


def validate_catalog(directory: Path | str | None = None) -> list[str]:
    """Every problem of the templates in `directory` (default: the shipped ones), as `file:line: message`."""
    return _build(Path(directory) if directory else INTENTS_DIR)[1]


def build_catalog(directory: Path, exercises: tuple[tuple[str, str], ...] = ()) -> tuple[Catalog | None, list[str]]:
    """The catalog compiled from every *.yaml in `directory`, and every problem found (a catalog
    only when there are none). `voicecoach.intents.load.load_catalog` keeps the shipped one compiled."""
    return _build(directory, exercises)


def _build(directory: Path, exercises: tuple[tuple[str, str], ...] = ()) -> tuple[Catalog | None, list[str]]:
    files, problems = load_yaml_mappings(directory, "intent")
    if not files and not problems:
        return None, [f"{directory}: no intent files (*.yaml)"]
    if not files:
        return None, problems
    raw_intents: list[tuple[Path, Any]] = []
    raw_lists: dict[str, tuple[Path, Any]] = {}
    raw_rules: dict[str, tuple[Path, Any]] = {}
    for path, doc in files:
        for key, value in doc.items():
            where = f"{path}:{line_of(key)}"
            if key not in ("intents", "lists", "rules"):
                problems.append(f"{where}: unknown section {key!r} (expected intents, lists or rules)")
            elif not isinstance(value, dict):
                problems.append(f"{where}: {key} must be a mapping")
            elif key == "intents":
                raw_intents.extend((path, item) for item in value.items())
            else:
                target = raw_lists if key == "lists" else raw_rules
                for name, body in value.items():
                    if name in target:
                        problems.append(f"{path}:{line_of(name)}: {key[:-1]} {name!r} is defined twice")
                    target[name] = (path, body)

    rule_raw = _compile_rules(raw_rules, problems)
    list_raw = _compile_lists(raw_lists, rule_raw, problems)
    if exercises and "exercise" in list_raw:
        list_raw["exercise"] = _with_names(list_raw["exercise"], exercises)
    if exercises:     # an exercise of the content's is that exercise, whatever a rule lists it as
        rule_raw = _without_names(rule_raw, exercises)
    templates = _collect_templates(raw_intents, problems)
    known_lists = set(list_raw) | set(BUILTIN_LISTS)
    total_sentences = 0
    for tpl in templates:
        if tpl.tree is None:
            continue
        for ph in placeholders(tpl.tree):
            if ph.kind == "list" and ph.name not in known_lists:
                problems.append(f"{tpl.where}: unknown slot list {{{ph.name}}}")
            if ph.kind == "rule" and ph.name not in rule_raw:
                problems.append(f"{tpl.where}: unknown rule <{ph.name}>")
        n = count_expansions(tpl.tree)
        if n > MAX_EXPANSIONS:
            problems.append(f"{tpl.where}: template expands to {n} sentences (at most {MAX_EXPANSIONS}); split it")
        total_sentences += min(n, MAX_EXPANSIONS)
    if total_sentences > MAX_TOTAL_SENTENCES:
        problems.append(f"{directory}: the templates expand to {total_sentences} sentences in all (at most {MAX_TOTAL_SENTENCES})")
    if problems:
        return None, problems

    list_phrases = {name: {match_tokens(raw): value for raw, value in phrases} for name, phrases in list_raw.items()}
    rule_phrases = {name: frozenset(match_tokens(raw) for raw in phrases) for name, phrases in rule_raw.items()}
    sentences = _compile_sentences(templates)
    _check_conflicts(sentences, problems)
    if problems:
        return None, problems
    weights = _word_weights(sentences, list_phrases, rule_phrases)
    rule_weights = {name: _phrase_weight(phrases, weights) for name, phrases in rule_phrases.items()}
    catalog = Catalog(
        intents=tuple(dict.fromkeys(t.intent for t in templates)),
        sentences=sentences, list_phrases=list_phrases, rule_phrases=rule_phrases,
        list_raw=list_raw, rule_raw=rule_raw, weights=weights, rule_weights=rule_weights, templates=templates,
        max_phrase_len=max([len(p) for d in list_phrases.values() for p in d]
                           + [len(p) for s in rule_phrases.values() for p in s] + [1]),
    )
    catalog.index = _build_index(catalog)
    catalog.question_slots = _question_slots(raw_intents, sentences, list_phrases, problems)
    catalog.asides = _asides(raw_intents, problems)
    if problems:
        return None, problems
    return catalog, []


def _question_slots(raw_intents, sentences: list[CompiledSentence], list_phrases, problems: list[str]):
    """Intents that take any question naming one value of a slot list ("could my form be the
    issue" -> ask about poor_form), with the words their own sentences open with."""
    out: dict[str, tuple[str, frozenset[str]]] = {}
    for path, (name, body) in raw_intents:
        slot = body.get("question_slot") if isinstance(body, dict) else None
        if slot is None:
            continue
        if not isinstance(slot, str) or slot not in list_phrases:
            problems.append(f"{path}:{line_of(slot, line_of(name))}: question_slot {slot!r} is not a slot list")
            continue
        # Question openers: words that open many of the intent's sentences ("what", "how",
        # "is"), not the odd first word of one template ("anatomy", "weak").
        counts: dict[str, int] = defaultdict(int)
        for s in sentences:
            if s.intent == name and isinstance(s.units[0], str):
                counts[s.units[0]] += 1
        openers = frozenset(w for w, n in counts.items() if n >= MIN_OPENER_SENTENCES)
        out[str(name)] = (str(slot), openers)
    return out


def _asides(raw_intents, problems: list[str]) -> frozenset[str]:
    """Intents marked `aside: true`; each must be one of the asides the coach answers."""
    out = set()
    for path, (name, body) in raw_intents:
        flag = body.get("aside") if isinstance(body, dict) else None
        if flag is None:
            continue
        if flag is not True or name not in ASIDES:
            problems.append(f"{path}:{line_of(name)}: only {', '.join(ASIDES)} can be marked 'aside: true'")
            continue
        out.add(str(name))
    return frozenset(out)


def _expand_plain(text: str, rule_raw: dict[str, list[str]], where: str, problems: list[str]) -> list[str]:
    """Expand a fragment with no {slots} into concrete phrases (rules substituted)."""
    try:
        tree = parse_template(text)
    except TemplateError as exc:
        problems.append(f"{where}: {exc}")
        return []
    too_many = f"{where}: expands to more than {MAX_PHRASES} phrases; split it"
    if count_expansions(tree) > MAX_PHRASES:
        problems.append(too_many)
        return []
    out: list[str] = []
    for path in expand(tree, MAX_EXPANSIONS):
        options: list[list[str]] = []
        for piece in path:
            if isinstance(piece, str):
                options.append([piece])
            elif piece.kind == "rule" and piece.name in rule_raw:
                options.append(rule_raw[piece.name])
            else:
                problems.append(f"{where}: {'{' + piece.name + '}' if piece.kind == 'list' else '<' + piece.name + '>'} cannot be used here")
                return []
        if len(out) + math.prod(len(o) for o in options) > MAX_PHRASES:   # rules of rules multiply
            problems.append(too_many)
            return []
        out.extend(" ".join(" ".join(c).split()) for c in product(*options))
    return out


def _compile_rules(raw_rules: dict[str, tuple[Path, Any]], problems: list[str]) -> dict[str, list[str]]:
    rule_raw: dict[str, list[str]] = {}
    total = 0
    for name, (path, body) in raw_rules.items():
        where = f"{path}:{line_of(name)}"
        if not isinstance(body, str):
            problems.append(f"{where}: rule {name!r} must be a template string")
            continue
        # Rules may use rules defined before them in the same pass.
        rule_raw[name] = _expand_plain(body, rule_raw, f"{path}:{line_of(body)}", problems)
        total += len(rule_raw[name])
        if total > MAX_TOTAL_PHRASES:
            problems.append(f"{where}: the rules expand to more than {MAX_TOTAL_PHRASES} phrases in all")
            break
    return rule_raw


def _compile_lists(raw_lists: dict[str, tuple[Path, Any]], rule_raw: dict[str, list[str]],
                   problems: list[str]) -> dict[str, list[tuple[str, Any]]]:
    list_raw: dict[str, list[tuple[str, Any]]] = {}
    total = 0
    for name, (path, body) in raw_lists.items():
        where = f"{path}:{line_of(name)}"
        if name in BUILTIN_LISTS:
            problems.append(f"{where}: {{{name}}} is built in and cannot be redefined")
            continue
        values = body.get("values") if isinstance(body, dict) else None
        if not isinstance(values, list) or not values:
            problems.append(f"{where}: list {name!r} needs a non-empty 'values' sequence")
            continue
        phrases: list[tuple[str, Any]] = []
        owners: dict[tuple[str, ...], tuple[Any, str]] = {}
        for entry in values:
            ewhere = f"{path}:{line_of(entry, line_of(values))}"
            if not isinstance(entry, dict) or "in" not in entry or "out" not in entry:
                problems.append(f"{ewhere}: each value of list {name!r} needs 'in' and 'out'")
                continue
            unknown = set(entry) - {"in", "out"}
            if unknown:
                problems.append(f"{ewhere}: unknown key(s) {sorted(unknown)} in list {name!r}")
            if not isinstance(entry["in"], str) or not _is_value(entry["out"]):
                problems.append(f"{ewhere}: list {name!r}: 'in' must be a template string and 'out' a name, number or yes/no")
                continue
            for raw in _expand_plain(entry["in"], rule_raw, ewhere, problems):
                # One phrase with two values would mean whichever came last: refuse it.
                value, first = owners.setdefault(match_tokens(raw), (entry["out"], ewhere))
                if value != entry["out"]:
                    problems.append(f"{ewhere}: {raw!r} in list {name!r} means {entry['out']!r} here but {value!r} at {first}")
                phrases.append((raw, entry["out"]))
            total += len(phrases)
            if total > MAX_TOTAL_PHRASES:
                problems.append(f"{ewhere}: the lists expand to more than {MAX_TOTAL_PHRASES} phrases in all")
                return list_raw
        list_raw[name] = phrases
    return list_raw


def _with_names(phrases: list[tuple[str, Any]], names: tuple[tuple[str, str], ...]) -> list[tuple[str, Any]]:
    """The list's phrases, then each (name, value) whose words no phrase has yet: the
    templates' own phrases keep their meaning."""
    taken = {match_tokens(raw) for raw, _ in phrases}
    out = list(phrases)
    for name, value in names:
        tokens = match_tokens(name)
        if tokens and tokens not in taken:
            taken.add(tokens)
            out.append((name, value))
    return out


def _without_names(rule_raw: dict[str, list[str]], names: tuple[tuple[str, str], ...]) -> dict[str, list[str]]:
    """Each rule's phrases less the content's exercise names ("clamshells" among the exercises
    the article lacks stops being one once the content adds it)."""
    taken = {match_tokens(name) for name, _ in names}
    return {rule: [raw for raw in phrases if match_tokens(raw) not in taken] or phrases
            for rule, phrases in rule_raw.items()}


def _is_value(value: Any) -> bool:
    """A slot value is a scalar: a name, a number or a yes/no, never a collection."""
    return (isinstance(value, str) and bool(value.strip())) or isinstance(value, bool) or (
        isinstance(value, (int, float)) and math.isfinite(value))


def _collect_templates(raw_intents: list[tuple[Path, Any]], problems: list[str]) -> list[_Template]:
    templates: list[_Template] = []
    seen: dict[str, str] = {}
    for path, (name, body) in raw_intents:
        where = f"{path}:{line_of(name)}"
        if not re.fullmatch(r"[a-z][a-z_]*", str(name)) or name == Intent.NONE:
            problems.append(f"{where}: bad intent name {name!r} (lowercase letters and _, not 'none')")
            continue
        if name in seen:
            problems.append(f"{where}: intent {name!r} is already defined at {seen[name]}")
            continue
        seen[name] = where
        if not isinstance(body, dict):
            problems.append(f"{where}: intent {name!r} must be a mapping with 'sentences' or 'data'")
            continue
        unknown = set(body) - {"sentences", "data", "question_slot", "aside"}
        if unknown:
            problems.append(f"{where}: unknown key(s) {sorted(unknown)} in intent {name!r}")
        data = body.get("data") or []
        if not isinstance(data, list):
            problems.append(f"{where}: 'data' of {name!r} must be a list of groups")
            data = []
        groups = list(data)
        if "sentences" in body:
            groups.append({"sentences": body["sentences"]})
        if not groups:
            problems.append(f"{where}: intent {name!r} has no sentences")
        for group in groups:
            templates.extend(_group_templates(path, name, group, problems))
    return templates


def _group_templates(path: Path, intent: str, group: Any, problems: list[str]) -> Iterator[_Template]:
    gwhere = f"{path}:{line_of(group)}"
    if not isinstance(group, dict) or not isinstance(group.get("sentences"), list):
        problems.append(f"{gwhere}: each data entry of {intent!r} needs a 'sentences' list")
        return
    unknown = set(group) - {"sentences", "slots", "context"}
    if unknown:
        problems.append(f"{gwhere}: unknown key(s) {sorted(unknown)} in {intent!r}")
    slots = group.get("slots") or {}
    if not isinstance(slots, dict) or not all(isinstance(k, str) and _is_value(v) for k, v in slots.items()):
        problems.append(f"{gwhere}: 'slots' must map slot names to a name, number or yes/no")
        slots = {}
    context = group.get("context")
    if context is not None:
        if not isinstance(context, dict):
            problems.append(f"{gwhere}: 'context' must be a mapping")
            context = None
        else:
            for key, value in context.items():
                if key not in CONTEXT_KEYS:
                    problems.append(f"{path}:{line_of(key)}: unknown context key {key!r} (expected {', '.join(CONTEXT_KEYS)})")
                elif not isinstance(value, CONTEXT_KEYS[key]):
                    problems.append(f"{path}:{line_of(key)}: context {key!r} has the wrong type: {value!r}")
    for text in group["sentences"]:
        where = f"{path}:{line_of(text, line_of(group))}"
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where}: a sentence must be a non-empty string, not {text!r}")
            continue
        tpl = _Template(intent, text, dict(slots), dict(context) if context else None, where)
        try:
            tpl.tree = parse_template(text)
        except TemplateError as exc:
            problems.append(f"{where}: {exc}")
        yield tpl


def _compile_sentences(templates: list[_Template]) -> list[CompiledSentence]:
    seen: set[tuple] = set()
    out: list[CompiledSentence] = []
    for tpl in templates:
        for path in expand(tpl.tree, MAX_EXPANSIONS):
            units: list[str | Placeholder] = []
            for piece in path:
                units.extend(match_tokens(piece) if isinstance(piece, str) else (piece,))
            if not units:
                continue
            key = (tpl.intent, tuple(sorted(tpl.slots.items())), tuple(units), tuple(sorted((tpl.context or {}).items())))
            if key in seen:
                continue
            seen.add(key)
            out.append(CompiledSentence(tpl.intent, tpl.slots, tuple(units), tpl.context, tpl.where))
    return out


def _check_conflicts(sentences: list[CompiledSentence], problems: list[str]) -> None:
    """The same words may not mean two different things in the same context."""
    owner: dict[tuple, CompiledSentence] = {}
    for s in sentences:
        key = (s.units, tuple(sorted((s.context or {}).items())))
        other = owner.setdefault(key, s)
        if other is not s and (other.intent, other.slots) != (s.intent, s.slots):
            words = " ".join(u if isinstance(u, str) else f"{{{u.name}}}" if u.kind == "list" else f"<{u.name}>" for u in s.units)
            problems.append(f"{s.where}: {words!r} means {s.intent} {s.slots or ''} here "
                            f"but {other.intent} {other.slots or ''} at {other.where}")


def _word_weights(sentences: list[CompiledSentence], list_phrases, rule_phrases) -> dict[str, float]:
    """Inverse document frequency over intents: a word used by one intent tells a lot."""
    by_intent: dict[str, set[str]] = defaultdict(set)
    for s in sentences:
        for unit in s.units:
            if isinstance(unit, str):
                by_intent[s.intent].add(unit)
            elif unit.kind == "list" and unit.name in list_phrases:
                by_intent[s.intent].update(t for p in list_phrases[unit.name] for t in p)
            elif unit.kind == "rule":
                by_intent[s.intent].update(t for p in rule_phrases[unit.name] for t in p)
    df: dict[str, int] = defaultdict(int)
    for words in by_intent.values():
        for word in words:
            df[word] += 1
    n = len(by_intent)
    return {word: math.log(1 + n / count) for word, count in df.items()}


def _phrase_weight(phrases: frozenset[tuple[str, ...]], weights: dict[str, float]) -> float:
    """The mean weight of a rule's phrases, kept between a common word and a slot."""
    sums = [sum(weights.get(t, UNKNOWN_WORD_WEIGHT) for t in p) for p in phrases if p]
    mean = sum(sums) / len(sums) if sums else 1.0
    return min(SLOT_WEIGHT, max(1.0, mean))


def _build_index(catalog: Catalog) -> dict[str, list[int]]:
    """Which sentences could use each word (literally or inside a slot or rule)."""
    index: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(catalog.sentences):
        vocab: set[str] = set()
        for unit in s.units:
            if isinstance(unit, str):
                vocab.add(unit)
            elif unit.kind == "rule":
                vocab.update(t for p in catalog.rule_phrases[unit.name] for t in p)
            elif unit.name == "seconds":
                vocab.add("#seconds")
            else:
                vocab.update(t for p in catalog.list_phrases[unit.name] for t in p)
        for word in vocab:
            index[word].append(i)
    return dict(index)
