"""A room to run the coach in as a person does: a private PulseAudio server, a speaker, a person.

    with Room() as room, room.recording() as take, Coach(room) as coach:
        coach.wait_for("coach: Shall we start")
        room.say("start.wav")                 # the person speaks into the room
        coach.wait_for("heard: ", after=...)
    timeline = take.timeline()                # who sounded when, on one sample clock

The server is the distribution's `pulseaudio` (from `pulseaudio` and `pulseaudio-utils`), started
with its own runtime folder and HOME, so it touches nothing of the machine's. Its room:
- `room`, a stereo null sink at 48 kHz;
- `speaker`, a remap sink on the room's left channel: the default sink, where the coach plays;
- `user`, a remap sink on the right channel: where the person's recorded speech is played;
- the default source is `room.monitor`, which a mono client (the coach's microphone) hears as
  the two voices mixed, each at -6 dB: no reverberation, digital silence between sounds.
A stereo recording of `room.monitor` keeps the coach on the left and the person on the right
on one sample clock (remap sinks add no latency), which times everything the benchmark reports.

The coach runs as `voicecoach -v` in a pseudo-terminal, as a user starts it; every line it
prints is kept with the time it arrived.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import wave
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

RATE = 48000
ROOM_PA = """\
load-module module-null-sink sink_name=room rate=48000 channels=2 sink_properties=device.description=room
load-module module-remap-sink sink_name=speaker master=room channels=1 master_channel_map=front-left channel_map=mono remix=no sink_properties=device.description=speaker
load-module module-remap-sink sink_name=user master=room channels=1 master_channel_map=front-right channel_map=mono remix=no sink_properties=device.description=user
load-module module-native-protocol-unix
set-default-sink speaker
set-default-source room.monitor
"""
NEEDED = ("pulseaudio", "pactl", "paplay", "parecord")


class RoomUnavailable(RuntimeError):
    """The room cannot be made here; the message says what is missing."""


def missing_programs() -> list[str]:
    return [p for p in NEEDED if shutil.which(p) is None]


LEAD_IN_S = 0.5     # silence played before each of the person's lines (see Room.say)


class Room:
    """A private PulseAudio server with the room described above."""

    def __init__(self, start_timeout: float = 10.0) -> None:
        missing = missing_programs()
        if missing:
            raise RoomUnavailable(f"not installed: {', '.join(missing)} (apt-get install pulseaudio pulseaudio-utils)")
        self.folder = Path(tempfile.mkdtemp(prefix="voicecoach-room-"))
        self.runtime = self.folder / "run"
        self.home = self.folder / "home"
        for path in (self.runtime, self.home):
            path.mkdir(mode=0o700)
        (self.folder / "room.pa").write_text(ROOM_PA)
        self.env = {**os.environ, "XDG_RUNTIME_DIR": str(self.runtime), "HOME": str(self.home),
                    "XDG_CONFIG_HOME": str(self.home / ".config"), "XDG_DATA_HOME": str(self.home / ".local/share"),
                    "XDG_CACHE_HOME": str(self.home / ".cache"), "PULSE_SERVER": f"unix:{self.runtime}/pulse/native"}
        self.env.pop("DISPLAY", None)
        self._log = open(self.folder / "pulseaudio.log", "wb")
        self._server = subprocess.Popen(
            ["pulseaudio", "--system=false", "--exit-idle-time=-1", "-n", "-F", str(self.folder / "room.pa"),
             "--daemonize=no", "--use-pid-file=no", "--disallow-exit"],
            env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + start_timeout
        while subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode != 0:
            if self._server.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RoomUnavailable(f"pulseaudio did not start (see {self.folder / 'pulseaudio.log'})")
            time.sleep(0.1)

    def __enter__(self) -> Room:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._server.poll() is None:
            self._server.terminate()
            try:
                self._server.wait(5)
            except subprocess.TimeoutExpired:
                self._server.kill()
                self._server.wait()
        self._log.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    @contextmanager
    def meter(self) -> Iterator[Meter]:
        """Listens to what the coach plays, live, while the block runs (to time the person's lines)."""
        meter = Meter(self.env)
        try:
            yield meter
        finally:
            meter.close()

    def say(self, wav: Path | str) -> float:
        """Play a recording as the person (blocks until it has played); the clock time it started.
        It is played after `LEAD_IN_S` of silence: PulseAudio drops the first ~300 ms of each new
        stream into the room, which would cut the person's first syllable ("add ten seconds" is
        heard "ten seconds")."""
        started = time.monotonic()
        subprocess.run(["paplay", "--device=user", str(self._led_in(Path(wav)))], env=self.env, check=True,
                       capture_output=True)
        return started

    def _led_in(self, wav: Path) -> Path:
        """A copy of `wav` with `LEAD_IN_S` of silence before it (made once per file)."""
        stat = wav.stat()
        path = self.folder / f"led-in-{abs(hash((str(wav.resolve()), stat.st_mtime_ns, stat.st_size)))}-{wav.name}"
        if not path.exists():
            with wave.open(str(wav)) as source:
                params, frames = source.getparams(), source.readframes(source.getnframes())
            with wave.open(str(path), "wb") as out:
                out.setparams(params)
                out.writeframes(bytes(params.sampwidth * params.nchannels * int(params.framerate * LEAD_IN_S)) + frames)
        return path

    @contextmanager
    def recording(self) -> Iterator[Take]:
        """A stereo recording of the room while the block runs: coach left, person right."""
        path = self.folder / f"take-{time.monotonic_ns()}.wav"
        process = subprocess.Popen(["parecord", "--device=room.monitor", "--channels=2", f"--rate={RATE}",
                                    "--format=s16le", "--file-format=wav", str(path)],
                                   env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # parecord takes a second or more to start: the take begins when audio reaches the file.
        deadline = time.monotonic() + 10
        while (not path.exists() or path.stat().st_size < 4096) and time.monotonic() < deadline:
            if process.poll() is not None:
                raise RoomUnavailable(f"parecord ended with status {process.returncode}")
            time.sleep(0.01)
        take = Take(path, time.monotonic() - (path.stat().st_size - 44) / (4 * RATE) if path.exists() else time.monotonic())
        try:
            yield take
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Meter:
    """The level of the coach's sink, read live: when it last sounded, whether it sounds now."""

    HOP = 320                  # 20 ms at 16 kHz

    def __init__(self, env: dict[str, str], threshold: float = 0.003) -> None:
        self.threshold = threshold
        self.last_loud = 0.0
        self.loud_since: float | None = None
        self._process = subprocess.Popen(["parec", "--device=speaker.monitor", "--rate=16000", "--channels=1",
                                          "--format=s16le", "--latency-msec=20", "--raw"],
                                         env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._thread = threading.Thread(target=self._read, name="room-meter", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        while True:
            data = self._process.stdout.read(2 * self.HOP)
            if not data or len(data) < 2 * self.HOP:
                return
            level = float(np.sqrt(np.mean(np.square(np.frombuffer(data, "<i2").astype(np.float32) / 32768.0))))
            now = time.monotonic()
            if level > self.threshold:
                self.last_loud = now
                if self.loud_since is None:
                    self.loud_since = now
            elif now - self.last_loud > 0.3:
                self.loud_since = None

    def speaking_for(self) -> float:
        """How long the coach has been sounding without a pause (0 when it is quiet)."""
        return 0.0 if self.loud_since is None else time.monotonic() - self.loud_since

    def wait_quiet(self, seconds: float = 1.0, timeout: float = 60.0) -> bool:
        """Until the coach has been quiet for `seconds`; False if that never happened within `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() - self.last_loud < seconds:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def wait_speaking(self, seconds: float = 0.5, timeout: float = 60.0) -> bool:
        """Until the coach has been talking for `seconds`; False if it did not within `timeout`."""
        deadline = time.monotonic() + timeout
        while self.speaking_for() < seconds:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        self._process.terminate()
        self._process.wait()
        self._thread.join(2)


@dataclass
class Span:
    start: float
    end: float


@dataclass
class Take:
    """One stereo recording of the room; `timeline` reads who sounded when (seconds into it)."""
    path: Path
    started: float              # time.monotonic() when recording was asked for (about its first sample)

    def channels(self) -> tuple[np.ndarray, np.ndarray]:
        with wave.open(str(self.path)) as w:
            data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
        audio = data.astype(np.float32) / 32768.0
        return audio[:, 0], audio[:, 1]

    def timeline(self, threshold: float = 0.003, gap: float = 0.25) -> tuple[list[Span], list[Span]]:
        """(coach spans, person spans): stretches of sound, gaps under `gap` s bridged."""
        coach, person = self.channels()
        return sounding(coach, threshold, gap), sounding(person, threshold, gap)


def sounding(audio: np.ndarray, threshold: float = 0.003, gap: float = 0.25, hop_s: float = 0.005) -> list[Span]:
    """Stretches where the level (RMS over `hop_s`) is over `threshold`, joined across gaps under `gap`."""
    hop = int(RATE * hop_s)
    frames = len(audio) // hop
    if frames == 0:
        return []
    level = np.sqrt(np.mean(np.square(audio[:frames * hop].reshape(frames, hop)), axis=1))
    spans: list[Span] = []
    for i in np.flatnonzero(level > threshold):
        start, end = i * hop_s, (i + 1) * hop_s
        if spans and start - spans[-1].end < gap:
            spans[-1].end = end
        else:
            spans.append(Span(start, end))
    return spans


def first_after(spans: list[Span], t: float) -> Span | None:
    return next((s for s in spans if s.start >= t), None)


def during(spans: list[Span], t: float) -> bool:
    return any(s.start <= t <= s.end for s in spans)


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Za-z0-9]")
BREAK = re.compile(r"[\r\n]")
# The bottom line is redrawn without a newline: a line printed after it starts on its row.
SPEAKER = re.compile(r"(?=voicecoach: |heard: )|(?<!voice)(?=coach: )")


@dataclass
class Line:
    at: float                   # time.monotonic() when it arrived
    text: str


class Coach:
    """`voicecoach` started in a pseudo-terminal with the room's environment; its lines kept."""

    def __init__(self, room: Room, *args: str, timeout: float = 60.0) -> None:
        import pexpect

        program = shutil.which("voicecoach")
        command, argv = (program, ["-v", *args]) if program else (sys.executable, ["-m", "voicecoach", "-v", *args])
        self.started = time.monotonic()
        self.process = pexpect.spawn(command, argv, env=room.env, dimensions=(40, 300), encoding="utf-8",
                                     codec_errors="replace", timeout=timeout)
        self.lines: list[Line] = []
        self._lock = threading.Condition()
        self._partial = ""
        self._reader = threading.Thread(target=self._read, name="coach-output", daemon=True)
        self._reader.start()

    def __enter__(self) -> Coach:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self) -> None:
        import pexpect

        while True:
            try:
                chunk = self.process.read_nonblocking(4096, timeout=0.2)
            except pexpect.TIMEOUT:
                continue
            except (pexpect.EOF, OSError, ValueError):
                break
            now = time.monotonic()
            text = ANSI.sub("", self._partial + chunk)
            *whole, self._partial = BREAK.split(text)
            parts = [part.strip() for line in whole for part in SPEAKER.split(line)]
            with self._lock:
                self.lines += [Line(now, part) for part in parts if part]
                self._lock.notify_all()
        with self._lock:
            if self._partial.strip():
                self.lines.append(Line(time.monotonic(), self._partial.strip()))
            self._lock.notify_all()

    def wait_for(self, pattern: str, timeout: float = 30.0, after: float = 0.0) -> Line | None:
        """The first line arriving after `after` (a time.monotonic()) that matches `pattern`
        (a regular expression searched in the line), or None after `timeout` seconds."""
        found = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                hit = next((l for l in self.lines if l.at >= after and found.search(l.text)), None)
                if hit is not None:
                    return hit
                left = deadline - time.monotonic()
                if left <= 0 or (not self._reader.is_alive() and not self.process.isalive()):
                    return None
                self._lock.wait(min(left, 0.2))

    def since(self, after: float, pattern: str = "") -> list[Line]:
        found = re.compile(pattern)
        with self._lock:
            return [l for l in self.lines if l.at >= after and found.search(l.text)]

    def stuck(self, why: str) -> RuntimeError:
        """An error saying `why`, with what the coach printed (each line once, in order) and where
        its threads were: `-v` makes it print them on SIGUSR1."""
        if self.process.isalive():
            self.process.kill(signal.SIGUSR1)
            time.sleep(1.5)
        with self._lock:
            seen: list[str] = []
            for line in self.lines:
                if line.text not in seen[-3:]:
                    seen.append(line.text)
        return RuntimeError(why + "; the coach printed:\n" + "\n".join(seen[-120:]))

    def signal(self, number: int) -> int | None:
        """Send a signal; the exit status (a negative number for a death by signal) or None if it did not end in 10 s."""
        self.process.kill(number)
        deadline = time.monotonic() + 10
        while self.process.isalive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.process.isalive():
            return None
        self.process.close()
        return self.process.exitstatus if self.process.exitstatus is not None else -(self.process.signalstatus or 0)

    def close(self) -> None:
        if self.process.isalive():
            self.process.terminate(force=True)
        self._reader.join(2)


class Load:
    """Every core kept busy by a spinning process each, for as long as it is open (a busy laptop)."""

    def __init__(self, processes: int | None = None) -> None:
        count = processes or os.cpu_count() or 2
        self._processes = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]

    def __enter__(self) -> Load:
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self._processes:
            process.kill()
            process.wait()


def espeak_wav(text: str, path: Path, voice: str = "en-us+m3", rate: int = 150) -> Path:
    """The person's words, said by espeak-ng (a voice unlike the coach's)."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), text], check=True,
                   capture_output=True)
    return path
