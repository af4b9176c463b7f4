"""Barge-in phrase benchmark: the closed-vocabulary check and the keyword model against plain Whisper.

    python bench/keywords.py [--quick] [--seed N] [--keyword-model PATH]

Sets, all made in this run (the same seed gives the same audio):
- clean one-word commands: every barge-in phrase ("stop", "pause", "wait", "hold on",
  "hang on", "ouch", "that hurts", "it hurts") said by espeak-ng in several voices, rates
  and pitches, and by the coach's own Piper voice;
- commands with leading words ("okay stop", "and stop", "stop stop", "no wait", ...);
- pain after a command ("stop that hurts", "hold on that hurts"): pain, not the command;
- the same with room noise at 10 dB SNR;
- other commands ("start", "next", "resume", ...) and words that sound like a phrase ("top",
  "paws", "weight"): a hit on them is a false one;
- the coach's own lines (the article, the exercises' steps, every cue) said by Piper, cut
  into utterances by the same end-of-speech detector the listen loop uses: every hit there
  is a false barge-in, reported per hour of coach speech.
The real recordings in ../shared/audio are only reported on (never used to choose anything).

Columns: the Whisper check (hearing/bargein/keywords.py), the keyword model (hearing/bargein/keyword_model.py),
both (a hit from either, as the listen loop has them), and plain Whisper + the matcher. The
keyword model never trained on these espeak-ng voices and rates, nor on the Piper takes here
(Piper's sampling noise on; training had it off); of the coach's lines it trained on half,
so false barge-ins are counted on the quarter it never saw (bench/train_keywords.py's split)
as well as on all of them.

Every command the checks together miss is printed at the end, clean one-word commands first,
with both checks' scores and Whisper's own transcript of it.

A hit is a score of 0 or more (the margin above the spotter's two floors); the highest
scores on the coach's lines show how much room is left under the false-hit budget (at most
one an hour). Time per utterance is the wall time of one check on this machine, both
engines with 2 threads.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.make_corpus import PITCHES, RATES, VOICES, mix_at_snr, speak  # noqa: E402

from voicecoach.hearing.signal.audio import SAMPLE_RATE, read_wav, resample  # noqa: E402
from voicecoach.hearing.bargein.keyword_model import decide  # noqa: E402
from voicecoach.hearing.bargein.keywords import KeywordHit  # noqa: E402

REAL = REPO.parent / "shared" / "audio"
BARGE_IN_INTENTS = {"stop", "pause", "report_pain"}
ONE_WORD = [("stop", "stop"), ("pause", "pause"), ("wait", "pause"), ("hold on", "pause"), ("hang on", "pause"),
            ("ouch", "report_pain"), ("that hurts", "report_pain"), ("it hurts", "report_pain")]
LEADING = [("okay stop", "stop"), ("and stop", "stop"), ("stop stop", "stop"), ("no stop", "stop"),
           ("hey stop", "stop"), ("oh stop", "stop"), ("no wait", "pause"), ("okay pause", "pause"),
           ("wait wait", "pause"), ("oh hold on", "pause"), ("ouch ouch", "report_pain"),
           ("oh that hurts", "report_pain"), ("ouch that hurts", "report_pain"), ("okay wait", "pause")]
# A pain phrase after a command: pain (it stops the exercise too, and brings the safety advice).
PAIN_AFTER_COMMAND = [("stop that hurts", "report_pain"), ("stop it hurts", "report_pain"),
                      ("wait that hurts", "report_pain"), ("hold on that hurts", "report_pain"),
                      ("okay stop that hurts", "report_pain")]
OTHER_COMMANDS = ["start", "next", "resume", "keep going", "skip", "repeat", "slower", "faster", "yes", "no",
                  "how long left", "go back", "help"]
NEAR_WORDS = ["top", "shop", "pass", "paws", "weight", "hold", "what", "stack"]     # sound like a phrase


# ----- making the audio -----------------------------------------------------------------------

def espeak_takes(phrases: list[tuple[str, str]], per_phrase: int, rng: random.Random, tmp: Path
                 ) -> list[tuple[str, str, np.ndarray]]:
    takes = []
    for text, intent in phrases:
        for _ in range(per_phrase):
            voice, rate, pitch = rng.choice(VOICES), rng.choice(RATES), rng.choice(PITCHES)
            speak(text, voice, rate, pitch, tmp / "take.wav")
            takes.append((f"{text} [{voice} s{rate} p{pitch}]", intent, pad(read_wav(tmp / "take.wav") * rng.uniform(0.3, 0.9), rng)))
    return takes


def pad(speech: np.ndarray, rng: random.Random) -> np.ndarray:
    lead, tail = (np.zeros(int(rng.uniform(0.1, 0.3) * SAMPLE_RATE), np.float32) for _ in range(2))
    return np.concatenate([lead, speech, tail]).astype(np.float32)


def with_noise(takes, snr_db: float, seed: int):
    noise_rng = np.random.default_rng(seed)
    out = []
    for name, intent, audio in takes:
        speech = audio[np.abs(audio) > 1e-4]
        out.append((f"{name} noise{snr_db:g}dB", intent, mix_at_snr(speech if len(speech) else audio, audio, snr_db, noise_rng)))
    return out


def piper_engine():
    from voicecoach.voice.engines import VoiceUnavailable, open_engine

    try:
        engine, notice = open_engine("piper")
    except VoiceUnavailable as exc:
        print(f"keywords: no Piper voice ({exc}); the coach's own voice is left out", file=sys.stderr)
        return None
    if notice:
        print(f"keywords: {notice}; the coach's own voice is left out", file=sys.stderr)
        return None
    return engine


def say(engine, text: str) -> np.ndarray:
    return resample(engine.synthesize(text), engine.sample_rate, SAMPLE_RATE)


def coach_lines() -> list[str]:
    """Everything the coach says from content: the article, exercises' reasons and steps, cues."""
    from voicecoach.coach.timeline import cue_phrases
    from voicecoach.content.loader import load_content

    content = load_content()
    lines: dict[str, None] = {}
    for topic in content.topics.values():
        lines.update(dict.fromkeys(topic.sentences))
    for exercise in content.exercises.values():
        lines.update(dict.fromkeys((*exercise.why, *exercise.steps)))
    lines.update(dict.fromkeys(content.safety))
    lines.update(dict.fromkeys(cue_phrases(content.exercises.values())))
    return list(lines)


