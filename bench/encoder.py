"""Sentence encoder benchmark: load time, memory, time per line, and nearest-neighbour intents.

    python bench/encoder.py [--model PATH] [--runs 300]

Speed and memory, each setting in a fresh process: RSS just before the model loads and after it
has loaded and encoded one line (the memory the encoder adds), the peak, and the median and p99
time to encode one short line, one line a call, as wall time and as CPU time (other work on the
machine stretches the first far more than the second), against the template matcher on the same
lines in the same process (the baseline). The shipped setting (1 intra-op thread, no memory
arena) is compared with onnxruntime's defaults (a thread a core, arena on).

Accuracy: every template sample (`samples(per_template=30)`) is encoded as the index, its
intent as the label; a line gets the intent of its nearest sample (cosine). Scored, for
intents only, on tests/data/paraphrases.tsv and ../shared/eval/natural_dev.tsv (measured,
never trained on): in-domain lines whose nearest intent is right, and, for a few similarity
floors, in-domain lines right and above the floor against out-of-domain lines below it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from voicecoach.intents.load import load_catalog  # noqa: E402
from voicecoach.intents.encoder import SentenceEncoder, load_encoder  # noqa: E402
from voicecoach.intents.matcher import recognize  # noqa: E402

SETS = {
    "paraphrases": REPO / "tests" / "data" / "paraphrases.tsv",
    "natural_dev": REPO.parent / "shared" / "eval" / "natural_dev.tsv",
}
SETTINGS = {"1 thread, no arena (shipped)": (1, False), "2 threads, arena (onnxruntime defaults)": (2, True)}
FLOORS = (0.0, 0.4, 0.5, 0.6, 0.7)
PER_TEMPLATE = 30


def rows(path: Path) -> list[tuple[str, str]]:
    """(text, intent) of a tab-separated set; comment lines start with #."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            text, intent = line.split("\t")[:2]
            out.append((text, intent))
    return out


def short_lines() -> list[str]:
    """Lines of at most six words from the sets: what people say to the coach mid-exercise."""
    lines = [text for path in SETS.values() if path.exists() for text, _ in rows(path)]
    return [text for text in lines if len(text.split()) <= 6]


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


# ----- speed and memory (run in a fresh process per setting) --------------------------------

def measure_speed(model: str | None, threads: int, arena: bool, runs: int) -> dict:
    found = load_encoder(model)
    encoder = SentenceEncoder(found.model_path, found.vocab_path, found.source, threads=threads, arena=arena)
    lines = short_lines() or ["pause", "how long left", "that hurts", "what's next"]
    catalog = load_catalog()
    before, _ = rss_mb()
    start = time.perf_counter()
    encoder.load()
    load_s = time.perf_counter() - start
    encoder.encode([lines[0]])
    loaded, _ = rss_mb()
    encode_ms, encode_cpu_ms, matcher_ms = [], [], []
    for n in range(runs):
        line = lines[n % len(lines)]
        t0, c0 = time.perf_counter(), time.process_time()
        encoder.encode([line])
        t1, c1 = time.perf_counter(), time.process_time()
        recognize(line, catalog)
        t2 = time.perf_counter()
        encode_ms.append((t1 - t0) * 1000)
        encode_cpu_ms.append((c1 - c0) * 1000)
        matcher_ms.append((t2 - t1) * 1000)
    after, peak = rss_mb()
    return {
        "model": str(found.model_path), "load_s": load_s, "rss_before_mb": before, "added_mb": loaded - before,
        "added_after_runs_mb": after - before, "peak_mb": peak,
        "median_ms": statistics.median(encode_ms), "p99_ms": percentile(encode_ms, 99),
        "cpu_median_ms": statistics.median(encode_cpu_ms), "cpu_p99_ms": percentile(encode_cpu_ms, 99),
        "matcher_median_ms": statistics.median(matcher_ms), "matcher_p99_ms": percentile(matcher_ms, 99),
        "lines": len(lines), "runs": runs,
    }


def speed_in_fresh_process(model: str | None, threads: int, arena: bool, runs: int) -> dict:
    command = [sys.executable, __file__, "--child", "--threads", str(threads), "--runs", str(runs)]
    command += ["--arena"] if arena else []
    command += ["--model", model] if model else []
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# ----- nearest-neighbour intents --------------------------------------------------------------

def nearest_intents(encoder: SentenceEncoder, index: np.ndarray, labels: list[str],
                    texts: list[str]) -> tuple[list[str], np.ndarray]:
    similarity = encoder.encode(texts) @ index.T
    best = similarity.argmax(axis=1)
    return [labels[i] for i in best], similarity[np.arange(len(texts)), best]


