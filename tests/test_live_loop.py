"""The live voice loop: hearing on its own thread, cues on time while a decode runs, threads
that end cooperatively; and a virtual clock that runs several threads in lockstep."""
from __future__ import annotations

import threading

import numpy as np

from hearing_signals import room, voiced
from voicecoach.app import run_voice_session
from voicecoach.coach.clock import RealClock, VirtualClock
from voicecoach.coach.replies import Reply
from voicecoach.voice.speaker import SpeakerBase
from voicecoach.coach.session import Session
from voicecoach.hearing.loop import ListenLoop, UtteranceHeard, UtteranceIgnored
from voicecoach.hearing.signal.sources import ArraySource
from voicecoach.hearing.signal.vad import Endpointer, EnergyDetector
from voicecoach.intents.load import load_catalog
from voicecoach.intents.matcher import recognize
from voicecoach.intents.types import Context, Match
from voicecoach.output import OutputStage

CATALOG = load_catalog()


class Said(SpeakerBase):
    """A speaker that notes each reply with the clock time it was handed over."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.replies: list[tuple[float, Reply]] = []
        self.speaking = False

    def speak(self, reply: Reply) -> None:
        self.replies.append((self.clock.now(), reply))

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass

    def cues(self) -> list[tuple[float, str]]:
        return [(round(t, 6), r.text) for t, r in self.replies if r.cue is not None]


def hearing_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "voicecoach-listen" and t.is_alive()]


def spoken_session(tiny_content, decode_seconds: float) -> tuple[Said, list]:
    """'start the stretch', then during the hold a question whose decode takes `decode_seconds`
    of virtual time (a slow recognizer), all on one virtual clock."""
    clock = VirtualClock()
    session = Session(tiny_content, clock)
    texts = ["start the stretch", "how long is left"]

    def slow_recognizer(audio: np.ndarray) -> Match:
        text = texts.pop(0)
        if text == "how long is left":
            clock.wait_until(clock.now() + decode_seconds)
        return recognize(text, CATALOG, session.context())

    audio = np.concatenate([room(1.0), voiced(0.5), room(12.0), voiced(0.5), room(4.0)])
    said = Said(clock)
    events: list = []
    loop = ListenLoop(slow_recognizer, Endpointer(detector=EnergyDetector()))
    run_voice_session(session, loop, ArraySource(audio, clock), OutputStage([said]), clock, CATALOG,
                      events.append, play_out=True)
    return said, events


def test_a_decode_that_takes_long_does_not_delay_a_cue_on_the_virtual_clock(tiny_content):
    quick, _ = spoken_session(tiny_content, decode_seconds=0.0)
    slow, events = spoken_session(tiny_content, decode_seconds=1.5)
    assert [h.match.intent for h in events if isinstance(h, UtteranceHeard)] == ["start", "time_left"]
    assert len(slow.cues()) >= 3
    assert slow.cues() == quick.cues()          # every cue at its time, though one decode took 1.5 s
    assert not hearing_threads()


def test_a_question_read_seconds_after_it_was_said_is_not_answered_as_new(tiny_content):
    quick, _ = spoken_session(tiny_content, decode_seconds=0.0)
    slow, events = spoken_session(tiny_content, decode_seconds=4.0)
    assert [h.match.intent for h in events if isinstance(h, UtteranceHeard)] == ["start"]
    late = [e for e in events if isinstance(e, UtteranceIgnored)]
    assert [(e.match.intent, e.reason) for e in late] == [("time_left", "late")] and late[0].lag_ms > 4000
    assert slow.cues() == quick.cues()          # and no cue waited for it


class FakeSession:
    """The parts of a Session the voice loop uses: one cue due `cue_at` seconds after it begins."""

    def __init__(self, clock, cue_at: float) -> None:
        self.clock = clock
        self.due: float | None = clock.now() + cue_at
        self.wants_exit = False
        self.handled: list[Match] = []
        self.closed = False

    def begin(self) -> list[Reply]:
        return []

    def line_ended(self, reply: Reply, at: float) -> None:
        """No voice plays here: never called."""

    def context(self) -> Context:
        return Context()

    def handle(self, match: Match) -> list[Reply]:
        self.handled.append(match)
        self.wants_exit = True
        return []

    def next_due(self) -> float | None:
        return self.due

    def tick(self) -> list[Reply]:
        if self.due is not None and self.clock.now() >= self.due:
            self.due = None
            return [Reply("Halfway.", cue="halfway")]
        return []

    def close(self, reason: str) -> None:
        self.closed = True


def test_a_recognizer_that_blocks_does_not_hold_back_a_cue_on_the_real_clock():
    """The decode is released only by the cue being delivered: the cue cannot wait for the decode."""
    clock = RealClock()
    cue_delivered = threading.Event()
    released_by_cue: list[bool] = []

    class Output(OutputStage):
        def deliver(self, replies) -> None:
            for reply in replies:
                if reply.cue is not None:
                    cue_delivered.set()
            super().deliver(replies)

    def blocking_recognizer(audio: np.ndarray) -> Match:
        released_by_cue.append(cue_delivered.wait(timeout=5.0))
        return recognize("pause", CATALOG, Context())

    session = FakeSession(clock, cue_at=0.6)
    audio = np.concatenate([room(0.1), voiced(0.3), room(0.5)])
    loop = ListenLoop(blocking_recognizer, Endpointer(detector=EnergyDetector()))
    run_voice_session(session, loop, ArraySource(audio, clock), Output([]), clock, CATALOG, play_out=False)
    assert released_by_cue == [True]
    assert [m.intent for m in session.handled] == ["pause"] and session.closed
    assert not hearing_threads()


def test_the_hearing_thread_ends_cooperatively_when_the_session_ends(tiny_content):
    """A user who says stop mid-file: the loop leaves, the hearing thread ends, the session closes."""
    clock = VirtualClock()
    session = FakeSession(clock, cue_at=100.0)
    audio = np.concatenate([room(0.5), voiced(0.5), room(60.0)])
    loop = ListenLoop(lambda a: recognize("stop", CATALOG, Context()), Endpointer(detector=EnergyDetector()))
    run_voice_session(session, loop, ArraySource(audio, clock), OutputStage([]), clock, CATALOG)
    assert session.closed and not hearing_threads()
    assert clock.now() < 5.0                     # it did not read the rest of the file


def test_a_failing_source_ends_hearing_with_one_event_and_the_routine_plays_out():
    class BrokenSource:
        name = "broken"

        def frames(self, cancel):
            yield np.zeros(480, np.float32)
            raise OSError("the microphone went away")

    clock = VirtualClock()
    session = FakeSession(clock, cue_at=30.0)
    said = Said(clock)
    events: list = []
    run_voice_session(session, ListenLoop(lambda a: Match("", "none")), BrokenSource(), OutputStage([said]),
                      clock, CATALOG, events.append)
    reasons = [getattr(e, "reason", None) for e in events]
    assert reasons == ["the microphone went away", "failed"]
    assert said.cues() == [(30.0, "Halfway.")]   # the cue still came, on time
    assert not hearing_threads()


def test_the_virtual_clock_waits_for_a_busy_member():
    clock = VirtualClock()
    worker_started, worker_may_go = threading.Event(), threading.Event()
    times: list[float] = []

    def worker() -> None:
        worker_started.set()
        worker_may_go.wait(timeout=5)           # busy: virtual time must not move meanwhile
        times.append(clock.now())
        clock.wait_until(10.0)
        times.append(clock.now())
        clock.leave()

    thread = threading.Thread(target=worker)
    clock.take_part(thread)
    clock.take_part()
    thread.start()
    worker_started.wait(timeout=5)
    # This thread waits for 3.0 while the worker is busy: the clock stays at 0 until it waits too.
    worker_may_go.set()
    clock.wait_until(3.0)
    times.append(("main", clock.now()))
    clock.leave()
    thread.join(timeout=5)
    assert times[0] == 0.0 and ("main", 3.0) in times and times[-1] == 10.0


def test_on_the_real_clock_utterances_are_read_apart_from_the_frames_and_in_step_on_a_virtual_one():
    audio = np.concatenate([room(0.1), voiced(0.3), room(0.5)])
    for clock, reading_thread in ((RealClock(), "voicecoach-read"), (VirtualClock(), "voicecoach-listen")):
        threads: list[str] = []

        def read(audio: np.ndarray) -> Match:
            threads.append(threading.current_thread().name)
            return recognize("pause", CATALOG, Context())

        told: list = []
        loop = ListenLoop(read, Endpointer(detector=EnergyDetector()))
        loop.start(ArraySource(audio, clock), told.append, clock=clock).join(10.0)
        assert threads and set(threads) == {reading_thread}, (type(clock).__name__, threads)
        assert [e.match.intent for e in told if isinstance(e, UtteranceHeard)] == ["pause"]