def utterances_of(audio: np.ndarray) -> list[np.ndarray]:
    """The coach's speech cut as the listen loop would cut what the microphone hears."""
    from voicecoach.hearing.signal.sources import frames_of
    from voicecoach.hearing.signal.vad import Endpointer

    endpointer = Endpointer()
    cut = [u.audio for frame in frames_of(audio, 1.0) if (u := endpointer.push(frame)) is not None]
    last = endpointer.flush()
    return cut + ([last.audio] if last is not None else [])


def real_takes() -> list[tuple[str, str, np.ndarray]]:
    manifest = REAL / "manifest.tsv"
    if not manifest.exists():
        return []
    takes = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, transcript, intent, *_ = line.split("\t")
            takes.append((f"{name} ({transcript})", intent, read_wav(REAL / name)))
    return takes


# ----- running the checks ---------------------------------------------------------------------

class Baseline:
    """Plain Whisper + the matcher: what the listen loop does without the check."""

    def __init__(self, recognizer) -> None:
        from voicecoach.hearing.reading import read_intent
        from voicecoach.intents.load import load_catalog
        from voicecoach.intents.types import Context

        self.recognizer, self.catalog, self.read, self.context = recognizer, load_catalog(), read_intent, Context(exercising=True)

    def intent(self, audio: np.ndarray) -> str:
        return self.read(self.recognizer.transcribe(audio), self.catalog, self.context).match.intent


COLUMNS = ("check", "model", "either", "both", "baseline")


