"""The listen loop: events from fake recognizers, barge-in and echo, continuation, threads; and
the voice loop as the app runs it, fed from WAV files on a virtual clock."""
from __future__ import annotations

import io
import threading

import numpy as np
import pytest

from conftest import AUDIO, speak_to_wav
from hearing_signals import ms, room, voiced
from voicecoach.app import run_voice_session
from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.session import Session
from voicecoach.hearing.signal.audio import SAMPLE_RATE, read_wav, write_wav
from voicecoach.hearing.loop import (EARLY_READ_MS, OVER_COACH_MAX_MS, SECOND_LOOK_PRE_ROLL_MS, TAIL_LOOK_MS, BargeInGate, ListenEnded, ListenFailed, ListenLoop, NothingHeard, SpeechDropped,
                                     SpeechStarted, UtteranceHeard, UtteranceIgnored, is_echo, reader)
from voicecoach.hearing.asr.recognizer import Hypothesis, Transcript
from voicecoach.hearing.bargein.keywords import KeywordHit
from voicecoach.hearing.signal.sources import ArraySource, MicrophoneUnavailable, WavFileSource, frames_of
from voicecoach.hearing.signal.vad import PRE_ROLL_MS, Endpointer, EnergyDetector
from voicecoach.intents.load import load_catalog
from voicecoach.intents.matcher import recognize
from voicecoach.intents.types import Context, Match
from voicecoach.output import OutputStage
from voicecoach.voice.speaker import TerminalSpeaker

CATALOG = load_catalog()
PAIN = Context(exercising=True)


class ScriptedRecognizer:
    """Hears each utterance as the next scripted sentence, read by the real matcher."""

    def __init__(self, texts: list[str], context: Context = Context()) -> None:
        self.texts = list(texts)
        self.context = context
        self.heard_ms: list[float] = []

    def __call__(self, audio: np.ndarray) -> Match:
        self.heard_ms.append(1000 * len(audio) / SAMPLE_RATE)
        return recognize(self.texts.pop(0), CATALOG, self.context)


