"""`voicecoach check-audio`: the analysis on generated signals (a chirp through a known delay and
gain, noise, a voice), the run through a fake device, and the one line without hardware."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from hearing_signals import voiced
from voicecoach import audiocheck
from voicecoach.audiocheck import (AudioCheckUnavailable, advice, analyze, chirp, dbfs, describe, echo_delay,
                                   run_check)
from voicecoach.hearing.signal.audio import SAMPLE_RATE
from voicecoach.settings import Settings

RNG = np.random.default_rng(3)
NO_SETTINGS = Settings(db=Path("unused.db"))         # check-audio has no settings of its own


def noise(seconds: float, level_dbfs: float) -> np.ndarray:
    return (10 ** (level_dbfs / 20) * RNG.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)


def through_room(played: np.ndarray, delay_ms: float, gain_db: float, noise_dbfs: float = -60.0,
                 tail_seconds: float = 0.6) -> np.ndarray:
    """What a microphone records: the sound late and quieter, a little reverberation, noise."""
    delay = int(delay_ms * SAMPLE_RATE / 1000)
    out = noise((len(played) + int(tail_seconds * SAMPLE_RATE)) / SAMPLE_RATE, noise_dbfs)
    echo = 10 ** (gain_db / 20) * played
    out[delay:delay + len(played)] += echo[: len(out) - delay]
    reflection = int(0.007 * SAMPLE_RATE)          # one wall 2.4 m further away
    out[delay + reflection:delay + reflection + len(played)] += 0.3 * echo[: len(out) - delay - reflection]
    return out.astype(np.float32)


@pytest.mark.parametrize("delay_ms", [0.0, 12.5, 87.0, 310.0])
def test_the_delay_is_found_to_the_sample(delay_ms):
    played = chirp()
    lag, sharpness = echo_delay(played, through_room(played, delay_ms, -20.0))
    assert lag == int(delay_ms * SAMPLE_RATE / 1000)
    assert sharpness > 20


@pytest.mark.parametrize("gain_db", [-30.0, -12.0, -3.0])
def test_delay_level_noise_and_voice_are_measured(gain_db):
    played = chirp()
    voice = np.concatenate([noise(1.0, -62), voiced(1.0, level=0.1) + noise(1.0, -62), noise(1.0, -62)])
    report = analyze(noise(1.0, -62.0), played, through_room(played, 42.0, gain_db, -62.0), voice)
    assert report.echo_found
    assert report.echo_delay_ms == pytest.approx(42.0, abs=0.1)
    assert report.echo_gain_db == pytest.approx(gain_db + 0.4, abs=1.0)   # the reflection adds a little
    assert report.noise_dbfs == pytest.approx(-62.0, abs=1.0)
    assert report.speech_dbfs == pytest.approx(dbfs(voiced(1.0, level=0.1)), abs=1.0)
    assert not report.echo_clipped and not report.speech_clipped


def test_a_quiet_room_a_soft_echo_and_a_clear_voice_is_all_good():
    played = chirp()
    report = analyze(noise(1.0, -65), played, through_room(played, 20, -30, -65), voiced(2.0, level=0.2))
    assert advice(report) == []
    assert describe(report)[-1].startswith("All good")


def test_an_echo_louder_than_the_voice_means_turn_the_volume_down():
    played = chirp()
    report = analyze(noise(1.0, -60), played, through_room(played, 20, -2, -60), voiced(2.0, level=0.02))
    assert report.echo_over_speech_db > 0
    assert any("turn the volume down" in tip for tip in advice(report))


def test_an_overloaded_microphone_is_named():
    played = chirp()
    loud = np.clip(through_room(played, 20, 12, -60), -1, 1)
    shouting = np.clip(voiced(2.0, level=2.0), -1, 1)
    report = analyze(noise(1.0, -60), played, loud, shouting)
    assert report.echo_clipped and report.speech_clipped
    tips = " ".join(advice(report))
    assert "turn the volume down" in tips and "move the laptop away from your head" in tips


def test_no_echo_a_noisy_room_and_no_voice_are_each_said():
    played = chirp()
    report = analyze(noise(1.0, -30), played, noise(1.6, -30), noise(3.0, -30))
    assert not report.echo_found and report.echo_delay_ms is None and report.speech_dbfs is None
    tips = " ".join(advice(report))
    assert "did not hear the speaker" in tips and "noisy" in tips and "did not hear you" in tips
    assert "Echo: the microphone did not hear the test sound." in describe(report)


def test_a_late_echo_suggests_a_wired_speaker():
    played = chirp()
    report = analyze(noise(1.0, -60), played, through_room(played, 400, -20, -60, tail_seconds=0.8), voiced(2.0))
    assert report.echo_delay_ms == pytest.approx(400, abs=0.1)
    assert any("wired" in tip for tip in advice(report))


class FakeDuplex:
    """Plays into a simulated room: records what the room returns, then a voice when asked."""

    def __init__(self, delay_ms: float = 35.0, gain_db: float = -18.0) -> None:
        self.delay_ms, self.gain_db = delay_ms, gain_db
        self.calls: list[tuple[int, float]] = []
        self.closed = False

    def play_and_record(self, played, extra_seconds):
        self.calls.append((len(played), extra_seconds))
        if len(played):
            return through_room(played, self.delay_ms, self.gain_db, -60.0, extra_seconds)
        if len(self.calls) == 1:
            return noise(extra_seconds, -60.0)
        return np.concatenate([noise(0.5, -60), voiced(extra_seconds - 1.0, level=0.15), noise(0.5, -60)])

    def close(self):
        self.closed = True


def test_the_check_through_a_fake_device_reports_in_plain_words(capsys):
    device = FakeDuplex()
    said: list[str] = []
    report = run_check(device, said.append)
    assert len(said) == 3 and "stop" in said[2]
    assert [n for n, _ in device.calls] == [0, len(chirp()), 0]
    assert report.echo_delay_ms == pytest.approx(35.0, abs=0.1)
    assert audiocheck.run(argparse.Namespace(open_device=lambda: FakeDuplex()), NO_SETTINGS) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Checking the audio") and any("35 ms after it plays" in line for line in out)


def test_without_hardware_it_says_so_in_one_line(capsys):
    def no_device():
        raise AudioCheckUnavailable("no microphone found (no audio input device)")

    assert audiocheck.run(argparse.Namespace(open_device=no_device), NO_SETTINGS) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "voicecoach: cannot check the audio here: no microphone found (no audio input device)\n"


def test_this_machine_gets_one_line_and_no_traceback(capsys):
    from voicecoach.cli import main
    from voicecoach.hearing.signal.sources import miniaudio_unavailable_reason

    if miniaudio_unavailable_reason() is None:
        pytest.skip("this machine has a microphone: the check would play a sound")
    assert main(["check-audio"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("voicecoach: cannot check the audio here: ")
