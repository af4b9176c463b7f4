"""How well the statistical reader learns from voicecoach/intents/training.tsv: figures, not tests.

    python bench/training_folds.py [--folds 5] [--misses]

The file's lines are split into folds; for each fold the classifier is trained on the template
samples, the article, the other training*.tsv files and the remaining folds, and asked for the
label of every line it did not see (its most probable label, before the coach's thresholds).
Printed per label beside the baseline: the same classifier trained without training.tsv at all.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from voicecoach.content.loader import load_content, sentences_for_topic  # noqa: E402
from voicecoach.intents.load import load_catalog  # noqa: E402
from voicecoach.intents.classifier import IntentClassifier, train  # noqa: E402
from voicecoach.intents.slots import label_of  # noqa: E402
from voicecoach.intents.understand import TrainingLine, read_training_lines, training_examples  # noqa: E402

MEASURED_FILE = "training.tsv"
SEED = 7                                  # the same folds every run


def _top_label(classifier: IntentClassifier, text: str) -> str:
    probabilities = classifier.probabilities(text)
    return max(probabilities, key=probabilities.get)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--misses", action="store_true", help="print every line read wrongly")
    args = parser.parse_args()

    catalog = load_catalog()
    content = load_content()
    article = {topic: sentences_for_topic(content, topic) for topic in content.topics}
    lines = read_training_lines()
    measured = [line for line in lines if Path(line.where.rsplit(":", 1)[0]).name == MEASURED_FILE]
    others = [line for line in lines if line not in measured]
    order = list(range(len(measured)))
    random.Random(SEED).shuffle(order)
    folds = [set(order[i::args.folds]) for i in range(args.folds)]

    baseline = train(training_examples(catalog, others, article))
    total, right, base_right = Counter(), Counter(), Counter()
    for number, held_out in enumerate(folds, 1):
        started = time.perf_counter()
        seen: list[TrainingLine] = [line for i, line in enumerate(measured) if i not in held_out]
        classifier = train(training_examples(catalog, others + seen, article))
        for i in sorted(held_out):
            line = measured[i]
            want = label_of(line.label, line.slots)
            got = _top_label(classifier, line.text)
            total[line.label] += 1
            right[line.label] += got == want
            base_right[line.label] += _top_label(baseline, line.text) == want
            if args.misses and got != want:
                print(f"  miss: {line.text!r} want {want} got {got}")
        print(f"fold {number}/{args.folds}: {len(held_out)} lines, trained in {time.perf_counter() - started:.0f} s")

    print(f"\n{'label':<14}{'lines':>6}{'folds':>8}{'without':>9}")
    for label in sorted(total):
        print(f"{label:<14}{total[label]:>6}{right[label] / total[label]:>8.1%}{base_right[label] / total[label]:>9.1%}")
    n = sum(total.values())
    print(f"{'all':<14}{n:>6}{sum(right.values()) / n:>8.1%}{sum(base_right.values()) / n:>9.1%}")
    print("folds: trained on the other folds; without: trained without training.tsv (ratio "
          f"{sum(right.values()) / max(1, sum(base_right.values())):.2f})")


if __name__ == "__main__":
    main()
