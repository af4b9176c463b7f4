"""Hearing the user over the coach's own voice: commands heard, false barge-ins, time to silence.

    python bench/barge_in.py [--quick] [--workers 2] [--columns 2,3] [--misses] [--gate fixed] [--hearing-input aec3]

Builds, in one run:
- commands: the stop / pause / cancel-timer recordings in ../shared/audio, and barge-in
  phrases synthesized by espeak-ng in several voices and rates ("stop", "wait", "hold on",
  "ouch", "that hurts", "okay stop", "and stop", ...);
- the coach's own lines (article answers, exercise steps, cues) in its Piper voice;
- rooms simulated with pyroomacoustics (sizes 3x3 to 7x6 m, RT60 0.2-0.8 s, the laptop
  0.3-1.2 m from the microphone, the user 0.5-2 m away), a 40 ms output device latency,
  and noise 34 dB below the echo.
Each command starts while the coach is saying a line, at echo-to-user ratios of -6, 0, +6
and +12 dB. The loop is closed: the coach's player (the real VoiceSpeaker on a virtual
clock) publishes what it plays to the canceller, its blocks go through the room into the
microphone, and when it yields what it no longer plays no longer reaches the microphone.

Side by side: no cancellation, cancellation, cancellation + yield, and + the closed-vocabulary
check (when voicecoach.hearing.bargein.keywords is there). Printed: commands heard per condition,
false barge-ins (commands acted on, and yields) per hour of the coach speaking alone, yields
to its own voice also in the command runs before the user spoke, the time from the user's
first sound to the coach's silence (overall and by echo level), echo reduction, and CPU
seconds per second of audio. `--gate fixed --hearing-input aec3` measures the canceller as
it was before the double-talk score and the linear canceller's output for the recognizer. Targets: >=95% heard at 0 dB, >=90% at +6 dB, <=1 false barge-in an
hour, silent <=200 ms after the user starts, real time on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_AUDIO = REPO.parent / "shared" / "audio"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from echo_baselines import GATES, HEARING_INPUTS, gate_maker  # noqa: E402  (the gates the coach's replaced)

RATE = 16000
DEVICE_RATE = 22050
DEVICE_LATENCY_S = 0.040        # miniaudio's two periods of 20 ms between a write and the speaker
ECHO_DBFS = -26.0               # the coach's echo at the microphone (RMS while it speaks)
NOISE_BELOW_ECHO_DB = 34.0
SERS = (-6, 0, 6, 12)           # echo-to-user ratios, dB
WARM_S = 1.6                    # commands start this far into a line at the earliest
WARM_PAUSE_S = 1.0              # between the line that warms the canceller and the one the user cuts into
BARGE_IN_INTENTS = ("stop", "pause", "report_pain")
PHRASES = {"stop": "stop", "pause": "pause", "wait": "pause", "hold on": "pause", "ouch": "report_pain",
           "that hurts": "report_pain", "okay stop": "stop", "and stop": "stop", "stop stop": "stop",
           "wait a second": "pause"}
VOICES = (("en-us", 160, 50), ("en-gb", 140, 40), ("en-us+f3", 175, 60), ("en-gb-scotland+m3", 150, 45))
COLUMNS = ("no cancellation", "cancellation", "cancellation + yield", "+ closed-vocabulary check")
KEYWORD_COLUMN = "+ keyword model"      # the closed-vocabulary check or the keyword model (hearing/bargein/keyword_model.py)


# ----- the material ------------------------------------------------------------------------

@dataclass
class Command:
    name: str
    audio: np.ndarray          # 16 kHz, dry
    intent: str
    words: int = 1


@dataclass
class CoachLine:
    text: str
    sentences: dict[str, np.ndarray]     # each part the player says -> its Piper audio at 22050 Hz
    replies: tuple[str, ...] = ()        # said as these replies one after another (default: `text` as one)


@dataclass
class Room:
    echo_rir: np.ndarray
    user_rir: np.ndarray
    description: str


def shared_commands() -> list[Command]:
    from voicecoach.hearing.signal.audio import read_wav

    manifest = SHARED_AUDIO / "manifest.tsv"
    if not manifest.exists():
        print(f"note: {SHARED_AUDIO} is missing; synthesized commands only", file=sys.stderr)
        return []
    commands = []
    for line in manifest.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, transcript, intent, *_ = line.split("\t")
        if intent in BARGE_IN_INTENTS:
            commands.append(Command(name, read_wav(SHARED_AUDIO / name), intent, len(transcript.split())))
    return commands


def synthesized_commands(quick: bool) -> list[Command]:
    from voicecoach.hearing.signal.audio import read_wav

    if shutil.which("espeak-ng") is None:
        print("note: espeak-ng is missing (apt install espeak-ng); shared commands only", file=sys.stderr)
        return []
    voices = VOICES[:2] if quick else VOICES
    commands = []
    with tempfile.TemporaryDirectory() as tmp:
        for phrase, intent in PHRASES.items():
            for voice, speed, pitch in voices:
                path = Path(tmp) / "c.wav"
                subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), phrase],
                               check=True, capture_output=True)
                commands.append(Command(f"espeak {voice} '{phrase}'", read_wav(path), intent, len(phrase.split())))
    return commands


def coach_lines(quick: bool) -> list[CoachLine]:
    from voicecoach.content.loader import load_content
    from voicecoach.voice.engines import open_engine
    from voicecoach.voice.lexicon import split_for_speech

    content = load_content()
    texts = [" ".join(topic.sentences[:3]) for topic in content.topics.values()][:6]
    texts += [" ".join(exercise.steps[:3]) for exercise in content.exercises.values()][:4]
    texts += ["Halfway. Keep breathing and stay relaxed.", "Ten seconds left. Three. Two. One. Done."]
    texts = texts[:6] if quick else texts
    engine, notice = open_engine("piper")
    if notice:
        print(f"note: {notice}", file=sys.stderr)
    engine.noise_scale = 0.0
    return [CoachLine(text, {part: engine.synthesize(part) for part in split_for_speech(text)}) for text in texts]


def make_rooms(count: int, seed: int = 7, rt60s: tuple[float, float] = (0.2, 0.8)) -> list[Room]:
    import pyroomacoustics as pra

    rng = np.random.default_rng(seed)
    rooms = []
    for i in range(count):
        dims = np.array([rng.uniform(3, 7), rng.uniform(3, 6), rng.uniform(2.4, 3.0)])
        rt60 = rt60s[0] + (rt60s[1] - rt60s[0]) * i / max(1, count - 1)
        absorption, order = pra.inverse_sabine(rt60, dims)
        mic = np.array([rng.uniform(1, dims[0] - 1), rng.uniform(1, dims[1] - 1), 0.3])    # on the floor, beside the user
        speaker = _point_at(mic, rng.uniform(0.3, 1.2), dims, rng)
        user = _point_at(mic, rng.uniform(0.5, 2.0), dims, rng)
        room = pra.ShoeBox(dims, fs=RATE, materials=pra.Material(absorption), max_order=min(order, 12))
        room.add_source(speaker)
        room.add_source(user)
        room.add_microphone(mic)
        room.compute_rir()
        rooms.append(Room(np.asarray(room.rir[0][0], np.float32), np.asarray(room.rir[0][1], np.float32),
                          f"{dims[0]:.1f}x{dims[1]:.1f} m, RT60 {rt60:.2f} s, speaker {np.linalg.norm(speaker - mic):.1f} m, "
                          f"user {np.linalg.norm(user - mic):.1f} m"))
    return rooms


def _point_at(origin: np.ndarray, distance: float, dims: np.ndarray, rng) -> np.ndarray:
    for _ in range(100):
        angle = rng.uniform(0, 2 * np.pi)
        point = origin + distance * np.array([np.cos(angle), np.sin(angle), 0.0])
        point[2] = rng.uniform(0.2, 1.0)
        if np.all(point[:2] > 0.2) and np.all(point[:2] < dims[:2] - 0.2):
            return point
    return np.array([dims[0] / 2, dims[1] / 2, 0.5])


# ----- one closed-loop run -------------------------------------------------------------------

class _FixedEngine:
    """A voice engine that says the coach's pre-made Piper audio (made once in the parent process)."""

    name = "piper"
    voice_id = "bench"
    sample_rate = DEVICE_RATE
    rate = 1.0
    volume = 1.0

    def __init__(self, sentences: dict[str, np.ndarray]) -> None:
        self.sentences = sentences

    def synthesize(self, text: str) -> np.ndarray:
        return self.sentences[text]


