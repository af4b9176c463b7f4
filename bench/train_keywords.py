"""Train the barge-in keyword model (voicecoach/hearing/models/barge_in_keywords.npz).

    python bench/train_keywords.py [--out PATH] [--window 16] [--quick]

Everything is synthesized here, nothing downloaded, and the same run gives the same weights:
- positives: "stop", "pause", "wait", "hold on", "hang on", "ouch", "that hurts", "it hurts",
  alone and after leading words ("okay stop", "no wait", "ouch that hurts"), said by
  espeak-ng in TRAIN_VOICES (voices and rates that bench/keywords.py and bench/barge_in.py
  never use) and by the coach's Piper voice (its noise off, at several speeds);
- negatives: the coach's own lines in its Piper voice, cut as the listen loop cuts them
  (three quarters of the lines; the rest are held out), other commands ("start", "resume",
  "how long left"), words that sound like a phrase ("top", "paws", "weight", "shop", "post"),
  short pieces of the article in espeak-ng voices, silence and noise;
- each take augmented: time shift, level, a room simulated with pyroomacoustics (seed 23;
  bench/barge_in.py uses 7), room noise at 5-30 dB SNR, and what an echo canceller leaves of
  the coach's voice, 8-25 dB under the user.
Held out and reported: espeak-ng voices of bench/make_corpus.py at its rates (never trained
on), VALIDATION_VOICES (used only to choose the threshold), and a quarter of the coach's
lines (validation) and another quarter (test). The real recordings in ../shared/audio are
never used here.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from make_corpus import RATES as BENCH_RATES, VOICES as BENCH_VOICES, room_noise, speak  # noqa: E402

from voicecoach.hearing.audio import SAMPLE_RATE, read_wav, resample  # noqa: E402
from voicecoach.hearing.keyword_model import (SHIPPED_MODEL, KeywordHead, SpeechEmbeddings,  # noqa: E402
                                              head_features)

CLASSES = ("none", "stop", "pause", "report_pain")
OTHER, COACH, HOMOPHONE = 0, 1, 2          # kinds of take, for choosing the threshold and reporting
POSITIVES = {
    "stop": ["stop", "okay stop", "and stop", "stop stop", "no stop", "hey stop", "oh stop", "so stop", "um stop",
             "please stop", "okay okay stop"],
    "pause": ["pause", "wait", "hold on", "hang on", "no wait", "okay wait", "wait wait", "oh wait", "oh hold on",
              "okay hang on", "okay pause", "uh wait", "hey hold on", "pause pause"],
    "report_pain": ["ouch", "that hurts", "it hurts", "ouch ouch", "oh that hurts", "ouch that hurts", "ow that hurts",
                    "oh it hurts", "okay that hurts", "ouch it hurts"],
}
OTHER_COMMANDS = ["start", "resume", "yes", "no", "next", "how long left", "keep going", "skip", "repeat", "slower",
                  "faster", "go back", "help", "continue", "okay", "ready", "done", "start again", "what's next",
                  "carry on", "go on", "hold it there", "stopping", "i'm ready", "thanks"]
# "weight" is "wait" and "paws" is "pause" to the ear: they are measured, never trained as "none".
HOMOPHONES = ["weight", "paws", "pours"]
TWO_WORD_COMMANDS = ("hold on", "hang on", "that hurts", "it hurts")
MAX_WINDOW = 12
SOUND_ALIKES = ["top", "shop", "post", "pass", "hold", "what", "stack", "cop", "spot", "store",
                "pose", "wake", "way", "hurt", "hearts", "couch", "out", "that's hers", "it's hers", "hang up",
                "hold up", "bait", "late", "stopwatch", "paused it", "hot", "pot"]
# espeak-ng voices (language+variant) never used by the benchmarks; rates off their grid.
TRAIN_VOICES = ["en-us+m1", "en-us+m5", "en-us+f1", "en-us+f4", "en-us+m7", "en-gb+m2", "en-gb+f2", "en-gb+m4",
                "en-gb+f5", "en-gb-x-rp+m6", "en-gb-x-rp+f3", "en-gb-scotland+f5", "en-gb-scotland", "en-029+f3",
                "en-029", "en-gb-x-gbcwmd+m7", "en-gb-x-gbcwmd", "en-gb-x-gbclan+m3", "en-us+Andy", "en-gb+Alicia",
                "en-us+Denis", "en-gb+Edward", "en-us+Annie", "en-us+klatt", "en-us+m2", "en-us+m4", "en-gb+m1",
                "en-gb+f1", "en-us+m6", "en-gb-x-rp+m4", "en-029+m1", "en-gb-scotland+m6", "en-gb-x-gbclan+f4",
                "en-us+Michael", "en-gb+Steph", "en-us+David"]
VALIDATION_VOICES = ["en-us+f5", "en-gb+m6", "en-gb-x-rp+m2", "en-us+Gene"]
TRAIN_RATES = [115, 125, 135, 145, 155, 165, 185, 195, 205]
PITCHES = list(range(25, 85, 5))
PIPER_SPEEDS = [0.8, 0.9, 1.0, 1.1, 1.25]
ROOM_SEED = 23
COACH_WEIGHT = 3.0         # a coach line taken for a phrase is a false barge-in: its takes count three times
SEED = 3


@dataclass
class Take:
    text: str
    label: str
    audio: np.ndarray       # 16 kHz, dry, trimmed
    source: str             # "espeak VOICE", "piper"


# ----- making the takes ---------------------------------------------------------------------------

def kind_of(take: Take) -> int:
    return COACH if take.source.endswith("coach") else HOMOPHONE if take.text in HOMOPHONES else OTHER


def label_of(text: str) -> str:
    return next((label for label, texts in POSITIVES.items() if text in texts), "none")


def espeak_takes(texts: list[str], voices: list[str], rates, rng: random.Random, per: int = 1) -> list[Take]:
    takes = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.wav"
        for text in texts:
            for voice in voices:
                for _ in range(per):
                    rate, pitch = rng.choice(list(rates)), rng.choice(PITCHES)
                    speak(text, voice, rate, pitch, path)
                    takes.append(Take(text, label_of(text), trim(read_wav(path)), f"espeak {voice} s{rate} p{pitch}"))
    return takes


def piper_takes(engine, texts: list[str], speeds: list[float]) -> list[Take]:
    takes = []
    for speed in speeds:
        engine.rate = speed
        for text in texts:
            audio = resample(engine.synthesize(text), engine.sample_rate, SAMPLE_RATE)
            takes.append(Take(text, label_of(text), trim(audio), f"piper x{speed}"))
    engine.rate = 1.0
    return takes


def trim(audio: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > 0.01 * (np.abs(audio).max() + 1e-9))
    return audio[loud[0]:loud[-1] + 1].astype(np.float32) if len(loud) else audio.astype(np.float32)


def coach_cuts(engine, lines: list[str], speeds: list[float]) -> list[Take]:
    """The coach's lines in its voice, cut by the listen loop's end-of-speech detector; only
    utterances a barge-in check ever sees (3 s or shorter) are kept."""
    from keywords import utterances_of

    from voicecoach.voice.lexicon import split_for_speech

    takes = []
    for speed in speeds:
        engine.rate = speed
        for line in lines:
            audio = np.concatenate([resample(engine.synthesize(part), engine.sample_rate, SAMPLE_RATE)
                                    for part in split_for_speech(line)])
            for cut in utterances_of(audio):
                if len(cut) <= 3.0 * SAMPLE_RATE:
                    takes.append(Take(line, "none", cut.astype(np.float32), f"piper x{speed} coach"))
    engine.rate = 1.0
    return takes


def article_pieces(lines: list[str], rng: random.Random, count: int) -> list[str]:
    """Two to six words from the coach's sentences, for espeak-ng voices to say."""
    pieces = []
    for _ in range(count):
        words = rng.choice(lines).replace(",", "").replace(".", "").split()
        size = rng.randint(2, 6)
        start = rng.randint(0, max(0, len(words) - size))
        pieces.append(" ".join(words[start:start + size]))
    return pieces


