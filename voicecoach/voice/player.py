"""The voice speaker: replies in, audio out, interruptible mid-word.

Rules (docs/voice.md states them too):
- An answer is split into sentences (long ones at commas); the first plays while the rest
  are synthesized.
- A cue never waits behind an answer: it cuts the sentence being said, plays at once from
  the cue cache, and the answer's remaining sentences follow it.
- An urgent reply (pain, stop, pause) drops everything queued and plays at once.
- `stop()` silences the speaker within one 20 ms block plus the device's buffer.
- Every line in `cue_phrases` (the cues, and any fixed answer such as "Okay, paused.") is
  made ahead of time and plays from the cue cache; other answers are synthesized as they come.
  Lines kept on disk (or shipped, as the first-launch greeting) are recalled first, without the
  engine: the engine's loading and synthesis come after, and never stand before such a line.
  With `first_line_first`, nothing is made ahead of time before the first line starts playing
  (a line waiting to be said is still made at once): loading the engine does not compete with
  the greeting for the processor.
- Rate changes ("slower", "faster") multiply the configured rate from then on; the cue
  phrases are made again at the new rate in the background, answers first.
- `hold()` fades the voice out within one block and keeps the cut sentence (to be said
  again from its start) and everything after it; `resume()` goes on from there.
- `speak()` never synthesizes: audio already in the cue cache plays from it, anything else
  (answers, a cue not made yet) is made on the synthesis thread, cues first.
- The engine belongs to the synthesis thread: a rate change lands there before the next
  line is made, and the cache is looked up at the new rate at once, so no line is played
  at a stale rate.
- A line the engine fails to make is dropped, the failure is said once (`on_error`, one
  line per distinct reason) and the voice goes on; `speaking` turns false when nothing is
  left, so the hearing side never believes the coach still talks.
- A reply whose numbers are live (`Reply.live`) gets its text when it starts playing, and
  only that text is synthesized: "twenty five seconds left" is never said with 22 s left.
Callbacks: `on_start(text)` as each part starts playing, `on_stop()` when nothing is left
to say (or on `stop()`); the hearing side uses them to tell the user's voice from ours.
`listen_lines(started, ended)`: `started(reply)` as a reply starts playing (with the text
said), `ended(reply, at)` with the clock time its last sample leaves the device (from what
the device still holds), or the moment it is cut or dropped: the session counts from there.
Subscribers (`subscribe`) get every block handed to the device, with the clock time the
device starts playing it: the echo canceller's exact reference.
"""
from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace

import numpy as np

from voicecoach.coach.clock import Clock, RealClock
from voicecoach.coach.replies import Reply
from voicecoach.voice.cache import CueCache
from voicecoach.voice.devices import BLOCK_SECONDS, OutputDevice
from voicecoach.voice.engines import VoiceEngine
from voicecoach.voice.lexicon import split_for_speech
from voicecoach.voice.speaker import PlaybackSubscriber

FADE_SECONDS = 0.015     # a hold ramps the voice down over this long: no click, silent well within 150 ms



@dataclass
class _Item:
    text: str
    cue: bool
    audio: np.ndarray | None = None
    position: int = 0            # samples already played
    cached: bool = False         # made through the cue cache (a cue or a fixed line)
    reply: Reply | None = None   # the reply this part belongs to
    first: bool = True           # the reply's first part (its start is reported)
    last: bool = True            # the reply's last part (its end is reported)
    live: Callable[[], str] | None = None    # renders the text when the line starts
    announced: bool = False      # its start was reported (a held line said again is not)

    def said(self) -> Reply:
        """The reply as it is said: a live reply with the text it got at its start."""
        assert self.reply is not None
        return replace(self.reply, text=self.text, live=None) if self.reply.live is not None else self.reply


WAIT_SECONDS = 0.5               # longest wait of a voice thread before it looks again
FIRST_LINE_WAIT_S = 5.0          # `first_line_first`: lines are made ahead after this long all the same
FINISH_POLL_SECONDS = 0.02       # how often `finish` looks whether the last line has been played