class StepTimer:
    """A timer that moves 40 ms every time it is read: every decode takes 40 ms."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 0.020
        return self.t


def make_loop(texts: list[str], context: Context = Context(), **options) -> tuple[ListenLoop, ScriptedRecognizer]:
    fake = ScriptedRecognizer(texts, context)
    return ListenLoop(fake, Endpointer(EnergyDetector()), timer=StepTimer(), **options), fake


def feed(loop: ListenLoop, audio: np.ndarray, during=None) -> list:
    """Push `audio` frame by frame; `during(frame_index, loop)` may tell the loop about the coach."""
    events = []
    for n, frame in enumerate(frames_of(audio)):
        if during is not None:
            during(n, loop)
        events += loop.push(frame)
    return events + loop.finish()


def of_type(events: list, kind) -> list:
    return [e for e in events if isinstance(e, kind)]


def test_each_utterance_gives_speech_started_then_what_was_heard():
    loop, fake = make_loop(["yes", "next"])
    events = feed(loop, np.concatenate([room(0.5), voiced(0.5), room(0.6), voiced(0.8), room(0.6)]))
    assert [type(e) for e in events] == [SpeechStarted, UtteranceHeard, SpeechStarted, UtteranceHeard]
    first, second = of_type(events, UtteranceHeard)
    assert (first.match.intent, second.match.intent) == ("yes", "next")
    assert first.decode_ms == pytest.approx(20.0)
    assert first.audio_ms == pytest.approx(fake.heard_ms[0]) and 500 <= first.audio_ms <= 1100
    assert events[0].at_ms == pytest.approx(500, abs=60)
    assert 0 < first.cut_ms - first.speech_end_ms <= 300


def test_a_click_is_dropped_without_calling_the_recognizer():
    loop, fake = make_loop([])
    events = feed(loop, np.concatenate([room(0.5), voiced(0.06), room(0.6)]))
    assert [type(e) for e in events] == [SpeechStarted, SpeechDropped]
    assert fake.heard_ms == []


def test_no_words_is_nothing_heard_not_a_sorry():
    loop, _ = make_loop([""])
    events = feed(loop, np.concatenate([room(0.5), voiced(0.5), room(0.6)]))
    assert [type(e) for e in events] == [SpeechStarted, NothingHeard]


def test_an_out_of_domain_sentence_is_heard_as_none_after_waiting_for_more():
    loop, _ = make_loop(["turn off the kitchen lights"])
    events = feed(loop, np.concatenate([room(0.5), voiced(0.8), room(1.0)]))
    [heard] = of_type(events, UtteranceHeard)
    assert heard.match.intent == "none"


def test_a_command_split_at_a_pause_is_recognized_whole():
    """"set a timer" does not parse alone; the rest follows 400 ms later and both are heard together."""
    loop, fake = make_loop(["set a timer", "set a timer for thirty seconds"])
    events = feed(loop, np.concatenate([room(0.5), voiced(0.6), room(0.4), voiced(0.7, pitch=150), room(1.0)]))
    heard = of_type(events, UtteranceHeard)
    assert [(h.match.intent, h.match.slots) for h in heard] == [("set_duration", {"seconds": 30})]
    assert len(fake.heard_ms) == 2 and fake.heard_ms[1] > fake.heard_ms[0] + 600     # the second hearing has both parts


def test_an_unparsed_utterance_is_given_up_when_nothing_follows():
    loop, fake = make_loop(["set a timer", "next"], continuation_ms=600)
    events = feed(loop, np.concatenate([room(0.5), voiced(0.6), room(1.5), voiced(0.5), room(0.6)]))
    assert [h.match.intent for h in of_type(events, UtteranceHeard)] == ["none", "next"]
    assert fake.heard_ms[1] < 1100                  # "next" was heard on its own


def test_a_failing_recognizer_is_reported_and_listening_goes_on():
    calls = []

    def flaky(audio: np.ndarray) -> Match:
        calls.append(len(audio))
        if len(calls) == 1:
            raise RuntimeError("decoder\nexploded")
        return recognize("stop", CATALOG)

    loop = ListenLoop(flaky, Endpointer(EnergyDetector()))
    events = feed(loop, np.concatenate([room(0.5), voiced(0.5), room(0.6), voiced(0.5), room(0.6)]))
    assert of_type(events, ListenFailed) == [ListenFailed("recognizer failed: decoder exploded")]
    assert [h.match.intent for h in of_type(events, UtteranceHeard)] == ["stop"]


def coach_says(text: str, from_frame: int, to_frame: int):
    def during(n: int, loop: ListenLoop) -> None:
        if n == from_frame:
            loop.coach_speaking(text)
        elif n == to_frame:
            loop.coach_silent()
    return during


SPEECH = np.concatenate([room(1.0), voiced(0.5), room(1.0)])     # speech from 1.0 s to 1.5 s
LINE = "Lie on your side and roll slowly from the hip towards the knee."


@pytest.mark.parametrize("text,intent,verdict", [
    ("next", "next", "coach speaking"),
    ("stop", "stop", None),
    ("pause", "pause", None),
    ("ouch", "report_pain", None),
    ("roll slowly from the hip towards the knee", "none", "echo"),
])
def test_while_the_coach_speaks_only_stop_pause_and_pain_get_through(text, intent, verdict):
    loop, _ = make_loop([text], PAIN)
    events = feed(loop, SPEECH, coach_says(LINE, from_frame=20, to_frame=70))
    outcome = of_type(events, UtteranceHeard) + of_type(events, UtteranceIgnored)
    assert len(outcome) == 1 and outcome[0].match.intent == intent
    assert (outcome[0].reason if isinstance(outcome[0], UtteranceIgnored) else None) == verdict


def test_a_command_misread_over_the_coach_is_read_again_from_closer_to_its_onset():
    """The pre-roll under the coach's voice is its echo's remains: "Last go." for "stop"."""
    loop, fake = make_loop(["Last go.", "stop"], PAIN)
    events = feed(loop, SPEECH, coach_says(LINE, from_frame=20, to_frame=70))
    assert [h.match.intent for h in of_type(events, UtteranceHeard)] == ["stop"]
    assert not of_type(events, UtteranceIgnored)
    first, second = fake.heard_ms
    started = of_type(events, SpeechStarted)[0].at_ms
    utterance = of_type(events, UtteranceHeard)[0]
    assert utterance.onset_ms == started
    pre_roll_ms = first - (utterance.cut_ms - utterance.onset_ms)
    assert pre_roll_ms > SECOND_LOOK_PRE_ROLL_MS
    assert second == pytest.approx(first - pre_roll_ms + SECOND_LOOK_PRE_ROLL_MS, abs=1.0)


def test_the_second_reading_must_be_a_barge_in_or_the_first_stands():
    loop, fake = make_loop(["Last go.", "next"], PAIN)
    events = feed(loop, SPEECH, coach_says(LINE, from_frame=20, to_frame=70))
    assert [(e.match.text, e.reason) for e in of_type(events, UtteranceIgnored)] == [("Last go.", "coach speaking")]
    assert len(fake.heard_ms) == 2


def test_an_utterance_begun_after_the_coach_is_read_once():
    loop, fake = make_loop(["next"])
    events = feed(loop, SPEECH, coach_says(LINE, from_frame=5, to_frame=20))
    assert [h.match.intent for h in of_type(events, UtteranceHeard)] == ["next"]
    assert len(fake.heard_ms) == 1


def test_a_failing_second_reading_leaves_the_first():
    loop, fake = make_loop(["Last go."], PAIN)            # nothing scripted for the second: it raises
    events = feed(loop, SPEECH, coach_says(LINE, from_frame=20, to_frame=70))
    assert [e.reason for e in of_type(events, UtteranceIgnored)] == ["coach speaking"]
    assert not of_type(events, ListenFailed)


def test_once_the_coach_is_silent_everything_is_acted_on_again():
    loop, _ = make_loop(["next"])
    events = feed(loop, SPEECH, coach_says(LINE, from_frame=5, to_frame=20))      # silent 0.6 s before speech
    assert [h.match.intent for h in of_type(events, UtteranceHeard)] == ["next"]


def test_an_answer_right_after_the_coach_stops_is_not_gated():
    """The coach stops at 0.75 s; the user answers at 1.0 s. The pre-roll reaches back into
    the coach's line, but the speech itself began after it."""
    loop, _ = make_loop(["yes"])
    events = feed(loop, SPEECH, coach_says("Shall we start?", from_frame=3, to_frame=25))
    assert [h.match.intent for h in of_type(events, UtteranceHeard)] == ["yes"]


