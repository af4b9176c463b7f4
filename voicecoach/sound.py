"""The machine's sound system as miniaudio sees it: which backend to use, and its devices.

Both the voice (voice/) and hearing (hearing/) open their streams through miniaudio; this
module, below both, is where they agree on the backend. A desktop's sound server comes
first (PulseAudio, which PipeWire also serves), then ALSA and the others. A backend that
fails while listing its devices is skipped, never fatal: ALSA's device list raises on the
card-less plugin devices (lavrate, speexrate, jack, oss, upmix ...) that
`libasound2-plugins` installs, and that must not hide a working PulseAudio. ALSA's own
error lines ("ALSA lib confmisc.c:165 ... Cannot get card index for 0") are silenced.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Never the null backend: it "plays" into nothing and "records" silence.
REAL_BACKENDS = ("PULSEAUDIO", "ALSA", "JACK", "COREAUDIO", "WASAPI", "DSOUND", "WINMM",
                 "SNDIO", "AUDIO4", "OSS", "AAUDIO", "OPENSL")
# ALSA's "null" plugin, present on machines without a sound card, looks like a device.
NOT_A_DEVICE = ("Discard all samples",)


@dataclass(frozen=True)
class Device:
    name: str
    rates: tuple[int, ...] = ()          # native rates, where the backend tells them


@dataclass(frozen=True)
class BackendSurvey:
    """What one backend offers; `problem` is why it offers nothing (one line), else None."""
    backend: str
    playbacks: tuple[Device, ...] = ()
    captures: tuple[Device, ...] = ()
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return bool(self.playbacks or self.captures)

    def describe(self) -> str:
        if self.problem:
            return f"{self.backend}: not used ({self.problem})"
        def names(devices: tuple[Device, ...]) -> str:
            return ", ".join(f"{d.name} ({'/'.join(str(r) for r in d.rates) or '?'} Hz)" for d in devices) or "none"
        return f"{self.backend}: playback {names(self.playbacks)}; capture {names(self.captures)}"


def one_line(exc: BaseException) -> str:
    return " ".join(" ".join(str(a) for a in exc.args).split()) or type(exc).__name__


def backends(miniaudio: Any, names: tuple[str, ...] | list[str] | None = None) -> list[Any]:
    """miniaudio's Backend values for `names` (default REAL_BACKENDS), in order, where this build has them."""
    # Each miniaudio build has the backends of its platform only; the names are looked up.
    return [getattr(miniaudio.Backend, n) for n in (names or REAL_BACKENDS) if hasattr(miniaudio.Backend, n)]


def survey(miniaudio: Any) -> Iterator[BackendSurvey]:
    """Every real backend in order of preference, with its devices or the reason it has none;
    lazily, so a caller that stops at the first usable one asks no other."""
    silence_alsa_errors()
    for backend in backends(miniaudio):
        yield _surveyed(miniaudio, backend)


def _surveyed(miniaudio: Any, backend: Any) -> BackendSurvey:
    name = getattr(backend, "name", str(backend))      # a miniaudio Backend enum value, or a test's stand-in
    # What the libraries behind a backend print while it is tried (JACK's client says it finds
    # no server) is not for the user: the survey says it in its own words.
    with quiet_native_stderr():
        try:
            devices = miniaudio.Devices(backends=[backend])
        except Exception as exc:  # noqa: BLE001 - a backend that is not on this machine
            return BackendSurvey(name, problem=one_line(exc))
        try:
            playbacks = _listed(devices, "get_playbacks")
            captures = _listed(devices, "get_captures")
        except Exception as exc:  # noqa: BLE001 - a backend whose listing fails (ALSA's plugin devices)
            return BackendSurvey(name, problem=one_line(exc))
    return BackendSurvey(name, playbacks, captures, None if playbacks or captures else "no devices")


def _listed(devices: Any, method: str) -> tuple[Device, ...]:
    found = []
    for info in getattr(devices, method)():
        name = str(info.get("name", ""))
        if name.startswith(NOT_A_DEVICE):
            continue
        rates = tuple(sorted({int(f.get("samplerate", 0)) for f in info.get("formats", ()) if f.get("samplerate")}))
        found.append(Device(name, rates))
    return tuple(found)


@dataclass(frozen=True)
class SoundSurvey:
    """The backends surveyed once, in order, up to the first with a microphone: what a launch
    passes to everything that opens a stream or asks for devices (listing a sound server's
    devices takes a connection each time)."""
    found: tuple[BackendSurvey, ...]
    real: tuple[str, ...]                 # every real backend this miniaudio build has

    @classmethod
    def of(cls, miniaudio: Any) -> SoundSurvey:
        found = []
        for one in survey(miniaudio):
            found.append(one)
            if one.captures:
                break
        return cls(tuple(found), tuple(getattr(b, "name", str(b)) for b in backends(miniaudio)))

    def chosen(self, need_capture: bool = False) -> list[str]:
        """The backend to open streams on, by name, as a one-element list: the first whose
        devices could be listed (with a capture device when `need_capture`). Where none could,
        every real backend, and miniaudio says why when a stream is opened."""
        for found in self.found:
            if found.captures if need_capture else found.usable:
                return [found.backend]
        return list(self.real)

    @property
    def captures(self) -> list[str]:
        """The capture devices' names on the backend the microphone opens on (none: no microphone)."""
        return next(([d.name for d in found.captures] for found in self.found if found.captures), [])


def chosen_backends(miniaudio: Any, need_capture: bool = False, surveyed: SoundSurvey | None = None) -> list[Any]:
    """The backend to open streams on, as a one-element list for miniaudio's `backends=`
    (SoundSurvey.chosen); surveyed now unless a survey is passed."""
    names = (surveyed or SoundSurvey.of(miniaudio)).chosen(need_capture)
    return backends(miniaudio, names)


_ALSA_HANDLER: Any = None
_ALSA_LOCK = threading.Lock()


def silence_alsa_errors() -> None:
    """Give ALSA an error handler that prints nothing (once; where libasound exists).

    ALSA prints its probing errors straight to stderr from C; the coach says in one line of
    its own what it could not open."""
    global _ALSA_HANDLER
    with _ALSA_LOCK:
        if _ALSA_HANDLER is not None:
            return
        path = ctypes.util.find_library("asound") or "libasound.so.2"
        try:
            alsa = ctypes.CDLL(path)
        except OSError:
            _ALSA_HANDLER = False          # no ALSA here: nothing to silence
            return
        # void handler(const char *file, int line, const char *function, int err, const char *fmt, ...)
        handler_type = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                        ctypes.c_char_p)
        _ALSA_HANDLER = handler_type(lambda *args: None)    # kept: ALSA holds the pointer for good
        try:
            alsa.snd_lib_error_set_handler(_ALSA_HANDLER)
        except AttributeError:
            _ALSA_HANDLER = False


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what C libraries print while a device is opened (what no handler reaches)."""
    try:
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
