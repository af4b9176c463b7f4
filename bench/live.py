"""Live voice loop benchmark: footprint, idle CPU, first prompt, and cue onsets while hearing decodes real speech.

    python bench/live.py [--exercise glute_bridge] [--idle-seconds 10] [--cold]

Voice mode is put together as the app does it (Whisper loading in the background, the Piper
voice and its player, the statistical reader) in a fresh child process, with a speaker fake
paced like a real device (each block takes its playing time) and a microphone fake paced on
the real clock. Printed:
- first prompt: from the child's start (before any import of ours) to the greeting shown,
  and to its first audio block;
- idle CPU while listening: share of one core the whole process uses over `--idle-seconds`
  once everything has loaded, hearing room noise, nothing to say;
- cue onsets while hearing decodes real speech: one exercise started by a typed line, with
  recordings from ../shared/audio (sentences that are not commands) fed as the microphone,
  each cue's first audio block minus its scheduled time. The same run, in the same process,
  is made twice: with hearing on its own thread (the app's loop), and with decoding on the
  loop that ticks the session (the loop as it was: the baseline);
- peak RSS of the child (VmHWM) over all of it.
By default the cue cache directory is a fresh one made warm by a first child (the usual case:
cues are kept on disk); `--cold` measures the first run ever (every cue made at start).
"""
from __future__ import annotations

import time

STARTED = time.perf_counter()     # before any import of ours: the first prompt is timed from here
STARTED_MONOTONIC = time.monotonic()   # the same moment on the clock the device fake stamps with

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import queue  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
AUDIO = REPO.parent / "shared" / "audio"
sys.path.insert(0, str(REPO))

from voicecoach.voice.devices import DeviceBase  # noqa: E402
from voicecoach.voice.speaker import SpeakerBase  # noqa: E402

SPOKEN = ["stp_activate_Mood_Lighting.wav", "stp_is_the_Front_Door_locked.wav", "stp_lock_the_Front_Door.wav",
          "stp_set_Bed_Light_brightness_to_50_percent.wav", "stp_skip_on_TV.wav",
          "stp_turn_off_lights_in_the_Office.wav", "stp_what_is_the_Outdoor_Humidity.wav",
          "stp_whats_the_date.wav", "stp_whats_the_temperature.wav", "stp_whats_the_weather.wav"]
GAP_SECONDS = 2.5                 # room noise between two recordings


def status_mb(field: str) -> float:
    """VmHWM or VmRSS of this process (ru_maxrss would carry the parent's peak over exec)."""
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(field + ":")) / 1024


# ----- fakes: a speaker paced like a device, a microphone paced on the clock, typing -----------

class PacedDevice(DeviceBase):
    """Takes each block in its playing time, as a device does; keeps only (time, text) per block."""

    def __init__(self, sample_rate: int, clock) -> None:
        self.sample_rate, self.clock = sample_rate, clock
        self.blocks: list[tuple[float, str]] = []
        self.current_text = ""
        self._busy_until = 0.0
        self._flushed = threading.Event()
        self._flushes = 0

    def write(self, block) -> None:
        self._flushed.clear()
        flushes = self._flushes
        start = max(self.clock.now(), self._busy_until)
        self.clock.wait_until(start, self._flushed)
        if flushes != self._flushes:
            return
        now = self.clock.now()
        self.blocks.append((now, self.current_text))
        self._busy_until = now + len(block) / self.sample_rate

    def flush(self) -> None:
        self._flushes += 1
        self._busy_until = self.clock.now()
        self._flushed.set()

    def close(self) -> None:
        pass


class RoomUntil:
    """Room noise, frame by frame on the clock, until `done` is set (a quiet microphone)."""

    def __init__(self, clock, done: threading.Event) -> None:
        self.clock, self.done = clock, done

    def frames(self, cancel: threading.Event):
        import numpy as np

        from voicecoach.hearing.signal.sources import FRAME_SECONDS
        from voicecoach.hearing.signal.vad import FRAME_SAMPLES

        rng = np.random.default_rng(7)
        start, n = self.clock.now(), 0
        while not self.done.is_set() and not cancel.is_set():
            n += 1
            if self.clock.wait_until(start + n * FRAME_SECONDS, cancel):
                return
            yield (0.002 * rng.standard_normal(FRAME_SAMPLES)).astype(np.float32)


class Typing:
    """Lines typed at the start, as a LineReader gives them."""

    def __init__(self, lines: list[str]) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        for line in lines:
            self._lines.put(line)

    def read(self, timeout: float):
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            return None


