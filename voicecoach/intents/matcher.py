"""The matcher: a pure function from text (and the session's context) to an intent.

`recognize(text, catalog, context)` compares the words with every template sentence
that shares a word with them, aligning words in order (a weighted longest common
subsequence where `{slot}` and `<rule>` placeholders take whole phrases). The score is a
Dice coefficient of weights: how much of the template the words cover and how much
of the words the template explains. Below `REJECT_BELOW` the answer is `none`: the
coach says it did not catch that rather than guess.
"""
from __future__ import annotations

from typing import Any

from voicecoach.intents.catalog import SLOT_WEIGHT, Catalog, CompiledSentence
from voicecoach.intents.grammar import Placeholder
from voicecoach.intents.names import Intent
from voicecoach.intents.normalize import DURATION_PREFIX, NUMBER_PREFIX, match_tokens
from voicecoach.intents.types import NO_MATCH, Context, Match
from voicecoach.limits import MAX_UTTERANCE_CHARS

# A match must explain most of what was said and most of the template: at least 70% of
# the weight on both sides together. A sentence that shares its telling words with a
# template but not its topic ("what time is it" vs "what is the IT band") falls below.
REJECT_BELOW = 0.70
CANDIDATES = 80                  # sentences scored fully after the quick word-overlap pass
MIN_TEMPLATE_COVERAGE = 0.75    # "down" alone is not "slow down": most of a template must be said
BARE_NUMBER_CREDIT = 0.4         # "hold for 45" fills {seconds}, with less certainty than "45 seconds"
CONTEXT_BONUS = 0.04             # a sentence written for the current context wins ties


def recognize(text: str, catalog: Catalog, context: Context | None = None,
              question_fallback: bool = True) -> Match:
    """The best template reading of `text`, or `none`. `question_fallback` lets a question
    that names one value of a `question_slot` list through (the statistical reader, when
    there is one, judges those lines better and turns it off)."""
    context = context or Context()
    if len(text) > MAX_UTTERANCE_CHARS:
        return Match(text, NO_MATCH, {}, 0.0)   # bounded before any work: no command is this long
    tokens = match_tokens(text)
    if not tokens:
        return Match(text, NO_MATCH, {}, 0.0)
    weights = [catalog.weight(t) for t in tokens]
    best: tuple[float, CompiledSentence | None, dict[str, Any]] = (0.0, None, {})
    for sentence in _candidates(tokens, weights, catalog, context):
        score, slots = _align(tokens, weights, sentence, catalog)
        score += _context_bonus(sentence, context)
        if score > best[0]:
            best = (score, sentence, slots)
    score, chosen, slots = best
    if chosen is None or score < REJECT_BELOW:
        fallback = _question_about_one_value(text, tokens, catalog) if question_fallback else None
        return fallback or Match(text, NO_MATCH, {}, round(min(score, 1.0), 3))
    return Match(text, chosen.intent, {**chosen.slots, **slots}, round(min(score, 1.0), 3))


def _context_fits(sentence: CompiledSentence, context: Context) -> bool:
    if not sentence.context:
        return True
    return all(getattr(context, key) == value for key, value in sentence.context.items())


def _context_bonus(sentence: CompiledSentence, context: Context) -> float:
    if sentence.context:
        return CONTEXT_BONUS
    if context.expecting == "yes_no" and sentence.intent in (Intent.YES, Intent.NO):
        return CONTEXT_BONUS
    return 0.0


def _candidates(tokens, weights, catalog: Catalog, context: Context) -> list[CompiledSentence]:
    overlap: dict[int, float] = {}
    for token, weight in zip(tokens, weights):
        keys = (token, "#seconds") if token.startswith(("#dur:", "#num:")) else (token,)
        for key in keys:
            for i in catalog.index.get(key, ()):
                overlap[i] = overlap.get(i, 0.0) + weight
    # Among equal overlaps, shorter sentences first: they leave less unexplained.
    ranked = sorted(overlap, key=lambda i: (-overlap[i], len(catalog.sentences[i].units)))
    out = []
    for i in ranked:
        sentence = catalog.sentences[i]
        if _context_fits(sentence, context):
            out.append(sentence)
            if len(out) >= CANDIDATES:
                break
    return out


