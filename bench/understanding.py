"""How well the coach understands typed or transcribed lines: figures, not tests.

    python bench/understanding.py [--misses SET] [--no-encoder]

Side by side in one run: the templates alone (the baseline), the statistical reader alone, and
both (the product), on every set there is: the shared development set, the shared natural
development set, our paraphrases and our held-out natural lines. For each: exact intent+slots
accuracy per intent, out-of-domain rejection, pain-report recall, median and p99 time per line.
Then the reader's load time (trained, and from its cache) and the memory it adds.

Questions about the article: given that a line asks something, which topic? The classifier
(trained on the article's sentences as well as the templates and our lines) against the same
choice weighted by TF-IDF retrieval over the article's sections (each topic's sentences and the
lines that ask about it), for several weights.

When the sentence encoder is installed (voicecoach/intents/encoder.py), a nearest-neighbour
reader over its embeddings of the same training examples is measured as well: the other
candidate for the statistical reading.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "eval"

from voicecoach.content.loader import load_content  # noqa: E402
from voicecoach.intents.load import load_catalog  # noqa: E402
from voicecoach.intents.normalize import match_tokens  # noqa: E402
from voicecoach.intents.slots import split_label  # noqa: E402
from voicecoach.intents.types import NO_MATCH, Context, Match  # noqa: E402
from voicecoach.intents.understand import (  # noqa: E402
    StatisticalReader, read_training_lines, training_examples, understand,
)

CONTEXTS = {"": Context(), "idle": Context(), "exercising": Context(exercising=True),
            "expecting_yes_no": Context(expecting="yes_no"), "paused": Context(exercising=True, paused=True)}


@dataclass(frozen=True)
class Row:
    text: str
    intent: str
    slots: dict
    context: Context


def read_set(path: Path) -> list[Row]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        context = CONTEXTS.get(fields[3].strip() if len(fields) > 3 else "", Context())
        rows.append(Row(fields[0], fields[1], json.loads(fields[2]) if len(fields) > 2 and fields[2] else {}, context))
    return rows


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Score:
    right: Counter
    total: Counter
    rejected: int
    ood: int
    pain_heard: int
    pain: int
    times_ms: list[float]
    misses: list[str]

    def line(self) -> str:
        ind = sum(self.total.values())
        ok = sum(self.right.values())
        times = sorted(self.times_ms)
        p99 = times[min(len(times) - 1, int(0.99 * len(times)))] if times else 0.0
        pain = f"{self.pain_heard}/{self.pain}" if self.pain else "-"
        return (f"in-domain {ok}/{ind} ({ok / max(1, ind):.0%})  rejected {self.rejected}/{self.ood} "
                f"({self.rejected / max(1, self.ood):.0%})  pain {pain}  "
                f"median {statistics.median(times) if times else 0:.2f} ms  p99 {p99:.2f} ms")


def score(rows: list[Row], read: Callable[[str, Context], Match]) -> Score:
    result = Score(Counter(), Counter(), 0, 0, 0, 0, [], [])
    for row in rows:
        started = time.perf_counter()
        match = read(row.text, row.context)
        result.times_ms.append(1000 * (time.perf_counter() - started))
        if row.intent == NO_MATCH:
            result.ood += 1
            result.rejected += match.intent == NO_MATCH
        else:
            result.total[row.intent] += 1
            result.right[row.intent] += (match.intent, match.slots) == (row.intent, row.slots)
        if row.intent == "report_pain":
            result.pain += 1
            result.pain_heard += match.intent == "report_pain"
        if (match.intent, match.slots if match.intent != NO_MATCH else {}) != (row.intent, row.slots):
            result.misses.append(f"  {row.intent:12} {json.dumps(row.slots):30} -> {match.intent:12} "
                                 f"{json.dumps(match.slots):22} {match.by} {match.confidence:.2f} | {row.text}")
    return result


# Words every question uses: they say nothing about which section answers it.
_QUESTION_WORDS = frozenset("what why how is are do doe does can could should would will when where which "
                            "i my me you it this that of to in on for and or with about be".split())


class TopicIndex:
    """TF-IDF vectors of each topic's document; `similarities(text)` gives a cosine per topic."""

    def __init__(self, documents: Mapping[str, Sequence[str]]) -> None:
        counts = {topic: Counter(t for text in texts for t in self._terms(text)) for topic, texts in documents.items()}
        df = Counter(term for c in counts.values() for term in c)
        n = len(counts)
        self.idf = {term: math.log(1 + n / d) for term, d in df.items()}
        self.vectors: dict[str, dict[str, float]] = {}
        for topic, c in counts.items():
            vector = {term: (1 + math.log(k)) * self.idf[term] for term, k in c.items()}
            norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
            self.vectors[topic] = {term: v / norm for term, v in vector.items()}

    @staticmethod
    def _terms(text: str) -> list[str]:
        return [t for t in match_tokens(text) if not t.startswith("#") and t not in _QUESTION_WORDS]

    def similarities(self, text: str) -> dict[str, float]:
        query = Counter(t for t in self._terms(text) if t in self.idf)
        if not query:
            return {topic: 0.0 for topic in self.vectors}
        weights = {term: (1 + math.log(k)) * self.idf[term] for term, k in query.items()}
        norm = math.sqrt(sum(v * v for v in weights.values()))
        return {topic: sum(w * vector.get(term, 0.0) for term, w in weights.items()) / norm
                for topic, vector in self.vectors.items()}