# ----- augmentation --------------------------------------------------------------------------------

def make_rooms(count: int, seed: int = ROOM_SEED) -> list[np.ndarray]:
    import pyroomacoustics as pra

    rng = np.random.default_rng(seed)
    rirs = []
    for _ in range(count):
        dims = np.array([rng.uniform(2.5, 8), rng.uniform(2.5, 7), rng.uniform(2.3, 3.2)])
        absorption, order = pra.inverse_sabine(rng.uniform(0.15, 0.9), dims)
        room = pra.ShoeBox(dims, fs=SAMPLE_RATE, materials=pra.Material(absorption), max_order=min(order, 10))
        mic = np.array([rng.uniform(0.8, dims[0] - 0.8), rng.uniform(0.8, dims[1] - 0.8), rng.uniform(0.2, 1.2)])
        angle = rng.uniform(0, 2 * np.pi)
        source = mic + rng.uniform(0.4, 2.2) * np.array([np.cos(angle), np.sin(angle), 0.0])
        source[:2] = np.clip(source[:2], 0.3, dims[:2] - 0.3)
        source[2] = rng.uniform(0.2, 1.7)
        room.add_source(source)
        room.add_microphone(mic)
        room.compute_rir()
        rir = np.asarray(room.rir[0][0], np.float32)
        rirs.append(rir / (np.abs(rir).max() + 1e-9))
    return rirs


