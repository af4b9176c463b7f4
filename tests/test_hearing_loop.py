"""End of speech, barge-in, and the whole voice loop fed from a WAV file on a virtual clock."""
from __future__ import annotations

import io
import threading

import numpy as np
import pytest

from conftest import AUDIO, speak_to_wav
from voicecoach.app import run_voice_session
from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.session import Session
from voicecoach.hearing.audio import SAMPLE_RATE, read_wav, write_wav
from voicecoach.hearing.listener import BargeInGate, Listener
from voicecoach.hearing.recognizer import Hypothesis, Transcript
from voicecoach.hearing.sources import WavFileSource, microphone_unavailable_reason
from voicecoach.hearing.vad import FRAME_MS, FRAME_SAMPLES, EnergyDetector, Endpointer
from voicecoach.intents.catalog import load_catalog
from voicecoach.intents.types import Context, Match
from voicecoach.output import OutputStage
from voicecoach.voice.speaker import TerminalSpeaker

CATALOG = load_catalog()


def frames_of(audio: np.ndarray):
    for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        yield audio[i:i + FRAME_SAMPLES]


def burst(seconds: float, level: float = 0.3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    voiced = np.sin(2 * np.pi * 180 * t) + 0.5 * np.sin(2 * np.pi * 360 * t) + 0.1 * rng.standard_normal(len(t))
    return (level * voiced / 1.6).astype(np.float32)


def quiet(seconds: float, level: float = 0.002, seed: int = 1) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)


@pytest.mark.parametrize("detector", [EnergyDetector(), None], ids=["energy", "default"])
def test_an_utterance_ends_within_300_ms_of_the_last_sound(detector):
    endpointer = Endpointer(detector)
    audio = np.concatenate([quiet(1.0), burst(0.6), quiet(1.0)])
    ends = [(i, u) for i, f in enumerate(frames_of(audio)) if (u := endpointer.push(f)) is not None]
    assert len(ends) == 1
    index, utterance = ends[0]
    speech_end_ms = 1600
    assert 0 < (index + 1) * FRAME_MS - speech_end_ms <= 300
    assert utterance.start_ms <= 1000 and len(utterance.audio) >= 0.6 * SAMPLE_RATE


def test_clicks_and_silence_are_not_utterances():
    endpointer = Endpointer(EnergyDetector())
    audio = np.concatenate([quiet(1.0), burst(0.06), quiet(1.0), np.zeros(SAMPLE_RATE, dtype=np.float32)])
    assert [u for f in frames_of(audio) if (u := endpointer.push(f))] == []
    assert endpointer.flush() is None


@pytest.mark.skipif(not (AUDIO / "stp_pause.wav").exists(), reason=f"the shared recordings are not here ({AUDIO})")
def test_a_real_recording_is_cut_once():
    endpointer = Endpointer()
    audio = np.concatenate([read_wav(AUDIO / "stp_pause.wav"), np.zeros(SAMPLE_RATE, dtype=np.float32)])
    utterances = [u for f in frames_of(audio) if (u := endpointer.push(f))]
    assert len(utterances) == 1


class FakeRecognizer:
    """Answers each utterance with the next scripted text."""

    name = "fake"

    def __init__(self, texts: list[str]) -> None:
        self.texts = list(texts)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        return Transcript((Hypothesis(self.texts.pop(0), -0.2, 0.01),), 1.0, 1000.0 * len(audio) / SAMPLE_RATE)


def test_barge_in_gate_lets_only_stop_pause_and_pain_through_while_speaking():
    gate = BargeInGate()
    assert gate.why_ignored("what is the it band", Match("", "ask")) is None
    gate.coach_speaking("The IT band is a long, thin strip of connective tissue.")
    assert gate.why_ignored("pause", Match("", "pause")) is None
    assert gate.why_ignored("ouch", Match("", "report_pain")) is None
    assert gate.why_ignored("next", Match("", "next")) == "coach speaking"
    assert gate.why_ignored("the it band is a long strip", Match("", "ask")) == "echo"
    gate.coach_silent()
    assert gate.why_ignored("next", Match("", "next")) is None


def test_listener_reads_each_utterance_with_the_session_context():
    listener = Listener(FakeRecognizer(["Yes.", "My knee hurts."]), CATALOG, Endpointer(EnergyDetector()))
    audio = np.concatenate([quiet(0.5), burst(0.5), quiet(0.6), burst(0.5), quiet(0.6)])
    heard = []
    for i, frame in enumerate(frames_of(audio)):
        context = Context(exercising=i > 40)
        if (h := listener.push(frame, context)) is not None:
            heard.append(h.match.intent)
    assert heard == ["yes", "report_pain"]


class SpeakingOutput(OutputStage):
    """An output stage that reports it is still speaking, as a voice would mid-sentence."""

    speaking = True  # type: ignore[assignment]


def test_echo_of_the_coach_is_ignored_in_the_loop(tiny_content, tmp_path):
    path = tmp_path / "echo.wav"
    write_wav(path, np.concatenate([quiet(0.5), burst(0.5), quiet(0.8)]))
    clock = VirtualClock()
    session = Session(tiny_content, clock)
    listener = Listener(FakeRecognizer(["Shall we start the routine?"]), CATALOG, Endpointer(EnergyDetector()))
    heard = []
    run_voice_session(session, listener, WavFileSource(path, clock), SpeakingOutput([TerminalSpeaker(io.StringIO())]),
                      clock, heard.append, play_out=False)
    assert [h.ignored for h in heard] == ["echo"]
    assert session.exercise is None


def test_wav_source_paces_a_virtual_clock_and_stops_when_cancelled(tmp_path):
    path = tmp_path / "a.wav"
    write_wav(path, quiet(1.0))
    clock = VirtualClock()
    source = WavFileSource(path, clock, tail_seconds=0.5)
    frames = list(source.frames(threading.Event()))
    assert len(frames) == int(1.5 * 1000 / FRAME_MS)
    assert clock.now() == pytest.approx(len(frames) * FRAME_MS / 1000)
    cancel = threading.Event()
    cancel.set()
    assert list(WavFileSource(path, clock).frames(cancel)) == []


def test_microphone_reason_is_one_line_or_none():
    reason = microphone_unavailable_reason()
    assert reason is None or ("\n" not in reason and reason)


def test_a_whole_short_session_driven_by_speech_from_a_file(whisper, tiny_content, tmp_path):
    """espeak-ng commands in one WAV, heard by Whisper, driving the session on a virtual clock."""
    def said(text: str) -> np.ndarray:
        return read_wav(speak_to_wav(text, tmp_path / "part.wav"))

    audio = np.concatenate([quiet(1.0), said("start the stretch"), quiet(16.0), said("pause"), quiet(5.0),
                            said("continue"), quiet(3.0)])
    write_wav(tmp_path / "session.wav", audio)
    clock = VirtualClock()
    events: list = []

    class Recorder:
        def record(self, event):
            events.append(event.kind)

    session = Session(tiny_content, clock, listeners=[Recorder()])
    out = io.StringIO()
    heard: list = []
    run_voice_session(session, Listener(whisper, CATALOG), WavFileSource(tmp_path / "session.wav", clock),
                      OutputStage([TerminalSpeaker(out)]), clock, heard.append)
    assert [h.match.intent for h in heard] == ["start", "pause", "resume"], [h.reading for h in heard]
    assert events[:4] == ["session_started", "exercise_started", "paused", "resumed"]
    assert "Switch sides. Right side next." in out.getvalue()
    assert events[-1] == "session_ended"
