"""The coach talking alone: false barge-ins and yields to its own voice, per hour of its speech.

    python bench/coach_alone.py [--minutes 60] [--workers 1] [--rooms 8] [--baseline none] [--runs 4,61] [--list]

Everything the coach can say, with the real numbers: the content's topic answers, the
exercises' reasons and steps, the safety lines, every cue of every exercise (holds of 20 to
60 s), and the session's prompts and answers from a scripted session on the virtual clock
(help, pause, resume, how long left, longer, that hurts, ...). Each is said once by the
coach's Piper voice (kept in a cache directory, so reruns start at once), and the lines are
said back to back in stretches of about half a minute.

Each stretch is played by the real player on a virtual clock into rooms simulated with
pyroomacoustics (another seed than bench/barge_in.py's, RT60 0.2-0.9 s, the coach's echo as
there, noise 34 or 24 dB below it), through the live hearing path the app uses:
bench/barge_in.py's closed loop (the echo canceller, the coach yielding, the endpointer,
Whisper with the statistical reader behind the templates, Whisper's check and the keyword
model combined). Nobody else speaks, so every barge-in acted on is false, and every yield is
the coach yielding to its own voice.

Printed: hours of coach speech; barge-ins acted on per hour, each listed (the line being
said, what was heard, by which check); barge-ins the loop took for the coach's own word
(hearing.bargein.own_voice: what the speaker played then explains them); yields per hour; CPU
seconds per second of audio.
Beside them, on the same utterances: what each check alone takes for a barge-in phrase
(Whisper's check, the same without its no-speech floor, the keyword model); and, in the same
run, the whole loop again with the echo canceller's fixed margins on AEC3's output instead of
the double-talk score (`--baseline fixed`, the default; `--baseline none` halves the time).
Target: at most 1 false barge-in an hour. An hour of the coach's speech takes about 10
minutes a column on one worker of this 2-core machine.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import barge_in  # noqa: E402  (bench/barge_in.py: the rooms and the closed loop)
from barge_in import DEVICE_RATE, KEYWORD_COLUMN, CoachLine, make_rooms, run_one  # noqa: E402
from voicecoach.hearing.bargein.keywords import KeywordHit  # noqa: E402

ROOM_SEED = 23                      # bench/barge_in.py's rooms are seed 7
RT60S = (0.2, 0.9)
NOISE_BELOW_ECHO_DB = (34.0, 24.0)
STRETCH_S = 30.0                    # the lines said back to back, about this long a run
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "voicecoach-bench" / "coach-alone"
HOLDS = (20.0, 45.0, 60.0)          # hold lengths the cues are made for (besides each exercise's own)
# A session on the virtual clock, one saying every SAYING_EVERY_S: the coach's prompts and answers.
SAYINGS = ("hello", "what can I say", "start", "how long left", "pause", "pause", "resume", "resume", "next",
           "longer", "shorter", "hold for 45 seconds", "three sets", "more reps", "what's next", "switch sides",
           "that hurts", "yes", "no", "start the stretch", "do glute bridges", "say that again", "slower",
           "faster", "go back", "skip", "why does my IT band hurt", "what is the IT band", "thanks",
           "what did I do last time", "how do I do the stretch", "is it safe", "stop", "start", "help",
           "what is the weather", "goodbye")
SAYING_EVERY_S = 37.0


# ----- what the coach says ------------------------------------------------------------------

def coach_texts() -> list[str]:
    """Every line the coach can say (each a reply), in a stable order, each once: bench/keywords.py's
    (the article, the exercises' reasons and steps, safety, cues), the cues of other hold lengths,
    and the session's own lines."""
    from keywords import coach_lines      # bench/keywords.py
    from voicecoach.coach.timeline import cue_phrases
    from voicecoach.content.loader import load_content

    content = load_content()
    cues = cue_phrases(content.exercises.values(), HOLDS)
    lines = dict.fromkeys(line for line in coach_lines() if line not in set(cues))
    lines.update(dict.fromkeys(cues))
    lines.update(dict.fromkeys(session_lines(content)))
    return list(lines)


def session_lines(content) -> list[str]:
    """What the session says to a user who tries most things once, three times over."""
    from voicecoach.coach.clock import VirtualClock
    from voicecoach.coach.session import Session
    from voicecoach.coach.simulate import ScriptLine, Simulator
    from voicecoach.intents.load import load_catalog
    from voicecoach.intents.matcher import recognize

    catalog = load_catalog(None, content.exercise_names())
    script = [ScriptLine(2.0 + n * SAYING_EVERY_S, SAYINGS[n % len(SAYINGS)], n + 1) for n in range(3 * len(SAYINGS))]
    simulator = Simulator(lambda clock: Session(content, clock), lambda text, session: recognize(text, catalog, session.context()),
                          VirtualClock())
    return list(dict.fromkeys(event.text for event in simulator.events(script) if event.who == "coach"))


def synthesized(texts: list[str]) -> dict[str, np.ndarray]:
    """Each part the player will say -> its Piper audio (22050 Hz), from the cache when there."""
    from voicecoach.voice.engines import open_engine
    from voicecoach.voice.lexicon import split_for_speech

    parts = list(dict.fromkeys(part for text in texts for part in (split_for_speech(text) or [text])))
    engine = None
    audio: dict[str, np.ndarray] = {}
    made = 0
    for part in parts:
        path = CACHE_DIR / (hashlib.sha1(part.encode()).hexdigest()[:20] + ".npy")
        if path.exists():
            audio[part] = np.load(path)
            continue
        if engine is None:
            engine, notice = open_engine("piper")
            if notice:
                raise SystemExit(f"bench/coach_alone.py needs the coach's Piper voice: {notice}")
            engine.noise_scale = 0.0          # one take a line, the same every run
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
        audio[part] = np.asarray(engine.synthesize(part), np.float32)
        np.save(path, audio[part])
        made += 1
    if made:
        print(f"synthesized {made} parts (cached in {CACHE_DIR})", flush=True)
    return audio


def stretches(texts: list[str], audio: dict[str, np.ndarray]) -> list[CoachLine]:
    """The lines in order, said back to back, about STRETCH_S a run."""
    from voicecoach.voice.lexicon import split_for_speech

    out: list[CoachLine] = []
    replies: list[str] = []
    sentences: dict[str, np.ndarray] = {}
    length = 0.0
    for text in texts:
        parts = split_for_speech(text) or [text]
        replies.append(text)
        for part in parts:
            sentences[part] = audio[part]
            length += len(audio[part]) / DEVICE_RATE
        if length >= STRETCH_S:
            out.append(CoachLine(" ".join(replies), sentences, tuple(replies)))
            replies, sentences, length = [], {}, 0.0
    if replies:
        out.append(CoachLine(" ".join(replies), sentences, tuple(replies)))
    return out


def seconds_of(line: CoachLine) -> float:
    return sum(len(a) for a in line.sentences.values()) / DEVICE_RATE


# ----- the runs ------------------------------------------------------------------------------

@dataclass
class Checked:
    """One utterance short enough for the barge-in check, and what each check made of it."""
    audio_ms: float
    whisper: tuple[str, float] | None = None     # Whisper's check: (phrase, score); a hit from 0 up
    free_text: str = ""
    no_speech: float = 0.0                       # Whisper's probability that it holds no speech
    whisper_unfloored: float | None = None       # Whisper's check's score without the no-speech floor
    model: tuple[str, float] | None = None       # the keyword model: (phrase, score); a hit from 0 up


@dataclass
class Outcome:
    result: object                                # barge_in.RunResult
    checked: list[Checked] = field(default_factory=list)


_LOG: list[Checked] = []


class _WatchedWhisperCheck:
    """Whisper's check as the loop uses it, noting its score and the keyword model's on every
    utterance it sees (the loop asks the model only when this check does not hit)."""

    def __init__(self, inner, model=None) -> None:
        self.inner, self.model = inner, model

    def best(self, audio: np.ndarray):
        measured = self.inner.measure(audio)
        if measured is None:
            return None
        hit = KeywordHit(measured.phrase, measured.intent, round(self.inner.score(measured), 3))
        checked = Checked(1000.0 * len(audio) / 16000, (hit.phrase, hit.score), measured.free_text,
                          measured.no_speech_prob,
                          min(measured.phrase_logprob - self.inner.phrase_floor, measured.ratio - self.inner.ratio_floor))
        if self.model is not None:
            model_best = self.model.best(audio)
            checked.model = None if model_best is None else (model_best.phrase, model_best.score)
        _LOG.append(checked)
        return hit

    def spot(self, audio: np.ndarray):
        hit = self.best(audio)
        return hit if hit is not None and hit.score >= 0 else None


def _init(options: dict) -> None:
    barge_in._worker_init(True)
    worker = barge_in._WORKER
    if worker.get("spotter") is not None:
        worker["spotter"] = _WatchedWhisperCheck(worker["spotter"], worker.get("keyword"))


def run(task: dict) -> Outcome:
    _LOG.clear()
    result = run_one(task)
    return Outcome(result, list(_LOG))


def build_tasks(lines: list[CoachLine], rooms, repeats: int, minutes: float, columns: list[str]) -> list[dict]:
    """Each stretch in `repeats` rooms (a different room and noise each time), in an order
    that covers every line before any repeats, until `minutes` of the coach's speech."""
    from voicecoach.hearing.signal.audio import resample

    tasks: list[dict] = []
    total = 0.0
    for repeat in range(repeats):
        for li, line in enumerate(lines):
            if total >= minutes * 60:
                return tasks
            ri = (li + repeat) % len(rooms)           # every room in turn, and then the other noise
            room = rooms[ri]
            audio16 = resample(np.concatenate(list(line.sentences.values())), DEVICE_RATE, 16000)
            gain = 10 ** (barge_in.ECHO_DBFS / 20) / barge_in._rms(np.convolve(audio16, room.echo_rir))
            for column, options in columns:
                tasks.append(dict(kind="alone", ser=None, column=KEYWORD_COLUMN, label=column, line=line, room=room,
                                  room_index=ri, command=None, echo_gain=gain, seed=20000 + li * 31 + repeat,
                                  noise_below_db=NOISE_BELOW_ECHO_DB[(li + repeat // len(rooms)) % len(NOISE_BELOW_ECHO_DB)],
                                  canceller=options.get("canceller", {}), options=options))
            total += seconds_of(line)
    return tasks


# ----- the report ----------------------------------------------------------------------------

def report(tasks: list[dict], outcomes: list[Outcome], labels: list[str]) -> None:
    for label in labels:
        pairs = [(t, o) for t, o in zip(tasks, outcomes) if t["label"] == label]
        results = [o.result for _, o in pairs]
        hours = sum(r.coach_s for r in results) / 3600
        audio_s = sum(r.audio_s for r in results)
        acted = [(t, b) for t, o in pairs for b in o.result.barge_ins]
        yields = sum(r.own_yields for r in results)
        checked = [c for _, o in pairs for c in o.checked]
        whisper_hits = sum(c.whisper is not None and c.whisper[1] >= 0 for c in checked)
        unfloored_hits = sum(c.whisper_unfloored is not None and c.whisper_unfloored >= 0 for c in checked)
        model_hits = sum(c.model is not None and c.model[1] >= 0 for c in checked)
        print(f"\n== {label} ==")
        print(f"coach speech: {hours:.2f} h ({hours * 60:.1f} min) in {len(pairs)} runs, {audio_s / 60:.1f} min of audio")
        # The coach says its line on after a barge-in (in a session the first would have paused or
        # stopped it), so one scrap can be acted on again and again: the stretches count too.
        stretches = len({task["index"] for task, _ in acted})
        print(f"barge-ins acted on: {len(acted)} = {len(acted) / hours:.1f} an hour (target <= 1), in {stretches} "
              f"of {len(pairs)} stretches: {stretches / hours:.1f} an hour counting the first of each")
        for task, (at, said, reading, audio_ms) in acted:
            print(f"  run {task['index']} ({_where(task)}), {at:.1f} s: while saying {said!r}: heard {reading} "
                  f"({audio_ms:.0f} ms) by {_which(task, reading, audio_ms, pairs)}")
        own = [(task, text) for task, o in pairs for text in o.result.texts if text.endswith("(ignored: own word)")]
        print(f"barge-ins taken for the coach's own word (hearing.bargein.own_voice) and not acted on: {len(own)} = "
              f"{len(own) / hours:.1f} an hour")
        for task, text in own:
            print(f"  run {task['index']} ({_where(task)}): {text}")
        print(f"yields to its own voice: {yields} = {yields / hours:.1f} an hour")
        for task, o in pairs:
            for at, said in o.result.own_yield_lines:
                print(f"  yield: run {task['index']} ({_where(task)}), {at:.1f} s: while saying {said!r}")
        print(f"utterances cut while the coach spoke alone: {sum(len(o.result.texts) for _, o in pairs)}; "
              f"short enough for the barge-in check: {len(checked)}")
        print(f"  taken for a barge-in phrase (before the echo rule) by Whisper's check: {whisper_hits} = "
              f"{whisper_hits / hours:.1f} an hour; by it without the no-speech floor: {unfloored_hits} = "
              f"{unfloored_hits / hours:.1f} an hour; by the keyword model: {model_hits} = {model_hits / hours:.1f} an hour")
        top = sorted((c for c in checked if c.whisper is not None), key=lambda c: -c.whisper[1])[:3]
        print("  highest Whisper check scores (a hit is 0 or more): "
              + ", ".join(f"{c.whisper[1]:.2f} {c.whisper[0]!r} (free: {c.free_text.strip()!r})" for c in top))
        print(f"CPU seconds per second of audio (canceller, voice activity, checks, decoding): "
              f"{sum(r.cpu_s for r in results) / audio_s:.3f}")


def summary(tasks: list[dict], outcomes: list[Outcome], labels: list[str]) -> None:
    """The columns side by side."""
    rows = [["", *labels]]
    for name, count in (("barge-ins acted on / hour (target <= 1)", lambda r: len(r.barge_ins)),
                        ("yields to its own voice / hour", lambda r: r.own_yields)):
        row = [name]
        for label in labels:
            results = [o.result for t, o in zip(tasks, outcomes) if t["label"] == label]
            hours = sum(r.coach_s for r in results) / 3600
            total = sum(count(r) for r in results)
            row.append(f"{total / hours:.1f} ({total} in {hours:.2f} h)")
        rows.append(row)
    row = ["CPU s per s of audio"]
    for label in labels:
        results = [o.result for t, o in zip(tasks, outcomes) if t["label"] == label]
        row.append(f"{sum(r.cpu_s for r in results) / sum(r.audio_s for r in results):.3f}")
    rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))


def _where(task: dict) -> str:
    return f"room {task['room_index']}, noise {task['noise_below_db']:.0f} dB below the echo"


def _which(task: dict, reading: str, audio_ms: float, pairs) -> str:
    """Which check made the barge-in: a check's hit is read as its phrase, the reader's as the transcript."""
    for t, o in pairs:
        if t is task:
            for c in o.checked:
                phrases = {hit[0] for hit in (c.whisper, c.model) if hit is not None and hit[1] >= 0}
                if abs(c.audio_ms - audio_ms) < 1 and any(reading.startswith(f"{p!r} ->") for p in phrases):
                    if c.whisper is not None and c.whisper[1] >= 0:
                        return (f"Whisper's check ({c.whisper[1]:+.2f}; free transcript {c.free_text.strip()!r}, "
                                f"no speech {c.no_speech:.2f})")
                    if c.model is not None and c.model[1] >= 0:
                        return f"the keyword model ({c.model[1]:+.3f}; Whisper's check {c.whisper[1] if c.whisper else '-'})"
    return "Whisper's transcript and the reader"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="minutes of the coach's speech (default 60)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rooms", type=int, default=8, help="rooms (RT60 spread over 0.2-0.9 s)")
    parser.add_argument("--list", action="store_true", help="print the coach's lines and stop")
    parser.add_argument("--baseline", choices=("fixed", "none"), default="fixed",
                        help="a second column: the canceller's fixed margins on AEC3's output (before the double-talk score)")
    parser.add_argument("--runs", default=None, help="only these runs, by number (as listed), e.g. 12,40")
    args = parser.parse_args(argv)
    try:
        import pyroomacoustics  # noqa: F401
        from livekit import rtc  # noqa: F401
    except ImportError as exc:
        print(f"bench/coach_alone.py needs the bench extra: pip install '.[bench]' ({exc})", file=sys.stderr)
        return 2
    started = time.perf_counter()
    texts = coach_texts()
    if args.list:
        print("\n".join(texts))
        return 0
    audio = synthesized(texts)
    lines = stretches(texts, audio)
    unique_s = sum(seconds_of(line) for line in lines)
    rooms = make_rooms(args.rooms, ROOM_SEED, RT60S)
    repeats = max(1, int(np.ceil(args.minutes * 60 / unique_s)))
    columns = [("used", {})]
    if args.baseline == "fixed":
        columns.append(("baseline: fixed margins", {"canceller": {"gate": "fixed", "hearing_input": "aec3"}}))
    tasks = build_tasks(lines, rooms, repeats, args.minutes, columns)
    for index, task in enumerate(tasks):
        task["index"] = index
    if args.runs:
        tasks = [tasks[int(i)] for i in args.runs.split(",")]
    print(f"{len(texts)} coach lines ({unique_s / 60:.1f} min in its voice) in {len(lines)} stretches, "
          f"{len(rooms)} rooms, {len(tasks)} runs (made in {time.perf_counter() - started:.0f} s)", flush=True)
    for index, room in enumerate(rooms):
        print(f"  room {index}: {room.description}")
    with ProcessPoolExecutor(args.workers, initializer=_init, initargs=({},)) as pool:
        outcomes = list(pool.map(run, tasks, chunksize=1))
    report(tasks, outcomes, [label for label, _ in columns])
    summary(tasks, outcomes, [label for label, _ in columns])
    print(f"\nwall time {time.perf_counter() - started:.0f} s on {args.workers} workers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
