"""The fine-tuned reader against the n-gram reader, in one run: figures, not tests.

    python bench/tuned_reader.py [--misses SET] [--repeat 3] [--shares 1.0 0.5] [--sweep]

Two products side by side on every set there is: the baseline (templates, then the n-gram
reader: `--tuned-reader off`) and the coach as shipped (templates, then the fine-tuned reader,
with the n-gram reader's second opinion on pain and the pain policy); with `--shares`, the coach
at each of those fine-tuned shares of the mixed probabilities instead. For each set: exact
intent+slots in-domain, out-of-domain rejected, pain reports handled as pain, and pain handled
safely (as pain, or during an exercise the coach's pause with "Did something hurt?"); the
median and p99 time of the whole reading of a line. Then the fine-tuned model's size, load
time and the resident memory it adds.

Sets: ../shared/eval/{dev_utterances,natural_dev}.tsv (development; skipped when absent),
tests/data/paraphrases.tsv, tests/data/natural_heldout.tsv, tests/data/heldout_26.tsv and
tests/data/pain_heldout.tsv (ours; the last two never trained on).
"""
from __future__ import annotations

import argparse
import gc
import itertools
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.understanding import SHARED, Row, Score, read_set, rss_mb, score  # noqa: E402
from voicecoach.content.loader import load_content  # noqa: E402
from voicecoach.intents.load import load_catalog  # noqa: E402
from voicecoach.intents.tuned import MODEL_FILE, TunedReader  # noqa: E402
from voicecoach.intents.types import PAIN_CHECK  # noqa: E402
from voicecoach.intents.understand import (  # noqa: E402
    FLOORS,
    Readers,
    ReadingFloors,
    open_reader,
    reader_intents,
    understand,
)

DATA = REPO / "tests" / "data"
SETS = {
    "dev_utterances": SHARED / "dev_utterances.tsv",
    "natural_dev": SHARED / "natural_dev.tsv",
    "paraphrases": DATA / "paraphrases.tsv",
    "natural_heldout": DATA / "natural_heldout.tsv",
    "heldout_26": DATA / "heldout_26.tsv",
    "pain_heldout": DATA / "pain_heldout.tsv",
}
WEIGHTS = (1.0, 0.8, 0.65, 0.5, 0.35)   # the fine-tuned reader's shares the sweep compares


