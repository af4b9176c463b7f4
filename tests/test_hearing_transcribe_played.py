"""`voicecoach transcribe MIC.wav --played PLAYED.wav`: generated pairs through the live listen loop."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import speak_to_wav
from test_hearing_echo import piper_engine, synthetic_room
from test_hearing_transcribe import lines as rows, run_transcribe

from voicecoach.hearing.signal.audio import SAMPLE_RATE, read_wav, resample, write_wav

FIELDS = {"file", "start_ms", "end_ms", "text", "intent", "slots"}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """What the speaker played (the coach's Piper voice, 22.05 kHz) and what the microphone heard:
    that voice through a room 120 ms later, then the user saying "pause" after the coach finished."""
    pytest.importorskip("livekit", reason="the WebRTC canceller comes with the livekit package (pip install livekit)")
    engine = piper_engine()
    folder = tmp_path_factory.mktemp("played")
    coach = engine.synthesize("Cross your right leg behind the left. Lean slowly to the left until you feel the stretch.")
    played = np.concatenate([coach, np.zeros(3 * engine.sample_rate, np.float32)])
    write_wav(folder / "played.wav", played, engine.sample_rate)
    user = read_wav(speak_to_wav("pause", folder / "user.wav"))
    echo = np.convolve(resample(played, engine.sample_rate, SAMPLE_RATE), synthetic_room(120.0))
    mic = np.zeros(len(echo) + SAMPLE_RATE, np.float32)
    mic[:len(echo)] += 0.5 * echo
    user_at = int((len(coach) / engine.sample_rate + 0.8) * SAMPLE_RATE)
    mic[user_at:user_at + len(user)] += 0.5 * user
    mic += np.random.default_rng(2).normal(0, 3e-4, len(mic)).astype(np.float32)
    write_wav(folder / "mic.wav", mic)
    return folder / "mic.wav", folder / "played.wav", 1000 * user_at / SAMPLE_RATE


@pytest.mark.slow
def test_the_coach_is_taken_out_and_the_user_is_heard(whisper, pair, capsys):
    mic, played, user_ms = pair
    assert run_transcribe(str(mic), "--played", str(played)) == 0
    captured = capsys.readouterr()
    heard = rows(captured.out)
    assert heard and all(set(r) - {"ignored"} == FIELDS and r["file"] == str(mic) for r in heard)
    acted = [r for r in heard if "ignored" not in r]
    assert [r["intent"] for r in acted] == ["pause"]
    assert abs(acted[0]["start_ms"] - user_ms) < 400 and acted[0]["end_ms"] > acted[0]["start_ms"]
    # Nothing the coach said reached hearing as words.
    assert not [r for r in heard if r["end_ms"] < user_ms - 200]
    assert "echo delay 12" in captured.err


@pytest.mark.slow
def test_without_the_canceller_the_coach_voice_is_heard_as_an_utterance(whisper, pair, capsys):
    mic, played, user_ms = pair
    assert run_transcribe(str(mic), "--played", str(played), "--echo", "none") == 0
    heard = rows(capsys.readouterr().out)
    coach = [r for r in heard if r["start_ms"] < user_ms - 1000]
    assert coach and all(r.get("ignored") == "coach speaking" for r in coach)   # heard, not acted on
    assert "stretch" in " ".join(r["text"].lower() for r in coach)


def test_one_played_file_per_recording(tmp_path, capsys):
    quiet = tmp_path / "quiet.wav"
    write_wav(quiet, np.zeros(SAMPLE_RATE, np.float32))
    assert run_transcribe(str(quiet), str(quiet), "--played", str(quiet)) == 2
    assert "2 recordings but 1 --played" in capsys.readouterr().err


def test_a_broken_played_file_is_named_and_the_others_still_run(whisper, tmp_path, capsys):
    quiet = tmp_path / "quiet.wav"
    write_wav(quiet, np.zeros(SAMPLE_RATE, np.float32))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt nonsense")
    assert run_transcribe(str(quiet), str(quiet), "--played", str(broken), "--played", str(quiet)) == 1
    captured = capsys.readouterr()
    out = rows(captured.out)
    assert out[0]["file"] == str(quiet) and str(broken) in out[0]["error"]
    assert f"voicecoach: {broken}: not a PCM WAV" in captured.err