def test_the_coach_voice_lingering_in_the_room_is_still_an_echo():
    loop, _ = make_loop(["roll slowly from the hip towards the knee"])
    events = feed(loop, SPEECH, coach_says(LINE, from_frame=3, to_frame=31))     # silent at 0.93 s, speech at 1.0 s
    assert [e.reason for e in of_type(events, UtteranceIgnored)] == ["echo"]


def test_echo_is_judged_by_words_in_order():
    assert is_echo("roll slowly from the hip", LINE)
    assert not is_echo("the knee from the hip roll", LINE)                     # same words, another order
    assert not is_echo("stop", "Stop when it hurts.", barge_in=True)           # one barge-in word always wins
    assert not is_echo("my knee hurts", "If your knee hurts, stop.", barge_in=True)
    assert is_echo("if your knee hurts stop", "If your knee hurts, stop.", barge_in=True)
    assert not is_echo("", LINE)


def test_telling_the_gate_on_every_frame_keeps_one_line():
    gate = BargeInGate()
    for t in range(0, 3000, 30):
        gate.coach_speaking(LINE, t)
    gate.coach_speaking("Switch sides.", 3000)
    gate.coach_silent(4000)
    assert gate.lines_during(0, 4000) == [LINE, "Switch sides."]
    assert gate.lines_during(3500, 3600) == ["Switch sides."]


def test_the_gate_forgets_old_lines():
    gate = BargeInGate(keep_ms=1000)
    gate.coach_speaking("first line", 0)
    gate.coach_silent(500)
    gate.coach_speaking("second line", 5000)
    assert gate.lines_during(5100, 5200) == ["second line"]
    assert len(gate._lines) == 1


def test_run_reads_a_wav_file_on_a_virtual_clock_and_ends(tmp_path):
    write_wav(tmp_path / "a.wav", np.concatenate([room(0.5), voiced(0.5), room(0.3)]))
    clock = VirtualClock()
    loop, _ = make_loop(["pause"])
    events: list = []
    loop.run(WavFileSource(tmp_path / "a.wav", clock), events.append)
    assert [type(e) for e in events] == [SpeechStarted, UtteranceHeard, ListenEnded]
    assert events[-1] == ListenEnded("end of audio")
    assert clock.now() == pytest.approx(1.3 + 1.0, abs=0.06)                  # the file and its 1 s tail, in whole frames


class EndlessRoom:
    """A live-like source that never ends by itself, only when cancelled."""

    name = "endless"

    def __init__(self) -> None:
        self.frames_given = 0

    def frames(self, cancel: threading.Event):
        frame = room(0.03)
        while not cancel.is_set():
            self.frames_given += 1
            yield frame


def test_start_listens_in_a_thread_and_stop_ends_it_cooperatively():
    loop, _ = make_loop([])
    source = EndlessRoom()
    thread = loop.start(source)
    assert loop.stop(timeout=5.0)
    assert not thread.is_alive()
    assert loop.events.get(timeout=5.0) == ListenEnded("cancelled")
    assert loop.events.empty()


def test_a_microphone_that_fails_ends_listening_with_its_reason():
    class Unplugged:
        name = "microphone"

        def frames(self, cancel):
            yield room(0.03)
            raise MicrophoneUnavailable("the microphone stopped (device unplugged)")

    loop, _ = make_loop([])
    events: list = []
    loop.run(Unplugged(), events.append)
    assert events == [ListenFailed("the microphone stopped (device unplugged)"), ListenEnded("failed")]


class TranscriptEngine:
    name = "fake"

    def __init__(self, hypotheses: list[Hypothesis]) -> None:
        self.hypotheses = tuple(hypotheses)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        return Transcript(self.hypotheses, 5.0, 1000 * len(audio) / SAMPLE_RATE)


def test_reader_reads_with_the_context_of_the_moment():
    """The session's context is asked afresh for every utterance."""
    contexts = [Context(), Context(exercising=True, paused=True)]
    asked = []

    def context() -> Context:
        asked.append(contexts[len(asked)])
        return asked[-1]

    recognize_audio = reader(TranscriptEngine([Hypothesis("my knee hurts", -0.1)]), CATALOG, context)
    audio = voiced(0.5)
    assert recognize_audio(audio).intent == "report_pain"
    assert recognize_audio(audio).intent == "report_pain"
    assert asked == contexts


def test_reader_turns_no_speech_into_nothing_heard():
    recognize_audio = reader(TranscriptEngine([Hypothesis("Thank you.", -0.3, no_speech_prob=0.9)]), CATALOG)
    loop = ListenLoop(recognize_audio, Endpointer(EnergyDetector()))
    events = feed(loop, np.concatenate([room(0.5), voiced(0.5), room(0.6)]))
    assert [type(e) for e in events] == [SpeechStarted, NothingHeard]


