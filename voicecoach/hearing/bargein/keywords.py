"""The barge-in check: is this short utterance one of a closed list of phrases?

"stop", "pause", "wait", "hold on", "ouch", "that hurts" must be heard while the coach is
talking, and a free transcription often misses them. So the same Whisper is asked a narrower
question on one encoding of the audio: a beam search allowed only our phrases' words writes
the closest phrase, teacher forcing gives the probability that Whisper itself would write
exactly that and then end, and Whisper's own greedy transcript is what it is judged against.

A hit needs the phrase's log-probability (with its ending) of at least PHRASE_FLOOR and no
more than -RATIO_FLOOR below the free transcript's; `KeywordHit.score` is the margin above the
nearer floor (0 and up is a hit). Long utterances are never checked. The steps, the floors and
their figures: docs/hearing.md, "Barge-in phrases and the microphone".
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from voicecoach.hearing.signal.audio import SAMPLE_RATE

# (phrase, intent): what the coach must hear even while it speaks. "hold it" is left out:
# the coach itself says "hold it there".
BARGE_IN_PHRASES: tuple[tuple[str, str], ...] = (
    ("stop", "stop"),
    ("pause", "pause"), ("wait", "pause"), ("hold on", "pause"), ("hang on", "pause"),
    ("ouch", "report_pain"), ("that hurts", "report_pain"), ("it hurts", "report_pain"),
)
# Words people put before a command ("okay stop", "no wait"); they never make a hit alone.
LEAD_WORDS: tuple[str, ...] = ("okay", "ok", "and", "no", "oh", "hey", "so", "um", "uh", "please")
ENDINGS = (".", "!", "?", ",")
PAIN = "report_pain"

# As low as the false-hit budget allows (one an hour of the coach's speech): a ratio floor of
# -4 let a "start" through as "stop". How they were chosen: docs/hearing.md.
PHRASE_FLOOR = -10.0
RATIO_FLOOR = -3.0
# Whisper's no-speech probability above which a phrase is no hit: a scrap of the coach's voice
# left when it yields scores 0.85-0.93, the user's commands under the echo's remains up to 0.82.
NO_SPEECH_CEILING = 0.85
DEFAULT_CONTEXT_SECONDS = 3.0      # the forced scoring needs no long context to avoid repetition
MAX_AUDIO_SECONDS = 3.0            # longer utterances are not barge-in phrases
CANDIDATES = 2                     # distinct phrases from the restricted search that are scored
BEAM = 4
CANDIDATE_TOKENS = 8


@dataclass(frozen=True)
class KeywordHit:
    phrase: str      # the barge-in phrase that scored best ("stop", "hold on", "that hurts")
    intent: str      # "stop" | "pause" | "report_pain"
    score: float     # calibrated: higher is surer (log-probability; 0 is certain)


@dataclass(frozen=True)
class Scored:
    """One candidate's teacher-forced score, kept for benchmarks and tests."""
    text: str                   # as the restricted search wrote it ("Okay, stop.")
    phrase: str
    intent: str
    phrase_logprob: float       # the forced tokens, leading words included
    end_logprob: float          # the token after them is an ending or the phrase again

    @property
    def score(self) -> float:
        return self.phrase_logprob + self.end_logprob


_WORD = re.compile(r"[a-z']+")


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def parse_phrase(text: str, phrases: Sequence[tuple[str, str]], leads: Sequence[str] = LEAD_WORDS
                 ) -> tuple[list[str], str, str] | None:
    """Leading words and the phrase that `text` opens with: (lead + phrase words, phrase, intent).

    "Okay, stop. Stop." -> (["okay", "stop"], "stop", "stop"); "Hold it" -> None. What follows
    the phrase is not looked at here: the decoder's own next token judges that.
    """
    heard = words_of(text)
    start = 0
    while start < len(heard) and heard[start] in leads:
        start += 1
    best: tuple[str, str] | None = None
    for phrase, intent in phrases:
        said = phrase.split()
        if heard[start:start + len(said)] == said and (best is None or len(said) > len(best[0].split())):
            best = (phrase, intent)
    if best is None:
        return None
    return heard[:start + len(best[0].split())], best[0], best[1]


def _log_softmax(row: np.ndarray) -> np.ndarray:
    row = np.asarray(row, dtype=np.float64)
    top = row.max()
    return row - (top + math.log(float(np.exp(row - top).sum())))


