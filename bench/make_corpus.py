"""Synthesize a speech corpus from the intent templates, for choosing thresholds and benchmarks.

    python bench/make_corpus.py [OUT_DIR] [--count 240] [--seed 7]

Sentences come from the catalog's template samples (so the corpus follows the templates,
the single source of truth) plus out-of-domain sentences and single words; an out-of-domain
sentence that our own matcher reads as a command ("go" is "start") is left out, since its
label would be wrong. Each sentence is spoken by espeak-ng in one of several voices, rates
and pitches; every second one gets background noise (pink noise with a mains hum) mixed in
at 5, 10, 15 or 20 dB SNR, measured against the speech itself, not the silence around it.
Writes WAVs (16 kHz mono 16-bit) and manifest.tsv in the layout of ../shared/audio:
file, transcript, intent, slots (JSON), source (voice, rate, pitch, noise).
The same seed gives the same corpus. Needs the espeak-ng program (apt install espeak-ng).
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from voicecoach.hearing.signal.audio import SAMPLE_RATE, read_wav, write_wav  # noqa: E402

VOICES = ["en-us", "en-us+m3", "en-us+f2", "en", "en+f3", "en-gb-x-rp", "en-gb-x-rp+f4", "en-gb-scotland+m2",
          "en-029+m5", "en-gb-x-gbclan+f1"]
RATES = range(130, 200, 10)          # words per minute; espeak's default is 175
PITCHES = range(30, 75, 5)           # 0-99; espeak's default is 50
SNRS_DB = (5, 10, 15, 20)
OUT_OF_DOMAIN = [
    "what's the weather like today", "turn off the kitchen lights", "play some jazz", "call my sister",
    "set an alarm for six thirty", "what time is it", "add eggs to the shopping list", "how tall is the eiffel tower",
    "lock the front door", "order a pizza", "tell me a joke", "what's on my calendar tomorrow",
    "turn the volume down", "open the garage door", "who won the football game", "read my messages",
    "what's the capital of spain", "remind me to water the plants", "start the dishwasher", "good morning",
    "how do i make pancakes", "send an email to my boss", "navigate to the station", "what's the news",
]
OOD_WORDS = ["cat", "dog", "bird", "house", "tree", "happy", "bed", "wow", "marvin", "sheila", "up", "down",
             "left", "right", "on", "off", "seven", "zero", "go", "learn", "follow", "forward", "visual"]
IN_DOMAIN_SHARE = 0.7

Sample = tuple[str, str, dict]       # (sentence, intent, slots) as Catalog.samples() yields them


@dataclass(frozen=True)
class Take:
    file: str
    text: str
    intent: str
    slots: dict
    source: str

    def row(self) -> str:
        return f"{self.file}\t{self.text}\t{self.intent}\t{json.dumps(self.slots, sort_keys=True)}\t{self.source}"


def pick_sentences(samples: Iterable[Sample], count: int, rng: random.Random,
                   out_of_domain: list[str], parses: Callable[[str], bool] = lambda text: False) -> list[Sample]:
    """`count` sentences: IN_DOMAIN_SHARE of them spread evenly over the intents, the rest out of domain."""
    by_intent: dict[str, list[Sample]] = defaultdict(list)
    for text, intent, slots in samples:
        by_intent[intent].append((text, intent, dict(slots)))
    if not by_intent:
        raise ValueError("the catalog gave no sample sentences")
    ood = sorted({text for text in out_of_domain if not parses(text)})
    in_domain = count if not ood else round(count * IN_DOMAIN_SHARE)
    chosen: list[Sample] = []
    intents = sorted(by_intent)
    while len(chosen) < in_domain:
        for intent in intents:
            chosen.append(rng.choice(by_intent[intent]))
    chosen = chosen[:in_domain]
    while len(chosen) < count:
        chosen.append((rng.choice(ood), "none", {}))
    rng.shuffle(chosen)
    return chosen


def speak(text: str, voice: str, rate: int, pitch: int, path: Path) -> None:
    result = subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(path), text],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"espeak-ng -v {voice} failed: {' '.join(result.stderr.split())}")


def room_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    """Pink-ish noise (white noise through a gentle low-pass) with a little 100 Hz hum."""
    white = rng.standard_normal(length)
    pink = np.convolve(white, np.ones(8) / 8, mode="same")
    hum = 0.3 * np.std(pink) * np.sin(2 * np.pi * 100 * np.arange(length) / SAMPLE_RATE)
    return (pink + hum).astype(np.float32)


def mix_at_snr(speech: np.ndarray, padded: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """`padded` (speech with silence around it) plus noise at `snr_db` below the speech's own power."""
    noise = room_noise(len(padded), rng)
    speech_power = float(np.mean(np.square(speech, dtype=np.float64))) + 1e-12
    noise *= np.sqrt(speech_power / 10 ** (snr_db / 10) / (float(np.mean(np.square(noise, dtype=np.float64))) + 1e-12))
    return np.clip(padded + noise, -1.0, 1.0).astype(np.float32)


def make_corpus(out: Path, samples: Iterable[Sample], count: int, seed: int,
                parses: Callable[[str], bool] = lambda text: False) -> list[Take]:
    rng = random.Random(seed)
    noise_rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    takes: list[Take] = []
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        for i, (text, intent, slots) in enumerate(pick_sentences(samples, count, rng, OUT_OF_DOMAIN + OOD_WORDS, parses)):
            voice, rate, pitch = rng.choice(VOICES), rng.choice(RATES), rng.choice(PITCHES)
            speak(text, voice, rate, pitch, raw)
            speech = read_wav(raw) * rng.uniform(0.3, 0.9)
            # Real commands come with a little silence around them.
            lead, tail = (np.zeros(int(rng.uniform(0.1, 0.5) * SAMPLE_RATE), dtype=np.float32) for _ in range(2))
            audio = np.concatenate([lead, speech, tail]).astype(np.float32)
            source = f"espeak-ng {voice} s{rate} p{pitch}"
            if i % 2:
                snr = rng.choice(SNRS_DB)
                audio = mix_at_snr(speech, audio, snr, noise_rng)
                source += f" noise{snr}dB"
            name = f"syn_{i:04d}.wav"
            write_wav(out / name, audio)
            takes.append(Take(name, text, intent, dict(slots), source))
    header = "# file\ttranscript\tintent\tslots(json)\tsource (espeak-ng voice, rate, pitch, noise SNR)"
    (out / "manifest.tsv").write_text("\n".join([header] + [t.row() for t in takes]) + "\n", encoding="utf-8")
    return takes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=REPO / "bench" / "out" / "corpus")
    parser.add_argument("--count", type=int, default=240, help="utterances to make (default 240)")
    parser.add_argument("--seed", type=int, default=7, help="the same seed gives the same corpus")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"--count must be at least 1, got {args.count}")
    if shutil.which("espeak-ng") is None:
        print("make_corpus: espeak-ng is not installed (apt install espeak-ng)", file=sys.stderr)
        return 1
    from voicecoach.intents.load import load_catalog
    from voicecoach.intents.matcher import recognize

    catalog = load_catalog()
    takes = make_corpus(args.out, catalog.samples(per_template=4), args.count, args.seed,
                        parses=lambda text: recognize(text, catalog).intent != "none")
    in_domain = sum(t.intent != "none" for t in takes)
    print(f"wrote {len(takes)} utterances ({in_domain} commands, {len(takes) - in_domain} out of domain, "
          f"{sum('noise' in t.source for t in takes)} with noise) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