@pytest.mark.shared("audio/stp_next.wav", "audio/stp_pause.wav", "audio/stp_timer_status.wav")
def test_real_commands_through_the_loop_come_out_once_each():
    """Real clips, one after another with room noise between; whatever the VAD does with pauses
    inside a command, each comes out as one hearing (the fake answers by clip)."""
    names = ["stp_next.wav", "stp_pause.wav", "stp_timer_status.wav"]
    clips = [read_wav(AUDIO / n) for n in names]
    audio = np.concatenate([part for clip in clips for part in (room(1.0, level=0.003), clip)] + [room(1.5, level=0.003)])
    bounds = np.cumsum([0] + [len(room(1.0)) + len(c) for c in clips]) * 1000 / SAMPLE_RATE
    texts = {0: "next", 1: "pause", 2: "timer status"}

    loop = ListenLoop(lambda a: Match("?", "none"), Endpointer())
    # Answer by where the audio ends: a part of a clip that is not its end does not parse.
    def hear(a: np.ndarray) -> Match:
        end = loop.endpointer.elapsed_ms
        clip = int(np.searchsorted(bounds, end - 400)) - 1
        complete = end - bounds[clip + 1] >= -100
        return recognize(texts[clip], CATALOG) if complete else Match("mm", "none")
    loop.recognize = hear
    events: list = []
    loop.run(ArraySource(audio), events.append)
    assert [h.match.intent for h in of_type(events, UtteranceHeard)] == ["next", "pause", "time_left"]


# The voice loop as the app runs it (a ListenLoop inside app.run_voice_session).


class FakeRecognizer:
    """Answers each utterance with the next scripted text."""

    name = "fake"

    def __init__(self, texts: list[str]) -> None:
        self.texts = list(texts)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        return Transcript((Hypothesis(self.texts.pop(0), -0.2, 0.01),), 1.0, 1000.0 * len(audio) / SAMPLE_RATE)


def test_the_reader_reads_each_utterance_with_the_session_context():
    contexts = iter([Context(), Context(exercising=True)])
    loop = ListenLoop(reader(FakeRecognizer(["Yes.", "My knee hurts."]), CATALOG, lambda: next(contexts)),
                      Endpointer(detector=EnergyDetector()))
    audio = np.concatenate([room(0.5), voiced(0.5), room(0.8), voiced(0.5), room(0.8)])
    events: list = []
    loop.run(ArraySource(audio), events.append)
    assert [h.match.intent for h in of_type(events, UtteranceHeard)] == ["yes", "report_pain"]


class SpeakingOutput(OutputStage):
    """An output stage that reports it is still speaking, as a voice would mid-sentence."""

    speaking = True  # type: ignore[assignment]


def test_echo_of_the_coach_is_ignored_in_the_app_loop(tiny_content, tmp_path):
    path = tmp_path / "echo.wav"
    write_wav(path, np.concatenate([room(0.5), voiced(0.5), room(0.8)]))
    clock = VirtualClock()
    session = Session(tiny_content, clock)
    loop = ListenLoop(reader(FakeRecognizer(["Shall we start the routine?"]), CATALOG, session.context),
                      Endpointer(detector=EnergyDetector()))
    events: list = []
    run_voice_session(session, loop, WavFileSource(path, clock), SpeakingOutput([TerminalSpeaker(io.StringIO())]),
                      clock, CATALOG, events.append, play_out=False)
    assert [e.reason for e in of_type(events, UtteranceIgnored)] == ["echo"]
    assert session.exercise is None


def test_a_whole_short_session_driven_by_speech_from_a_file(whisper, tiny_content, tmp_path):
    """espeak-ng commands in one WAV, heard by Whisper, driving the session on a virtual clock."""
    def said(text: str) -> np.ndarray:
        return read_wav(speak_to_wav(text, tmp_path / "part.wav"))

    audio = np.concatenate([room(1.0), said("start the stretch"), room(16.0), said("pause"), room(5.0),
                            said("continue"), room(3.0)])
    write_wav(tmp_path / "session.wav", audio)
    clock = VirtualClock()
    kinds: list = []

    class Recorder:
        def record(self, event):
            kinds.append(event.kind)

    session = Session(tiny_content, clock, listeners=[Recorder()])
    out = io.StringIO()
    events: list = []
    run_voice_session(session, ListenLoop(reader(whisper, CATALOG, session.context)),
                      WavFileSource(tmp_path / "session.wav", clock), OutputStage([TerminalSpeaker(out)]),
                      clock, CATALOG, events.append)
    heard = of_type(events, UtteranceHeard)
    assert [h.match.intent for h in heard] == ["start", "pause", "resume"], [h.match for h in heard]
    assert kinds[:4] == ["session_started", "exercise_started", "paused", "resumed"]
    assert "Switch sides. Right side next." in out.getvalue()
    assert kinds[-1] == "session_ended"


