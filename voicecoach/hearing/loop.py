"""The listen loop: audio frames in, typed hearing events out.

    source -> Endpointer (VAD) -> utterance -> recognize(audio) -> Match -> barge-in gate -> event

`spot`, when given, is the closed-vocabulary barge-in check (over the coach's voice asked first,
into quiet after the decode: `ListenLoop._read`); `recognize` is any
callable from float32 16 kHz audio to a Match (`reader()` builds one), so tests pass fakes.
While the coach speaks (`coach_speaking(text)`, `coach_silent()`: hearing knows nothing of the
voice) only stop, pause and report_pain are acted on, and the coach's own words coming back
are ignored. Events are small frozen dataclasses delivered in stream order:

    SpeechStarted      someone started talking (show it; the utterance is not complete yet)
    SpeechDropped      that sound was too short to be a word (a click, a knock)
    UtteranceHeard     act on `match` (intent "none": say "sorry?")
    UtteranceIgnored   heard, but not to be acted on: "echo", "own word", "coach speaking" or "late"
    NothingHeard       the recognizer found no words in the sound
    ListenFailed       the recognizer or the source failed; `reason` is one line
    ListenEnded        the source ended, was cancelled, or failed

Use it frame by frame (`push`, `finish`) inside the caller's own loop, or let it read a
source itself (`run` in this thread, `start` in a background thread). The rules in full
(echoes, the second reading, a command said with a pause): docs/hearing.md.
"""
from __future__ import annotations

import logging
import math
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

import numpy as np

from voicecoach.hearing.bargein.own_voice import (
    OwnWordCheck,
    PlayedNow,
    PlayedRecord,
    PlayedSpan,
    played_from,
)
from voicecoach.hearing.signal.audio import SAMPLE_RATE
from voicecoach.hearing.signal.sources import AudioSource
from voicecoach.hearing.signal.vad import FRAME_MS, Endpointer, Utterance
from voicecoach.intents.names import Intent
from voicecoach.intents.types import NO_MATCH, Context, Match
from voicecoach.intents.understand import MODEL_SURE

if TYPE_CHECKING:
    from voicecoach.hearing.bargein.keywords import KeywordHit

log = logging.getLogger(__name__)
BARGE_IN_INTENTS = frozenset({Intent.STOP, Intent.PAUSE, Intent.REPORT_PAIN})
ECHO_SHARE = 0.6            # share of heard words, in order, found in the coach's line: an echo
ECHO_SHARE_BARGE_IN = 0.8   # stricter when the words would stop the coach: missing a real "stop" costs more
ECHO_HANGOVER_MS = 150      # the coach's voice still arrives this long after playback (device latency, room)
USER_FIRST_MS = 200         # a coach line begun this long after the user started talking does not make it "coach speaking"
TOGETHER_MS = 300           # a line begun this little before the user's onset began with them (neither had heard the other)
LATE_MS = 2000              # an utterance read this long after its end is not answered as new (stop, pause and pain are)
CONTINUATION_MS = 600       # how long an utterance that does not parse waits for the rest of the sentence
ORIGIN_WINDOW_S = 6.0      # the stream's start is dated by the least-waited frame of this many seconds
HEARD_AT_KEPT_MS = 20_000  # when each frame was heard, kept this far back (an utterance and its reading)
BEHIND_MS = 500            # -v notes when the frames are heard this far behind the room
BEHIND_NOTE_EVERY_MS = 5000
SECOND_LOOK_PRE_ROLL_MS = 150   # the second reading of a command said over the coach keeps this much before its onset
# On a real clock an utterance is read once it has been silent this long, while the endpointer
# waits out the rest of its trailing silence (240 ms): when no speech follows, the cut finds its
# reading made (a short command's decode, 80-150 ms, no longer adds to the reply). Speech that
# goes on makes it a reading of nothing, so it is begun only when the reader has nothing else to do.
EARLY_READ_MS = 120
# Into quiet, a decode read as a command of this many words or more is not checked against
# the closed list of barge-ins (the check takes longer than the decode of a short command).
QUIET_SURE_WORDS = 3
# Over the coach's voice an utterance is cut this long after its onset. What the canceller lets
# through of the coach can keep the endpointer in speech for as long as the coach talks, and a
# "stop" said then joined that utterance: read with the coach's words, acted on seconds later
# or not at all. Commands over the coach are short (stop, pause, that hurts: under 1.5 s); each
# cut piece gets its own barge-in check, and what follows starts an utterance of its own.
OVER_COACH_MAX_MS = 2000
# A stop, pause or "that hurts" said while the coach's echo keeps an utterance going ends it:
# the closed-vocabulary check hears its last this-much again on its own, where the words read
# with the coach's would not (the user's words are last: the coach talks on after them, apart).
TAIL_LOOK_MS = 1200