class SpokenMicrophone:
    """The recordings, GAP_SECONDS of room noise apart, over and over for `seconds`, frame by
    frame on the clock, as a microphone gives them (never the whole stream in memory)."""

    def __init__(self, clock, seconds: float) -> None:
        from voicecoach.hearing.signal.audio import read_wav

        self.clock, self.seconds = clock, seconds
        self.clips = [read_wav(AUDIO / name) for name in SPOKEN if (AUDIO / name).exists()]

    def frames(self, cancel: threading.Event):
        import numpy as np

        from voicecoach.hearing.signal.audio import SAMPLE_RATE
        from voicecoach.hearing.signal.sources import FRAME_SECONDS
        from voicecoach.hearing.signal.vad import FRAME_SAMPLES

        rng = np.random.default_rng(3)

        def samples():
            for i in itertools.count():
                yield (0.002 * rng.standard_normal(int(GAP_SECONDS * SAMPLE_RATE))).astype(np.float32)
                yield self.clips[i % len(self.clips)]

        start, n, pending = self.clock.now(), 0, np.zeros(0, np.float32)
        parts = samples()
        while n * FRAME_SECONDS < self.seconds:
            while len(pending) < FRAME_SAMPLES:
                pending = np.concatenate([pending, next(parts)])
            frame, pending = pending[:FRAME_SAMPLES], pending[FRAME_SAMPLES:]
            n += 1
            if cancel.is_set() or self.clock.wait_until(start + n * FRAME_SECONDS, cancel):
                return
            yield frame


# ----- the baseline: the voice loop as it was, decoding on the loop that ticks the session -------

def ticking_loop_session(session, loop, source, output, clock, catalog, on_event=None, typed=None,
                         play_out=True, statistical=None) -> None:
    from voicecoach.hearing.loop import UtteranceHeard
    from voicecoach.intents.understand import understand

    cancel = threading.Event()
    output.deliver(session.begin())
    try:
        for frame in source.frames(cancel):
            if output.speaking and output.last_reply is not None:
                loop.coach_speaking(output.last_reply.text)
            else:
                loop.coach_silent()
            for event in loop.push(frame):
                if on_event:
                    on_event(event)
                if isinstance(event, UtteranceHeard):
                    output.deliver(session.handle(event.match))
            line = typed.read(0.0) if typed is not None else None
            if isinstance(line, str) and line.strip():
                output.deliver(session.handle(understand(line, catalog, session.context(), statistical)))
            output.deliver(session.tick())
            if session.wants_exit:
                break
        else:
            while play_out and not session.wants_exit and (due := session.next_due()) is not None:
                if clock.wait_until(due, cancel):
                    break
                output.deliver(session.tick())
    finally:
        cancel.set()
        session.close("quit")


# ----- the child: voice mode in a fresh process ----------------------------------------------

class PhasePeaks:
    """Samples VmRSS every 50 ms and keeps the highest per phase (where the peak comes from)."""

    def __init__(self) -> None:
        self.phase = "start"
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        threading.Thread(target=self._sample, name="rss-sampler", daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            rss = status_mb("VmRSS")
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), rss)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        return {phase: round(mb) for phase, mb in self.peaks.items()}