def test_spoken_commands_from_a_file_through_the_listen_loop_with_whisper(whisper, tmp_path):
    """espeak-ng speech in one WAV, played on a virtual clock, cut by the VAD and read by Whisper."""
    def said(text: str) -> np.ndarray:
        return read_wav(speak_to_wav(text, tmp_path / "part.wav"))

    audio = np.concatenate([room(0.8), said("pause"), room(1.5), said("skip to the next one"), room(1.5),
                            said("play some jazz"), room(0.5)])
    write_wav(tmp_path / "commands.wav", audio)
    clock = VirtualClock()
    loop = ListenLoop(reader(whisper, CATALOG))
    events: list = []
    loop.run(WavFileSource(tmp_path / "commands.wav", clock), events.append)
    heard = of_type(events, UtteranceHeard)
    assert [h.match.intent for h in heard] == ["pause", "next", "none"], [h.match for h in heard]
    assert all(0 < h.cut_ms - h.speech_end_ms <= 300 for h in heard)
    assert events[-1] == ListenEnded("end of audio")


class SteppedTime:
    """A clock the test moves by hand: how late hearing is, without waiting."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_coachs_voice_is_placed_at_the_streams_present_when_hearing_is_behind():
    now = SteppedTime()
    loop = ListenLoop(lambda audio: Match("", "none"), Endpointer(detector=EnergyDetector()), now=now)
    frames = list(frames_of(room(0.3)))
    now.t = 0.03
    loop.push(frames[0])                 # taken at once: the stream began at t = 0
    now.t = 2.0                          # a decode held hearing back; the next frame is 1.94 s old
    loop.push(frames[1])
    assert loop.lag_ms(loop.endpointer.elapsed_ms) == pytest.approx(1940, abs=1)
    loop.coach_speaking("Left side. Hold for thirty seconds.")
    # Where the voice sounds in the stream: now, not at the frame being heard (60 ms in).
    assert loop.gate.lines_during(1990, 2010) == ["Left side. Hold for thirty seconds."]
    assert loop.gate.lines_during(0, 1500) == []


def test_an_utterance_heard_seconds_late_gets_only_the_barge_in_check():
    now = SteppedTime()
    decoded = []

    def recognizer(audio):
        decoded.append(len(audio))
        return Match("how long is left", "time_left", {}, 1.0)

    loop = ListenLoop(recognizer, Endpointer(detector=EnergyDetector()), now=now, continuation_ms=0)
    events = []
    for n, frame in enumerate(frames_of(np.concatenate([room(0.5), voiced(0.6), room(1.0)]))):
        now.t = 0.03 * (n + 1) + (3.0 if n > 30 else 0.0)     # hearing falls 3 s behind mid-utterance
        events += loop.push(frame)
    heard = [e for e in events if isinstance(e, (UtteranceHeard, UtteranceIgnored))]
    assert [(type(e), e.reason) for e in heard] == [(UtteranceIgnored, "late")] and decoded == []
    # On time, the same utterance is decoded and acted on.
    loop = ListenLoop(recognizer, Endpointer(detector=EnergyDetector()), now=now, continuation_ms=0)
    events = []
    for n, frame in enumerate(frames_of(np.concatenate([room(0.5), voiced(0.6), room(1.0)]))):
        now.t = 0.03 * (n + 1)
        events += loop.push(frame)
    assert [e.match.intent for e in events if isinstance(e, UtteranceHeard)] == ["time_left"]


def test_a_cue_that_begins_after_the_user_started_does_not_drop_their_words():
    gate = BargeInGate()
    heard = Match("Add 10 seconds.", "adjust", {"seconds": 10}, 1.0)
    gate.coach_speaking("Halfway.", 1500.0)          # the user began at 1000 ms; the cue fell due 500 ms in
    gate.coach_silent(2100.0)
    assert gate.why_ignored(heard, 1000.0, 2400.0) is None
    # A line already under way when the user starts: it is the coach's turn, as before.
    gate = BargeInGate()
    gate.coach_speaking("Lie on your side with the foam roller under your hip.", 800.0)
    assert gate.why_ignored(heard, 1000.0, 2400.0) == "coach speaking"
    # The two began together ("Halfway." falling due as the user spoke): the signal decides.
    for began in (900.0, 1100.0):
        gate = BargeInGate()
        gate.coach_speaking("Halfway.", began)
        gate.coach_silent(1700.0)
        assert gate.why_ignored(heard, 1000.0, 2400.0, user_shown=lambda: True) is None
        assert gate.why_ignored(heard, 1000.0, 2400.0, user_shown=lambda: False) == "coach speaking"
        assert gate.why_ignored(heard, 1000.0, 2400.0) == "coach speaking"       # no evidence: the coach's turn
    gate = BargeInGate()
    gate.coach_speaking("Lie on your side with the foam roller under your hip.", 600.0)
    assert gate.why_ignored(heard, 1000.0, 2400.0, user_shown=lambda: True) == "coach speaking"   # its floor
    # The coach's own words read back are an echo whenever its line began.
    gate = BargeInGate()
    gate.coach_speaking("Add ten seconds more.", 1500.0)
    assert gate.why_ignored(Match("add ten seconds", "adjust", {}, 1.0), 1000.0, 2400.0) == "echo"


# ----- utterances read on a thread of their own (the live loop) ---------------------------------

def test_speech_starting_is_told_while_the_last_utterance_is_still_being_read():
    """The coach yields on SpeechStarted: it must not wait behind a decode of what came before."""
    second_started = threading.Event()
    told: list = []

    class SlowFirst(ScriptedRecognizer):
        def __call__(self, audio):
            if not self.heard_ms:
                second_started.wait(5.0)              # the first decode lasts until the second speech is told
            return super().__call__(audio)

    def deliver(event):
        told.append(event)
        if isinstance(event, SpeechStarted) and len(of_type(told, SpeechStarted)) == 2:
            second_started.set()

    loop = ListenLoop(SlowFirst(["yes", "next"]), Endpointer(EnergyDetector()), timer=StepTimer())
    audio = np.concatenate([room(0.5), voiced(0.5), room(0.6), voiced(0.8), room(0.6)])
    loop.run(ArraySource(audio), deliver, decode_apart=True)
    assert second_started.is_set()
    kinds = [type(e) for e in told]
    assert kinds.index(UtteranceHeard) > [i for i, k in enumerate(kinds) if k is SpeechStarted][1]
    assert [h.match.intent for h in of_type(told, UtteranceHeard)] == ["yes", "next"]
    assert isinstance(told[-1], ListenEnded) and told[-1].reason == "end of audio"


def test_read_apart_the_verdicts_are_the_same_as_frame_by_frame():
    audio = np.concatenate([room(0.5), voiced(0.6), room(0.4), voiced(0.7, pitch=150), room(1.5), voiced(0.5),
                            room(0.6)])
    texts = ["set a timer", "set a timer for thirty seconds", "next"]
    inline, _ = make_loop(list(texts))
    expected = [(type(e), getattr(getattr(e, "match", None), "intent", None)) for e in feed(inline, audio)]
    apart, fake = make_loop(list(texts))
    told: list = []
    apart.run(ArraySource(audio, tail_seconds=0), told.append, decode_apart=True)
    assert told.pop() == ListenEnded("end of audio")
    assert sorted(map(str, [(type(e), getattr(getattr(e, "match", None), "intent", None)) for e in told])) == \
        sorted(map(str, expected))
    assert [h.match.intent for h in of_type(told, UtteranceHeard)] == ["set_duration", "next"]


def test_a_reading_that_fails_ends_listening_with_one_line():
    class BrokenGate(BargeInGate):
        def why_ignored(self, *args, **kwargs):
            raise RuntimeError("the gate broke")

    loop = ListenLoop(ScriptedRecognizer(["yes", "next"]), Endpointer(EnergyDetector()), gate=BrokenGate(),
                      timer=StepTimer())
    told: list = []
    audio = np.concatenate([room(0.5), voiced(0.5), room(0.6), voiced(0.8), room(0.6)])
    done = threading.Thread(target=loop.run, args=(ArraySource(audio), told.append), kwargs={"decode_apart": True})
    done.start()
    done.join(10.0)
    assert not done.is_alive()
    assert ListenFailed("the gate broke") in told and told[-1] == ListenEnded("failed")
    assert told.count(ListenEnded("failed")) == 1


def test_a_stream_that_loses_time_against_the_clock_is_not_read_as_hearing_behind():
    """A sound server dropping blocks under load: the clock runs 3% ahead of the stream's frames,
    none of which waits. After a minute (1.8 s lost) a command is still answered, not "late"."""
    clock = {"t": 0.0}
    loop, _ = make_loop(["next"])
    loop.now = lambda: clock["t"]
    audio = np.concatenate([room(60.0), voiced(0.5), room(0.6)])
    events = []
    for frame in frames_of(audio):
        clock["t"] += 0.030 * 1.03
        events += loop.push(frame)
    assert loop.lag_ms(loop.endpointer.elapsed_ms) < 300
    assert [h.match.intent for h in of_type(events, UtteranceHeard)] == ["next"]


def test_frames_that_waited_behind_a_long_decode_are_still_read_as_behind():
    """Read frame by frame, a three-second decode leaves the frames after it three seconds late."""
    clock = {"t": 0.0}
    decodes = []

    def slow_first(audio):
        if not decodes:
            clock["t"] += 3.0
        decodes.append(clock["t"])
        return recognize("next", CATALOG, Context())

    loop = ListenLoop(slow_first, Endpointer(EnergyDetector()), timer=StepTimer())
    loop.now = lambda: clock["t"]
    events = []
    for frame in frames_of(np.concatenate([room(2.0), voiced(0.5), room(0.6), voiced(0.5), room(0.6)])):
        clock["t"] += 0.030
        events += loop.push(frame)
    verdicts = [e for e in events if isinstance(e, (UtteranceHeard, UtteranceIgnored))]
    assert len(verdicts) == 2 and verdicts[1].lag_ms > 2500
    assert isinstance(verdicts[1], UtteranceIgnored) and verdicts[1].reason == "late"


def test_read_apart_a_reading_s_delay_is_its_wait_and_decode_not_the_sound_server_s_clock():
    """On its own thread, an utterance's lag is from when the frame thread heard its end: a stream
    that loses a quarter of its time against the clock (a starved audio thread) is not "late"."""
    clock = {"t": 0.0}

    class Losing(ArraySource):
        def frames(self, cancel):
            for frame in super().frames(cancel):
                clock["t"] += 0.030 * 1.25
                yield frame

    loop, _ = make_loop(["next"])
    loop.now = lambda: clock["t"]
    told: list = []
    loop.run(Losing(np.concatenate([room(20.0), voiced(0.5), room(0.35)]), tail_seconds=0), told.append,
             decode_apart=True)
    [heard] = of_type(told, UtteranceHeard)
    assert heard.match.intent == "next" and heard.lag_ms < 600


class LengthReader:
    """Reads every utterance as "yes", its text the number of samples it was given."""

    def __init__(self) -> None:
        self.lengths: list[int] = []

    def __call__(self, audio: np.ndarray) -> Match:
        self.lengths.append(len(audio))
        return Match(str(len(audio)), "yes", {}, 1.0)


def read_apart(audio: np.ndarray, **options) -> tuple[list, LengthReader]:
    reader = LengthReader()
    loop = ListenLoop(reader, Endpointer(EnergyDetector()), timer=StepTimer(), **options)
    told: list = []
    loop.run(ArraySource(audio), told.append, decode_apart=True)
    return of_type(told, UtteranceHeard), reader


def test_read_apart_an_utterance_is_read_before_its_cut_and_the_cut_uses_that_reading():
    heard, reader = read_apart(np.concatenate([room(0.5), voiced(0.5), room(0.8)]))
    (only,) = heard
    assert len(reader.lengths) == 1                           # read once, not again at the cut
    early = reader.lengths[0]
    assert only.match.text == str(early)
    # The reading began EARLY_READ_MS into the silence, the cut came at the trailing silence.
    assert round(only.audio_ms * SAMPLE_RATE / 1000) - early == ms(240 - EARLY_READ_MS)


def test_read_apart_speech_that_goes_on_after_the_early_reading_is_read_whole():
    heard, reader = read_apart(np.concatenate([room(0.5), voiced(0.5), room(0.18), voiced(0.4, seed=3), room(0.8)]))
    (only,) = heard
    assert len(reader.lengths) >= 2 and reader.lengths[0] < reader.lengths[-1]
    assert int(only.match.text) >= ms(500 + 180 + 400)        # both parts, not the reading of the first alone


def test_without_early_reading_the_cut_is_read():
    heard, reader = read_apart(np.concatenate([room(0.5), voiced(0.5), room(0.8)]), early_read_ms=0)
    (only,) = heard
    assert reader.lengths == [round(only.audio_ms * SAMPLE_RATE / 1000)]


def test_the_endpointer_tells_the_silence_so_far_and_the_utterance_as_it_would_be_cut():
    endpointer = Endpointer(EnergyDetector())
    frames = list(frames_of(np.concatenate([room(0.3), voiced(0.5), room(0.6)])))
    cut, seen = None, []
    for frame in frames:
        cut = endpointer.push(frame) or cut
        if endpointer.in_speech and endpointer.silent_ms == EARLY_READ_MS:
            seen.append(endpointer.so_far())
    assert endpointer.silent_ms == 0.0 and endpointer.so_far() is None      # between utterances
    (so_far,) = seen
    assert cut is not None and (so_far.start_ms, so_far.onset_ms, so_far.speech_end_ms) == (
        cut.start_ms, cut.onset_ms, cut.speech_end_ms)
    assert np.array_equal(so_far.audio, cut.audio[:len(so_far.audio)])


def test_over_the_coachs_voice_a_long_utterance_is_cut_into_pieces_each_read():
    audio = np.concatenate([room(0.5), voiced(3.5), room(0.6)])

    def coach_talks(n, loop):
        loop.coach_speaking("a long answer the coach is giving")

    loop, fake = make_loop(["what was that"] * 4, continuation_ms=0)
    events = feed(loop, audio, during=coach_talks)
    pieces = of_type(events, UtteranceIgnored) + of_type(events, UtteranceHeard)
    assert len(pieces) == 2 and len(of_type(events, SpeechStarted)) == 2
    assert all(p.cut_ms - p.onset_ms <= OVER_COACH_MAX_MS + 30 for p in pieces if isinstance(p, UtteranceHeard))
    assert fake.heard_ms[0] <= OVER_COACH_MAX_MS + PRE_ROLL_MS + 30          # a frame at most past the cap

    alone, fake = make_loop(["what was that"] * 4, continuation_ms=0)
    events = feed(alone, audio)                                   # nobody else talking: one utterance
    assert len(of_type(events, SpeechStarted)) == 1 and len(fake.heard_ms) == 1 and fake.heard_ms[0] > 3500


class TailSpotter:
    """Hears "stop" only in audio as short as the tail look's piece (plus its post-roll)."""

    def __init__(self) -> None:
        self.heard_ms: list[float] = []

    def __call__(self, audio: np.ndarray) -> KeywordHit | None:
        self.heard_ms.append(1000 * len(audio) / SAMPLE_RATE)
        return KeywordHit("stop", "stop", 0.5) if self.heard_ms[-1] <= TAIL_LOOK_MS + 300 else None


