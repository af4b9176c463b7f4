"""From what the recognizer heard to what the user meant, or `none`.

Every n-best hypothesis goes through the same readings as text mode, weighed by its share of
the n-best's probability; the intent (with its slots) that gathers the largest share wins. A
phrase said twice over is read once, and a word the templates never use is also tried as the
template word that sounds the same. The reading is `none` (the coach says "sorry?" rather than
act on a guess) when the matcher rejects it, when the winner holds less than MIN_SUPPORT of
the n-best or its hypotheses less than MIN_MASS of probability (per FLOOR_TOKENS tokens), or when the decoder heard no
speech. How the floors were chosen: docs/hearing.md.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, replace

from voicecoach.hearing.asr.recognizer import Hypothesis, Transcript
from voicecoach.intents.catalog import Catalog
from voicecoach.intents.names import Intent
from voicecoach.intents.sounds import sound_key
from voicecoach.intents.types import NO_MATCH, Context, Match
from voicecoach.intents.understand import understand

NO_SPEECH_THRESHOLD = 0.6    # Whisper's `no_speech_threshold` default
log = logging.getLogger("voicecoach.hearing")
MIN_SUPPORT = 0.5            # the winning intent must be more likely than not in the n-best
MIN_MASS = 0.01              # ... and its transcripts together at least this probable, per FLOOR_TOKENS tokens
# The floor was chosen on short commands ("Stop." is two tokens). A longer transcript is held
# to the same probability per token: "Add 10 seconds." (four tokens) heard through a room at
# -1.3 a token, all five hypotheses reading it alike, is not improbable; it is longer.
FLOOR_TOKENS = 2
# While an exercise runs, a lone "start" the decoder was unsure of is read as "stop": in a
# reverberant room a real "stop" comes back as "Start." and the two differ by one vowel. Of the
# two readings, stop is the safe one (a wrong stop costs a "start" again, a wrong start
# nothing but a missed stop). Whisper's mean log-probability per token; a clear "Start." is
# near -0.1.
START_DOUBT = -0.35
_LONE_START = re.compile(r"^\W*(?:(?:okay|ok|so|and|um|uh)\W+)?start\W*$", re.IGNORECASE)


@dataclass(frozen=True)
class Reading:
    match: Match
    hypothesis: Hypothesis | None
    reason: str                  # why: "parsed", "no speech", "low confidence", "no parse"
    support: float = 0.0         # share of the n-best's probability that reads as this intent


def read_intent(transcript: Transcript, catalog: Catalog, context: Context | None = None,
                no_speech_threshold: float = NO_SPEECH_THRESHOLD,
                min_support: float = MIN_SUPPORT, min_mass: float = MIN_MASS,
                sounds_alike: bool = True, statistical=None) -> Reading:
    hypotheses = [h for h in transcript.hypotheses if h.text.strip()]
    if not hypotheses:
        return Reading(Match("", NO_MATCH, {}, 0.0), transcript.best, "no speech")
    best = hypotheses[0]
    if best.no_speech_prob > no_speech_threshold:
        return Reading(Match(best.text, NO_MATCH, {}, 0.0), best, "no speech")
    matches = [read_one(h.text, catalog, context, sounds_alike, statistical) for h in hypotheses]
    totals = [read_logprob(h, m) for h, m in zip(hypotheses, matches)]
    weights = _softmax(totals)
    support: dict[tuple[str, str], float] = {}
    mass: dict[tuple[str, str], float] = {}
    chosen: dict[tuple[str, str], tuple[Match, Hypothesis, float]] = {}
    for hypothesis, match, weight, total in zip(hypotheses, matches, weights, totals):
        key = (match.intent, repr(sorted(match.slots.items())))
        support[key] = support.get(key, 0.0) + weight
        mass[key] = mass.get(key, 0.0) + math.exp(total)
        chosen.setdefault(key, (match, hypothesis, _tokens_read(hypothesis, total)))   # hypotheses come best first
    key = max(support, key=lambda k: (support[k], k[0] != NO_MATCH))
    match, hypothesis, tokens = chosen[key]
    probable = mass[key] > 0 and math.log(mass[key]) * FLOOR_TOKENS / max(FLOOR_TOKENS, tokens) >= math.log(min_mass)
    if match.intent == NO_MATCH or support[key] < min_support or not probable:
        log.debug("not acted on: %s", "; ".join(f"{h.text!r} ({t:.1f}) -> {m.intent}"
                                                for h, m, t in zip(hypotheses, matches, totals)))
        shown, reason = (best, "no parse") if match.intent == NO_MATCH else (hypothesis, "low confidence")
        return Reading(_rejected(shown.text, match), shown, reason, support[key])
    if _doubtful_start(match, hypothesis, context):
        return Reading(Match(match.text, Intent.STOP, {}, match.score, "policy", match.confidence), hypothesis,
                       "start heard unsure while exercising: stop", support[key])
    return Reading(match, hypothesis, "parsed", support[key])


def _doubtful_start(match: Match, hypothesis: Hypothesis, context: Context | None) -> bool:
    """A lone "start" heard with a low score while an exercise runs (not paused)."""
    return (context is not None and context.exercising and not context.paused and match.intent == Intent.START
            and not match.slots and bool(_LONE_START.match(hypothesis.text.strip()))
            and hypothesis.logprob < START_DOUBT)


def _rejected(text: str, match: Match) -> Match:
    """Not acted on; what was heard is shown as one saying, without the decoder's echo of it."""
    heard = _said_twice(text) or text
    if heard != text:
        log.debug("heard %r, decoded as %r", heard, text)
    return Match(heard, NO_MATCH, {}, match.score, match.by, match.confidence, match.aside)