def run_set(takes, spotter, baseline, times: dict[str, list[float]], model=None) -> list[tuple]:
    """(name, expected, check score, check intent, baseline intent, model score, model intent,
    Whisper's free transcript) a take."""
    rows = []
    for name, expected, audio in takes:
        started = time.perf_counter()
        measured = spotter.measure(audio)
        times["check"].append(1000 * (time.perf_counter() - started))
        best = None if measured is None else KeywordHit(*spotter.named(measured), round(spotter.score(measured), 3))
        if best is not None and best.score >= 0 and expected not in BARGE_IN_INTENTS:
            print(f"  false hit: {name!r} as {best.phrase!r} ({best.score:+.2f})", file=sys.stderr)
        started = time.perf_counter()
        heard = baseline.intent(audio)
        times["baseline"].append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        by_model = model.best(audio) if model is not None else None
        times["model"].append(1000 * (time.perf_counter() - started))
        if by_model is not None and by_model.score >= 0 and expected not in BARGE_IN_INTENTS:
            print(f"  false hit (model): {name!r} as {by_model.phrase!r} ({by_model.score:+.3f})", file=sys.stderr)
        rows.append((name, expected, best.score if best else float("-inf"), best.intent if best else "none", heard,
                     by_model.score if by_model else float("-inf"), by_model.intent if by_model else "none",
                     measured.free_text.strip() if measured else ""))
    return rows


def verdicts(row, threshold: float) -> dict[str, str | None]:
    """The barge-in intent each column acts on for one row (None: no barge-in)."""
    _, _, score, intent, heard, model_score, model_intent = row[:7]
    check = intent if score >= threshold else None
    model = model_intent if model_score >= 0 else None
    # "both" is what the listen loop does (hearing/bargein/keyword_model.py's decide): the
    # model's hit counts unless the check's own score rules the utterance out, and its sure
    # pain overrules the check's command ("stop, that hurts").
    decided = decide(KeywordHit("", intent, score - threshold), KeywordHit("", model_intent, model_score))
    both = decided.intent if decided is not None else None
    return {"check": check, "model": model, "either": check or model, "both": both,
            "baseline": heard if heard in BARGE_IN_INTENTS else None}


def heard_share(rows, threshold: float) -> dict[str, int]:
    """Commands heard as the right intent, per column (and "n")."""
    counts = {c: sum(verdicts(r, threshold)[c] == r[1] for r in rows) for c in COLUMNS}
    return {**counts, "n": len(rows)}


def wrong_intents(rows, threshold: float) -> dict[str, int]:
    """Commands acted on as another barge-in intent (worse than a miss), per column (and "n")."""
    return {**{c: sum(verdicts(r, threshold)[c] not in (None, r[1]) for r in rows) for c in COLUMNS}, "n": len(rows)}


def false_hits(rows, threshold: float) -> dict[str, int]:
    """Hits of any barge-in intent on takes that are not barge-in commands, per column (and "n")."""
    others = [r for r in rows if r[1] not in BARGE_IN_INTENTS]
    return {**{c: sum(verdicts(r, threshold)[c] is not None for r in others) for c in COLUMNS}, "n": len(others)}


def is_clean_one_word(set_name: str) -> bool:
    return set_name.startswith("one-word") and "noise" not in set_name


def print_misses(sets: dict[str, list[tuple]], threshold: float) -> None:
    """Every command the checks together missed or took for another intent, clean one-word
    commands first (the target), with what each check made of it."""
    clean = [r for name, rows in sets.items() if is_clean_one_word(name) for r in rows]
    rest = [r for name, rows in sets.items() if not is_clean_one_word(name) for r in rows]
    print("\nmissed by both checks (check: score, phrase's intent, Whisper's free transcript; model: score, intent):")
    for label, rows in (("clean one-word commands", clean), ("in noise or with leading words", rest)):
        misses = [r for r in rows if verdicts(r, threshold)["both"] != r[1]]
        print(f"  {label}: {len(misses)} of {len(rows)}")
        for r in misses:
            print(f"    {r[0]:52} check {r[2]:+6.2f} {r[3]:11} {r[7][:24]!r:26} model {r[5]:+.3f} {r[6]}")


def print_row(label: str, counts: dict[str, int]) -> None:
    print(f"{label:44}" + "".join(f"{pct(counts[c], counts['n']):>15}" for c in COLUMNS))


