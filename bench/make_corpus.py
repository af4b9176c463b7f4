"""Synthesize a speech corpus from the intent templates, for choosing thresholds and benchmarks.

    python bench/make_corpus.py [OUT_DIR] [--count 240] [--seed 7]

Sentences come from the catalog's template samples (so the corpus follows the templates,
the single source of truth) plus out-of-domain sentences and single words. Each is spoken
by espeak-ng in one of several voices, rates and pitches, and half get background noise
mixed in at 5-20 dB SNR. Writes WAVs and manifest.tsv (file, text, intent, slots, voice).
Needs the espeak-ng program (apt install espeak-ng).
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
from pathlib import Path

import numpy as np

from voicecoach.hearing.audio import SAMPLE_RATE, read_wav, write_wav
from voicecoach.intents.catalog import load_catalog

VOICES = ["en-us", "en-us+m3", "en-us+f2", "en-gb", "en-gb-x-rp+f4", "en-gb-scotland", "en-029+m2", "en+f3"]
OUT_OF_DOMAIN = [
    "what's the weather like today", "turn off the kitchen lights", "play some jazz", "call my sister",
    "set an alarm for six thirty", "what time is it", "add eggs to the shopping list", "how tall is the eiffel tower",
    "lock the front door", "order a pizza", "tell me a joke", "what's on my calendar tomorrow",
    "turn the volume down", "open the garage door", "who won the football game", "read my messages",
    "what's the capital of spain", "remind me to water the plants", "start the dishwasher", "good morning",
    "how do i make pancakes", "send an email to my boss", "navigate to the station", "what's the news",
]
OOD_WORDS = ["cat", "dog", "bird", "house", "tree", "happy", "bed", "wow", "marvin", "sheila", "up", "down",
             "left", "right", "on", "off", "seven", "zero", "go", "learn", "follow", "forward", "visual", "tree"]


def pick_sentences(count: int, rng: random.Random) -> list[tuple[str, str, dict]]:
    by_intent: dict[str, list] = defaultdict(list)
    for sample in load_catalog().samples(per_template=4):
        by_intent[sample.intent].append(sample)
    in_domain = int(count * 0.7)
    chosen: list[tuple[str, str, dict]] = []
    intents = sorted(by_intent)
    while len(chosen) < in_domain:
        for intent in intents:
            sample = rng.choice(by_intent[intent])
            chosen.append((sample.text, sample.intent, sample.slots))
    chosen = chosen[:in_domain]
    ood = OUT_OF_DOMAIN + OOD_WORDS
    while len(chosen) < count:
        chosen.append((rng.choice(ood), "none", {}))
    rng.shuffle(chosen)
    return chosen


def speak(text: str, voice: str, rate: int, pitch: int, path: Path) -> None:
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(path), text],
                   check=True, capture_output=True)


def add_noise(audio: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Pink-ish noise (white noise through a gentle low-pass) at the given SNR, plus room hum."""
    white = rng.standard_normal(len(audio)).astype(np.float32)
    pink = np.convolve(white, np.ones(8) / 8, mode="same")
    hum = 0.3 * np.sin(2 * np.pi * 100 * np.arange(len(audio)) / SAMPLE_RATE).astype(np.float32)
    noise = pink + hum * np.std(pink)
    speech_power = np.mean(audio ** 2) + 1e-12
    noise *= np.sqrt(speech_power / (10 ** (snr_db / 10)) / (np.mean(noise ** 2) + 1e-12))
    return np.clip(audio + noise, -1, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("bench/out/corpus"))
    parser.add_argument("--count", type=int, default=240)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if shutil.which("espeak-ng") is None:
        print("make_corpus: espeak-ng is not installed (apt install espeak-ng)", file=sys.stderr)
        return 1
    rng = random.Random(args.seed)
    noise_rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = ["# file\ttext\tintent\tslots\tvoice"]
    with tempfile.TemporaryDirectory() as tmp:
        for i, (text, intent, slots) in enumerate(pick_sentences(args.count, rng)):
            voice, rate, pitch = rng.choice(VOICES), rng.randrange(130, 200, 10), rng.randrange(30, 75, 5)
            raw = Path(tmp) / "raw.wav"
            speak(text, voice, rate, pitch, raw)
            audio = read_wav(raw)
            # Real commands come with a little silence around them.
            lead, tail = np.zeros(int(rng.uniform(0.1, 0.5) * SAMPLE_RATE)), np.zeros(int(rng.uniform(0.1, 0.5) * SAMPLE_RATE))
            audio = np.concatenate([lead, audio * rng.uniform(0.3, 0.9), tail]).astype(np.float32)
            label = f"{voice} s{rate} p{pitch}"
            if i % 2:
                snr = rng.choice([5, 10, 15, 20])
                audio = add_noise(audio, snr, noise_rng)
                label += f" noise{snr}dB"
            name = f"syn_{i:04d}.wav"
            write_wav(args.out / name, audio)
            rows.append(f"{name}\t{text}\t{intent}\t{json.dumps(slots)}\t{label}")
    (args.out / "manifest.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {len(rows) - 1} utterances to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
