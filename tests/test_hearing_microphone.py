"""The microphone through miniaudio, with a fake capture backend (no hardware in tests), and
the choice between miniaudio and PyAudio."""
from __future__ import annotations

import sys
import threading
import types

import numpy as np
import pytest

from hearing_signals import voiced
from test_hearing_sources import take
from voicecoach import sound
from voicecoach.hearing.signal import sources
from voicecoach.hearing.signal.audio import SAMPLE_RATE
from voicecoach.hearing.signal.sources import (MicrophoneSource, MicrophoneUnavailable, MiniaudioMicrophone,
                                        microphone_unavailable_reason, miniaudio_capture_devices, open_microphone)
from voicecoach.hearing.signal.vad import FRAME_SAMPLES


class FakeCapture:
    """Delivers `audio` in device-sized blocks from its own thread, as miniaudio's callback does."""

    def __init__(self, audio: np.ndarray, block: int = 441, stop_after: int | None = None,
                 error: Exception | None = None) -> None:
        self.audio, self.block, self.stop_after, self.error = audio, block, stop_after, error
        self.closed = threading.Event()
        self.opened_with: tuple[int, int] | None = None

    def __call__(self, sample_rate, block_samples, deliver):
        if self.error is not None:
            raise self.error
        self.opened_with = (sample_rate, block_samples)
        self._thread = threading.Thread(target=self._run, args=(deliver,), daemon=True)
        self._thread.start()
        return self

    def _run(self, deliver) -> None:
        blocks = range(0, len(self.audio), self.block)
        for n, i in enumerate(blocks):
            if self.closed.is_set() or (self.stop_after is not None and n >= self.stop_after):
                return
            deliver(self.audio[i:i + self.block].astype(np.float32))

    def close(self) -> None:
        self.closed.set()


def test_blocks_of_any_size_come_out_as_whole_frames_in_order():
    audio = voiced(1.0)
    capture = FakeCapture(audio, block=441)          # 27.6 ms blocks against 30 ms frames
    frames = take(MiniaudioMicrophone(open_capture=capture), 20)
    assert len(frames) == 20 and all(f.shape == (FRAME_SAMPLES,) and f.dtype == np.float32 for f in frames)
    assert np.array_equal(np.concatenate(frames), audio[:20 * FRAME_SAMPLES])
    assert capture.opened_with == (SAMPLE_RATE, FRAME_SAMPLES)
    assert capture.closed.is_set()                    # cancelling closed the device


def test_a_device_that_stops_delivering_ends_with_one_line():
    capture = FakeCapture(voiced(1.0), block=480, stop_after=3)
    with pytest.raises(MicrophoneUnavailable, match="stopped") as caught:
        take(MiniaudioMicrophone(open_capture=capture, stall_seconds=0.3), 100)
    assert "\n" not in str(caught.value) and capture.closed.is_set()


def test_a_device_that_cannot_open_is_one_line():
    capture = FakeCapture(voiced(0.1), error=RuntimeError("cannot open device\n  (-101)"))
    with pytest.raises(MicrophoneUnavailable, match=r"could not be opened \(cannot open device \(-101\)\)"):
        take(MiniaudioMicrophone(open_capture=capture), 1)


def test_cancel_is_heard_while_waiting_for_audio():
    capture = FakeCapture(np.zeros(0, np.float32))
    cancel = threading.Event()
    cancel.set()
    assert list(MiniaudioMicrophone(open_capture=capture, stall_seconds=60).frames(cancel)) == []
    assert capture.closed.is_set()


def fake_miniaudio(captures_by_backend: dict[str, list[str]], failing_listing: tuple[str, ...] = ()) -> types.ModuleType:
    """miniaudio with the given capture devices by backend; a backend in `failing_listing`
    raises while listing, as ALSA's does on card-less plugin devices."""
    module = types.ModuleType("miniaudio")
    module.Backend = types.SimpleNamespace(**{name: name for name in ("NULL", "ALSA", "PULSEAUDIO")})

    class Devices:
        def __init__(self, backends):
            (self.backend,) = backends
            if self.backend not in captures_by_backend and self.backend not in failing_listing:
                raise RuntimeError("cannot init context")

        def get_captures(self):
            if self.backend in failing_listing:
                raise RuntimeError("can't get device info")
            return [{"name": n} for n in captures_by_backend[self.backend]]

        def get_playbacks(self):
            return self.get_captures()

    module.Devices = Devices
    return module


def test_alsa_null_device_is_not_a_microphone():
    fake = fake_miniaudio({"ALSA": ["Discard all samples (playback) or generate zero samples (capture)"]})
    assert miniaudio_capture_devices(fake) == []
    fake = fake_miniaudio({"ALSA": ["HDA Intel PCH: ALC257 Analog"], "NULL": ["Null Capture Device"]})
    assert miniaudio_capture_devices(fake) == ["HDA Intel PCH: ALC257 Analog"]