def child(exercise: str, idle_seconds: float, cache_dir: str, warm_only: bool) -> dict:
    from voicecoach.app import release_big_buffers_when_freed, run_voice_session
    from voicecoach.coach.clock import RealClock
    from voicecoach.coach.session import OPENING_LINES, Session
    from voicecoach.coach.timeline import cue_phrases
    from voicecoach.content.loader import load_content
    from voicecoach.hearing.asr.engines import open_recognizer
    from voicecoach.hearing.loop import NothingHeard, UtteranceHeard, UtteranceIgnored
    from voicecoach.intents.load import load_catalog
    from voicecoach.intents.understand import open_reader
    from voicecoach.output import OutputStage
    from voicecoach.voice.build import VoiceSettings, open_voice
    from voicecoach.voice.cache import CueCache

    peaks = PhasePeaks()
    peaks.phase = "loading"
    clock = RealClock()
    release_big_buffers_when_freed()              # as the app does in voice mode
    heavy_work = threading.Lock()                 # the app's: synthesis and Whisper's load take turns
    content, catalog = load_content(), load_catalog()
    statistical, _ = open_reader(catalog, content.topic_texts(), background=True)
    devices: list[PacedDevice] = []

    def open_device(rate: int) -> PacedDevice:
        devices.append(PacedDevice(rate, clock))
        return devices[-1]

    opened = open_voice(VoiceSettings(engine="piper"), clock, [*(content.wording.line(key) for key in OPENING_LINES), *cue_phrases(content.exercises.values())],
                        open_device=open_device, cache=CueCache(Path(cache_dir)), synth_gate=heavy_work)
    speaker, device = opened.speaker, devices[0]
    notices: list[str] = []
    recognizer, notice = open_recognizer("whisper", catalog, background=True, notify=notices.append,
                                         load_gate=heavy_work)
    shown: list[float] = []

    class Shown(SpeakerBase):
        speaking = False

        def speak(self, reply) -> None:
            shown.append(time.perf_counter())

        def stop(self) -> None:
            pass

        def close(self) -> None:
            pass

    output = OutputStage([speaker, Shown()])
    result: dict = {"notices": notices + ([notice] if notice else [])}

    # 1. First prompt, then idle listening once everything has loaded.
    done = threading.Event()
    idle: dict = {}

    def measure_idle() -> None:
        primary = getattr(recognizer, "primary", recognizer)
        while not (getattr(primary, "ready", True) and speaker.cues_ready.is_set() and statistical.wait(0)
                   and not speaker.speaking):
            time.sleep(0.05)
        idle["ready_s"] = time.perf_counter() - STARTED
        peaks.phase = "idle"
        if not warm_only:
            time.sleep(1.0)                  # let the last cue's audio settle in the device
            cpu0, wall0 = time.process_time(), time.perf_counter()
            time.sleep(idle_seconds)
            idle["cpu_percent"] = 100 * (time.process_time() - cpu0) / (time.perf_counter() - wall0)
            idle["rss_mb"] = status_mb("VmRSS")
        done.set()

    monitor = threading.Thread(target=measure_idle, daemon=True)
    monitor.start()
    session = Session(content, clock)
    hearing = shipped_hearing(recognizer, catalog, session, output, statistical)
    run_voice_session(session, hearing.loop, hearing.source(RoomUntil(clock, done), clock), output, clock, catalog,
                      play_out=False, statistical=statistical)
    result["first_prompt_shown_s"] = shown[0] - STARTED
    result["first_prompt_heard_s"] = device.blocks[0][0] - STARTED_MONOTONIC if device.blocks else None
    result.update(idle)
    if warm_only:
        speaker.close()
        return result

    # 2. One exercise with hearing decoding real speech: the app's loop, then the baseline.
    start_line = f"start {content.exercises[exercise].name}"
    seconds = exercise_seconds(content, catalog, start_line) + 3
    for name, run in (("threaded", run_voice_session), ("baseline", ticking_loop_session)):
        peaks.phase = name
        onsets, decodes, queued = cue_onsets(run, content, catalog, recognizer, statistical, output, speaker, device,
                                     clock, seconds, start_line, Session, (UtteranceHeard, UtteranceIgnored, NothingHeard))
        result[name] = {"onsets_ms": onsets, "decode_ms": decodes, "queued_ms": queued}
    speaker.close()
    result["peak_rss_mb"] = status_mb("VmHWM")
    result["rss_by_phase"] = peaks.stop()
    return result


def shipped_hearing(recognizer, catalog, session, output, statistical):
    """The hearing chain voice mode ships (hearing.pipeline, with the app's default options), its
    canceller fed by what the voice plays, as the app wires it."""
    from voicecoach.app import wire_echo_and_yield
    from voicecoach.hearing.pipeline import HearingOptions, build_hearing

    hearing = build_hearing(HearingOptions(), recognizer, catalog, context=session.context, statistical=statistical,
                            model_wanted=lambda: session.context().exercising or output.speaking)
    wire_echo_and_yield(hearing.canceller, output)
    return hearing


def said_from(blocks: list[tuple[float, str]], index: int, text: str) -> list[float]:
    """Times of the blocks of the first run of `text` at or after `index`."""
    times: list[float] = []
    for t, said in blocks[index:]:
        if said == text:
            times.append(t)
        elif times:
            break
    return times


def cue_onsets(run, content, catalog, recognizer, statistical, output, speaker, device, clock, seconds,
               start_line, Session, decoded_types):
    """Each free cue's onset minus its due time (ms), and each decode's time (ms), for one run."""
    scheduled: list[tuple[float, int, str, float]] = []

    class TimedSession(Session):
        def tick(self):
            due = self.next_due()
            replies = super().tick()
            for reply in replies:
                if reply.cue is not None:
                    scheduled.append((due, len(device.blocks), reply.text, clock.now()))
            return replies

    session = TimedSession(content, clock)
    decodes: list[float] = []
    hearing = shipped_hearing(recognizer, catalog, session, output, statistical)
    run(session, hearing.loop, hearing.source(SpokenMicrophone(clock, seconds), clock), output, clock, catalog,
        lambda e: decodes.append(e.decode_ms) if isinstance(e, decoded_types) else None,
        Typing([start_line]), True, statistical)
    while speaker.speaking:
        time.sleep(0.05)
    onsets: list[tuple[float, str]] = []
    queued: list[float] = []
    previous_end = float("-inf")
    for due, index, text, ticked in scheduled:
        played = said_from(device.blocks, index, text)
        if not played:
            continue
        onset = played[0]
        # A cue that falls due while the one before it still sounds (or waits) follows it: the
        # coach never talks over itself. That wait is reported apart, not as an onset error.
        if previous_end > due + 0.001:
            queued.append(1000 * (onset - due))
        else:
            onsets.append((1000 * (onset - due), f"{text} (ticked +{1000 * (ticked - due):.0f} ms)"))
        previous_end = played[-1] + 0.02
    return onsets, decodes, queued