@dataclass
class RunResult:
    heard: bool = False
    acted: list[str] = field(default_factory=list)       # barge-in intents acted on (for coach-alone runs: false)
    yields: int = 0
    yield_before_user: bool = False
    own_yields: int = 0                                    # yields before the user made a sound (or with no user)
    coach_before_user_s: float = 0.0                       # seconds the coach spoke before the user's first sound
    silent_after_ms: float | None = None                  # user's first sound -> the coach silent
    audio_s: float = 0.0
    cpu_s: float = 0.0
    coach_s: float = 0.0                                   # seconds the coach was speaking
    mic_energy: float = 0.0                                # echo energy in, while only the coach is heard
    clean_energy: float = 0.0                              # and after the canceller
    noise_energy: float = 0.0                              # the room's noise in the same frames (the canceller leaves it)
    texts: list[str] = field(default_factory=list)         # what was read, "text -> intent" (for --misses)
    barge_ins: list[tuple[float, str, str, float]] = field(default_factory=list)   # (at s, the coach's reply, reading, audio ms)
    own_yield_lines: list[tuple[float, str]] = field(default_factory=list)        # (at s, the coach's reply) of own yields
    trace: list[str] = field(default_factory=list)         # starts, drops, empty readings and yields (for --misses)


_WORKER: dict = {}


