"""Voice benchmark: first sample, stop latency, cue onset error on the real clock, load, RSS.

    python bench/voice.py [--exercise ID] [--skip-routine]

Every figure comes from a recording output device that timestamps each buffer as the
real clock hands it over (the speaker itself is the real one, threads and all). Each row
runs twice: on an idle machine, and with both cores kept busy by two other processes.
The baseline is pyttsx3's own say + runAndWait in the same run.
"""
from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from voicecoach.coach.clock import RealClock  # noqa: E402
from voicecoach.coach.replies import Reply  # noqa: E402
from voicecoach.coach.session import Session  # noqa: E402
from voicecoach.coach.timeline import cue_phrases  # noqa: E402
from voicecoach.content.loader import load_content  # noqa: E402
from voicecoach.intents.load import load_catalog  # noqa: E402
from voicecoach.intents.matcher import recognize  # noqa: E402
from voicecoach.voice.cache import CueCache  # noqa: E402
from voicecoach.voice.devices import (  # noqa: E402
    BLOCK_SECONDS, DEVICE_PERIODS, MiniaudioOutput, RecordingDevice, SpeakerUnavailable)
from voicecoach.voice.engines import open_engine  # noqa: E402
from voicecoach.voice.player import VoiceSpeaker  # noqa: E402

ANSWER = "The IT band is a long, thin strip of connective tissue that runs from the hip to the knee."
SENTENCE = "Lie on your side with the foam roller under your hip."


def burn(stop) -> None:
    while not stop.is_set():
        pass


class Load:
    """Both cores kept busy by two other processes while the block runs."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def __enter__(self):
        if self.on:
            self.stop = multiprocessing.Event()
            self.procs = [multiprocessing.Process(target=burn, args=(self.stop,)) for _ in range(2)]
            for p in self.procs:
                p.start()
        return self

    def __exit__(self, *exc):
        if self.on:
            self.stop.set()
            for p in self.procs:
                p.join()


def first_sample_ms(engine, text: str) -> float:
    clock = RealClock()
    device = RecordingDevice(engine.sample_rate, clock, paced=True)
    speaker = VoiceSpeaker(engine, device, CueCache(), clock)
    t0 = clock.now()
    speaker.speak(Reply(text))
    while not device.blocks:
        time.sleep(0.001)
    first = device.blocks[0].t - t0
    speaker.stop()
    speaker.close()
    return 1000 * first


def stop_latency_ms(engine) -> float:
    clock = RealClock()
    device = RecordingDevice(engine.sample_rate, clock, paced=True)
    speaker = VoiceSpeaker(engine, device, CueCache(), clock)
    speaker.speak(Reply(ANSWER))
    while not device.blocks or clock.now() - device.blocks[0].t < 0.5:
        time.sleep(0.005)
    t_stop = clock.now()
    speaker.stop()
    time.sleep(0.2)
    after = [b for b in device.blocks if b.t >= t_stop]
    # Silence comes when the device is flushed; any block written after stop would be heard.
    silent_at = max([device.flushes[-1]] + [b.t + len(b.samples) / device.sample_rate for b in after])
    speaker.close()
    return 1000 * (silent_at - t_stop)


BASELINE = """
import contextlib, io, sys, tempfile, time
sys.path.insert(0, sys.argv[2])
from voicecoach.voice.engines import _make_espeak_available
_make_espeak_available()
import pyttsx3
engine = pyttsx3.init("espeak")
text = sys.argv[1]
with contextlib.redirect_stdout(io.StringIO()):
    # say first: pyttsx3 2.99 hangs in runAndWait when say follows save_to_file.
    t0 = time.perf_counter()
    engine.say(text)
    engine.runAndWait()
    say = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        engine.save_to_file(text, tmp + "/x.wav")
        engine.runAndWait()
        synth = time.perf_counter() - t0
print(synth * 1000, say * 1000)
"""


def pyttsx3_baseline_ms(text: str) -> tuple[float | None, float | None]:
    """pyttsx3's own path, in a child process (its blocking playback can hang without a
    sound card): save_to_file synthesis time (its first sample can come no sooner, as it
    synthesizes the whole utterance before playing) and say+runAndWait's return time."""
    import subprocess

    try:
        out = subprocess.run([sys.executable, "-c", BASELINE, text, str(REPO)], capture_output=True,
                             text=True, timeout=30).stdout.split()
        return float(out[0]), float(out[1])
    except (subprocess.TimeoutExpired, IndexError, ValueError):
        return None, None


def routine_onsets(engine, exercise: str | None) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    """Run a routine on the real clock; each cue's onset minus its scheduled time, in ms, with
    its text: cues that found no other cue sounding, and cues that waited behind one."""
    content = load_content()
    clock = RealClock()
    device = RecordingDevice(engine.sample_rate, clock, paced=True)
    cache = CueCache()
    cache.warm(engine, cue_phrases(content.exercises.values()))
    speaker = VoiceSpeaker(engine, device, cache, clock)
    session = Session(content, clock)
    for reply in session.begin():
        speaker.speak(reply)
    start = "start" if exercise is None else f"start {exercise.replace('_', ' ')}"
    for reply in session.handle(recognize(start, load_catalog(), session.context())):
        speaker.speak(reply)
    scheduled: list[tuple[float, int, str]] = []
    while (due := session.next_due()) is not None:
        clock.wait_until(due)
        for reply in session.tick():
            if reply.cue:
                scheduled.append((due, len(device.blocks), reply.text))
            speaker.speak(reply)
    time.sleep(1.0)
    free, queued = [], []
    for due, index, text in scheduled:
        onset = next((b.t for b in device.blocks[index:] if b.text == text), None)
        if onset is None:
            continue
        # Was another cue still sounding when this one fell due? Then it waits its turn
        # (the coach does not talk over itself): that wait is reported apart.
        before = [b for b in device.blocks if b.t < onset]
        busy = bool(before) and before[-1].t + len(before[-1].samples) / device.sample_rate > due + 0.001 \
            and before[-1].text != text and any(before[-1].text == t for _, _, t in scheduled)
        (queued if busy else free).append((1000 * (onset - due), text))
    speaker.close()
    return free, queued