def report_accuracy(encoder: SentenceEncoder) -> None:
    catalog = load_catalog()
    samples = list(catalog.samples(per_template=PER_TEMPLATE))
    start, cpu = time.perf_counter(), time.process_time()
    index = encoder.encode([s.text for s in samples])
    print(f"\nindex: {len(samples)} template samples ({PER_TEMPLATE} a template), "
          f"{len(set(s.intent for s in samples))} intents, encoded in {time.perf_counter() - start:.1f} s"
          f" ({time.process_time() - cpu:.1f} s CPU)")
    labels = [s.intent for s in samples]
    for name, path in SETS.items():
        if not path.exists():
            print(f"\n{name}: skipped, {path} is not here")
            continue
        data = rows(path)
        texts, truth = [t for t, _ in data], [i for _, i in data]
        guess, similarity = nearest_intents(encoder, index, labels, texts)
        matcher = [recognize(t, catalog).intent for t in texts]
        inside = [n for n, intent in enumerate(truth) if intent != "none"]
        outside = [n for n, intent in enumerate(truth) if intent == "none"]
        right = [n for n in inside if guess[n] == truth[n]]
        matcher_right = sum(matcher[n] == truth[n] for n in inside)
        matcher_rejected = sum(matcher[n] == "none" for n in outside)
        print(f"\n{name}: {len(inside)} in-domain, {len(outside)} out-of-domain lines")
        print(f"  nearest sample's intent right: {len(right)}/{len(inside)} ({len(right) / len(inside):.1%})"
              f"   template matcher alone: {matcher_right}/{len(inside)} ({matcher_right / len(inside):.1%}),"
              f" out-of-domain rejected {matcher_rejected}/{len(outside)}")
        pain = [n for n in inside if truth[n] == "report_pain"]
        if pain:
            print(f"  pain reports nearest to report_pain: {sum(guess[n] == 'report_pain' for n in pain)}/{len(pain)}")
        print("  similarity floor | in-domain right and above | out-of-domain below (rejected)")
        for floor in FLOORS:
            kept = sum(similarity[n] >= floor for n in right)
            rejected = sum(similarity[n] < floor for n in outside)
            print(f"  {floor:16.2f} | {kept:3d}/{len(inside)} ({kept / len(inside):5.1%})          |"
                  f" {rejected:3d}/{len(outside)} ({rejected / max(1, len(outside)):5.1%})")
        print(f"  similarity of the nearest sample: in-domain right median {np.median(similarity[right]):.2f},"
              f" out-of-domain median {np.median(similarity[outside]):.2f}" if outside and right else "")
        wrong = Counter((truth[n], guess[n]) for n in inside if guess[n] != truth[n])
        print("  most frequent confusions (truth -> nearest): "
              + ", ".join(f"{a}->{b} x{c}" for (a, b), c in wrong.most_common(6)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="an .onnx model or a directory (default: as the coach finds it)")
    parser.add_argument("--runs", type=int, default=300, help="encodes to time per setting")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--arena", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure_speed(args.model, args.threads, args.arena, args.runs)))
        return 0
    encoder = load_encoder(args.model)
    size_mb = encoder.model_path.stat().st_size / 1e6
    print(f"model: {encoder.model_path} ({size_mb:.1f} MB, from {encoder.source}); vocabulary: {encoder.vocab_path}")
    print("\nsetting | load | RSS added (loaded + 1 line / after runs) | peak RSS | encode one short line median / p99"
          " | CPU time of it median / p99 | template matcher median / p99 (baseline) | ratio of medians")
    for name, (threads, arena) in SETTINGS.items():
        r = speed_in_fresh_process(args.model, threads, arena, args.runs)
        print(f"{name} | {r['load_s']:.2f} s | {r['added_mb']:.0f} MB / {r['added_after_runs_mb']:.0f} MB |"
              f" {r['peak_mb']:.0f} MB | {r['median_ms']:.2f} / {r['p99_ms']:.2f} ms |"
              f" {r['cpu_median_ms']:.2f} / {r['cpu_p99_ms']:.2f} ms |"
              f" {r['matcher_median_ms']:.2f} / {r['matcher_p99_ms']:.2f} ms |"
              f" {r['median_ms'] / r['matcher_median_ms']:.1f}x")
    print(f"({r['runs']} encodes of {r['lines']} lines of at most six words, one line a call, on this machine's"
          f" {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}: wall times grow with other"
          f" work, CPU times much less; RSS before loading: {r['rss_before_mb']:.0f} MB)")
    report_accuracy(encoder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