class Augmenter:
    def __init__(self, rirs: list[np.ndarray], echo_sources: list[np.ndarray], seed: int) -> None:
        self.rirs, self.echo = rirs, echo_sources
        self.rng = np.random.default_rng(seed)

    def __call__(self, audio: np.ndarray, plain: bool = False) -> np.ndarray:
        rng = self.rng
        speech = audio
        if not plain and rng.random() < 0.6:
            speech = np.convolve(speech, self.rirs[rng.integers(len(self.rirs))])[:len(speech) + SAMPLE_RATE // 2]
        lead, tail = (np.zeros(int(rng.uniform(a, b) * SAMPLE_RATE), np.float32) for a, b in ((0.05, 0.4), (0.05, 0.35)))
        out = np.concatenate([lead, speech, tail]).astype(np.float32)
        level = 10 ** (rng.uniform(-34, -14) / 20) / (np.sqrt(np.mean(np.square(speech))) + 1e-9)
        out *= level
        power = float(np.mean(np.square(speech * level))) + 1e-12
        if not plain and self.echo and rng.random() < 0.35:         # what a canceller leaves of the coach
            source = self.echo[rng.integers(len(self.echo))]
            start = rng.integers(max(1, len(source) - len(out)))
            residue = source[start:start + len(out)]
            residue = np.convolve(residue, self.rirs[rng.integers(len(self.rirs))])[:len(out)]
            residue = np.pad(residue, (0, len(out) - len(residue)))
            residue *= np.sqrt(power / 10 ** (rng.uniform(8, 25) / 10) / (np.mean(np.square(residue)) + 1e-12))
            out = out + residue.astype(np.float32)
        if not plain and rng.random() < 0.7:
            noise = room_noise(len(out), rng)
            noise *= np.sqrt(power / 10 ** (rng.uniform(5, 30) / 10) / (np.mean(np.square(noise)) + 1e-12))
            out = out + noise
        return np.clip(out, -1, 1).astype(np.float32)


def silence_and_noise(count: int, rng: np.random.Generator) -> list[np.ndarray]:
    clips = []
    for _ in range(count):
        length = int(rng.uniform(0.3, 2.5) * SAMPLE_RATE)
        clips.append((room_noise(length, rng) * 10 ** (rng.uniform(-70, -30) / 20)).astype(np.float32))
    return clips


# ----- training -------------------------------------------------------------------------------------

def embed_all(embed: SpeechEmbeddings, clips: list[np.ndarray], window: int) -> tuple[np.ndarray, np.ndarray]:
    """(the last `window` embeddings of each clip, its seconds)."""
    return np.stack([embed(c, last=window) for c in clips]), np.array([len(c) / SAMPLE_RATE for c in clips])


def features(embedded: tuple[np.ndarray, np.ndarray], window: int, segments: int) -> np.ndarray:
    windows, seconds = embedded
    return np.stack([head_features(w[-window:], s, segments) for w, s in zip(windows, seconds)])


def train_head(x: np.ndarray, y: np.ndarray, kind: np.ndarray, window: int, segments: int, hidden: int, epochs: int,
               seed: int) -> KeywordHead:
    """A one-hidden-layer network, cross-entropy with balanced class weights, Adam, L2."""
    rng = np.random.default_rng(seed)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-3
    xs = (x - mean) / scale
    n, d = xs.shape
    k = len(CLASSES)
    counts = np.bincount(y, minlength=k)
    weights = (n / (k * np.maximum(counts, 1)))[y] * np.where(kind == COACH, COACH_WEIGHT, 1.0)
    params = {"w1": rng.normal(0, np.sqrt(2 / d), (d, hidden)), "b1": np.zeros(hidden),
              "w2": rng.normal(0, np.sqrt(1 / hidden), (hidden, k)), "b2": np.zeros(k)}
    moments = {name: (np.zeros_like(p), np.zeros_like(p)) for name, p in params.items()}
    onehot = np.eye(k)[y]
    step, lr, decay, batch = 0, 1e-3, 1e-3, 64
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            xb = xs[idx] + rng.normal(0, 0.1, (len(idx), d))        # a little input noise against overfitting
            h_pre = xb @ params["w1"] + params["b1"]
            h = np.maximum(0, h_pre)
            logits = h @ params["w2"] + params["b2"]
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            g_logits = (p - onehot[idx]) * weights[idx, None] / len(idx)
            grads = {"w2": h.T @ g_logits + decay * params["w2"], "b2": g_logits.sum(axis=0)}
            g_h = (g_logits @ params["w2"].T) * (h_pre > 0)
            grads["w1"] = xb.T @ g_h + decay * params["w1"]
            grads["b1"] = g_h.sum(axis=0)
            step += 1
            for name, g in grads.items():
                m, v = moments[name]
                m[:] = 0.9 * m + 0.1 * g
                v[:] = 0.999 * v + 0.001 * g * g
                params[name] -= lr * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    return KeywordHead(window, segments, CLASSES, mean, scale, params["w1"], params["b1"], params["w2"], params["b2"], threshold=0.5)


def keyword_scores(head: KeywordHead, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(best phrase class's probability, its label index) for each row."""
    p = head.probabilities(x)[:, 1:]
    return p.max(axis=1), p.argmax(axis=1) + 1


def report(name: str, head: KeywordHead, x: np.ndarray, y: np.ndarray, kind: np.ndarray, threshold: float) -> dict:
    score, which = keyword_scores(head, x)
    hit = score >= threshold
    positives = y > 0
    others = ~positives & (kind != HOMOPHONE)
    right = int(np.sum(hit & positives & (which == y)))
    false = int(np.sum(hit & others))
    homophones = int(np.sum(hit & (kind == HOMOPHONE)))
    line = {"set": name, "commands": int(positives.sum()), "heard": right, "others": int(others.sum()), "false_hits": false,
            "homophones": int(np.sum(kind == HOMOPHONE)), "homophone_hits": homophones}
    print(f"  {name:44} heard {right}/{int(positives.sum())}   false hits {false}/{int(others.sum())}"
          + (f"   homophones taken {homophones}/{line['homophones']}" if line["homophones"] else ""))
    return line


def choose_threshold(head: KeywordHead, x: np.ndarray, y: np.ndarray, kind: np.ndarray) -> float:
    """The lowest threshold (from 0.5) at which no validation coach line is a hit and at most
    5% of the other validation negatives (other voices' other commands, sound-alikes; not the
    homophones, which no ear tells apart) are."""
    score, _ = keyword_scores(head, x)
    coach = kind == COACH
    for threshold in np.arange(0.5, 0.995, 0.01):
        hits = score >= threshold
        others = (y == 0) & (kind == OTHER)
        if not np.any(hits & coach) and np.sum(hits & others) <= 0.05 * max(1, np.sum(others)):
            return round(float(threshold), 2)
    return 0.99


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--window", type=int, default=10, help="embeddings (80 ms each) the head looks at")
    parser.add_argument("--segments", type=int, default=2, help="parts of the window averaged")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--compare", action="store_true", help="also train other windows and segments, and print them")
    parser.add_argument("--cache", type=Path, default=None, help="keep the embeddings here (made once, then reused)")
    parser.add_argument("--quick", action="store_true", help="fewer voices and takes (a smoke run; not for shipping)")
    args = parser.parse_args(argv)
    if shutil.which("espeak-ng") is None:
        print("train_keywords: espeak-ng is not installed (apt install espeak-ng)", file=sys.stderr)
        return 1
    started = time.perf_counter()
    if args.cache is not None and args.cache.exists():
        with np.load(args.cache) as saved:
            sets = {key[:-2]: (saved[key], saved[key[:-2] + ".s"], saved[key[:-2] + ".y"], saved[key[:-2] + ".c"])
                    for key in saved.files if key.endswith(".w")}
            coach_seconds = float(saved["coach_seconds"])
            making = float(saved["making_seconds"]) if "making_seconds" in saved.files else 0.0
        print(f"embeddings from {args.cache} (made in {making:.0f} s)")
    else:
        sets, coach_seconds = make_sets(args.quick)
        making = time.perf_counter() - started
        if args.cache is not None:
            arrays = {f"{name}.{k}": v for name, (w, s, y, c) in sets.items() for k, v in zip("wsyc", (w, s, y, c))}
            np.savez_compressed(args.cache, coach_seconds=coach_seconds, making_seconds=making, **arrays)
    embedded_at = time.perf_counter()
    print(f"  embeddings ready ({embedded_at - started:.0f} s)", flush=True)

    def fit(window: int, segments: int) -> tuple[KeywordHead, float]:
        w, s, y, kind = sets["train"]
        head = train_head(features((w, s), window, segments), y, kind, window, segments, args.hidden, args.epochs, SEED)
        wv, sv, yv, cv = sets["validation"]
        return head, choose_threshold(head, features((wv, sv), window, segments), yv, cv)

    if args.compare:
        print("window, segments: validation commands heard at the chosen threshold")
        for window, segments in ((8, 2), (10, 2), (12, 2), (12, 3), (12, 4)):
            if window > sets["train"][0].shape[1]:
                continue
            head, threshold = fit(window, segments)
            wv, sv, yv, _ = sets["validation"]
            score, which = keyword_scores(head, features((wv, sv), window, segments))
            heard = int(np.sum((score >= threshold) & (yv > 0) & (which == yv)))
            print(f"  {window:2} ({window * 80} ms), {segments}: threshold {threshold:.2f}, heard {heard}/{int(np.sum(yv > 0))}")
    head, threshold = fit(args.window, args.segments)
    print(f"threshold {threshold:.2f}")
    results = []
    for name, (w, s, y, kind) in sets.items():
        results.append(report(name, head, features((w, s), args.window, args.segments), y, kind, threshold))
    took = time.perf_counter() - embedded_at + making       # the whole run, embeddings made once
    summary = (f"window {args.window} embeddings ({args.window * 80} ms) in {args.segments} parts, hidden {args.hidden}, "
               f"{len(sets['train'][2])} training clips, threshold {threshold:.2f}, made in {took:.0f} s")
    about = json.dumps({"summary": summary, "results": results, "test_coach_minutes": round(coach_seconds / 60, 1),
                        "train_voices": TRAIN_VOICES, "validation_voices": VALIDATION_VOICES, "seed": SEED})
    head = KeywordHead(head.window, head.segments, head.classes, head.mean, head.scale, head.w1, head.b1, head.w2,
                       head.b2, threshold, about)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    head.save(args.out)
    print(f"{summary}\nheld-out coach speech: {coach_seconds / 60:.1f} min of lines (clean and augmented: "
          f"{results[-1]['false_hits'] + results[-2]['false_hits']} false hits)\n"
          f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB) in {took:.0f} s")
    return 0


def make_sets(quick: bool) -> tuple[dict, float]:
    """Every set's (last MAX_WINDOW embeddings, seconds, label index, is a coach line), and the
    held-out coach lines' length in seconds."""
    from keywords import coach_lines, piper_engine

    rng = random.Random(SEED)
    engine = piper_engine()
    if engine is None:
        raise SystemExit(1)
    engine.noise_scale = 0.0            # reproducible takes; the benchmarks keep Piper's own noise
    voices = TRAIN_VOICES[:6] if quick else TRAIN_VOICES
    lines = coach_lines()
    train_lines = [line for i, line in enumerate(lines) if i % 4 < 2]
    validation_lines = [line for i, line in enumerate(lines) if i % 4 == 2]
    test_lines = [line for i, line in enumerate(lines) if i % 4 == 3]
    positive_texts = [t for texts in POSITIVES.values() for t in texts]
    negative_texts = OTHER_COMMANDS + SOUND_ALIKES
    started = time.perf_counter()
    print("making takes ...", flush=True)
    train = espeak_takes(positive_texts, voices, TRAIN_RATES, rng, per=1 if quick else 2)
    train += espeak_takes(negative_texts, voices, TRAIN_RATES, rng)
    train += espeak_takes(article_pieces(train_lines, rng, 60 if quick else 240), rng.sample(voices, 4), TRAIN_RATES, rng)
    train += piper_takes(engine, positive_texts + negative_texts, PIPER_SPEEDS)
    train += coach_cuts(engine, train_lines, [0.85, 0.9, 1.0, 1.1, 1.2])
    validation = espeak_takes(positive_texts[::2] + negative_texts[::2] + HOMOPHONES, VALIDATION_VOICES, TRAIN_RATES, rng)
    validation_coach = coach_cuts(engine, validation_lines, [0.9, 1.0, 1.1])
    one_word = [t for texts in POSITIVES.values() for t in texts if len(t.split()) == 1 or t in TWO_WORD_COMMANDS]
    test = espeak_takes(one_word + negative_texts + HOMOPHONES, BENCH_VOICES, BENCH_RATES, rng)
    test_coach = coach_cuts(engine, test_lines, [1.0])
    coach_seconds = sum(len(resample(engine.synthesize(line), engine.sample_rate, SAMPLE_RATE)) for line in test_lines) / SAMPLE_RATE
    print(f"  {len(train)} training takes, {len(validation) + len(validation_coach)} validation, "
          f"{len(test)} + {len(test_coach)} test ({time.perf_counter() - started:.0f} s)", flush=True)

    echo_sources = [resample(engine.synthesize(line), engine.sample_rate, SAMPLE_RATE) for line in train_lines[:12]]
    augment = Augmenter(make_rooms(6 if quick else 16), echo_sources, seed=SEED)
    nprng = np.random.default_rng(SEED)
    copies = 1 if quick else 2
    clips: dict[str, list[tuple[np.ndarray, str, int]]] = {"train": [], "validation": []}
    for take in train:
        for copy in range(copies):
            clips["train"].append((augment(take.audio, plain=copy == 0 and take.source.startswith("piper")), take.label,
                                   kind_of(take)))
    clips["train"] += [(clip, "none", OTHER) for clip in silence_and_noise(100, nprng)]
    for plain in (True, False):
        clips["validation"] += [(augment(t.audio, plain=plain), t.label, kind_of(t)) for t in validation + validation_coach]
    clips["held-out espeak voices, clean"] = [(augment(t.audio, plain=True), t.label, kind_of(t)) for t in test]
    clips["held-out espeak voices, augmented"] = [(augment(t.audio), t.label, kind_of(t)) for t in test]
    clips["held-out coach lines, clean"] = [(augment(t.audio, plain=True), "none", COACH) for t in test_coach]
    clips["held-out coach lines, augmented"] = [(augment(t.audio), "none", COACH) for t in test_coach]
    print(f"embedding {sum(len(c) for c in clips.values())} clips ...", flush=True)
    embed = SpeechEmbeddings()
    sets = {}
    for name, rows in clips.items():
        windows, seconds = embed_all(embed, [r[0] for r in rows], MAX_WINDOW)
        sets[name] = (windows, seconds, np.array([CLASSES.index(r[1]) for r in rows]), np.array([r[2] for r in rows]))
    return sets, coach_seconds


if __name__ == "__main__":
    raise SystemExit(main())