LONG_SPEECH = np.concatenate([room(1.0), voiced(1.8), room(1.0)])    # speech from 1.0 s to 2.8 s


def test_a_stop_at_the_end_of_an_utterance_the_coachs_echo_began_is_heard_on_its_own():
    spotter = TailSpotter()
    loop, _ = make_loop([LINE], PAIN, spot=spotter, continuation_ms=0)
    events = feed(loop, LONG_SPEECH, coach_says(LINE, from_frame=20, to_frame=120))
    (heard,) = of_type(events, UtteranceHeard)
    assert heard.match.intent == "stop" and heard.onset_ms == pytest.approx(2800 - TAIL_LOOK_MS, abs=60)
    assert spotter.heard_ms[-1] == min(spotter.heard_ms) <= TAIL_LOOK_MS + 300 < spotter.heard_ms[0]


class NeverSpotter(TailSpotter):
    def __call__(self, audio: np.ndarray) -> KeywordHit | None:
        self.heard_ms.append(1000 * len(audio) / SAMPLE_RATE)
        return None


def test_without_the_coach_or_with_a_short_utterance_there_is_no_tail_look():
    spotter = TailSpotter()
    loop, _ = make_loop([LINE], PAIN, spot=spotter, continuation_ms=0)
    events = feed(loop, LONG_SPEECH)                               # nobody else talking
    assert [h.match.intent for h in of_type(events, UtteranceHeard)] == ["none"] and len(spotter.heard_ms) == 1
    looks = []
    for speech_s in (0.9, 1.8):                                    # shorter than the tail look, and longer
        spotter = NeverSpotter()
        loop, _ = make_loop([LINE, LINE], PAIN, spot=spotter, continuation_ms=0)
        feed(loop, np.concatenate([room(1.0), voiced(speech_s), room(1.0)]), coach_says(LINE, from_frame=20, to_frame=120))
        looks.append(len(spotter.heard_ms))
    assert looks[1] == looks[0] + 1                                # the whole, the second look, and the tail only when longer