def test_a_backend_whose_listing_fails_does_not_hide_a_working_one():
    # PulseAudio is asked first and has the microphone; ALSA's listing raising is not fatal.
    fake = fake_miniaudio({"PULSEAUDIO": ["Monitor of room"]}, failing_listing=("ALSA",))
    assert miniaudio_capture_devices(fake) == ["Monitor of room"]
    assert sound.chosen_backends(fake, need_capture=True) == ["PULSEAUDIO"]
    # ALSA first in the list of what works: it is skipped when it fails, and the next one is used.
    fake = fake_miniaudio({"PULSEAUDIO": []}, failing_listing=("ALSA",))
    assert miniaudio_capture_devices(fake) == []
    survey = {found.backend: found for found in sound.survey(fake)}
    assert survey["ALSA"].problem == "can't get device info" and not survey["ALSA"].usable
    assert "not used (can't get device info)" in survey["ALSA"].describe()


def test_only_a_failing_listing_is_one_line_not_a_traceback(monkeypatch):
    monkeypatch.setitem(sys.modules, "miniaudio", fake_miniaudio({}, failing_listing=("ALSA",)))
    monkeypatch.setitem(sys.modules, "pyaudio", None)
    assert microphone_unavailable_reason() == "no microphone found (no audio input device)"


def test_no_microphone_anywhere_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "miniaudio", fake_miniaudio({"ALSA": []}))
    monkeypatch.setitem(sys.modules, "pyaudio", None)
    reason = microphone_unavailable_reason()
    assert reason == "no microphone found (no audio input device)"
    with pytest.raises(MicrophoneUnavailable, match="no microphone found"):
        open_microphone()


def test_miniaudio_is_the_default_and_pyaudio_the_alternative(monkeypatch):
    monkeypatch.setitem(sys.modules, "miniaudio", fake_miniaudio({"ALSA": ["Built-in microphone"]}))
    assert microphone_unavailable_reason() is None
    monkeypatch.setattr(sources, "_open_miniaudio_capture", FakeCapture(voiced(0.2)))
    assert isinstance(open_microphone(), MiniaudioMicrophone)
    # No capture device for miniaudio, but PyAudio has one: PyAudio it is.
    monkeypatch.setitem(sys.modules, "miniaudio", fake_miniaudio({"ALSA": []}))
    monkeypatch.setattr(sources, "pyaudio_unavailable_reason", lambda: None)
    monkeypatch.setitem(sys.modules, "speech_recognition", types.SimpleNamespace(Microphone=object))
    assert microphone_unavailable_reason() is None
    assert isinstance(open_microphone(), MicrophoneSource)


def test_this_machine_gets_one_line_not_a_traceback():
    reason = microphone_unavailable_reason()
    assert reason is None or ("\n" not in reason and reason.startswith("no microphone"))


def test_a_launch_surveys_the_backends_once_and_passes_the_survey_down(monkeypatch, caplog):
    """Listing a sound server's devices is a connection each time: the launch lists them once."""
    import logging

    from voicecoach import app

    fake = fake_miniaudio({"PULSEAUDIO": ["Monitor of room"], "ALSA": ["HDA Intel PCH"]})
    listed = []
    real_devices = fake.Devices

    class CountedDevices(real_devices):
        def __init__(self, backends):
            listed.append(tuple(backends))
            super().__init__(backends)

    fake.Devices = CountedDevices
    monkeypatch.setitem(sys.modules, "miniaudio", fake)
    monkeypatch.setitem(sys.modules, "pyaudio", None)
    surveyed = app._sound_survey()
    assert listed == [("ALSA",)] or listed == [("PULSEAUDIO",)]          # up to the first with a microphone
    first = listed[0][0]
    assert app._why_no_voice_loop(None, surveyed) is None
    assert isinstance(open_microphone(surveyed), MiniaudioMicrophone)
    assert surveyed.chosen() == surveyed.chosen(need_capture=True) == [first]
    assert sound.chosen_backends(fake, need_capture=True, surveyed=surveyed) == [first]
    with caplog.at_level(logging.INFO, logger=app.log.name):
        app._log_audio_devices(app.OutputStage([]), surveyed)
    assert f"audio backend {first}" in caplog.text
    assert len(listed) == 1, listed                                        # and never again
    nothing = sound.SoundSurvey.of(fake_miniaudio({"ALSA": []}))
    assert nothing.captures == [] and nothing.chosen(need_capture=True) == list(nothing.real)
