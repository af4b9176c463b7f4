"""From what the recognizer heard to what the user meant, or `none`.

The transcript goes through the same matcher as text mode. On top, what the decoder knows:
- n-best: among hypotheses nearly as likely as the best (within NBEST_MARGIN of its mean
  log-probability), the most likely one that parses wins. "Start." vs "Stop." both parse,
  so the decoder's order stands; "Resumed?" vs "Resume." both give resume.
- rejection, following Whisper's own published decoding thresholds: a mean token
  log-probability below -1.0 means the decoding failed, and a no-speech probability above
  0.6 means there was no speech. Either gives `none`, as does a matcher score below its own
  threshold. The coach then says "sorry?" instead of acting on a guess.
"""
from __future__ import annotations

from dataclasses import dataclass

from voicecoach.hearing.recognizer import Hypothesis, Transcript
from voicecoach.intents.catalog import Catalog
from voicecoach.intents.matcher import recognize
from voicecoach.intents.types import NO_MATCH, Context, Match

LOGPROB_THRESHOLD = -1.0     # Whisper's `logprob_threshold` default
NO_SPEECH_THRESHOLD = 0.6    # Whisper's `no_speech_threshold` default
NBEST_MARGIN = 0.5           # hypotheses this close to the best are taken as equally likely


def catalog_prompt(catalog: Catalog) -> str:
    """Our phrases, from the templates, as earlier text for the decoder to lean on.

    One sample sentence an intent (the first of its first template) and one phrase for
    every slot value, so domain words like "glute bridges" are expected, not guessed at.
    """
    first: dict[str, str] = {}
    for sample in catalog.samples(per_template=4):
        if sample.intent not in first or len(sample.text) < len(first[sample.intent]):
            first[sample.intent] = sample.text
    phrases = [text[0].upper() + text[1:] + "." for text in first.values()]
    for name, values in catalog.list_raw.items():
        if name != "exercise":
            continue      # topic names repeat the exercises or are ordinary words
        seen: dict[object, str] = {}
        for phrase, value in values:
            seen.setdefault(value, phrase)
        phrases.append(", ".join(seen.values()).capitalize() + ".")
    return " ".join(phrases)


@dataclass(frozen=True)
class Reading:
    match: Match
    hypothesis: Hypothesis | None
    reason: str                  # why: "parsed", "no speech", "low confidence", "no parse"


def read_intent(transcript: Transcript, catalog: Catalog, context: Context | None = None,
                logprob_threshold: float = LOGPROB_THRESHOLD,
                no_speech_threshold: float = NO_SPEECH_THRESHOLD,
                nbest_margin: float = NBEST_MARGIN) -> Reading:
    best = transcript.best
    if best is None or not best.text.strip():
        return Reading(Match("", NO_MATCH, {}, 0.0), best, "no speech")
    if best.no_speech_prob > no_speech_threshold:
        return Reading(Match(best.text, NO_MATCH, {}, 0.0), best, "no speech")
    for hypothesis in transcript.hypotheses:
        if hypothesis.logprob < best.logprob - nbest_margin:
            break
        match = recognize(hypothesis.text, catalog, context)
        if match.intent == NO_MATCH:
            continue
        if hypothesis.logprob < logprob_threshold:
            return Reading(Match(hypothesis.text, NO_MATCH, {}, match.score), hypothesis, "low confidence")
        return Reading(match, hypothesis, "parsed")
    return Reading(Match(best.text, NO_MATCH, {}, recognize(best.text, catalog, context).score), best, "no parse")