def _worker_init(use_keywords: bool) -> None:
    from voicecoach.content.loader import load_content
    from voicecoach.hearing.asr.engines import open_recognizer
    from voicecoach.intents.load import load_catalog
    from voicecoach.intents.understand import open_reader

    content = load_content()
    catalog = load_catalog(None, content.exercise_names())
    recognizer, notice = open_recognizer("whisper", catalog, None, background=False)
    if notice:
        print(f"note: {notice}", file=sys.stderr)
    # The statistical reader behind the templates, as the coach reads ("okay stop" is no template).
    statistical, notice = open_reader(catalog, content.topic_texts(), None, background=False)
    if notice:
        print(f"note: {notice}", file=sys.stderr)
    _WORKER.update(catalog=catalog, recognizer=recognizer, spotter=None, statistical=statistical)
    if use_keywords:
        from voicecoach.hearing.bargein.keyword_model import open_keyword_spotter
        from voicecoach.hearing.bargein.keywords import spotter_for

        _WORKER["spotter"] = spotter_for(recognizer)     # made here, so a benchmark can watch it (coach_alone.py)

        _WORKER["keyword"] = open_keyword_spotter(None)[0]


def column_options(column: str, keyword_model: bool):
    """A column's hearing, as options of the one chain the app builds (hearing.pipeline)."""
    from voicecoach.hearing.pipeline import HearingOptions

    checks = {"+ closed-vocabulary check": "check", KEYWORD_COLUMN: "check+model" if keyword_model else "check"}
    return HearingOptions(echo="none" if column == "no cancellation" else "webrtc",
                          barge_in=checks.get(column, "none"))