def pain_safely(rows: list[Row], read) -> tuple[int, int, int]:
    """(pain lines, read as pain, handled safely), and stops made of pain questions."""
    pain = [r for r in rows if r.intent == "report_pain"]
    as_pain = safe = 0
    for row in pain:
        match = read(row.text, row.context)
        as_pain += match.intent == "report_pain"
        safe += match.intent == "report_pain" or (row.context.exercising and match.aside == PAIN_CHECK)
    return len(pain), as_pain, safe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="append", default=[], help="print the misses of this set (both readers)")
    parser.add_argument("--repeat", type=int, default=1, help="time each line this many times (the median is kept)")
    parser.add_argument("--first-prompt", type=int, default=0, metavar="N",
                        help="time text mode's first prompt N times with the fine-tuned reader and without, then stop")
    parser.add_argument("--shares", type=float, nargs="+", metavar="W",
                        help="read every set with the coach at these fine-tuned shares (1.0: it alone) instead")
    parser.add_argument("--sweep", action="store_true",
                        help="totals on the development sets (natural_dev, paraphrases) for other floors, then stop")
    args = parser.parse_args()

    if args.first_prompt:
        first_prompt(args.first_prompt)
        return
    catalog = load_catalog()
    article = load_content().topic_texts()
    baseline, _ = open_reader(catalog, article, background=False, tuned="off")
    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    tuned = TunedReader(MODEL_FILE, intents=reader_intents(catalog)).load()
    load_s = time.perf_counter() - started
    tuned.probabilities("pause")
    added = rss_mb() - before
    product, _ = open_reader(catalog, article, background=False)
    product.tuned = tuned                 # the one measured above
    print(f"fine-tuned model: {MODEL_FILE.stat().st_size / 1e6:.1f} MB int8 ONNX, {len(tuned.labels)} labels, "
          f"max {tuned.max_tokens} tokens; loads in {load_s:.2f} s; adds {added:.0f} MB resident")

    if args.sweep:
        sweep(catalog, product)
        return
    readers = shared_readers(product, args.shares) if args.shares else \
        {"n-gram (baseline)": baseline, "fine-tuned (product)": product}
    for name, path in SETS.items():
        if not path.exists():
            print(f"\n{name}: {path} is absent, skipped")
            continue
        rows = read_set(path)
        print(f"\n{name} ({len(rows)} lines)")
        results = {}
        for label, reader in readers.items():
            def read(text, context, reader=reader):
                times = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    match = understand(text, catalog, context, reader)
                    times.append(time.perf_counter() - t)
                read.last_ms = 1000 * statistics.median(times)
                return match
            result = score(rows, read)
            n, as_pain, safe = pain_safely(rows, lambda t, c, reader=reader: understand(t, catalog, c, reader))
            questions = [r for r in rows if r.intent == "ask" and "hurt" in r.text or r.intent == "ask" and "pain" in r.text]
            stops = sum(understand(r.text, catalog, r.context, reader).intent == "stop" for r in questions)
            results[label] = result
            pain_text = f"; pain {as_pain}/{n} as pain, {safe}/{n} safely" if n else ""
            print(f"  {label:22} {result.line()}{pain_text}; pain questions stopped {stops}/{len(questions)}")
            if name in args.misses:
                print("\n".join(result.misses))
        names = list(readers)
        first, last = names[0], names[-1]
        base, prod = results[first], results[last]
        ok = lambda r: sum(r.right.values()) + r.rejected       # noqa: E731
        print(f"  ratio {last}/{first} (in-domain right + rejected): {ok(prod) / max(1, ok(base)):.3f}; "
              f"median time {statistics.median(prod.times_ms) / max(1e-9, statistics.median(base.times_ms)):.1f}x")


def shared_readers(product: Readers, shares: list[float]) -> dict[str, Readers]:
    """The coach's two loaded readers at each fine-tuned share, by a label; nothing kept between
    lines, so each share's times are those of the reading it would ship."""
    return {f"fine-tuned share {share:.2f}": Readers(product.tuned, product.ngram, tuned_weight=share)
            for share in shares}