def test_a_piece_cut_short_over_the_coach_is_not_held_to_be_joined_again():
    audio = np.concatenate([room(0.5), voiced(3.5), room(0.6)])
    loop, fake = make_loop(["the weather is nice"] * 4)             # read as nothing; the default wait for the rest of a sentence

    def coach_talks(n, loop):
        loop.coach_speaking("a long answer the coach is giving")

    events = feed(loop, audio, during=coach_talks)
    verdicts = of_type(events, UtteranceIgnored) + of_type(events, UtteranceHeard)
    assert len(verdicts) == 2 and max(fake.heard_ms) < 3000        # two pieces, never read joined


# ----- which reading comes first: the check over the coach, the decode into quiet ---------------

class CountingSpotter:
    """The barge-in check: hears "stop" (or nothing), and counts its calls."""

    def __init__(self, hears: bool) -> None:
        self.hears = hears
        self.calls = 0

    def __call__(self, audio: np.ndarray) -> KeywordHit | None:
        self.calls += 1
        return KeywordHit("stop", "stop", 0.5) if self.hears else None


@pytest.mark.parametrize("decoded,checked,acted", [
    ("how long is left", False, "time_left"),     # a sentence read into quiet stands: no check
    ("pause", False, "pause"),                    # a barge-in read into quiet stands: no check
    ("Start.", True, "stop"),                     # a short line read as something else: the check decides
    ("Bird.", True, "stop"),
])
def test_into_quiet_the_decode_comes_first_and_the_check_only_for_a_short_other_reading(decoded, checked, acted):
    spotter = CountingSpotter(hears=True)
    loop, fake = make_loop([decoded], PAIN, spot=spotter, continuation_ms=0)
    events = feed(loop, SPEECH)
    assert [h.match.intent for h in of_type(events, UtteranceHeard)] == [acted]
    assert (len(fake.heard_ms), spotter.calls) == (1, int(checked))


def test_over_the_coach_the_check_comes_first_and_its_hit_spares_the_decode():
    spotter = CountingSpotter(hears=True)
    loop, fake = make_loop(["how long is left"], PAIN, spot=spotter, continuation_ms=0)
    events = feed(loop, SPEECH, coach_says(LINE, from_frame=20, to_frame=70))
    assert [h.match.intent for h in of_type(events, UtteranceHeard)] == ["stop"]
    assert (len(fake.heard_ms), spotter.calls) == (0, 1)
    spotter = CountingSpotter(hears=False)             # no hit: the decode reads it
    loop, fake = make_loop(["stop"], PAIN, spot=spotter, continuation_ms=0)
    events = feed(loop, SPEECH, coach_says(LINE, from_frame=20, to_frame=70))
    assert [h.match.intent for h in of_type(events, UtteranceHeard)] == ["stop"]
    assert spotter.calls >= 1 and len(fake.heard_ms) >= 1