def topic_documents(article: Mapping[str, Sequence[str]], samples: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """Each topic's article sentences plus the (text, topic) samples that ask about it."""
    documents: dict[str, list[str]] = {topic: list(sentences) for topic, sentences in article.items()}
    for text, topic in samples:
        documents.setdefault(topic, []).append(text)
    return documents


def topic_choice(rows: list[Row], reader: StatisticalReader, index: "TopicIndex", beta: float) -> int:
    """Right topics among the ask lines when the classifier's topic odds are weighted by retrieval."""
    right = 0
    for row in rows:
        probs = reader.probabilities(row.text)
        topics = {split_label(label)[1]["topic"]: p for label, p in probs.items() if label.startswith("ask:")}
        total = sum(topics.values())
        sims = index.similarities(row.text)
        best = max(topics, key=lambda t: math.log(topics[t] / total + 1e-9) + beta * sims.get(t, 0.0))
        right += best == row.slots["topic"]
    return right


def encoder_reader(examples):
    """Nearest neighbours over the encoder's embeddings of the same examples, or None."""
    try:
        from voicecoach.intents.encoder import load_encoder
    except ImportError:
        return None
    try:
        from voicecoach.settings import resolve_settings

        settings = resolve_settings()      # the encoder_model setting: flag, environment, config file
        encoder = load_encoder(settings.encoder_model, settings.sources["encoder_model"])
    except Exception as exc:  # no model here: skip the column, say why
        print(f"(encoder not measured: {exc})")
        return None
    import numpy as np

    from voicecoach.intents.slots import adjust_slots, duration_slots, split_label

    texts = [ex.text for ex in examples]
    labels = [ex.label for ex in examples]
    matrix = np.vstack([encoder.encode(texts[i:i + 256]) for i in range(0, len(texts), 256)])

    def read(text: str, context: Context) -> Match:
        sims = matrix @ encoder.encode([text])[0]
        best = np.argsort(-sims)[:5]
        votes: Counter = Counter()
        for i in best:
            votes[labels[i]] += float(sims[i])
        label, weight = votes.most_common(1)[0]
        intent, slots = split_label(label)
        if intent in ("none", "thanks", "greeting", "not_covered") or float(sims[best[0]]) < 0.6:
            return Match(text, NO_MATCH, {}, float(sims[best[0]]), "model")
        if intent == "set_duration":
            slots = duration_slots(text) or {}
        elif intent == "adjust":
            slots = adjust_slots(text, int(slots["direction"]))
        return Match(text, intent, slots, float(sims[best[0]]), "model")

    return read


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", default=None, help="print the misses of this set (dev, natural, paraphrases, heldout)")
    parser.add_argument("--no-encoder", action="store_true", help="skip the sentence-encoder candidate")
    args = parser.parse_args()

    catalog = load_catalog()
    content = load_content()
    examples = training_examples(catalog, read_training_lines(), content.topic_texts())
    before = rss_mb()
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        reader = StatisticalReader(examples, Path(cache)).load()
        trained_s = time.perf_counter() - started
        started = time.perf_counter()
        StatisticalReader(examples, Path(cache)).load()
        cached_s = time.perf_counter() - started
    added = rss_mb() - before
    print(f"statistical reader: {len(examples)} training examples, {len(reader.classifier.labels)} labels; "
          f"trained in {trained_s:.1f} s, loaded from its cache in {cached_s * 1000:.0f} ms; "
          f"memory added {added:.0f} MB (RSS)")

    asked = [(sample.text, sample.slots["topic"]) for sample in catalog.samples(per_template=24)
             if sample.intent == "ask" and "topic" in sample.slots]
    asked += [(line.text, line.slots["topic"]) for line in read_training_lines() if line.label == "ask"]
    index = TopicIndex(topic_documents(content.topic_texts(), asked))
    sets = {"dev": SHARED / "dev_utterances.tsv", "natural": SHARED / "natural_dev.tsv",
            "paraphrases": REPO / "tests" / "data" / "paraphrases.tsv",
            "heldout": REPO / "tests" / "data" / "natural_heldout.tsv"}
    readings: dict[str, Callable[[str, Context], Match]] = {
        "templates alone": lambda text, ctx: understand(text, catalog, ctx, None),
        "reader alone": lambda text, ctx: understand(text, catalog, ctx, reader, templates=False),
        "both": lambda text, ctx: understand(text, catalog, ctx, reader),
    }
    if not args.no_encoder:
        knn = encoder_reader(examples)
        if knn is not None:
            readings["encoder alone (kNN)"] = knn
    for name, path in sets.items():
        if not path.exists():
            print(f"\n{name}: {path} is not here")
            continue
        rows = read_set(path)
        print(f"\n{name} ({len(rows)} lines, {path.name})")
        per_intent: dict[str, Score] = {}
        for reading, read in readings.items():
            result = score(rows, read)
            per_intent[reading] = result
            print(f"  {reading:20} {result.line()}")
        intents = sorted(per_intent["both"].total)
        header = "".join(f"{r[:14]:>16}" for r in readings)
        print(f"  {'per intent':20}{header}")
        for intent in intents:
            cells = "".join(f"{s.right[intent]:>9}/{s.total[intent]:<6}" for s in per_intent.values())
            print(f"  {intent:20}{cells}")
        asks = [row for row in rows if row.intent == "ask"]
        if asks:
            choices = "  ".join(f"x{beta:g}: {topic_choice(asks, reader, index, beta)}" for beta in (0, 1, 2, 4))
            print(f"  topic of {len(asks)} questions, classifier (x0) and weighted by article retrieval: {choices}")
        if args.misses == name:
            print("  misses of both readings:")
            print("\n".join(per_intent["both"].misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