@dataclass(frozen=True)
class Measured:
    """What the check knows about one utterance, before the thresholds."""
    phrase: str
    intent: str
    phrase_logprob: float       # the best phrase with its ending (its writings added up)
    free_logprob: float         # what Whisper writes freely (greedy), for the ratio
    free_text: str
    no_speech_prob: float = 0.0  # Whisper's own probability that the audio holds no speech

    @property
    def ratio(self) -> float:
        """How much less likely the phrase is than Whisper's own transcript (0: as likely)."""
        return self.phrase_logprob - self.free_logprob


class BargeInSpotter:
    """The closed-vocabulary check on a loaded WhisperRecognizer (CTranslate2).

    A hit needs both: the phrase probable in itself (`phrase_floor`), and not much less
    probable than what Whisper would write freely (`ratio_floor`). The first keeps out
    speech that merely resembles a phrase; the second forgives noisy audio, where every
    transcript is unlikely, and catches a clear "start" whose free transcript is far
    likelier than "stop".
    """

    def __init__(self, recognizer, phrases: Iterable[tuple[str, str]] = BARGE_IN_PHRASES,
                 phrase_floor: float = PHRASE_FLOOR, ratio_floor: float = RATIO_FLOOR,
                 no_speech_ceiling: float | None = NO_SPEECH_CEILING,
                 context_seconds: float = DEFAULT_CONTEXT_SECONDS, max_seconds: float = MAX_AUDIO_SECONDS,
                 leads: Sequence[str] = LEAD_WORDS) -> None:
        self.recognizer = recognizer
        self.phrases = tuple((" ".join(words_of(p)), intent) for p, intent in phrases)
        if not self.phrases:
            raise ValueError("a barge-in spotter needs at least one phrase")
        self.phrase_floor, self.ratio_floor = phrase_floor, ratio_floor
        self.no_speech_ceiling = no_speech_ceiling
        self.context_seconds = context_seconds
        self.max_seconds = max_seconds
        self.leads = tuple(leads)
        self._vocabulary = recognizer.vocabulary
        self._suppressed: list[int] | None = None

    # ----- the one call -------------------------------------------------------------------

    def spot(self, audio: np.ndarray) -> KeywordHit | None:
        """A hit when `audio` (float32 16 kHz mono) is a barge-in phrase, else None."""
        best = self.best(audio)
        return best if best is not None and best.score >= 0.0 else None

    def best(self, audio: np.ndarray) -> KeywordHit | None:
        """The best phrase whatever its score (None for long audio or no candidate). The
        score is the margin above the nearer of the two floors: a hit from 0 up."""
        measured = self.measure(audio)
        if measured is None:
            return None
        phrase, intent = self.named(measured)
        return KeywordHit(phrase, intent, round(self.score(measured), 3))

    def named(self, measured: Measured) -> tuple[str, str]:
        """The phrase and intent a hit is acted on as. A pain phrase in Whisper's own transcript
        names the utterance: "Stop, that hurts." scores as "stop" (the phrase it opens with, and
        "that" may begin the phrase again), but it is a pain report, as the reader takes it."""
        if measured.intent == PAIN:
            return measured.phrase, measured.intent
        heard = words_of(measured.free_text)
        for phrase, intent in self.phrases:
            said = phrase.split()
            if intent == PAIN and any(heard[k:k + len(said)] == said for k in range(len(heard))):
                return phrase, intent
        return measured.phrase, measured.intent

    def score(self, measured: Measured) -> float:
        margin = min(measured.phrase_logprob - self.phrase_floor, measured.ratio - self.ratio_floor)
        if self.no_speech_ceiling is not None:
            # In the same units (natural log): 0 at the ceiling, -0.06 at 0.9.
            margin = min(margin, math.log(self.no_speech_ceiling) - math.log(max(measured.no_speech_prob, 1e-9)))
        return margin

    def measure(self, audio: np.ndarray) -> Measured | None:
        """The best phrase's probability and Whisper's own transcript's, on one encoding.

        Two writings of one phrase ("Okay, stop" and "Ok stop") are two ways of saying it:
        their probabilities add up.
        """
        audio = np.asarray(audio, dtype=np.float32)
        if len(audio) == 0 or len(audio) > self.max_seconds * SAMPLE_RATE:
            return None
        import ctranslate2
        from voicecoach.hearing.asr.whisper import features_for_context

        model = self.recognizer.loaded_model()
        features = features_for_context(audio, self.context_seconds)
        encoded = model.encode(ctranslate2.StorageView.from_array(features[None]))
        by_phrase: dict[tuple[str, str], float] = {}
        for scored in self.score_candidates(model, encoded):
            key = (scored.phrase, scored.intent)
            by_phrase[key] = float(np.logaddexp(by_phrase.get(key, -math.inf), scored.score))
        if not by_phrase:
            return None
        (phrase, intent), logprob = max(by_phrase.items(), key=lambda item: item[1])
        free_logprob, free_text, no_speech = self._free_transcript(model, encoded, len(audio) / SAMPLE_RATE)
        return Measured(phrase, intent, logprob, free_logprob, free_text, no_speech)

    def _free_transcript(self, model, encoded, seconds: float) -> tuple[float, str, float]:
        """The most probable complete transcript along Whisper's greedy path, its text, and the
        probability Whisper gives the audio of holding no speech at all.

        A short context tempts the decoder to go on after the words ("If you feel pain, stop.
        Stop. If you"); the whole path is then less probable than the audio warrants and
        would flatter the ratio. So every point of the path is tried as its end (the path so
        far, then end of text), and the likeliest complete transcript counts.
        """
        from voicecoach.hearing.asr.whisper import max_new_tokens

        start = self._vocabulary.prompt()
        eot = self._vocabulary.eot
        free = model.generate(encoded, [start], beam_size=1, return_logits_vocab=True, return_no_speech_prob=True,
                              max_length=len(start) + max_new_tokens(seconds))[0]
        ids = list(free.sequences_ids[0])
        rows = np.asarray(free.logits[0]) if free.logits else np.zeros((0, 0))
        path, best, best_at = 0.0, -math.inf, 0
        for k in range(min(len(ids), len(rows))):
            step = _log_softmax(rows[k])
            if k and path + step[eot] > best:
                best, best_at = path + step[eot], k
            path += float(step[ids[k]])
        if len(rows) > len(ids):
            ended = path + float(_log_softmax(rows[len(ids)])[eot])
        else:
            ended = path      # the decoder chose end of text there (its logits are not returned)
        if ended >= best:
            best, best_at = ended, len(ids)
        return float(best), self._vocabulary.decode(ids[:best_at]), float(free.no_speech_prob)

    def score_candidates(self, model, encoded) -> list[Scored]:
        start = self._vocabulary.prompt()
        found = model.generate(encoded, [start], beam_size=BEAM, num_hypotheses=BEAM,
                               max_length=len(start) + CANDIDATE_TOKENS,
                               suppress_tokens=self._suppressed_tokens(), suppress_blank=False)[0]
        scored: list[Scored] = []
        seen: set[tuple[str, ...]] = set()
        for ids in found.sequences_ids:
            forced = self._forced_tokens(list(ids))
            if forced is None or tuple(forced[1]) in seen:
                continue
            seen.add(tuple(forced[1]))
            scored.append(self._force(model, encoded, start, *forced))
            if len(scored) >= CANDIDATES:
                break
        if not scored:
            scored = self._likeliest_phrases(model, encoded, start, CANDIDATES)
        return scored

    def _likeliest_phrases(self, model, encoded, start: list[int], count: int) -> list[Scored]:
        """When the restricted search wrote no phrase ("O. O. O"), the phrases whose first
        token the decoder finds likeliest, each in its usual writing (" Pause")."""
        first = model.generate(encoded, [start], beam_size=1, max_length=len(start) + 1,
                               return_logits_vocab=True, suppress_tokens=[], suppress_blank=False)[0]
        if not first.logits:
            return []
        step = _log_softmax(np.asarray(first.logits[0])[0])
        writings = [(self._vocabulary.encode(" " + phrase.capitalize()), phrase, intent)
                    for phrase, intent in self.phrases]
        writings.sort(key=lambda w: -step[w[0][0]])
        return [self._force(model, encoded, start, ids, phrase.split(), phrase, intent)
                for ids, phrase, intent in writings[:count]]

    # ----- inside -------------------------------------------------------------------------

    def _forced_tokens(self, ids: list[int]) -> tuple[list[int], list[str], str, str] | None:
        """The shortest token prefix that spells the leading words and the phrase."""
        vocabulary = self._vocabulary
        parsed = parse_phrase(vocabulary.decode(ids), self.phrases, self.leads)
        if parsed is None:
            return None
        target, phrase, intent = parsed
        for k in range(1, len(ids) + 1):
            continues_word = k < len(ids) and vocabulary.tokens[ids[k]][:1].isalpha()
            if not continues_word and words_of(vocabulary.decode(ids[:k])) == target:
                return ids[:k], target, phrase, intent
        return None

    def _force(self, model, encoded, start: list[int], ids: list[int], target: list[str],
               phrase: str, intent: str) -> Scored:
        """Teacher forcing: the phrase's tokens and a full stop after them, in one pass.

        The logits of each forced step give the phrase's probability; the step after the
        phrase and the one after the full stop give its ending: end of text, or punctuation
        followed by end of text or the phrase again. "Stop. If you feel pain..." is then no
        "stop": after "Stop." the decoder wants more words.
        """
        period = self._vocabulary.ids.get(".")
        forced = ids + ([period] if period is not None else [])
        # CTranslate2 counts a forced prefix twice against max_length (measured: a length of
        # 2n returns n steps), so this asks for the forced steps and the one after them.
        result = model.generate(encoded, [start + forced], beam_size=1, max_length=2 * (len(forced) + 1) + len(start),
                                return_logits_vocab=True, suppress_tokens=[], suppress_blank=False)[0]
        rows = np.asarray(result.logits[0]) if result.logits else np.zeros((0, 0))
        if len(rows) < len(ids):
            return Scored(self._vocabulary.decode(ids), phrase, intent, -math.inf, -math.inf)
        phrase_logprob = sum(float(_log_softmax(rows[i])[token]) for i, token in enumerate(ids))
        return Scored(self._vocabulary.decode(ids), phrase, intent, phrase_logprob, self._end_logprob(rows, len(ids)))

    def _end_logprob(self, rows: np.ndarray, after: int) -> float:
        """log P(the phrase ends here): end of text next, or punctuation and then the end."""
        # The decoder returns no logits for a step that chose end of text: it was the most
        # likely next token there, so the phrase ended.
        if len(rows) <= after:
            return 0.0
        next_step = _log_softmax(rows[after])
        punctuation = float(np.logaddexp.reduce(next_step[self._punctuation_tokens()]))
        if len(rows) <= after + 1:
            then_end = 0.0
        else:
            then_end = float(np.logaddexp.reduce(_log_softmax(rows[after + 1])[self._ending_tokens()]))
        ends_now = float(np.logaddexp.reduce(next_step[self._ending_tokens()]))     # end, or "stop stop"
        return float(np.logaddexp(ends_now, punctuation + then_end))

    def _allowed_tokens(self) -> set[int]:
        vocabulary = self._vocabulary
        allowed = {vocabulary.eot} | {vocabulary.ids[p] for p in ENDINGS if p in vocabulary.ids}
        for word in {w for p, _ in self.phrases for w in p.split()} | set(self.leads):
            for spelling in (word, word.capitalize(), word.upper()):
                allowed.update(vocabulary.encode(" " + spelling))
                allowed.update(vocabulary.encode(spelling))
        return allowed

    def _suppressed_tokens(self) -> list[int]:
        if self._suppressed is None:
            allowed = self._allowed_tokens()
            # End of text is suppressed too: the search must write a phrase, whatever the
            # audio; whether it was said is for the unrestricted score to judge.
            self._suppressed = [i for i in range(self._vocabulary.eot + 1) if i not in allowed or i == self._vocabulary.eot]
        return self._suppressed

    def _punctuation_tokens(self) -> list[int]:
        return [self._vocabulary.ids[p] for p in ENDINGS if p in self._vocabulary.ids]

    def _ending_tokens(self) -> list[int]:
        """End of text, or the phrase said again ("stop stop", "Stop. Stop.")."""
        vocabulary = self._vocabulary
        endings = {vocabulary.eot}
        for phrase, _ in self.phrases:
            first = phrase.split()[0]
            for spelling in (first, first.capitalize()):
                endings.add(vocabulary.encode(" " + spelling)[0])
        return sorted(endings)


def spotter_for(recognizer, **options) -> BargeInSpotter | None:
    """A spotter on `recognizer` when it is Whisper (the check needs its decoder), else None.

    A recognizer that falls back to sphinx (hearing.asr.engines.FallingBack) is looked through
    to its Whisper; should Whisper fail later, the check fails with it and the listen loop
    leaves every utterance to the fallback.
    """
    whisper = getattr(recognizer, "primary", recognizer)
    if getattr(whisper, "name", "") != "whisper" or not hasattr(whisper, "loaded_model"):
        return None
    return BargeInSpotter(whisper, **options)