def first_prompt(times: int) -> None:
    """Text mode in a fresh process: seconds from its start to the first line it shows, with the
    fine-tuned reader loading in the background and with it off (the baseline)."""
    import os
    import subprocess

    for label, tuned in (("fine-tuned", None), ("off (baseline)", "off")):
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env.pop("VOICECOACH_TUNED_READER", None)
        if tuned:
            env["VOICECOACH_TUNED_READER"] = tuned
        seconds = []
        for _ in range(times):
            started = time.perf_counter()
            child = subprocess.Popen([sys.executable, "-m", "voicecoach", "--text", "--no-history"], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            child.stdout.readline()
            seconds.append(time.perf_counter() - started)
            child.stdin.close()
            child.wait(30)
        print(f"first prompt, {label}: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s "
              f"over {times} starts")


class _Remembered:
    """A reader whose answers are kept by line: the sweep reads the same lines many times."""

    def __init__(self, reader) -> None:
        self.reader, self.ready = reader, reader.ready
        self._probs: dict[str, dict] = {}
        self._opinions: dict[str, dict] = {}

    @property
    def deciding(self):
        return self.reader.deciding

    def probabilities(self, text):
        if text not in self._probs:
            self._probs[text] = self.reader.probabilities(text)
        return self._probs[text]

    def opinions(self, text):
        if text not in self._opinions:
            self._opinions[text] = self.reader.opinions(text)
        return self._opinions[text]

    def probabilities_of(self, opinions):
        return self.reader.probabilities_of(opinions)


def weighed(readers, weights=WEIGHTS) -> dict[float, Readers]:
    """The same two readers at each fine-tuned share; each reader's answers are kept by line,
    so every share mixes the same probabilities and each line is read once."""
    tuned = _Remembered(readers.tuned) if readers.tuned is not None else None
    ngram = _Remembered(readers.ngram) if readers.ngram is not None else None
    return {weight: Readers(tuned, ngram, tuned_weight=weight) for weight in weights}


def sweep_weights(catalog, readers, rows, weights=WEIGHTS) -> dict:
    """Each fine-tuned share's totals on `rows` (bench/understanding.py's Score)."""
    return {weight: score(rows, lambda t, c, mix=mix: understand(t, catalog, c, mix))
            for weight, mix in weighed(readers, weights).items()}


def sweep(catalog, reader) -> None:
    """The fine-tuned reader's share and floors, chosen by the development sets' totals (never one line)."""
    rows = [r for name in ("natural_dev", "paraphrases") if SETS[name].exists() for r in read_set(SETS[name])]
    print(f"{len(rows)} development lines")
    for weight, result in sweep_weights(catalog, reader, rows).items():
        print(f"  fine-tuned share {weight:.2f}: in-domain {sum(result.right.values())}/{sum(result.total.values())}, "
              f"rejected {result.rejected}/{result.ood}, pain {result.pain_heard}/{result.pain}")
    print(f"at the coach's share ({reader.tuned_weight:.2f}): tuned pain floor (idle; half of it exercising), "
          "n-gram pain floor (idle; 0.7 of it exercising), the fine-tuned reader's sureness and safety sureness:")
    for floors, result in sweep_floors(catalog, _Remembered(reader), rows, [FLOORS, *floor_grid()]).items():
        ngram = f"{floors.pain.ngram:.2f}" if floors.pain.ngram is not None else "off "
        print(f"  tuned {floors.pain.tuned:.2f} n-gram {ngram} sure {floors.tuned_model_sure:.2f} "
              f"safety {floors.tuned_safety_sure:.2f}: in-domain {sum(result.right.values())}"
              f"/{sum(result.total.values())}, rejected {result.rejected}/{result.ood}, "
              f"pain {result.pain_heard}/{result.pain}{' (as the coach reads)' if floors == FLOORS else ''}")


def floor_grid(tuned=(0.25,), ngram=(0.35, None), model_sure=(0.35, 0.45, 0.6),
               safety_sure=(0.3, 0.45)) -> list[ReadingFloors]:
    """The floors the sweep compares: the fine-tuned reader's pain floor (half of it while
    exercising), the n-gram reader's (0.7 of it exercising; None: it names no pain), and the
    fine-tuned reader's sureness for any label and for a stop, pause or pain report."""
    def pain(floor: float | None, share: float) -> float | None:
        return None if floor is None else floor * share

    return [ReadingFloors(pain=replace(FLOORS.pain, tuned=t, ngram=n),
                          exercising_pain=replace(FLOORS.exercising_pain, tuned=pain(t, 0.5), ngram=pain(n, 0.7)),
                          tuned_model_sure=sure, tuned_safety_sure=safety)
            for t, n, sure, safety in itertools.product(tuned, ngram, model_sure, safety_sure)]


def sweep_floors(catalog, reader, rows, grid=None) -> dict[ReadingFloors, Score]:
    """Each set of floors' totals on `rows` (floor_grid's by default), read by the same reader;
    the floors are options of `understand`, so nothing of the product is changed."""
    return {floors: score(rows, lambda t, c, floors=floors: understand(t, catalog, c, reader, floors=floors))
            for floors in (floor_grid() if grid is None else grid)}


if __name__ == "__main__":
    main()
