"""End-of-speech benchmark: how long after the user stops is a command cut, and is it cut once?

    python bench/endpointing.py [--corpus DIR] [--trailing-ms 210 ...] [--whisper]

The Endpointer alone is measured here (its detector and trailing silence varied): cut
latency is a property of that part, and the parts around it would only add their own
noise. For every clip of the real recordings (../shared/audio) and of the synthesized corpus
(bench/make_corpus.py), the clip is fed frame by frame to the Endpointer as if live, with
0.5 s of the clip's own background noise before it and 1.5 s after it (a microphone keeps
hearing the room). Latency is the time from the end of speech to the cut. The end of
speech is measured offline, with the whole clip known: the end of the last 10 ms frame
whose level is within 40 dB of the clip's peak and 12 dB above its noise floor (the 10th
percentile of frame levels). Reports, per set and detector: clips cut exactly once, clips
never cut (missed) or cut more than once (split), and latency median / p95 / max.

With --whisper, every clip also goes through the whole listen loop (VAD, Whisper, the
matcher, continuation of parts that do not parse) and the report adds: intent right per
the manifest, hearings per clip, and the time from the end of speech to the event
(the cut latency plus the decode time).
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from voicecoach.hearing.signal.audio import SAMPLE_RATE, read_wav  # noqa: E402
from voicecoach.hearing.signal.vad import (FRAME_SAMPLES, EndpointSettings, Endpointer, EnergyDetector,  # noqa: E402
                                    WebRtcDetector)

REAL = REPO.parent / "shared" / "audio"
LEAD_S, TAIL_S = 0.5, 1.5


def speech_end_ms(audio: np.ndarray) -> float | None:
    """Where speech ends, judged with the whole clip in view (the reference for latency)."""
    hop = SAMPLE_RATE // 100
    n = len(audio) // hop
    if n == 0:
        return None
    power = np.mean(np.square(audio[: n * hop].reshape(n, hop), dtype=np.float64), axis=1)
    levels = 10 * np.log10(power + 1e-12)
    threshold = max(float(np.percentile(levels, 10)) + 12.0, float(levels.max()) - 40.0)
    loud = np.flatnonzero(levels > threshold)
    return None if len(loud) == 0 else (loud[-1] + 1) * 10.0


def with_room_noise(audio: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """The clip between stretches of noise as loud as its own quietest part."""
    hop = SAMPLE_RATE // 100
    n = max(1, len(audio) // hop)
    power = np.mean(np.square(audio[: n * hop].reshape(n, -1), dtype=np.float64), axis=1)
    rms = float(np.sqrt(np.percentile(power, 10)))
    def noise(seconds: float) -> np.ndarray:
        return (rms * rng.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)
    lead = noise(LEAD_S)
    return np.concatenate([lead, audio, noise(TAIL_S)]), len(lead)


def cuts(audio: np.ndarray, endpointer: Endpointer) -> list:
    found = []
    for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        if (utterance := endpointer.push(audio[i:i + FRAME_SAMPLES])) is not None:
            found.append(utterance)
    if (last := endpointer.flush()) is not None:
        found.append(last)
    return found


def load_set(directory: Path, keep=lambda row: True) -> list[Path]:
    manifest = directory / "manifest.tsv"
    if not manifest.exists():
        return []
    rows = [line.split("\t") for line in manifest.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    return [directory / row[0] for row in rows if keep(row)]


def measure(paths: list[Path], make_detector, trailing_ms: int) -> dict:
    rng = np.random.default_rng(0)
    latencies, once, missed, split = [], 0, 0, 0
    for path in paths:
        clip = read_wav(path)
        end = speech_end_ms(clip)
        if end is None:
            continue
        audio, lead = with_room_noise(clip, rng)
        found = cuts(audio, Endpointer(make_detector(), settings=EndpointSettings(trailing_silence_ms=trailing_ms)))
        if not found:
            missed += 1
            continue
        if len(found) > 1:
            split += 1
        else:
            once += 1
        latencies.append(found[-1].end_ms - (end + 1000.0 * lead / SAMPLE_RATE))
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(round(0.95 * (len(latencies) - 1))))] if latencies else float("nan")
    return {"clips": len(paths), "once": once, "missed": missed, "split": split,
            "median": statistics.median(latencies) if latencies else float("nan"), "p95": p95,
            "max": max(latencies) if latencies else float("nan"),
            "within_300": sum(x <= 300 for x in latencies)}


def through_the_loop(paths: list[Path], expected: dict[str, str]) -> dict:
    """Each clip through the chain the app builds (hearing.pipeline, the coach silent: no echo
    to cancel, Whisper's barge-in check alone, as when nothing goes on) with Whisper: the
    intent and how soon it is known."""
    from voicecoach.hearing.asr.engines import open_recognizer
    from voicecoach.hearing.loop import UtteranceHeard
    from voicecoach.hearing.pipeline import HearingOptions, build_hearing
    from voicecoach.hearing.signal.sources import ArraySource
    from voicecoach.intents.load import load_catalog

    catalog = load_catalog()
    recognizer, notice = open_recognizer("whisper", catalog, background=False)
    if notice:
        print(f"note: {notice}")
    rng = np.random.default_rng(0)
    right, single, delays, decodes, wrong = 0, 0, [], [], []
    for path in paths:
        clip = read_wav(path)
        end = speech_end_ms(clip)
        audio, lead = with_room_noise(clip, rng)
        events: list = []
        hearing = build_hearing(HearingOptions(echo="none"), recognizer, catalog, model_wanted=lambda: False)
        hearing.loop.run(hearing.source(ArraySource(audio, tail_seconds=0), None), events.append)
        heard = [e for e in events if isinstance(e, UtteranceHeard)]
        single += len(heard) == 1
        if heard and heard[-1].match.intent == expected[path.name]:
            right += 1
        else:
            wrong.append(f"{path.name}: {[(e.match.text, e.match.intent) for e in heard]}")
        # A rejected utterance also waits CONTINUATION_MS for more words: time commands only.
        if heard and end is not None and heard[-1].match.intent != "none":
            delays.append(heard[-1].cut_ms - (end + 1000.0 * lead / SAMPLE_RATE) + heard[-1].decode_ms)
            decodes.append(heard[-1].decode_ms)
    return {"clips": len(paths), "right": right, "single": single,
            "delay_median": statistics.median(delays), "delay_max": max(delays),
            "decode_median": statistics.median(decodes), "wrong": wrong}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "bench" / "out" / "corpus")
    parser.add_argument("--trailing-ms", type=int, nargs="+", default=[EndpointSettings().trailing_silence_ms])
    parser.add_argument("--whisper", action="store_true", help="also run the real clips through the whole listen loop")
    args = parser.parse_args(argv)
    sets = {
        "real single words (sc_)": load_set(REAL, lambda row: row[0].startswith("sc_")),
        "real commands (stp_)": load_set(REAL, lambda row: row[0].startswith("stp_")),
        "synth clean": load_set(args.corpus, lambda row: "noise" not in row[-1]),
        "synth noisy": load_set(args.corpus, lambda row: "noise" in row[-1]),
    }
    if not sets["real single words (sc_)"]:
        print(f"note: no real recordings at {REAL}")
    if not sets["synth clean"]:
        print(f"note: no synthesized corpus at {args.corpus} (python bench/make_corpus.py)")
    detectors = {"webrtc": WebRtcDetector, "energy": EnergyDetector}
    print(f"{'set':26} {'detector':8} {'trail':>5} {'clips':>5} {'once':>5} {'missed':>6} {'split':>5} "
          f"{'lat med':>8} {'p95':>6} {'max':>6} {'<=300':>6}")
    for trailing in args.trailing_ms:
        for set_name, paths in sets.items():
            if not paths:
                continue
            for det_name, make in detectors.items():
                r = measure(paths, make, trailing)
                print(f"{set_name:26} {det_name:8} {trailing:5d} {r['clips']:5d} {r['once']:5d} {r['missed']:6d} "
                      f"{r['split']:5d} {r['median']:8.0f} {r['p95']:6.0f} {r['max']:6.0f} "
                      f"{r['within_300']:3d}/{r['once'] + r['split']:<3d}")
    if args.whisper:
        manifest = REAL / "manifest.tsv"
        expected = {row.split("\t")[0]: row.split("\t")[2] for row in manifest.read_text(encoding="utf-8").splitlines()
                    if row.strip() and not row.startswith("#")} if manifest.exists() else {}
        print("\nwhole listen loop with whisper (intent per manifest; delay = end of speech to the event, for commands)")
        for set_name in ("real single words (sc_)", "real commands (stp_)"):
            if sets[set_name]:
                r = through_the_loop(sets[set_name], expected)
                print(f"{set_name:26} right {r['right']}/{r['clips']}  one hearing {r['single']}/{r['clips']}  "
                      f"delay median {r['delay_median']:.0f} ms max {r['delay_max']:.0f} ms  "
                      f"(decode median {r['decode_median']:.0f} ms)")
                for line in r["wrong"]:
                    print(f"    not right: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