def _align(tokens: tuple[str, ...], weights: list[float], sentence: CompiledSentence,
           catalog: Catalog) -> tuple[float, dict[str, Any]]:
    """Weighted in-order alignment of the words with one template sentence."""
    units = sentence.units
    n, m = len(tokens), len(units)
    # best[i][j] = (matched weight, of it on the template side, slots) using tokens[:i], units[:j]
    best: list[list[tuple[float, float, tuple]]] = [[(0.0, 0.0, ())] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        for j in range(m + 1):
            here = best[i][j]
            if i < n and best[i + 1][j][0] < here[0]:
                best[i + 1][j] = here
            if j >= m:
                continue
            if best[i][j + 1][0] < here[0]:
                best[i][j + 1] = here
            unit = units[j]
            if isinstance(unit, str):
                if i < n and tokens[i] == unit:
                    _improve(best, i + 1, j + 1, here, 2 * weights[i], weights[i], ())
                continue
            for length, gain, own, slot in _placeholder_spans(tokens, weights, i, unit, catalog):
                _improve(best, i + length, j + 1, here, gain, own, slot)
    matched, template_side, slots = best[n][m]
    template_total = sum(catalog.unit_weight(u) for u in units)
    if template_side < MIN_TEMPLATE_COVERAGE * template_total:
        return 0.0, {}
    return matched / (sum(weights) + template_total), dict(slots)


def _improve(best, i: int, j: int, here: tuple, gain: float, template_gain: float, slot: tuple) -> None:
    score = here[0] + gain
    if best[i][j][0] < score:
        best[i][j] = (score, here[1] + template_gain, here[2] + slot)


def _placeholder_spans(tokens, weights, i: int, unit: Placeholder, catalog: Catalog):
    """Ways `unit` can take tokens[i:i+length]: (length, gain, of it the template's, slot items)."""
    if unit.kind == "list" and unit.name == "seconds":
        if i < len(tokens) and tokens[i].startswith(DURATION_PREFIX):
            yield 1, SLOT_WEIGHT + weights[i], SLOT_WEIGHT, (("seconds", int(tokens[i][len(DURATION_PREFIX):])),)
        elif i < len(tokens) and tokens[i].startswith(NUMBER_PREFIX):
            credit = BARE_NUMBER_CREDIT * SLOT_WEIGHT
            yield 1, credit + BARE_NUMBER_CREDIT * weights[i], SLOT_WEIGHT, (("seconds", int(tokens[i][len(NUMBER_PREFIX):])),)
        return
    values = catalog.list_phrases[unit.name] if unit.kind == "list" else None     # phrase -> the slot's value
    phrases = values if values is not None else catalog.rule_phrases[unit.name]
    own_weight = catalog.unit_weight(unit)
    for length in range(0 if () in phrases else 1, min(catalog.max_phrase_len, len(tokens) - i) + 1):
        span = tuple(tokens[i:i + length])
        if span in phrases:
            slot = ((unit.name, values[span]),) if values is not None else ()
            yield length, own_weight + sum(weights[i:i + length]), own_weight, slot


def _question_about_one_value(text: str, tokens: tuple[str, ...], catalog: Catalog) -> Match | None:
    """A question no template words, about exactly one thing the coach knows: "could my form
    be the issue" is a question about poor form. Only for intents with a `question_slot`,
    only when the words open like that intent's own sentences, and only at the threshold."""
    for intent, (slot, openers) in catalog.question_slots.items():
        if tokens[0] not in openers:
            continue
        phrases = catalog.list_phrases[slot]
        values = set()
        i = 0
        while i < len(tokens):
            for length in range(min(catalog.max_phrase_len, len(tokens) - i), 0, -1):
                value = phrases.get(tuple(tokens[i:i + length]))
                if value is not None:
                    values.add(value)
                    i += length
                    break
            else:
                i += 1
        if len(values) == 1:
            return Match(text, intent, {slot: values.pop()}, REJECT_BELOW)
    return None