def hypothesis_weights(hypotheses: list[Hypothesis]) -> list[float]:
    """Each hypothesis's share of the n-best's probability (softmax of whole log-probabilities)."""
    return _softmax([h.total_logprob for h in hypotheses])


def read_logprob(hypothesis: Hypothesis, match: Match) -> float:
    """The log-probability of what was read of `hypothesis`. Read from the first saying of a
    phrase the decoder wrote twice ("Add 10 seconds. Add ten seconds"), it is the first
    saying's share of the whole (by words, the tokens' mean taken for each): the decoder's echo
    of a phrase is not the user's, and its tokens would otherwise sink a clear command under
    the n-best's floor."""
    total = hypothesis.total_logprob
    if match.text != hypothesis.text and match.text == first_of_repeat(hypothesis.text):
        total *= len(_WORD.findall(match.text)) / max(1, len(_WORD.findall(hypothesis.text)))
    return total


def _tokens_read(hypothesis: Hypothesis, total: float) -> float:
    """The tokens `total` (read_logprob) is over: all of them, or the first saying's share."""
    whole = hypothesis.total_logprob
    return hypothesis.tokens * (total / whole) if whole < 0 else float(hypothesis.tokens)


def _softmax(totals: list[float]) -> list[float]:
    top = max(totals)
    exps = [math.exp(t - top) for t in totals]
    return [e / sum(exps) for e in exps]


def read_one(text: str, catalog: Catalog, context: Context | None, sounds_alike: bool = True,
             statistical=None) -> Match:
    """Both readings of a transcript (templates, then the statistical reader), then of its
    first phrase when said twice, then of its sound-alikes."""
    match = understand(text, catalog, context, statistical)
    if match.intent != NO_MATCH:
        return match
    # The decoder's second saying is its own echo, not the user's: what was heard is the
    # first one ("Start the stretch. Start to stretch, start the" -> "Start the stretch").
    # A respelling is only our reading: what was heard stays as the decoder wrote it.
    variants = [(first_of_repeat(text), True)]
    # A lone word is taken as heard: "cat" must not become "quit".
    if sounds_alike and len(_WORD.findall(text)) > 1:
        variants.append((respell(text, catalog), False))
    for variant, heard_as in variants:
        if variant and variant != text:
            found = understand(variant, catalog, context, statistical)
            if found.intent != NO_MATCH:
                return replace(found, text=variant if heard_as else text)
    return match


# ----- a phrase said twice over --------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z0-9']+")


def first_of_repeat(text: str) -> str | None:
    """The first saying of a phrase the decoder wrote twice: "Only 30 seconds only 40 seconds"
    -> "Only 30 seconds". The second saying starts with the same word and is at least half as
    long as the first; None when the text does not look like that."""
    words = list(_WORD.finditer(text))
    keys = [w.group().lower() for w in words]
    for cut in range(2, len(keys)):
        if keys[cut] == keys[0] and len(keys) - cut >= cut / 2:
            return text[:words[cut - 1].end()]
    return None


def _said_twice(text: str) -> str | None:
    """The first saying when the rest mostly repeats its words (the decoder's echo, not a
    longer sentence that happens to use its first word again), else None."""
    first = first_of_repeat(text)
    if first is None:
        return None
    said = {w.lower() for w in _WORD.findall(first)}
    again = {w.lower() for w in _WORD.findall(text[len(first):])}
    return first if len(said & again) > len(said) / 2 else None


# ----- sounds-alike --------------------------------------------------------------------------

_WORDS_OF: dict[int, tuple[Catalog, frozenset[str], dict[str, str]]] = {}


def _template_words(catalog: Catalog) -> tuple[frozenset[str], dict[str, str]]:
    """The words our sample sentences use, and each unambiguous sound key's word (kept per catalog)."""
    kept = _WORDS_OF.get(id(catalog))
    if kept is not None and kept[0] is catalog:
        return kept[1], kept[2]
    words: set[str] = set()
    for sample in catalog.samples(per_template=50):
        words.update(w.lower() for w in _WORD.findall(sample.text))
    for phrases in catalog.list_raw.values():
        for phrase, _ in phrases:
            words.update(w.lower() for w in _WORD.findall(phrase))
    by_key: dict[str, set[str]] = {}
    for word in words:
        if len(word) >= 3 and not word.isdigit():
            by_key.setdefault(sound_key(word), set()).add(word)
    known = frozenset(words)
    unique = {key: next(iter(ws)) for key, ws in by_key.items() if len(ws) == 1}
    _WORDS_OF[id(catalog)] = (catalog, known, unique)
    return known, unique


def respell(text: str, catalog: Catalog) -> str:
    """`text` with each word the templates never use replaced by the template word that
    sounds the same (when exactly one does)."""
    known, by_key = _template_words(catalog)

    def swap(found: re.Match[str]) -> str:
        word = found.group()
        if word.lower() in known or len(word) < 3:
            return word
        return by_key.get(sound_key(word), word)

    return _WORD.sub(swap, text)