def pct(a: int, n: int) -> str:
    return f"{a}/{n} ({100 * a / n:.0f}%)" if n else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer takes (a smoke run)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keyword-model", default=None, metavar="PATH", help="the keyword model (default: the shipped one)")
    parser.add_argument("--rows", type=Path, default=None, help="write every take's scores here (JSON lines)")
    args = parser.parse_args(argv)
    if shutil.which("espeak-ng") is None:
        print("keywords: espeak-ng is not installed (apt install espeak-ng)", file=sys.stderr)
        return 1
    from voicecoach.hearing.bargein.keyword_model import open_keyword_spotter
    from voicecoach.hearing.bargein.keywords import BargeInSpotter
    from voicecoach.hearing.asr.whisper import load_whisper

    recognizer = load_whisper(background=False, threads=2)
    spotter = BargeInSpotter(recognizer)
    baseline = Baseline(recognizer)
    model, notice = open_keyword_spotter(args.keyword_model)
    if model is None:
        print(f"keywords: {notice or 'keyword model off'}; its columns stay empty", file=sys.stderr)
    threshold = 0.0                       # the score is the margin above the spotter's floors
    rng = random.Random(args.seed)
    per = 3 if args.quick else 10
    piper = piper_engine()
    with tempfile.TemporaryDirectory() as tmp:
        one_word = espeak_takes(ONE_WORD, per, rng, Path(tmp))
        leading = espeak_takes(LEADING, max(2, per // 2), rng, Path(tmp))
        pain_after = espeak_takes(PAIN_AFTER_COMMAND, max(2, per // 2), rng, Path(tmp))
        others = espeak_takes([(o, "other") for o in OTHER_COMMANDS], max(1, per // 3), rng, Path(tmp))
        near = espeak_takes([(o, "near") for o in NEAR_WORDS], max(1, per // 3), rng, Path(tmp))
    takes = 1 if args.quick else 3                   # Piper samples noise as it speaks: each take differs
    own_one = [(f"{t} [piper {k}]", i, pad(say(piper, t), rng)) for t, i in ONE_WORD for k in range(takes)] if piper else []
    own_lead = [(f"{t} [piper {k}]", i, pad(say(piper, t), rng)) for t, i in LEADING for k in range(takes)] if piper else []
    all_lines = coach_lines()
    lines = all_lines[: 30 if args.quick else None]
    held_out = {line for i, line in enumerate(all_lines) if i % 4 == 3}      # never in the model's training
    coach_audio = [say(piper, line) for line in lines] if piper else []
    coach_cuts = [(f"coach: {line}", "coach", cut) for line, audio in zip(lines, coach_audio) for cut in utterances_of(audio)]
    coach_seconds = sum(len(a) for a in coach_audio) / SAMPLE_RATE
    held_seconds = sum(len(a) for line, a in zip(lines, coach_audio) if line in held_out) / SAMPLE_RATE
    noisy_coach = with_noise(coach_cuts, 15, args.seed)

    spotter.spot(np.zeros(SAMPLE_RATE, np.float32))        # warm every path before timing
    baseline.intent(np.zeros(SAMPLE_RATE, np.float32))
    if model is not None:
        model.spot(np.zeros(SAMPLE_RATE, np.float32))
    times: dict[str, list[float]] = {"check": [], "baseline": [], "model": []}
    scratch = {"check": [], "baseline": [], "model": []}
    sets = {
        "one-word, espeak-ng": run_set(one_word, spotter, baseline, times, model),
        "one-word, Piper (the coach's voice)": run_set(own_one, spotter, baseline, times, model),
        "one-word, espeak-ng, noise 10 dB": run_set(with_noise(one_word, 10, args.seed), spotter, baseline, times, model),
        "leading words, espeak-ng": run_set(leading, spotter, baseline, times, model),
        "leading words, Piper": run_set(own_lead, spotter, baseline, times, model),
        "leading words, noise 10 dB": run_set(with_noise(leading, 10, args.seed + 1), spotter, baseline, times, model),
        "pain after a command, espeak-ng": run_set(pain_after, spotter, baseline, times, model),
    }
    real = real_takes()
    real_rows = run_set(real, spotter, baseline, {k: [] for k in scratch}, model) if real else []
    if args.rows is not None:
        with args.rows.open("w", encoding="utf-8") as out:
            for name, rows in sets.items():
                for row in rows:
                    out.write(json.dumps({"set": name, "row": row}) + "\n")
    other_rows = run_set(others, spotter, baseline, {k: [] for k in scratch}, model)
    near_rows = run_set(near, spotter, baseline, {k: [] for k in scratch}, model)
    coach_rows = run_set(coach_cuts + noisy_coach, spotter, baseline, {k: [] for k in scratch}, model)
    if args.rows is not None:
        with args.rows.open("a", encoding="utf-8") as out:
            for name, rows in (("other", other_rows), ("near", near_rows), ("coach", coach_rows), ("real", real_rows)):
                for row in rows:
                    out.write(json.dumps({"set": name, "row": row}) + "\n")
    coach_hours = 2 * coach_seconds / 3600        # clean and noisy

    print(f"floors: phrase log-probability {spotter.phrase_floor:g}, ratio to the free transcript {spotter.ratio_floor:g}")
    if model is not None:
        print(f"keyword model: {model.head.about and json.loads(model.head.about).get('summary', '')}")
    print(f"\n{'set':44}" + "".join(f"{c:>15}" for c in COLUMNS))
    for name, rows in sets.items():
        print_row(name, heard_share(rows, threshold))
    all_one = [r for k, rows in sets.items() if is_clean_one_word(k) for r in rows]
    print_row("clean one-word commands (target 97%)", heard_share(all_one, threshold))
    print_row("all commands with leading words", heard_share([r for k, rows in sets.items() if k.startswith("leading")
                                                               for r in rows], threshold))
    print_row("commands taken as another phrase's intent", wrong_intents([r for rows in sets.values() for r in rows],
                                                                          threshold))
    print(f"\ncoach's own lines: {len(lines)} lines, {coach_seconds / 60:.1f} min, {len(coach_rows)} utterances "
          f"(clean + 15 dB noise); {held_seconds / 60:.1f} min of them never in the model's training")
    for label, rows, hours in (("all lines", coach_rows, coach_hours),
                               ("held-out lines", [r for r in coach_rows if r[0][len("coach: "):] in held_out],
                                2 * held_seconds / 3600)):
        if hours:
            hits = false_hits(rows, threshold)
            print(f"{'false barge-ins per hour, ' + label:44}" + "".join(
                f"{hits[c] / hours:>8.1f} ({hits[c]:>2})" for c in COLUMNS) + f"   (hits in {60 * hours:.0f} min)")
    print_row("other commands taken for one", false_hits(other_rows, threshold))
    print_row("words that sound like one, taken for one", false_hits(near_rows, threshold))
    if real_rows:
        print_row("real recordings: barge-in commands", heard_share([r for r in real_rows if r[1] in BARGE_IN_INTENTS], threshold))
        print_row("real recordings: other clips taken for one", false_hits(real_rows, threshold))
    for key in ("check", "model", "baseline"):
        values = sorted(times[key])
        if values:
            p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
            print(f"time per utterance, {key:9} median {statistics.median(values):6.1f} ms   p95 {p95:6.1f} ms")
    ratio = statistics.median(times["check"]) / statistics.median(times["baseline"])
    print(f"check / baseline median time: {ratio:.2f}")

    coach_scores = sorted((r[2] for r in coach_rows), reverse=True)
    print(f"\nhighest check scores on the coach's lines (a hit is 0 or more): {[round(s, 2) for s in coach_scores[:5]]}")
    model_scores = sorted(((r[5], r[0]) for r in coach_rows), reverse=True)[:5]
    print(f"highest model scores on the coach's lines: {[(round(s, 3), n[:50]) for s, n in model_scores]}")
    print_misses(sets, threshold)
    if real_rows:
        print("real barge-in commands:", [(r[0], round(r[2], 2), r[3], r[4], round(r[5], 3), r[6])
                                          for r in real_rows if r[1] in BARGE_IN_INTENTS])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
