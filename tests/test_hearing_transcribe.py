"""`voicecoach transcribe`: one JSON line a file, bad files named, the others still read."""
from __future__ import annotations

import argparse
import json
import wave

import numpy as np
import pytest

from conftest import AUDIO, speak_to_wav
from voicecoach import transcribe as commands
from voicecoach.hearing.signal.audio import write_wav
from voicecoach.settings import resolve_settings

FIELDS = {"file", "text", "intent", "slots", "score", "decode_ms", "audio_ms"}


def transcribe(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    commands.add_arguments(parser)
    return parser.parse_args(list(argv))


def run_transcribe(*argv: str) -> int:
    """`voicecoach transcribe ARGV`, with the settings resolved as the command line resolves them."""
    args = transcribe(*argv)
    return commands.run(args, resolve_settings(args))


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.mark.slow
def test_each_file_gets_a_line_and_a_broken_one_does_not_stop_the_rest(whisper, tmp_path, capsys):
    good = speak_to_wav("pause", tmp_path / "pause.wav")
    stereo = tmp_path / "stereo44k.wav"
    mono = np.frombuffer(good.read_bytes()[44:], dtype="<i2")
    with wave.open(str(stereo), "wb") as out:       # the same words, as 44.1 kHz stereo
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(44100)
        resampled = np.interp(np.arange(0, len(mono), 22050 / 44100), np.arange(len(mono)), mono).astype("<i2")
        out.writeframes(np.repeat(resampled, 2).tobytes())
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt nonsense")
    code = run_transcribe(str(good), str(broken), str(stereo), str(tmp_path / "missing.wav"))
    captured = capsys.readouterr()
    rows = lines(captured.out)
    assert code == 1
    assert [r["file"] for r in rows] == [str(good), str(broken), str(stereo), str(tmp_path / "missing.wav")]
    assert set(rows[0]) == FIELDS and set(rows[2]) == FIELDS
    assert rows[0]["intent"] == rows[2]["intent"] == "pause"
    assert rows[0]["audio_ms"] > 0 and rows[0]["decode_ms"] > 0
    assert rows[1]["error"].startswith(str(broken)) and "not a PCM WAV" in rows[1]["error"]
    assert "no such file" in rows[3]["error"]
    assert f"voicecoach: {broken}: not a PCM WAV" in captured.err


def test_silence_is_rejected(whisper, tmp_path, capsys):
    quiet = tmp_path / "quiet.wav"
    write_wav(quiet, np.zeros(16000, dtype=np.float32))
    assert run_transcribe(str(quiet)) == 0
    (row,) = lines(capsys.readouterr().out)
    assert row["intent"] == "none" and row["slots"] == {}


def test_sphinx_is_the_other_engine(tmp_path, capsys):
    pytest.importorskip("pocketsphinx", reason="pocketsphinx is not installed")
    wav = speak_to_wav("stop", tmp_path / "stop.wav")
    assert run_transcribe("--asr", "sphinx", str(wav)) == 0
    (row,) = lines(capsys.readouterr().out)
    assert set(row) == FIELDS and row["file"] == str(wav)


def test_a_missing_model_falls_back_with_one_line(tmp_path, capsys):
    pytest.importorskip("pocketsphinx", reason="pocketsphinx is not installed")
    wav = speak_to_wav("yes", tmp_path / "yes.wav")
    assert run_transcribe("--asr-model", str(tmp_path / "no-model"), str(wav)) == 0
    captured = capsys.readouterr()
    assert len(lines(captured.out)) == 1
    notes = captured.err.strip().splitlines()
    assert len(notes) == 1 and "no-model" in notes[0] and "using sphinx instead" in notes[0]


@pytest.mark.shared("audio/stp_next.wav", "audio/stp_set_a_timer_for_30_seconds.wav")
@pytest.mark.slow
def test_real_clips_go_through(whisper, capsys):
    names = ["stp_next.wav", "stp_set_a_timer_for_30_seconds.wav"]
    assert run_transcribe(*(str(AUDIO / n) for n in names)) == 0
    rows = lines(capsys.readouterr().out)
    assert [(r["intent"], r["slots"]) for r in rows] == [("next", {}), ("set_duration", {"seconds": 30})]