def run_one(task: dict) -> RunResult:
    """The coach says a line through the room; maybe a user cuts in. Everything on a virtual clock."""
    from voicecoach.coach.clock import VirtualClock
    from voicecoach.coach.replies import Reply
    from voicecoach.hearing.loop import NothingHeard, SpeechDropped, SpeechStarted, UtteranceHeard, UtteranceIgnored
    from voicecoach.hearing.pipeline import build_hearing
    from voicecoach.hearing.signal.sources import FRAME_SAMPLES, FRAME_SECONDS, StreamResampler
    from voicecoach.hearing.bargein.yielding import Yielding
    from voicecoach.intents.types import Context
    from voicecoach.voice.devices import RecordingDevice
    from voicecoach.voice.player import VoiceSpeaker

    column = task["column"]
    line: CoachLine = task["line"]
    room: Room = task["room"]
    command: Command | None = task.get("command")
    rng = np.random.default_rng(task["seed"])
    clock = VirtualClock()
    device = RecordingDevice(DEVICE_RATE, clock, paced=True)
    # Warm: the coach first says another line in the same room, then after a pause this one, so the
    # canceller meets the command converged, as in a session after its first lines.
    warm: CoachLine | None = task.get("warm_line")
    lead_s = 0.0 if warm is None else sum(len(a) for a in warm.sentences.values()) / DEVICE_RATE + WARM_PAUSE_S
    speaker = VoiceSpeaker(_FixedEngine({**line.sentences, **(warm.sentences if warm else {})}), device, clock=clock,
                           threaded=False)
    hearing = build_hearing(column_options(column, _WORKER.get("keyword") is not None),
                            _WORKER["recognizer"], _WORKER["catalog"], context=lambda: Context(exercising=True),
                            statistical=_WORKER.get("statistical"), keyword_spotter=_WORKER.get("keyword"),
                            check=_WORKER.get("spotter"), echo_gate=gate_maker(**task.get("canceller", {})))
    canceller, loop = hearing.canceller, hearing.loop
    if canceller is not None:
        # Timed as the duplex stream times it, by the device's own sample count: each block plays
        # from the device sample it lands on (below, in `played`).
        told = _DeviceGrid(DEVICE_RATE)
        speaker.subscribe(lambda text, samples, rate, at: canceller.played(
            samples, rate, told.index(at, len(samples)) / rate))
    yielding = Yielding(speaker.hold, speaker.resume, lambda: speaker.speaking) if "yield" in column or column.startswith("+") else None

    line_s = lead_s + sum(len(a) for a in line.sentences.values()) / DEVICE_RATE     # when this line ends
    total_s = line_s + 6.0
    total = int(total_s * RATE)
    echo_rir = room.echo_rir * task["echo_gain"]
    echo = np.zeros(total + len(echo_rir) + RATE, np.float32)
    user = np.zeros(total + RATE, np.float32)
    first_sound_s = None
    if command is not None:
        wet = np.convolve(command.audio, room.user_rir).astype(np.float32) * task["user_gain"]
        user_at_s = lead_s + task["user_at_s"]
        start = int(user_at_s * RATE)
        user[start:start + len(wet)] = wet[:len(user) - start]
        first_sound_s = user_at_s + _first_sound(wet)
    noise_below = task.get("noise_below_db", NOISE_BELOW_ECHO_DB)
    noise = (rng.standard_normal(total + RATE) * 10 ** ((ECHO_DBFS - noise_below) / 20)).astype(np.float32)

    # Hearing is told the reply being played (what the coach is saying now).
    saying = [line.text]
    speaker.listen_lines(lambda reply: saying.__setitem__(0, reply.text), None)
    def say(said: CoachLine) -> None:
        for text in said.replies or ((said.text,) if said.text else ()):
            speaker.speak(Reply(text))

    say(warm if warm is not None else line)
    line_due = warm is not None
    played = np.zeros(int((total_s + 2) * DEVICE_RATE), np.float32)
    heard = _DeviceGrid(DEVICE_RATE)
    seen_blocks = 0
    resampler = StreamResampler(DEVICE_RATE, RATE)
    done22 = 0
    done16 = 0
    latency16 = int(DEVICE_LATENCY_S * RATE)
    result = RunResult()
    fade_end: float | None = None
    for n in range(total // FRAME_SAMPLES):
        at = n * FRAME_SECONDS
        frame_end = at + FRAME_SECONDS
        if line_due and at >= lead_s and not speaker.speaking:
            say(line)
            line_due = False
        # The player plays up to the end of this frame (or falls idle).
        while _played_until(device) < frame_end and speaker._play_block():
            pass
        if clock.now() < frame_end:
            clock.set(frame_end)
        for block in device.blocks[seen_blocks:]:
            i = heard.index(block.t, len(block.samples))
            played[i:i + len(block.samples)] = block.samples[:len(played) - i]
        seen_blocks = len(device.blocks)
        # What left the speaker (DEVICE_LATENCY_S after it was written) goes through the room.
        upto22 = max(done22, round((frame_end - DEVICE_LATENCY_S) * DEVICE_RATE))
        chunk = resampler.process(played[done22:upto22])
        done22 = upto22
        if len(chunk) and np.any(chunk):
            contribution = np.convolve(chunk, echo_rir)
            at16 = done16 + latency16
            echo[at16:at16 + len(contribution)] += contribution[:max(0, len(echo) - at16)]
        done16 += len(chunk)
        s = slice(n * FRAME_SAMPLES, (n + 1) * FRAME_SAMPLES)
        mic = echo[s] + user[s] + noise[s]
        coach_now = speaker.speaking
        started = time.process_time()
        if coach_now:
            loop.coach_speaking(saying[0])
        else:
            loop.coach_silent()
        cleaned = canceller.process(mic, at) if canceller is not None else mic
        if yielding is not None:
            yielding.frame(at)
        events = loop.push(cleaned)
        for event in events:
            if yielding is not None:
                before = len(yielding.yields)
                yielding.heard(event, at)
                if len(yielding.yields) > before:
                    result.yields += 1
                    result.trace.append(f"yield {_since(at, first_sound_s)}")
                    fade_end = None
                    if first_sound_s is None or at < first_sound_s - 0.1:
                        result.yield_before_user = first_sound_s is not None
                        result.own_yields += 1
                        result.own_yield_lines.append((at, saying[0]))
            if isinstance(event, (UtteranceHeard, UtteranceIgnored)):
                result.texts.append(_reading(event))
            elif isinstance(event, SpeechStarted):
                result.trace.append(f"start {_since(event.at_ms / 1000, first_sound_s)}")
            elif isinstance(event, SpeechDropped):
                result.trace.append(f"dropped {_since(at, first_sound_s)}")
            elif isinstance(event, NothingHeard):
                result.trace.append(f"no words in {event.audio_ms:.0f} ms")
            if isinstance(event, UtteranceHeard) and event.match.intent in BARGE_IN_INTENTS:
                result.acted.append(event.match.intent)
                result.barge_ins.append((at, saying[0], _reading(event), event.audio_ms))
                if command is not None and event.match.intent == command.intent and \
                        event.onset_ms / 1000 >= first_sound_s - 0.5:
                    result.heard = True
        result.cpu_s += time.process_time() - started
        if coach_now:
            result.coach_s += FRAME_SECONDS
            if first_sound_s is None or at < first_sound_s - 0.1:
                result.coach_before_user_s += FRAME_SECONDS
            if command is None and at > 1.0:
                result.mic_energy += float(np.sum(np.square(echo[s], dtype=np.float64)))
                result.clean_energy += float(np.sum(np.square(cleaned, dtype=np.float64)))
                result.noise_energy += float(np.sum(np.square(noise[s], dtype=np.float64)))
        if speaker.held and fade_end is None and device.blocks:
            last = device.blocks[-1]
            fade_end = last.t + len(last.samples) / DEVICE_RATE
            if first_sound_s is not None and result.silent_after_ms is None and fade_end >= first_sound_s - 0.1:
                result.silent_after_ms = 1000 * (fade_end + DEVICE_LATENCY_S - first_sound_s)
        if result.heard:
            break
        if not speaker.speaking and at > line_s + 1.5 and (command is None or at > lead_s + task["user_at_s"] + 3.0):
            break
    result.audio_s = (n + 1) * FRAME_SECONDS
    for event in loop.finish():
        if isinstance(event, (UtteranceHeard, UtteranceIgnored)):
            result.texts.append(_reading(event))
        if isinstance(event, UtteranceHeard) and event.match.intent in BARGE_IN_INTENTS:
            result.acted.append(event.match.intent)
            result.barge_ins.append((result.audio_s, saying[0], _reading(event), event.audio_ms))
            if command is not None and event.match.intent == command.intent:
                result.heard = True
    return result


def _reading(event) -> str:
    ignored = f" (ignored: {event.reason})" if hasattr(event, "reason") else ""
    return f"{event.match.text!r} -> {event.match.intent}{ignored}"


class _DeviceGrid:
    """Which device sample each block starts on: right after the last one when it continues it.

    The virtual clock's frames are 30 ms, 661.5 samples at 22050 Hz: a line that starts on an odd
    frame starts between two samples, and rounding each of its blocks on its own would drop or
    repeat a sample between blocks, which no device does (and which moves the echo path by a
    sample, so the canceller must learn it again)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._end_t: float | None = None
        self._end = 0

    def index(self, t: float, length: int) -> int:
        if self._end_t is not None and abs(t - self._end_t) < 1.5 / self.rate:
            start = self._end
        else:
            start = round(t * self.rate)
        self._end_t, self._end = t + length / self.rate, start + length
        return start


def _since(at_s: float, first_sound_s: float | None) -> str:
    """A moment of a run, against the user's first sound when there is one."""
    return f"{at_s:.2f} s" if first_sound_s is None else f"{1000 * (at_s - first_sound_s):+.0f} ms"


def _played_until(device) -> float:
    if not device.blocks:
        return 0.0
    last = device.blocks[-1]
    return last.t + len(last.samples) / device.sample_rate


def _first_sound(audio: np.ndarray) -> float:
    """Seconds to the first 10 ms whose level is within 30 dB of the loudest."""
    frames = audio[:len(audio) // 160 * 160].reshape(-1, 160)
    levels = 10 * np.log10(np.mean(np.square(frames), axis=1) + 1e-12)
    return float(np.argmax(levels > levels.max() - 30.0)) * 0.01


def _rms(audio: np.ndarray) -> float:
    frames = audio[:len(audio) // 480 * 480].reshape(-1, 480)
    power = np.mean(np.square(frames, dtype=np.float64), axis=1)
    active = power[power > power.max() * 1e-3]
    return float(np.sqrt(np.mean(active))) if len(active) else 1e-9


# ----- the whole benchmark -------------------------------------------------------------------

def build_tasks(commands, lines, rooms, columns, coach_alone_rooms, rng, fresh: bool = False) -> list[dict]:
    from voicecoach.hearing.signal.audio import resample

    gains = {}
    for li, line in enumerate(lines):
        audio16 = resample(np.concatenate(list(line.sentences.values())), DEVICE_RATE, RATE)
        for ri, room in enumerate(rooms):
            gains[li, ri] = 10 ** (ECHO_DBFS / 20) / _rms(np.convolve(audio16, room.echo_rir))
    tasks = []
    for ci, command in enumerate(commands):
        for ser in SERS:
            li, ri = int(rng.integers(len(lines))), int(rng.integers(len(rooms)))
            line = lines[li]
            line_s = sum(len(a) for a in line.sentences.values()) / DEVICE_RATE
            # From 1.6 s on: a fresh canceller (each run has one) measures the delay in the first 1.5 s of
            # speech, and until then takes everything while the coach talks for its echo.
            user_at = float(rng.uniform(WARM_S, max(WARM_S + 0.2, line_s - 0.8)))
            user_gain = 10 ** ((ECHO_DBFS - ser) / 20) / _rms(np.convolve(command.audio, rooms[ri].user_rir))
            for column in columns:
                tasks.append(dict(kind="command", ser=ser, column=column, line=line, room=rooms[ri], command=command,
                                  echo_gain=gains[li, ri], user_gain=user_gain, user_at_s=user_at, seed=ci * 100 + ser + 50,
                                  warm_line=None if fresh else lines[(li + 1) % len(lines)]))
    for li, line in enumerate(lines):
        for ri in range(coach_alone_rooms):
            ri = (li + ri * 3) % len(rooms)
            for column in columns:
                tasks.append(dict(kind="alone", ser=None, column=column, line=line, room=rooms[ri], command=None,
                                  echo_gain=gains[li, ri], seed=1000 + li * 10 + ri,
                                  warm_line=None if fresh else lines[(li + 1) % len(lines)]))
    # Whole clean commands too (no coach): what the recognizer makes of them alone.
    for ci, command in enumerate(commands):
        ri = ci % len(rooms)
        for column in ("no cancellation", KEYWORD_COLUMN) if KEYWORD_COLUMN in columns else ("no cancellation",):
            tasks.append(dict(kind="clean", ser=None, column=column, line=CoachLine("", {}), room=rooms[ri],
                              command=command, echo_gain=0.0, user_at_s=0.5, seed=5000 + ci,
                              user_gain=10 ** ((ECHO_DBFS - 0) / 20) / _rms(np.convolve(command.audio, rooms[ri].user_rir))))
    return tasks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller set (about a minute on 2 cores)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--limit", type=int, default=None, help="at most this many commands")
    parser.add_argument("--columns", default=None,
                        help="only these columns, by number from 0 (e.g. 2,3: the yielding ones)")
    parser.add_argument("--misses", action="store_true",
                        help="list each command not heard, with what was read instead, and each false barge-in")
    parser.add_argument("--gate", choices=GATES, default="residue",
                        help="what tells the user from the echo's remains: the double-talk score against the residue "
                             "the linear canceller predicts, or the fixed margins it replaced")
    parser.add_argument("--hearing-input", choices=HEARING_INPUTS, default="linear",
                        help="what the recognizer gets while the coach is heard")
    parser.add_argument("--fresh", action="store_true",
                        help="each run's canceller starts fresh (the first line of a session), not after the coach "
                             "has said another line in the same room")
    args = parser.parse_args(argv)
    try:
        import pyroomacoustics  # noqa: F401
        from livekit import rtc  # noqa: F401
    except ImportError as exc:
        print(f"bench/barge_in.py needs the bench extra: pip install '.[bench]' ({exc})", file=sys.stderr)
        return 2
    try:
        import voicecoach.hearing.bargein.keywords  # noqa: F401
        use_keywords = True
    except ImportError:
        use_keywords = False
    columns = COLUMNS if use_keywords else COLUMNS[:3]
    if use_keywords and _keyword_model_loads():
        columns = (*columns, KEYWORD_COLUMN)
    if args.columns:
        columns = tuple(columns[int(i)] for i in args.columns.split(",") if int(i) < len(columns))
    options = {"gate": args.gate, "hearing_input": args.hearing_input}
    started = time.perf_counter()
    rng = np.random.default_rng(11)
    commands = shared_commands() + synthesized_commands(args.quick)
    if args.quick:
        commands = commands[::2]
    if args.limit:
        commands = commands[:args.limit]
    lines = coach_lines(args.quick)
    rooms = make_rooms(4 if args.quick else 8)
    tasks = build_tasks(commands, lines, rooms, columns, 1 if args.quick else 3, rng, args.fresh)
    for task in tasks:
        task["canceller"] = options
    print(f"canceller: {options}, " + ("fresh in every run (the first line of a session)" if args.fresh else
          "warm: the coach said another line in the same room before each run"))
    print(f"{len(commands)} commands, {len(lines)} coach lines, {len(rooms)} rooms, {len(tasks)} runs "
          f"(made in {time.perf_counter() - started:.0f} s)", flush=True)
    for room in rooms:
        print(f"  room: {room.description}")
    with ProcessPoolExecutor(args.workers, initializer=_worker_init, initargs=(use_keywords,)) as pool:
        results = list(pool.map(run_one, tasks, chunksize=4))
    report(tasks, results, columns, use_keywords)
    if args.misses:
        report_misses(tasks, results)
    print(f"\nwall time {time.perf_counter() - started:.0f} s on {args.workers} workers")
    return 0


def _keyword_model_loads() -> bool:
    from voicecoach.hearing.bargein.keyword_model import open_keyword_spotter

    model, notice = open_keyword_spotter(None)
    if model is None:
        print(f"note: {notice}; no keyword model column", file=sys.stderr)
    return model is not None


def report(tasks, results, columns, use_keywords: bool) -> None:
    pairs = list(zip(tasks, results))
    for column in ("no cancellation", KEYWORD_COLUMN):
        clean = [r for t, r in pairs if t["kind"] == "clean" and t["column"] == column]
        one_word = [r for t, r in pairs if t["kind"] == "clean" and t["column"] == column and t["command"].words == 1]
        if clean:
            print(f"\ncommands alone (no coach voice), through the rooms, {column}: {_share(clean)} heard"
                  + (f"; one-word: {_share(one_word)}" if one_word else ""))
    header = ["", *columns]
    rows = []
    for ser in SERS:
        rows.append([f"heard, echo {ser:+d} dB"] + [_share([r for t, r in pairs if t["kind"] == "command" and t["ser"] == ser
                                                             and t["column"] == c]) for c in columns])
    for c_index, label in enumerate(("false barge-ins / hour (acted on)", "false yields / hour")):
        row = [label]
        for c in columns:
            alone = [r for t, r in pairs if t["kind"] == "alone" and t["column"] == c]
            hours = sum(r.coach_s for r in alone) / 3600
            count = sum(len(r.acted) for r in alone) if c_index == 0 else sum(r.yields for r in alone)
            row.append("-" if c_index == 1 and "yield" not in c and not c.startswith("+") else
                       f"{count / hours:.0f} ({count} in {hours * 60:.1f} min)")
        rows.append(row)
    row = ["yields to its own voice / hour (alone + before the user)"]
    for c in columns:
        runs = [r for t, r in pairs if t["column"] == c and t["kind"] != "clean"]
        hours = sum(r.coach_before_user_s for r in runs) / 3600
        count = sum(r.own_yields for r in runs)
        row.append("-" if "yield" not in c and not c.startswith("+") else
                   f"{count / hours:.0f} ({count} in {hours * 60:.1f} min)")
    rows.append(row)
    row = ["user's first sound -> coach silent (median / p90)"]
    for c in columns:
        times = [r.silent_after_ms for t, r in pairs if t["kind"] == "command" and t["column"] == c and r.silent_after_ms is not None]
        row.append(f"{statistics.median(times):.0f} / {np.percentile(times, 90):.0f} ms (n={len(times)})" if times else "-")
    rows.append(row)
    for ser in SERS:
        row = [f"... echo {ser:+d} dB"]
        for c in columns:
            times = [r.silent_after_ms for t, r in pairs if t["kind"] == "command" and t["column"] == c
                     and t["ser"] == ser and r.silent_after_ms is not None]
            row.append(f"{statistics.median(times):.0f} / {np.percentile(times, 90):.0f} ms (n={len(times)})" if times else "-")
        rows.append(row)
    row = ["echo reduction (coach alone; noise taken out)"]
    for c in columns:
        alone = [r for t, r in pairs if t["kind"] == "alone" and t["column"] == c]
        mic, cleaned = sum(r.mic_energy for r in alone), sum(r.clean_energy for r in alone)
        left = cleaned - sum(r.noise_energy for r in alone)
        if c == "no cancellation":
            row.append("-")
        elif left <= 0.01 * cleaned:
            row.append(f">{10 * np.log10(mic / cleaned) + 20:.0f} dB (below the noise)")
        else:
            row.append(f"{10 * np.log10(mic / left):.1f} dB ({10 * np.log10(mic / cleaned):.1f} with noise)")
    rows.append(row)
    row = ["CPU s per s of audio"]
    for c in columns:
        runs = [r for t, r in pairs if t["column"] == c and t["kind"] != "clean"]
        row.append(f"{sum(r.cpu_s for r in runs) / sum(r.audio_s for r in runs):.3f}")
    rows.append(row)
    widths = [max(len(str(x[i])) for x in [header] + rows) for i in range(len(header))]
    print()
    for x in [header] + rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(x, widths)))
    if not use_keywords:
        print("(+ closed-vocabulary check: voicecoach.hearing.bargein.keywords is not installed here)")
    early = sum(r.yield_before_user for t, r in pairs if t["kind"] == "command")
    print(f"runs where the coach yielded to its own echo before the user spoke: {early}")
    print("targets: >=95% heard at 0 dB, >=90% at +6 dB, <=1 false barge-in an hour, silent <=200 ms, CPU < 1 (real time)")


def report_misses(tasks, results) -> None:
    print("\nmisses:")
    for task, result in zip(tasks, results):
        where = f"{task['column']}, " + (f"echo {task['ser']:+d} dB" if task["ser"] is not None else task["kind"])
        if task["command"] is not None and not result.heard:
            trace = f" [{', '.join(result.trace)}]" if result.trace else ""
            print(f"  {where}: {task['command'].name} ({task['command'].intent}) heard as {result.texts or 'nothing'}{trace}")
        elif task["command"] is None and result.acted:
            print(f"  {where}: coach line {task['line'].text[:50]!r}... acted on {result.texts}")


def _share(results) -> str:
    if not results:
        return "-"
    heard = sum(r.heard for r in results)
    return f"{heard}/{len(results)} ({100 * heard / len(results):.0f}%)"


if __name__ == "__main__":
    sys.exit(main())