Recognize = Callable[[np.ndarray], Match]
NO_MATCH_HEARD = Match("(not read: hearing was behind)", NO_MATCH, {}, 0.0)
Spot = Callable[[np.ndarray], Optional["KeywordHit"]]


@dataclass(frozen=True)
class SpeechStarted:
    at_ms: float                 # stream time of the first speech frame


@dataclass(frozen=True)
class SpeechDropped:
    at_ms: float                 # stream time when the sound was given up


@dataclass(frozen=True)
class UtteranceHeard:
    match: Match                 # what to act on; intent "none" when rejected
    audio_ms: float              # length of the audio recognized
    decode_ms: float             # wall time the recognizer took
    onset_ms: float = 0.0        # stream time speech began
    speech_end_ms: float = 0.0   # stream time speech ended
    cut_ms: float = 0.0          # stream time the utterance was cut (end of speech detected)
    lag_ms: float = 0.0          # from the end of speech to this reading, on the clock (hearing's delay)


@dataclass(frozen=True)
class UtteranceIgnored:
    match: Match                 # what was heard (not to be acted on)
    reason: str                  # "echo", "own word", "coach speaking" or "late"
    audio_ms: float
    decode_ms: float
    onset_ms: float = 0.0        # stream time speech began
    speech_end_ms: float = 0.0   # stream time speech ended
    lag_ms: float = 0.0          # from the end of speech to this reading, on the clock


@dataclass(frozen=True)
class NothingHeard:
    audio_ms: float
    decode_ms: float


@dataclass(frozen=True)
class ListenFailed:
    reason: str                  # one line


@dataclass(frozen=True)
class ListenEnded:
    reason: str                  # "end of audio", "cancelled" or "failed"