def exercise_seconds(content, catalog, start_line: str) -> float:
    """How long the exercise runs, from its session on a virtual clock."""
    from voicecoach.coach.clock import VirtualClock
    from voicecoach.coach.session import Session
    from voicecoach.intents.understand import understand

    clock = VirtualClock()
    session = Session(content, clock)
    session.begin()
    session.handle(understand(start_line, catalog, session.context()))
    while (due := session.next_due()) is not None:
        clock.set(due)
        session.tick()
    return clock.now()


# ----- the parent: run the children, print the table --------------------------------------------

def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def run_child(args: argparse.Namespace, cache_dir: str, warm_only: bool) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "--exercise", args.exercise,
               "--idle-seconds", str(args.idle_seconds), "--cache-dir", cache_dir]
    if warm_only:
        command.append("--warm-only")
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"the child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercise", default="glute_bridge")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--cold", action="store_true", help="no cue audio on disk: the first run ever")
    parser.add_argument("--verbose", action="store_true", help="name the latest cues of each run")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--warm-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.exercise, args.idle_seconds, args.cache_dir, args.warm_only)))
        return 0
    if not all((AUDIO / name).exists() for name in SPOKEN):
        print(f"bench/live.py needs the recordings in {AUDIO}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as cache_dir:
        if not args.cold:
            run_child(args, cache_dir, warm_only=True)
        report = run_child(args, cache_dir, warm_only=False)
    print(f"machine load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"({os.cpu_count()} cores; other processes' load slows decodes and synthesis alike)")
    for line in report["notices"]:
        print(f"notice: {line}")
    print(f"voice mode ({'cold cue cache' if args.cold else 'cues on disk'}), exercise {args.exercise}, "
          f"one fresh process:")
    heard = report["first_prompt_heard_s"]
    print(f"  first prompt shown {1000 * report['first_prompt_shown_s']:.0f} ms after start, heard "
          f"{'never' if heard is None else f'{1000 * heard:.0f} ms'}; everything loaded "
          f"(Whisper, Piper, cues, reader) after {report['ready_s']:.1f} s")
    print(f"  idle while listening: {report['cpu_percent']:.1f}% of one core over {args.idle_seconds:g} s; "
          f"RSS then {report['rss_mb']:.0f} MB")
    print(f"  peak RSS {report['peak_rss_mb']:.0f} MB (VmHWM over everything); highest RSS sampled in each phase: "
          + ", ".join(f"{phase} {mb} MB" for phase, mb in report["rss_by_phase"].items()))
    print(f"  {'loop':9} {'cues':>5} {'median':>8} {'p99':>8} {'max':>8}   decodes (median, p95 ms)")
    for name in ("threaded", "baseline"):
        timed, decodes = report[name]["onsets_ms"], report[name]["decode_ms"]
        onsets = [ms for ms, _ in timed]
        if not onsets:
            print(f"  {name:9} no cues timed")
            continue
        print(f"  {name:9} {len(onsets):5d} {statistics.median(onsets):6.1f}ms {p99(onsets):6.1f}ms "
              f"{max(onsets):6.1f}ms   {len(decodes)} ({statistics.median(decodes):.0f}, "
              f"{sorted(decodes)[int(0.95 * (len(decodes) - 1))]:.0f})")
        queued = report[name]["queued_ms"]
        if queued:
            print(f"    and {len(queued)} cues that fell due while another cue sounded, each after it "
                  f"(a median {statistics.median(queued):.0f} ms after their time)")
        if args.verbose:
            print("    latest: " + ", ".join(f"{text!r} {ms:.0f} ms" for ms, text in sorted(timed)[-4:]))
    threaded = [ms for ms, _ in report["threaded"]["onsets_ms"]]
    baseline = [ms for ms, _ in report["baseline"]["onsets_ms"]]
    if threaded and baseline:
        print(f"  cue onset p99: {p99(threaded):.1f} ms with hearing on its own thread, "
              f"{p99(baseline):.1f} ms decoding on the ticking loop ({p99(baseline) / max(p99(threaded), 0.1):.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
