"""Hearing benchmark: accuracy, rejection, speed and memory, side by side in one run.

    python bench/hearing.py [--corpus DIR] [--limit N]

Engines: whisper in our short context, whisper padded to 30 s (what faster-whisper does),
and SpeechRecognition's recognize_sphinx (the baseline every ratio is against). Sets: the
real recordings in ../shared/audio and the synthesized corpus (made by bench/make_corpus.py
when missing: 240 utterances, several voices, rates and pitches, half with noise). Each
engine runs in its own child process so its load time and peak RSS are its own. Every
transcript is read twice: by the full reading (n-best, rejection) and by the matcher on the
best hypothesis alone, so what the reading adds is seen.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "audio"
ENGINES = {
    "whisper-short": {"engine": "whisper"},
    "whisper-30s": {"engine": "whisper", "context_seconds": 30.0},
    "sphinx": {"engine": "sphinx"},
}


def load_set(directory: Path, limit: int | None) -> list[tuple[Path, str, dict]]:
    rows = []
    manifest = directory / "manifest.tsv"
    if not manifest.exists():
        return rows
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, intent, slots, *_ = line.split("\t")
            rows.append((directory / name, intent, json.loads(slots)))
    return rows[:limit] if limit else rows


def run_engine(name: str, sets: dict[str, Path], limit: int | None) -> dict:
    """In the child: load one engine, run every set, report figures as JSON."""
    sys.path.insert(0, str(REPO))
    from voicecoach.hearing.signal.audio import read_wav
    from voicecoach.hearing.reading import read_intent
    from voicecoach.intents.matcher import recognize
    from voicecoach.intents.load import load_catalog

    catalog = load_catalog()
    options = ENGINES[name]
    started = time.perf_counter()
    if options["engine"] == "sphinx":
        from voicecoach.hearing.asr.sphinx import SphinxRecognizer

        recognizer = SphinxRecognizer()
    else:
        from voicecoach.hearing.asr.whisper import DEFAULT_CONTEXT_SECONDS, WhisperRecognizer, find_whisper_model

        context = options.get("context_seconds", DEFAULT_CONTEXT_SECONDS)
        recognizer = WhisperRecognizer(find_whisper_model()[0], context_seconds=context).load()
    load_s = time.perf_counter() - started
    report: dict = {"engine": name, "load_s": load_s, "sets": {}}
    for set_name, directory in sets.items():
        rows = load_set(directory, limit)
        if not rows:
            continue
        ind = ind_ok = ood = ood_ok = top1_ind = top1_ood = 0
        decode_ms, audio_ms = [], []
        two_second = []
        for path, intent, slots in rows:
            transcript = recognizer.transcribe(read_wav(path))
            match = read_intent(transcript, catalog).match
            ok = (match.intent, match.slots) == (intent, slots)
            plain = recognize(transcript.best.text, catalog) if transcript.best else None
            plain_ok = (plain.intent, plain.slots) == (intent, slots) if plain else intent == "none"
            decode_ms.append(transcript.decode_ms)
            audio_ms.append(transcript.audio_ms)
            if 1500 <= transcript.audio_ms <= 2500:
                two_second.append(transcript.decode_ms)
            if intent == "none":
                ood += 1
                ood_ok += ok
                top1_ood += plain_ok
            else:
                ind += 1
                ind_ok += ok
                top1_ind += plain_ok
        decode_ms.sort()
        report["sets"][set_name] = {
            "in_domain": [ind_ok, ind], "rejected": [ood_ok, ood], "top1": [top1_ind, top1_ood],
            "median_ms": statistics.median(decode_ms), "p95_ms": decode_ms[int(0.95 * (len(decode_ms) - 1))],
            "median_2s_ms": statistics.median(two_second) if two_second else None,
            "rtf": sum(decode_ms) / sum(audio_ms),
        }
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "bench" / "out" / "corpus")
    parser.add_argument("--limit", type=int, default=None, help="at most N clips a set (quick runs)")
    parser.add_argument("--child", choices=list(ENGINES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sets = {"real": REAL, "synthesized": args.corpus}
    if args.child:
        print(json.dumps(run_engine(args.child, sets, args.limit)))
        return 0
    if not (args.corpus / "manifest.tsv").exists():
        subprocess.run([sys.executable, str(REPO / "bench" / "make_corpus.py"), str(args.corpus)], check=True)
    reports = []
    for name in ENGINES:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        cmd = [sys.executable, __file__, "--child", name, "--corpus", str(args.corpus)]
        if args.limit:
            cmd += ["--limit", str(args.limit)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        reports.append(json.loads(out.strip().splitlines()[-1]))
    print_table(reports)
    return 0


def print_table(reports: list[dict]) -> None:
    baseline = next(r for r in reports if r["engine"] == "sphinx")
    print(f"{'engine':14} {'set':12} {'in-domain':>11} {'rejected':>10} {'median ms':>10} {'p95 ms':>8} "
          f"{'2 s cmd ms':>10} {'RTF':>6} {'vs sphinx':>9} {'load s':>7} {'RSS MB':>7}")
    for report in reports:
        for set_name, s in report["sets"].items():
            base = baseline["sets"].get(set_name, s)
            ind = f"{s['in_domain'][0]}/{s['in_domain'][1]} {s['in_domain'][0] / max(1, s['in_domain'][1]):.0%}"
            rej = f"{s['rejected'][0]}/{s['rejected'][1]} {s['rejected'][0] / max(1, s['rejected'][1]):.0%}"
            two = f"{s['median_2s_ms']:.0f}" if s["median_2s_ms"] else "-"
            print(f"{report['engine']:14} {set_name:12} {ind:>11} {rej:>10} {s['median_ms']:>10.0f} {s['p95_ms']:>8.0f} "
                  f"{two:>10} {s['rtf']:>6.3f} {s['median_ms'] / base['median_ms']:>8.2f}x {report['load_s']:>7.2f} "
                  f"{report['peak_rss_mb']:>7.0f}")
    print("\nthe best hypothesis alone through the matcher (no n-best, no decoder rejection):")
    for report in reports:
        for set_name, s in report["sets"].items():
            top_ind, top_ood = s["top1"]
            print(f"  {report['engine']:14} {set_name:12} in-domain {top_ind}/{s['in_domain'][1]}, "
                  f"rejected {top_ood}/{s['rejected'][1]}")


if __name__ == "__main__":
    raise SystemExit(main())