def _print_error(message: str) -> None:
    print(f"voicecoach: {message}", file=sys.stderr, flush=True)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class VoiceSpeaker:
    """Implements the Speaker interface, every capability included. `threaded=False` runs
    playback only when told to (`play_for`, `play_all`), so tests drive it on a virtual clock
    without threads."""

    plays_lines = True
    publishes_playback = True

    def __init__(self, engine: VoiceEngine, device: OutputDevice, cache: CueCache | None = None,
                 clock: Clock | None = None, threaded: bool = True,
                 on_start: Callable[[str], None] | None = None, on_stop: Callable[[], None] | None = None,
                 cue_phrases: Iterable[str] = (), on_error: Callable[[str], None] = _print_error,
                 synth_gate: AbstractContextManager | None = None, first_line_first: bool = False) -> None:
        self.engine = engine
        self.base_rate = engine.rate         # the configured rate; set_rate multiplies it
        self._rate = engine.rate             # the rate wanted; the synthesis thread gives it to the engine
        self.on_error = on_error
        # Held while the engine works: the app shares it with the recognizer's model load, so
        # the two biggest transient allocations never add up (docs/architecture.md, "Footprint
        # and start-up").
        self._gate: AbstractContextManager = synth_gate or contextlib.nullcontext()
        self.errors: list[str] = []          # every failure, said or not
        self._said_errors: set[str] = set()
        self.cue_phrases = list(cue_phrases)
        self._to_warm: deque[str] = deque(self.cue_phrases)     # to recall from the disk, else to make
        self._to_make: deque[str] = deque()                      # not kept anywhere: the engine makes them
        self.cues_ready = threading.Event()  # set once every cue phrase is made at the current rate
        if not self.cue_phrases:
            self.cues_ready.set()
        self.device = device
        self.cache = cache or CueCache()
        self.clock = clock or RealClock()
        # Before this time, and until a line starts playing, the engine makes nothing ahead of time.
        self._make_from = self.clock.now() + FIRST_LINE_WAIT_S if first_line_first else 0.0
        self.threaded = threaded
        self.on_start, self.on_stop = on_start, on_stop
        self._queue: deque[_Item] = deque()
        self._current: _Item | None = None
        self._lock = threading.Condition()
        self._closed = False
        self._held = False
        self._fade: tuple[str, np.ndarray] | None = None    # the fade-out block a hold still has to play
        self._subscribers: list[PlaybackSubscriber] = []
        self._line_started: Callable[[Reply], None] | None = None
        self._line_ended: Callable[[Reply, float], None] | None = None
        self.block = max(1, int(device.sample_rate * BLOCK_SECONDS))
        self._threads = [threading.Thread(target=self._play_loop, name="voice-play", daemon=True),
                         threading.Thread(target=self._synth_loop, name="voice-synth", daemon=True)] if threaded else []
        for thread in self._threads:
            thread.start()

    # ----- the Speaker interface ----------------------------------------------------------

    def speak(self, reply: Reply) -> None:
        cue = reply.cue is not None
        with self._lock:
            rate = self._rate
        audio = self.cache.peek(self.engine, reply.text, rate)      # made ahead of time (cues, fixed lines)
        if reply.live is not None:       # made once its text is known, when it starts
            items = [_Item(reply.text, cue, reply=reply, live=reply.live)]
        elif cue or audio is not None:
            items = [_Item(reply.text, cue, None if audio is None else self._resampled(audio), cached=True,
                           reply=reply)]
        else:
            parts = split_for_speech(reply.text) or [reply.text]
            items = [_Item(t, False, reply=reply, first=k == 0, last=k == len(parts) - 1)
                     for k, t in enumerate(parts)]
        ended: list[_Item] = []
        with self._lock:
            if reply.urgent:
                ended += self._queue
                self._queue.clear()
            if cue or reply.urgent:
                if self._current is not None and not self._current.cue:
                    if self._current.last or reply.urgent:
                        ended.append(self._current)
                    self._current = None            # cut the answer mid-sentence
                    self.device.flush()
                # Before waiting answers, after cues already waiting: cues stay in time order.
                waiting = next((i for i, item in enumerate(self._queue) if not item.cue), len(self._queue))
                for offset, item in enumerate(items):
                    self._queue.insert(waiting + offset, item)
            else:
                self._queue.extend(items)
            self._lock.notify_all()
        self._report_cut(ended)
        if not self.threaded:
            self._synthesize_pending()

    def stop(self) -> None:
        with self._lock:
            ended = ([self._current] if self._current is not None else []) + list(self._queue)
            self._queue.clear()
            self._current = None
            self._fade = None
            self.device.flush()
            self._lock.notify_all()
        self._report_cut(ended)
        if self.on_stop:
            self.on_stop()

    def drop_waiting(self) -> None:
        """The user spoke: answers not yet started are dropped (the session says again what
        matters); cues, and the line being said or held, stay."""
        with self._lock:
            self._queue = deque(item for item in self._queue if item.cue or item.announced)
            self._lock.notify_all()

    def unsaid(self) -> list[Reply]:
        """The replies queued and not started yet (as they would be said now), in order."""
        with self._lock:
            items = [item for item in self._queue if item.reply is not None and not item.announced and item.first]
        return [item.reply.spoken() for item in items]  # type: ignore[union-attr]

    def listen_lines(self, started: Callable[[Reply], None] | None,
                     ended: Callable[[Reply, float], None] | None) -> None:
        """Be told as each reply starts playing and when it really ended (called from the playing thread)."""
        self._line_started, self._line_ended = started, ended

    def _report_cut(self, items: list[_Item]) -> None:
        """Replies cut or dropped end now (once each, however many parts they had)."""
        if self._line_ended is None:
            return
        now = self.clock.now()
        seen: list[Reply] = []
        for item in items:
            if item.reply is not None and not any(item.reply is r for r in seen):
                seen.append(item.reply)
                self._line_ended(item.reply, now)

    @property
    def speaking(self) -> bool:
        with self._lock:
            return self._current is not None or bool(self._queue)

    # ----- yielding to the user, and what was played ---------------------------------------

    def subscribe(self, subscriber: PlaybackSubscriber) -> None:
        """Call `subscriber` with every block handed to the device, and when it plays."""
        self._subscribers.append(subscriber)

    def hold(self) -> None:
        """Fade out now; the cut sentence is said again from its start on `resume()`, then the rest."""
        with self._lock:
            if self._held:
                return
            self._held = True
            item, self._current = self._current, None
            if item is None:
                return
            self.device.flush()
            audio = item.audio if item.audio is not None else np.zeros(0, np.float32)   # the line playing has its audio
            fade = min(len(audio) - item.position, max(1, int(self.device.sample_rate * FADE_SECONDS)))
            if fade > 0:
                ramp = np.linspace(1.0, 0.0, fade, dtype=np.float32)
                self._fade = (item.text, audio[item.position:item.position + fade] * ramp)
            item.position = 0
            self._queue.appendleft(item)
            self._lock.notify_all()

    def resume(self) -> None:
        """Go on after a hold (the cut sentence from its start); nothing to do when not held."""
        with self._lock:
            self._held = False
            self._lock.notify_all()

    @property
    def held(self) -> bool:
        with self._lock:
            return self._held

    @property
    def rate(self) -> float:
        """The speaking rate in force for the next line (the engine may not have it yet)."""
        with self._lock:
            return self._rate

    @property
    def speaking_cue(self) -> bool:
        """A cue is being said or waits: a new cue will follow it rather than start at once."""
        with self._lock:
            return (self._current is not None and self._current.cue) or any(item.cue for item in self._queue)

    def set_rate(self, multiple: float) -> None:
        """Speak at `multiple` times the configured rate from now on (Reply.rate)."""
        with self._lock:
            self._rate = round(self.base_rate * multiple, 3)
            if not self.threaded:
                self.engine.rate = self._rate     # no synthesis thread: this one owns the engine
            self._to_warm = deque(self.cue_phrases)
            self._to_make.clear()
            if self.cue_phrases:
                self.cues_ready.clear()
            self._lock.notify_all()

    def prepare_cues(self) -> None:
        """Make every cue phrase's audio now (the threaded speaker does this in the background)."""
        while self._warm_one(anyway=True):
            pass

    def finish(self, limit_s: float) -> bool:
        """Say what is queued, and let the device play it out, for at most `limit_s` (a goodbye is
        heard before the program closes the voice); True when all of it was said."""
        if not self.threaded:
            end = self.clock.now() + limit_s
            while self.clock.now() < end and self._play_block():
                pass
            return not self.speaking
        deadline = time.monotonic() + limit_s
        with self._lock:
            while not self._closed and not self._held and (self._current is not None or self._queue
                                                           or self._fade is not None):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, FINISH_POLL_SECONDS))
            if self._held:           # yielding to the user: what is left is not said now
                return False
        # The device still holds the last blocks written: wait for them to be heard.
        tail = min(self.device.queued_seconds, max(0.0, deadline - time.monotonic()))
        if tail > 0:
            threading.Event().wait(tail)
        return True

    def close(self) -> None:
        """Stop talking and release the device; a synthesis under way finishes first (the
        engine cannot be interrupted mid-sentence, and the next user of it must find it free)."""
        with self._lock:
            self._closed = True
            self._queue.clear()
            self._to_warm.clear()
            self._to_make.clear()
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(timeout=5.0)
        self.device.close()

    # ----- playback ------------------------------------------------------------------------

    def play_for(self, seconds: float) -> None:
        """Without threads: play blocks until `seconds` of clock time have passed or all is said."""
        end = self.clock.now() + seconds
        while self.clock.now() < end and self._play_block():
            pass
        if self.clock.now() < end:
            self.clock.wait_until(end)

    def play_all(self) -> None:
        while self._play_block():
            pass

    def _play_block(self) -> bool:
        """Play the next block; False when there is nothing to play."""
        with self._lock:
            fade, self._fade = self._fade, None
        if fade is not None:
            self._write(*fade)
            return True
        self._render_next()
        with self._lock:
            if self._held:
                return False
            if self._current is None:
                if not self._queue or self._queue[0].audio is None:
                    return False
                self._current = self._queue.popleft()
                started = self._current.text
                if self._make_from:
                    self._make_from = 0.0       # a line plays: the engine may make the others now
                    self._lock.notify_all()
            else:
                started = None
            item = self._current
            block = item.audio[item.position:item.position + self.block]  # type: ignore[index]
            item.position += len(block)
            finished = item.position >= len(item.audio)  # type: ignore[arg-type]
            if finished:
                self._current = None
            done = self._current is None and not self._queue
            announce = started is not None and item.first and not item.announced and item.reply is not None
            item.announced = item.announced or announce
        if started is not None and self.on_start:
            self.on_start(started)
        if announce and self._line_started is not None:
            self._line_started(item.said())
        end = self._write(item.text, block)
        if finished and item.last and item.reply is not None and self._line_ended is not None:
            self._line_ended(item.reply, end)
        if done and self.on_stop:
            self.on_stop()
        return True

    def _render_next(self) -> None:
        """The next line, when live, gets its text now (it is about to start); only that text is made."""
        with self._lock:
            if self._current is not None or self._held or not self._queue or self._queue[0].live is None:
                return
            item = self._queue[0]
            live, item.live = item.live, None
            if live is None:
                return
        try:
            text = live()
        except Exception:  # noqa: BLE001 - the session changed under us mid-render: say what was queued
            text = item.text
        with self._lock:
            rate = self._rate
        audio = self.cache.peek(self.engine, text, rate)
        with self._lock:
            item.text = text
            item.audio = None if audio is None else self._resampled(audio)
            self._lock.notify_all()
        if not self.threaded:
            self._synthesize_pending()

    def _write(self, text: str, block: np.ndarray) -> float:
        """Hand a block to the device, tell the subscribers when it plays; the clock time its last sample is played."""
        self.device.current_text = text
        if not len(block):
            return self.clock.now()
        self.device.write(block)
        rate = self.device.sample_rate
        # The device plays it after what it still holds ahead of it (frames not yet consumed).
        ahead = self.device.queued_seconds - len(block) / rate
        at = self.clock.now() + max(0.0, ahead)
        for subscriber in self._subscribers:
            subscriber(text, block, rate, at)
        return at + len(block) / rate

    def _idle(self) -> bool:
        return self._fade is None and (self._held or (
            self._current is None and (not self._queue or (self._queue[0].audio is None
                                                           and self._queue[0].live is None))))

    def _play_loop(self) -> None:
        while True:
            with self._lock:
                while not self._closed and self._idle():
                    self._lock.wait(WAIT_SECONDS)
                if self._closed:
                    return
            try:
                self._play_block()
            except Exception as exc:  # noqa: BLE001 - a failing device drops what it was playing; the voice goes on
                with self._lock:
                    item, self._current = self._current, None
                self._report_cut([item] if item is not None else [])     # the session must not wait for it
                self._failed(f"the speaker failed while saying {item.text if item else ''!r}", exc)

    # ----- synthesis -----------------------------------------------------------------------

    def _next_unsynthesized(self) -> _Item | None:
        for item in self._queue:
            if item.audio is None and item.live is None:     # a live line is made once rendered
                return item
        return None

    def _synthesize_pending(self) -> None:
        while True:
            with self._lock:
                item = None if self._closed else self._next_unsynthesized()
                rate = self._rate
            if item is None:
                return
            text = item.text
            self.engine.rate = rate        # a rate change lands before the next line is made
            try:
                # A line kept on disk or shipped (the greeting) needs neither the engine nor the gate.
                made = self.cache.stored(self.engine, text)
                if made is None:
                    with self._gate:
                        made = self.cache.get(self.engine, text) if item.cached else self.engine.synthesize(text)
                audio = self._resampled(made)
            except Exception as exc:  # noqa: BLE001 - one line the engine cannot make must not silence the voice
                self._drop(item)
                self._failed(f"the voice could not say {item.text!r}; that line is dropped", exc)
                continue
            with self._lock:
                if item.text == text:
                    item.audio = audio
                self._lock.notify_all()

    def _drop(self, item: _Item) -> None:
        with self._lock:
            try:
                self._queue.remove(item)
            except ValueError:
                return                      # already gone (a stop or an urgent reply)
            silent = self._current is None and not self._queue
            self._lock.notify_all()
        if item.last:
            self._report_cut([item])
        if silent and self.on_stop:
            self.on_stop()

    def _failed(self, what: str, exc: BaseException) -> None:
        """Say a failure once per distinct reason; keep every one in `errors`."""
        reason = _one_line(exc)
        self.errors.append(f"{what} ({reason})")
        if reason not in self._said_errors:
            self._said_errors.add(reason)
            self.on_error(f"{what} ({reason}); the voice goes on")

    def _synth_loop(self) -> None:
        while True:
            with self._lock:
                while not self._closed and self._next_unsynthesized() is None and not self._warm_work():
                    self._lock.wait(WAIT_SECONDS)
                if self._closed:
                    return
            try:
                self._synthesize_pending()     # what is waiting to be said comes first
                self._warm_one()
            except Exception as exc:  # noqa: BLE001 - never reached by engine failures (handled above): a bug, said once
                self._failed("the voice thread hit an error", exc)

    def _warming_left(self) -> bool:
        return bool(self._to_warm or self._to_make)

    def _may_make(self) -> bool:
        """Whether the engine may make lines ahead of time now (see `first_line_first`)."""
        if self._make_from and self.clock.now() >= self._make_from:
            self._make_from = 0.0
        return not self._make_from

    def _warm_work(self) -> bool:
        """A cue phrase to look for now, or one to make now."""
        return bool(self._to_warm or (self._to_make and self._may_make()))

    def _warm_one(self, anyway: bool = False) -> bool:
        """Cache one more cue phrase at the current rate; False when none is to be done now.
        Every phrase is first looked for on disk (and among the shipped lines) without the
        engine; those not found are made afterwards, so loading the voice never delays a line
        that needs none. `anyway`: made now even before the first line has played."""
        with self._lock:
            recall = bool(self._to_warm)
            if not recall and not (self._to_make and (anyway or self._may_make())):
                return False
            text = (self._to_warm if recall else self._to_make).popleft()
            rate = self._rate
        self.engine.rate = rate
        try:
            if recall:
                if self.cache.stored(self.engine, text) is None:
                    with self._lock:
                        if self._rate == rate:       # else the phrase is looked for again at the new rate
                            self._to_make.append(text)
            else:
                with self._gate:
                    self.cache.get(self.engine, text)
        except Exception as exc:  # noqa: BLE001 - that cue will be made when it falls due, or dropped then
            self._failed(f"the voice could not make the cue {text!r} ahead of time", exc)
        with self._lock:
            if not self._warming_left():
                self.cues_ready.set()
        return True

    def _resampled(self, audio: np.ndarray) -> np.ndarray:
        """The engine's audio at the device's rate (linear interpolation: rates rarely differ)."""
        if self.engine.sample_rate == self.device.sample_rate or len(audio) == 0:
            return audio
        n = int(len(audio) * self.device.sample_rate / self.engine.sample_rate)
        return np.interp(np.linspace(0, len(audio) - 1, n), np.arange(len(audio)), audio).astype(np.float32)