ALONE = """
import sys, time
sys.path.insert(0, sys.argv[2])
t0 = time.perf_counter()
from voicecoach.voice.engines import open_engine
engine, _ = open_engine(sys.argv[1])
engine.synthesize("Switch sides.")
load = time.perf_counter() - t0
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(load * 1000, hwm / 1024)
"""


def engine_alone(name: str) -> tuple[float, float]:
    """Load time (imports, voice, first synthesis) and peak RSS of one engine in its own process."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", ALONE, name, str(REPO)], capture_output=True, text=True,
                         timeout=120).stdout.split()
    return float(out[0]), float(out[1])


def miniaudio_stop_ms(engine) -> tuple[float, float] | None:
    """The real output path on miniaudio's null backend (it plays into nothing at the real
    pace): how long stop() takes to return, and how much audio the device may still hold."""
    try:
        device = MiniaudioOutput(engine.sample_rate, backends=["NULL"])
    except SpeakerUnavailable:
        return None
    speaker = VoiceSpeaker(engine, device, CueCache(), RealClock())
    speaker.speak(Reply(ANSWER))
    while device.samples_played < 0.5 * engine.sample_rate:
        time.sleep(0.005)
    t0 = time.perf_counter()
    speaker.stop()
    returned = time.perf_counter() - t0
    played_at_stop = device.samples_played
    time.sleep(0.2)
    after = device.samples_played - played_at_stop       # taken from our queue after stop: should be 0
    speaker.close()
    return 1000 * returned, 1000 * (after / engine.sample_rate + DEVICE_PERIODS * BLOCK_SECONDS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercise", default=None, help="time one exercise instead of the whole routine")
    parser.add_argument("--skip-routine", action="store_true", help="skip the cue onset run")
    args = parser.parse_args(argv)
    engines = {}
    for name in ("piper", "espeak"):
        t0 = time.perf_counter()
        engine, _ = open_engine(name)
        if hasattr(engine, "load"):
            engine.load()             # Piper loads its network on first use; time it here
        engines[name] = (engine, time.perf_counter() - t0)
    print(f"{'engine':8} {'load':10} {'first sample':>13} {'long answer':>12} {'stop':>8}   (median of 5 ms)")
    for loaded in (False, True):
        with Load(loaded):
            for name, (engine, load_s) in engines.items():
                first = statistics.median(first_sample_ms(engine, SENTENCE) for _ in range(5))
                long = statistics.median(first_sample_ms(engine, ANSWER) for _ in range(5))
                stop = statistics.median(stop_latency_ms(engine) for _ in range(5))
                label = "loaded" if loaded else "idle"
                print(f"{name:8} {load_s * 1000:6.0f} ms {first:10.0f} ms {long:9.0f} ms {stop:5.0f} ms   {label}")
            synth_ms, say_ms = pyttsx3_baseline_ms(SENTENCE)
            label = "loaded" if loaded else "idle"
            if synth_ms is None:
                print(f"{'pyttsx3':8} {'baseline':10} did not finish within 30 s   {label}")
            else:
                print(f"{'pyttsx3':8} {'baseline':10} {synth_ms:10.0f} ms {'':>12} {'(cannot)':>8}   {label}: "
                      f"its first sample comes after whole-utterance synthesis ({synth_ms:.0f} ms); "
                      f"say+runAndWait returns after {say_ms:.0f} ms")
    if not args.skip_routine:
        for loaded in (False, True):
            with Load(loaded):
                timed, waited = routine_onsets(engines["piper"][0], args.exercise)
            in_order, queued = [e for e, _ in timed], [e for e, _ in waited]
            errors = sorted(in_order)
            worst_ms, worst_text = max(timed)
            p99 = errors[min(len(errors) - 1, int(0.99 * len(errors)))]
            first, last = in_order[: len(in_order) // 4], in_order[-(len(in_order) // 4):]
            print(f"cue onset error, piper, {'loaded' if loaded else 'idle'}: {len(errors)} cues, median "
                  f"{statistics.median(errors):.1f} ms, p99 {p99:.1f} ms, max {errors[-1]:.1f} ms; "
                  f"drift (last quarter minus first quarter medians) "
                  f"{statistics.median(last) - statistics.median(first):.1f} ms; "
                  f"{len(queued)} cues fell due while another cue was sounding and waited a median "
                  f"{statistics.median(queued) if queued else 0:.0f} ms; worst: {worst_text!r} {worst_ms:.0f} ms")
    for name, (engine, _) in engines.items():
        result = miniaudio_stop_ms(engine)
        if result is None:
            print(f"miniaudio stop, {name}: the null backend is not available here")
        else:
            print(f"miniaudio stop, {name}: stop() returns in {result[0]:.1f} ms; silence within "
                  f"{result[1]:.0f} ms (what the device may still hold, {DEVICE_PERIODS} x "
                  f"{BLOCK_SECONDS * 1000:.0f} ms periods, plus anything taken after stop)")
    for name in ("piper", "espeak"):
        load_ms, rss_mb = engine_alone(name)
        print(f"{name} alone in a fresh process: ready (imports, voice, first line) in {load_ms:.0f} ms, "
              f"peak RSS {rss_mb:.0f} MB")
    print(f"peak RSS of this process (both engines, players, routine): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