HearingEvent = (SpeechStarted | SpeechDropped | UtteranceHeard | UtteranceIgnored | NothingHeard | ListenFailed
                | ListenEnded)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _in_order_overlap(heard: list[str], said: list[str]) -> int:
    """Length of the longest common subsequence: heard words found, in order, in the coach's line."""
    previous = [0] * (len(said) + 1)
    for h in heard:
        current = [0]
        for j, s in enumerate(said):
            current.append(previous[j] + 1 if h == s else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def is_echo(heard_text: str, coach_text: str, barge_in: bool = False) -> bool:
    """Whether the transcript is the coach's own line coming back through the microphone.

    One barge-in word ("stop") is never taken for an echo: the user saying it must win even
    when the coach's line holds the same word.
    """
    heard = words(heard_text)
    if not heard or (barge_in and len(heard) < 2):
        return False
    share = _in_order_overlap(heard, words(coach_text)) / len(heard)
    return share >= (ECHO_SHARE_BARGE_IN if barge_in else ECHO_SHARE)


@dataclass
class _Line:
    text: str
    start_ms: float
    end_ms: float | None = None  # None while still being said


class BargeInGate:
    """Remembers what the coach said when (on the stream's clock) and judges each utterance."""

    def __init__(self, hangover_ms: float = ECHO_HANGOVER_MS, keep_ms: float = 20_000) -> None:
        self.hangover_ms = hangover_ms
        self.keep_ms = keep_ms
        self._lines: list[_Line] = []
        self._lock = threading.Lock()

    def coach_speaking(self, text: str, at_ms: float) -> None:
        """Safe to call on every frame: the same line still being said is one line."""
        with self._lock:
            if self._lines and self._lines[-1].end_ms is None and self._lines[-1].text == text:
                return
            self._close(at_ms)
            self._lines.append(_Line(text, at_ms))
            self._lines = [line for line in self._lines if line.end_ms is None or line.end_ms > at_ms - self.keep_ms]

    def coach_silent(self, at_ms: float) -> None:
        with self._lock:
            self._close(at_ms)

    def _close(self, at_ms: float) -> None:
        for line in self._lines:
            if line.end_ms is None:
                line.end_ms = at_ms

    def lines_during(self, onset_ms: float, end_ms: float) -> list[str]:
        """What the coach was saying at any moment from the speech onset to the cut."""
        return [line.text for line in self._sounding(onset_ms, end_ms)]

    def _sounding(self, onset_ms: float, end_ms: float) -> list[_Line]:
        with self._lock:
            return [line for line in self._lines if line.start_ms <= end_ms
                    and (line.end_ms is None or line.end_ms + self.hangover_ms >= onset_ms)]

    def why_ignored(self, match: Match, onset_ms: float, end_ms: float,
                    own_word: Callable[[], bool] | None = None,
                    user_shown: Callable[[], bool] | None = None) -> str | None:
        """"echo", "own word", "coach speaking", or None when the utterance is to be acted on.

        `own_word()`, asked only of a barge-in over the coach's voice that its words alone
        do not make an echo, says whether the signal shows it to be the coach's own word;
        `user_shown()`, whether it shows the user (hearing.bargein.own_voice)."""
        said = self.lines_during(onset_ms, end_ms)
        if not said:
            return None
        barge_in = match.intent in BARGE_IN_INTENTS
        if any(is_echo(match.text, line, barge_in) for line in said):
            return "echo"
        if not barge_in:
            # The user had the floor when a line began after they started ("add ten seconds" with a
            # cue falling due in the middle): their words are not dropped for the coach's. When the
            # two began together ("Halfway." falling due as they spoke), words that are not the
            # line's (checked above) are the user's where the signal shows them.
            lines = self._sounding(onset_ms, onset_ms + USER_FIRST_MS)
            if not lines:
                return None
            together = all(line.start_ms >= onset_ms - TOGETHER_MS for line in lines)
            return None if together and user_shown is not None and user_shown() else "coach speaking"
        # The statistical reader takes a stop or pain report from a low probability (a miss costs
        # more), but over the coach's voice a scrap of its words ("This.", "It's...") reads that
        # way too; the barge-in check and the templates hear the user's commands there, and the
        # reader's unsure reading counts only when the signal shows the user.
        if match.by == "model" and match.confidence < MODEL_SURE and not (user_shown is not None and user_shown()):
            return "coach speaking"
        if own_word is not None and own_word():
            return "own word"
        return None


@dataclass(frozen=True)
class _Read:
    """What was made of an utterance's audio: the barge-in check's hit, or the recognizer's
    reading (None: the hit stands, the recognizer failed (`error`), or it was not asked)."""
    hit: Match | None
    match: Match | None = None
    error: str | None = None


@dataclass(frozen=True)
class _EarlyReading:
    """An utterance read before its cut (EARLY_READ_MS): whose it is, and what was read."""
    start_ms: float
    onset_ms: float
    speech_end_ms: float
    read: _Read
    decode_ms: float

    def reads(self, utterance: Utterance) -> bool:
        """Whether `utterance` is the one read: nothing was said after the reading began."""
        return (self.start_ms, self.onset_ms, self.speech_end_ms) == (
            utterance.start_ms, utterance.onset_ms, utterance.speech_end_ms)


@dataclass
class _Held:
    """An utterance that did not parse, waiting a moment for the rest of the sentence."""
    utterance: Utterance
    match: Match
    decode_ms: float
    until_ms: float


@dataclass(eq=False)
class ListenLoop:
    """Frames in, HearingEvents out. `recognize` is called in the loop's thread, one utterance at a time."""

    recognize: Recognize
    endpointer: Endpointer = field(default_factory=Endpointer)
    gate: BargeInGate = field(default_factory=BargeInGate)
    continuation_ms: float = CONTINUATION_MS
    timer: Callable[[], float] = time.perf_counter      # for decode_ms only
    events: queue.Queue[HearingEvent] = field(default_factory=queue.Queue)
    spot: Spot | None = None          # the barge-in check (hearing.bargein.keywords); see `_read` for when
    # What the speaker played and the double-talk score, frame by frame (hearing.bargein.own_voice);
    # None: taken from the endpointer's echo-gated detector when it has a canceller.
    played: PlayedNow | None = None
    own_word: OwnWordCheck = field(default_factory=OwnWordCheck)
    # The clock the source's frames arrive on (`start` takes the app's): how late a reading is.
    # None (frames pushed from a file as fast as they can be): nothing is ever late.
    now: Callable[[], float] | None = None
    late_ms: float = LATE_MS
    early_read_ms: float = EARLY_READ_MS     # 0: every utterance is read from its cut
    over_coach_max_ms: float = OVER_COACH_MAX_MS   # 0: over the coach too, only silence or 8 s cut

    def __post_init__(self) -> None:
        if self.played is None:
            self.played = played_from(self.endpointer.detector)
        self._record = PlayedRecord()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._was_in_speech = False
        self._held: _Held | None = None
        self._early: _EarlyReading | None = None     # the reader thread's alone
        self._origins = _RecentLeast(ORIGIN_WINDOW_S)   # the clock time of the stream's start, as best seen lately
        self._apart = False                      # utterances are read on their own thread (`run`'s decode_apart)
        self._heard_at: deque[tuple[float, float]] = deque(maxlen=int(HEARD_AT_KEPT_MS // FRAME_MS))
        self._behind_noted_ms = 0.0

    # The coach's side, callable from any thread.
    def coach_speaking(self, text: str) -> None:
        self.gate.coach_speaking(text, self.stream_now_ms())

    def coach_silent(self) -> None:
        self.gate.coach_silent(self.stream_now_ms())

    def stream_now_ms(self) -> float:
        """Where the stream is now: the frame being captured, not the one being heard. When hearing
        has fallen behind (a decode took a while), the coach's voice is placed where it sounds in
        the stream; placed at the frame being heard, the end of a line would fall seconds early and
        its last words be taken for the user's."""
        return self.endpointer.elapsed_ms + self.lag_ms(self.endpointer.elapsed_ms)

    # Frame by frame, in the caller's thread.
    def push(self, frame: np.ndarray) -> list[HearingEvent]:
        utterance, events = self._frame(frame)
        if utterance is not None:
            events += self._hear(utterance)
        elif self._release_due() is not None:
            events += self._release()
        return events

    def _frame(self, frame: np.ndarray) -> tuple[Utterance | None, list[HearingEvent]]:
        """One frame through the endpointer: the utterance it ends (if any), and the events that
        cannot wait for a decode (speech started, a sound dropped)."""
        utterance = self.endpointer.push(frame)
        events: list[HearingEvent] = []
        now = self.endpointer.elapsed_ms
        if utterance is None and self._over_coach_too_long(now):
            utterance = self.endpointer.flush(cut_short=True)
            if utterance is not None:
                log.info("an utterance over the coach's voice was cut after %.0f ms", utterance.end_ms - utterance.onset_ms)
        # A frame taken at once was captured just now; one that waited in a queue, earlier: the
        # least waited-for frame seen lately dates the stream's start. Lately, not ever: a sound
        # server that drops or delays blocks under load loses the stream time against the clock
        # (measured through PulseAudio on a busy machine: 1.5 s in a minute, with no frame
        # waiting), and measured from the first frame that loss read as hearing falling behind:
        # every utterance "late", the coach's lines placed after their echo.
        if self.now is not None:
            wall = self.now()
            self._origins.note(now / 1000, wall - now / 1000)
            if self._apart:
                self._heard_at.append((now, wall))
        if self.played is not None:
            self._record.note(round(now / FRAME_MS) - 1, self.played())
        if self.endpointer.in_speech and not self._was_in_speech:
            onset = self.endpointer.onset_ms
            events.append(SpeechStarted(now if onset is None else onset))
        elif self._was_in_speech and not self.endpointer.in_speech and utterance is None:
            events.append(SpeechDropped(now))
        self._was_in_speech = self.endpointer.in_speech
        return utterance, events

    def _note_behind(self) -> None:
        """Under -v: how far behind the room the frames are heard, when it is over BEHIND_MS (every few seconds)."""
        now = self.endpointer.elapsed_ms
        if now - self._behind_noted_ms < BEHIND_NOTE_EVERY_MS:
            return
        behind = self.lag_ms(now)
        if behind > BEHIND_MS:
            self._behind_noted_ms = now
            log.info("hearing: the frames are heard %.0f ms behind the room", behind)

    def _over_coach_too_long(self, now_ms: float) -> bool:
        """Whether the utterance under way has gone on OVER_COACH_MAX_MS while the coach is speaking."""
        onset = self.endpointer.onset_ms
        return (self.over_coach_max_ms > 0 and onset is not None and now_ms - onset >= self.over_coach_max_ms
                and bool(self.gate.lines_during(now_ms, now_ms)))

    def _early_due(self) -> Utterance | None:
        """The utterance under way, once, when its silence reaches `early_read_ms`."""
        if self.early_read_ms <= 0 or not self.endpointer.in_speech:
            return None
        silent = self.endpointer.silent_ms
        if not self.early_read_ms <= silent < self.early_read_ms + FRAME_MS:
            return None
        return self.endpointer.so_far()

    def _read_early(self, utterance: Utterance) -> None:
        """Read `utterance` before its cut, as `_hear` would."""
        started = self.timer()
        read = self._read(utterance, late=False)
        self._early = _EarlyReading(utterance.start_ms, utterance.onset_ms, utterance.speech_end_ms, read,
                                    1000.0 * (self.timer() - started))

    def _read(self, utterance: Utterance, late: bool) -> _Read:
        """The check's hit or the recognizer's reading of `utterance`.

        Over the coach's voice the check comes first: it hears a barge-in the decode can miss
        there, and its hit spares the decode. Into quiet the decode comes first (on a short
        command it is the faster of the two): its barge-in, or a sentence of QUIET_SURE_WORDS
        words or more, stands; the check is asked only of a shorter line the decode read as
        something else ("Start." for a "stop"). `late`: hearing is behind, and only the
        check's barge-in would still be acted on: the decode is skipped."""
        audio = utterance.audio
        if late or self.gate.lines_during(utterance.onset_ms, utterance.end_ms):
            hit = self._spotted(audio)
            return _Read(hit) if hit is not None or late else self._decoded(audio)
        read = self._decoded(audio)
        if read.match is not None and (read.match.intent in BARGE_IN_INTENTS or (
                read.match.intent != NO_MATCH and len(words(read.match.text)) >= QUIET_SURE_WORDS)):
            return read
        hit = self._spotted(audio)
        return _Read(hit) if hit is not None else read

    def _decoded(self, audio: np.ndarray) -> _Read:
        try:
            return _Read(None, self.recognize(audio))
        except Exception as exc:  # noqa: BLE001 - one bad decode should not end listening
            return _Read(None, error=_one_line(exc))

    def _release_due(self) -> _Held | None:
        """The utterance held for the rest of its sentence, once its wait is over and no speech goes on."""
        held = self._held
        if held is not None and not self.endpointer.in_speech and self.endpointer.elapsed_ms >= held.until_ms:
            return held
        return None

    def finish(self) -> list[HearingEvent]:
        """At the end of the stream: whatever was being said, and anything held."""
        utterance = self.endpointer.flush()
        self._was_in_speech = False
        if utterance is not None:
            return self._hear(utterance, final=True)
        return self._release()

    # Reading a source.
    def run(self, source: AudioSource, deliver: Callable[[HearingEvent], None] | None = None,
            cancel: threading.Event | None = None, before_frame: Callable[[], None] | None = None,
            decode_apart: bool = False) -> None:
        """Read `source` until it ends or `cancel` is set; every event goes to `deliver` (or `events`).

        `before_frame` runs before each frame is heard (the app tells the gate there whether
        the coach is speaking, so the gate's times are the stream's own). With `decode_apart`,
        utterances are read on a thread of their own, in order, while this one goes on with
        the frames: speech starting is told at once (the coach yields on it) even while a
        decode is under way; otherwise frames wait for each decode."""
        deliver = deliver or self.events.put
        cancel = cancel or self._cancel
        reader = _Reader(self, deliver, cancel) if decode_apart else None
        self._apart = decode_apart
        try:
            for frame in source.frames(cancel):
                if before_frame is not None:
                    before_frame()
                if reader is None:
                    for event in self.push(frame):
                        deliver(event)
                else:
                    utterance, events = self._frame(frame)
                    for event in events:
                        deliver(event)
                    reader.frame_done(utterance, self._early_due() if utterance is None else None)
                self._note_behind()
                if cancel.is_set():
                    break
            if cancel.is_set():          # the caller is leaving: no last decode to wait for
                if reader is not None:
                    reader.close(drop=True)
                if reader is None or not reader.failed:
                    deliver(ListenEnded("cancelled"))
                return
            if reader is None:
                for event in self.finish():
                    deliver(event)
            else:
                reader.finish()
                if reader.failed:
                    return
            deliver(ListenEnded("end of audio"))
        except Exception as exc:  # noqa: BLE001 - a failing microphone or engine ends listening, not the coach
            if reader is not None:
                reader.close(drop=True)
            deliver(ListenFailed(_one_line(exc)))
            deliver(ListenEnded("failed"))

    def start(self, source: AudioSource, deliver: Callable[[HearingEvent], None] | None = None,
              before_frame: Callable[[], None] | None = None, clock=None) -> threading.Thread:
        """`run` in a background thread; `stop()` ends it cooperatively.

        With a VirtualClock `clock`, the thread takes part in the clock's lockstep: virtual
        time does not move while it hears or decodes, and it decodes between frames. On a
        real clock utterances are read on a thread of their own (`run`'s `decode_apart`)."""
        self._cancel.clear()
        if clock is not None:
            self.now = clock.now
        lockstep = clock is not None and clock.lockstep

        def hear() -> None:
            try:
                self.run(source, deliver, self._cancel, before_frame, decode_apart=not lockstep)
            finally:
                if clock is not None:
                    clock.leave()

        self._thread = threading.Thread(target=hear, name="voicecoach-listen", daemon=True)
        if clock is not None:
            clock.take_part(self._thread)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = 2.0) -> bool:
        """Ask the loop to end after the current frame; True when its thread has ended."""
        self._cancel.set()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    # Inside.
    def _hear(self, utterance: Utterance, final: bool = False) -> list[HearingEvent]:
        events: list[HearingEvent] = []
        held, self._held = self._held, None
        if held is not None:
            joined_ms = held.utterance.audio_ms + utterance.audio_ms
            if joined_ms <= self.endpointer.settings.max_ms:
                utterance = Utterance(np.concatenate([held.utterance.audio, utterance.audio]),
                                      held.utterance.start_ms, held.utterance.onset_ms,
                                      utterance.end_ms, utterance.speech_end_ms)
            else:
                events += self._verdict(held.utterance, held.match, held.decode_ms)
        early, self._early = self._early, None
        if early is not None and not early.reads(utterance):
            early = None
        started = self.timer()
        ahead_ms = early.decode_ms if early is not None else 0.0      # read before the cut
        lag_ms = self.lag_ms(utterance.speech_end_ms)
        # Hearing behind: only a stop, a pause or pain would still be acted on. The full decode
        # is skipped so hearing catches up with the room.
        late = lag_ms > self.late_ms
        read = early.read if early is not None and early.read.error is None else self._read(utterance, late)
        if read.hit is not None:
            return events + self._verdict(utterance, read.hit, ahead_ms + 1000.0 * (self.timer() - started))
        if late:
            return events + [UtteranceIgnored(NO_MATCH_HEARD, "late", utterance.audio_ms,
                                              1000.0 * (self.timer() - started), utterance.onset_ms,
                                              utterance.speech_end_ms, lag_ms)]
        if read.match is None:
            return events + [ListenFailed(f"recognizer failed: {read.error or 'no reading'}")]
        match = read.match
        if match.intent not in BARGE_IN_INTENTS:
            again = self._second_look(utterance)
            if again is not None:
                return events + self._verdict(utterance, again, ahead_ms + 1000.0 * (self.timer() - started))
            tail = self._tail_look(utterance)
            if tail is not None:
                piece, hit = tail
                return events + self._verdict(piece, hit, ahead_ms + 1000.0 * (self.timer() - started))
        decode_ms = ahead_ms + 1000.0 * (self.timer() - started)
        # A piece cut short over the coach is not held for the rest of its sentence: what follows is
        # more of the same sound, and joined again the pieces would be one long utterance once more.
        if (match.intent == NO_MATCH and match.text.strip() and not final and self.continuation_ms > 0
                and not utterance.cut_short):
            self._held = _Held(utterance, match, decode_ms, utterance.end_ms + self.continuation_ms)
            return events
        return events + self._verdict(utterance, match, decode_ms)

    def _second_look(self, utterance: Utterance) -> Match | None:
        """A barge-in read from closer to the onset, for an utterance begun over the coach's voice; else None."""
        skip_ms = utterance.onset_ms - SECOND_LOOK_PRE_ROLL_MS - utterance.start_ms
        if skip_ms <= 0 or not self.gate.lines_during(utterance.onset_ms, utterance.onset_ms):
            return None
        audio = utterance.audio[round(skip_ms * SAMPLE_RATE / 1000):]
        # The check's hit when it has one (always a barge-in), else the recognizer's reading;
        # when the recognizer fails the first reading stands.
        return next((match for match in self._readings(audio) if match.intent in BARGE_IN_INTENTS), None)

    def _tail_look(self, utterance: Utterance) -> tuple[Utterance, Match] | None:
        """A barge-in heard by the check in the last TAIL_LOOK_MS of a longer utterance over the
        coach's voice, with that piece as its own utterance (judged on its own signal); else None."""
        begin_ms = utterance.speech_end_ms - TAIL_LOOK_MS
        if (self.spot is None or begin_ms <= utterance.onset_ms
                or not self.gate.lines_during(utterance.onset_ms, utterance.end_ms)):
            return None
        piece = Utterance(utterance.audio[round((begin_ms - utterance.start_ms) * SAMPLE_RATE / 1000):],
                          begin_ms, begin_ms, utterance.end_ms, utterance.speech_end_ms)
        hit = self._spotted(piece.audio)
        return None if hit is None else (piece, hit)

    def _spotted(self, audio: np.ndarray) -> Match | None:
        """A barge-in phrase heard by the closed-vocabulary check, as a Match to act on."""
        if self.spot is None:
            return None
        try:
            hit = self.spot(audio)
        except Exception:  # noqa: BLE001 - the check is a shortcut: when it fails, the recognizer still hears
            return None
        if hit is None:
            return None
        # The hit's score is its margin above the check's floors (0 and up): 0.5 at the floor, towards 1.
        return Match(hit.phrase, hit.intent, {}, 1.0 - 0.5 * math.exp(-max(0.0, hit.score)))

    def _readings(self, audio: np.ndarray) -> Iterator[Match]:
        """What the loop makes of `audio`, lazily: the barge-in check's hit, then the recognizer's
        reading (none when the recognizer fails)."""
        hit = self._spotted(audio)
        if hit is not None:
            yield hit
        try:
            match = self.recognize(audio)
        except Exception:  # noqa: BLE001 - no reading
            return
        yield match

    def _release(self) -> list[HearingEvent]:
        held, self._held = self._held, None
        return [] if held is None else self._verdict(held.utterance, held.match, held.decode_ms)

    def lag_ms(self, stream_ms: float) -> float:
        """How long ago, on the clock, the stream was at `stream_ms` (hearing's delay behind the room)."""
        if self.now is None:
            return 0.0
        if self._apart and self._heard_at:
            # Frames never wait behind a reading here: what delays one is the reader's queue and
            # the decode, counted from when the frame thread heard the stream at `stream_ms`. The
            # sound server's clock is not taken into it (a starved audio thread loses a quarter
            # of the stream's time against the clock on a machine with both cores overloaded).
            heard = list(self._heard_at)          # (the frame thread appends meanwhile)
            heard_ms, wall = heard[-1]
            if heard_ms > stream_ms + FRAME_MS:
                heard_ms, wall = next(((h, w) for h, w in reversed(heard) if h <= stream_ms + FRAME_MS), heard[0])
            return max(0.0, 1000 * (self.now() - wall) + (heard_ms - stream_ms))
        origin = self._origins.least()
        if not math.isfinite(origin):
            return 0.0
        return max(0.0, 1000 * (self.now() - origin) - stream_ms)

    def _verdict(self, utterance: Utterance, match: Match, decode_ms: float) -> list[HearingEvent]:
        audio_ms = utterance.audio_ms
        if not match.text.strip():
            return [NothingHeard(audio_ms, decode_ms)]
        lag_ms = self.lag_ms(utterance.speech_end_ms)
        if lag_ms > self.late_ms and match.intent not in BARGE_IN_INTENTS:
            # Words said seconds ago are not answered as new: the moment they belonged to has
            # passed (a stop, a pause or pain still is acted on: late is better than never).
            return [UtteranceIgnored(match, "late", audio_ms, decode_ms, utterance.onset_ms,
                                     utterance.speech_end_ms, lag_ms)]
        def span() -> PlayedSpan | None:
            return self._record.span(utterance.start_ms, utterance.end_ms)

        def own_word() -> bool:
            at_onset = self._record.begins_with_onset(utterance.onset_ms)
            own = self.own_word.is_own(match.text, match.intent, utterance.audio, _speech_frames(utterance), span(),
                                       lambda audio: ((m.text, m.intent) for m in self._readings(audio)), at_onset)
            log.info("barge-in %r while the coach spoke, judged %s%s", match.text, "its own word" if own else "the user's",
                     " (begun with a line's onset)" if at_onset else "")
            return own

        reason = self.gate.why_ignored(
            match, utterance.onset_ms, utterance.end_ms, own_word,
            lambda: self.own_word.user_shown(utterance.audio, _speech_frames(utterance), span()))
        if reason is not None:
            return [UtteranceIgnored(match, reason, audio_ms, decode_ms, utterance.onset_ms, utterance.speech_end_ms,
                                     lag_ms)]
        return [UtteranceHeard(match, audio_ms, decode_ms, utterance.onset_ms, utterance.speech_end_ms,
                               utterance.end_ms, lag_ms)]


class _RecentLeast:
    """The least of the values noted over the last `window` (in the positions' unit), kept as a
    deque of rising values: each note is amortized O(1)."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._kept: deque[tuple[float, float]] = deque()

    def note(self, position: float, value: float) -> None:
        while self._kept and self._kept[-1][1] >= value:
            self._kept.pop()
        self._kept.append((position, value))
        while self._kept[0][0] < position - self.window:
            self._kept.popleft()

    def least(self) -> float:
        return self._kept[0][1] if self._kept else math.inf


class _Reader:
    """The listen loop's utterances read on a thread of their own, in the order they ended.

    The frame thread hands over each utterance the endpointer cuts and asks for a held one to
    be let go when its wait is over (`frame_done`); this thread decodes and delivers the
    verdicts. A failure here is told (ListenFailed, ListenEnded "failed") and ends listening
    through the loop's `cancel`; `close` stops it after the reading under way."""

    def __init__(self, loop: ListenLoop, deliver: Callable[[HearingEvent], None], cancel: threading.Event) -> None:
        self.loop, self.deliver, self.cancel = loop, deliver, cancel
        self.failed = False
        self._jobs: queue.Queue[tuple[str, object] | None] = queue.Queue()
        self._release_asked: _Held | None = None
        self._busy = False             # a job is being done (an early reading waits for an idle reader)
        self._thread = threading.Thread(target=self._work, name="voicecoach-read", daemon=True)
        self._thread.start()

    def frame_done(self, utterance: Utterance | None, early: Utterance | None = None) -> None:
        """After each frame: the utterance the endpointer cut, or one to read before its cut
        (only when this thread has nothing else to do), and any held one whose wait is over."""
        if utterance is not None:
            self._jobs.put(("hear", utterance))
            return
        if early is not None and not self._busy and self._jobs.empty():
            self._jobs.put(("early", early))
        due = self.loop._release_due()
        if due is not None and due is not self._release_asked:
            self._release_asked = due
            self._jobs.put(("release", due))

    def finish(self) -> None:
        """The end of the stream: what was being said, anything held, then wait for every reading."""
        utterance = self.loop.endpointer.flush()
        self.loop._was_in_speech = False
        self._jobs.put(("final", utterance) if utterance is not None else ("release", None))
        self.close(drop=False)

    def close(self, drop: bool) -> None:
        if drop:
            while True:
                try:
                    self._jobs.get_nowait()
                except queue.Empty:
                    break
        self._jobs.put(None)
        self._thread.join()

    def _work(self) -> None:
        loop = self.loop
        while True:
            job = self._jobs.get()
            if job is None:
                return
            kind, item = job
            self._busy = True
            try:
                if kind == "release":
                    events = loop._release() if item is None or loop._held is item else []
                elif kind == "early":
                    assert isinstance(item, Utterance)
                    loop._read_early(item)
                    events = []
                else:
                    assert isinstance(item, Utterance)
                    events = loop._hear(item, final=kind == "final")
                for event in events:
                    self.deliver(event)
            except Exception as exc:  # noqa: BLE001 - a failing engine ends listening, not the coach
                self.failed = True
                self.deliver(ListenFailed(_one_line(exc)))
                self.deliver(ListenEnded("failed"))
                self.cancel.set()
                return
            finally:
                self._busy = False


def _speech_frames(utterance: Utterance) -> slice:
    """The frames of the utterance's audio from its onset to its last speech frame."""
    return slice(round((utterance.onset_ms - utterance.start_ms) / FRAME_MS),
                 max(1, round((utterance.speech_end_ms - utterance.start_ms) / FRAME_MS)))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def reader(recognizer, catalog, context: Callable[[], Context] = Context, statistical=None) -> Recognize:
    """A `recognize` callable from a hearing Recognizer: transcribe, then read the intent.

    `context` is asked at each utterance (the session's context: exercising, paused ...);
    `statistical` is the statistical reader behind the templates (None: templates alone).
    A transcript the decoder judges to hold no speech comes back with empty text, so the
    loop reports NothingHeard instead of asking "sorry?" about a cough.
    """
    from voicecoach.hearing.reading import read_intent

    def recognize(audio: np.ndarray) -> Match:
        reading = read_intent(recognizer.transcribe(audio), catalog, context(), statistical=statistical)
        if reading.reason == "no speech":
            return Match("", NO_MATCH, {}, 0.0)
        return reading.match

    return recognize
