"""Two readings, one answer: the templates first, then the statistical reader.

    understand(text, catalog, context, reader) -> Match

1. The templates (`recognize`): exact, with slots. When they explain the whole line (score
   at least TEMPLATE_SURE), they decide.
2. Otherwise the statistical reader (`StatisticalReader`, a classifier trained from the
   template samples, our own lines of how people talk, and the article's sentences) gives
   probabilities over labels. A partial template match stands when the reader agrees with
   it; else the reader's most probable label is taken when it is sure enough, with slots
   read from the words (durations, signed amounts) or carried by the label (topic, exercise).
3. Safety first: a missed pain report, stop or pause costs far more than a false one, so
   those intents weigh more in the choice and need less probability to be taken; during an
   exercise, pain weighs more again.
4. What is not a command is `none`, with an aside when it was thanks, a greeting, or a
   health question the article does not answer.

Without a reader (not loaded yet, or switched off) the templates answer alone, as before.
"""
from __future__ import annotations

import atexit
import csv
import io
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from voicecoach.files import private_folder, write_private
from voicecoach.intents.catalog import Catalog
from voicecoach.intents.matcher import recognize
from voicecoach.intents.names import Intent
from voicecoach.intents.slots import (
    adjust_slots,
    duration_slots,
    finish_slots,
    label_of,
    split_label,
)
from voicecoach.intents.types import (
    ASIDES,
    NO_MATCH,
    PAIN_CHECK,
    SAFETY_INTENTS,
    Context,
    Match,
)
from voicecoach.limits import MAX_UTTERANCE_CHARS

if TYPE_CHECKING:
    # The classifier (and numpy with it) is imported where the reader loads, in the
    # background: the first prompt does not wait for it.
    from voicecoach.intents.classifier import Example, IntentClassifier

log = logging.getLogger(__name__)
INTENTS_DIR = Path(__file__).parent       # training*.tsv: our own lines of how people talk
TEMPLATE_SAMPLES_PER_TEMPLATE = 24
ARTICLE_WEIGHT = 0.5                 # an article sentence is evidence for its topic, not a question

# Chosen on the development sets (../shared/eval/natural_dev.tsv and tests/data/paraphrases.tsv,
# by their totals, never on single lines); tests/data/natural_heldout.tsv is kept for measuring
# only. bench/understanding.py prints what each reading gets on all of them.
TEMPLATE_SURE = 0.97                 # the templates explain (nearly) every word: they decide
TEMPLATE_AGREE = 0.3                 # a partial template match stands when the reader gives it this much
MODEL_SURE = 0.45                    # the reader's label is taken from this probability up
SAFETY_SURE = 0.3                    # ... and a stop, pause or pain report from this
# The fine-tuned reader's own two (its probabilities are sharper) are options: ReadingFloors, below.
TUNED_ONE_WORD_SURE = 0.7            # the fine-tuned reader, for a line of one word the templates do not know
# The fine-tuned reader's share of the probabilities when both readers are ready (the n-gram
# reader's is the rest): the best total on the development sets, no worse on the held-out and
# pain sets (bench/tuned_reader.py --sweep and --shares; docs/understanding.md).
TUNED_WEIGHT = 0.5
ASIDE_SURE = 0.3                     # thanks, greeting or not-covered from this (a wrong one only changes the wording)
COST: dict[str, float] = {Intent.REPORT_PAIN: 2.5, Intent.STOP: 2.0, Intent.PAUSE: 2.0}    # how much more a miss of these costs
EXERCISING_PAIN_COST = 4.0           # during an exercise a missed pain report costs most


@dataclass(frozen=True)
class TrainingLine:
    text: str
    label: str                       # an intent, an aside, or "none"
    slots: dict[str, Any]
    where: str                       # file:line


def read_training_lines(directory: Path = INTENTS_DIR) -> list[TrainingLine]:
    """Every `training*.tsv` of `directory`: `text<TAB>label<TAB>slots-json` lines, # a comment."""
    out: list[TrainingLine] = []
    for path in sorted(directory.glob("training*.tsv")):
        out += _read_training_file(path)
    return out


def _read_training_file(path: Path) -> list[TrainingLine]:
    out: list[TrainingLine] = []
    with path.open(encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            if not row or not row[0].strip() or row[0].startswith("#"):
                continue
            if len(row) < 2:
                raise ValueError(f"{path}:{number}: expected text<TAB>label<TAB>slots")
            slots = json.loads(row[2]) if len(row) > 2 and row[2].strip() else {}
            out.append(TrainingLine(row[0].strip(), row[1].strip(), slots, f"{path}:{number}"))
    return out


def training_examples(catalog: Catalog, lines: Iterable[TrainingLine] = (),
                      article: Mapping[str, Sequence[str]] | None = None) -> list[Example]:
    """What the reader learns from: template samples, our lines, the article's sentences."""
    from voicecoach.intents.classifier import Example

    examples: list[Example] = []
    for sample in catalog.context_samples(per_template=TEMPLATE_SAMPLES_PER_TEMPLATE):
        intent = sample.intent
        examples.append(Example(sample.text, label_of(intent, finish_slots(intent, sample.slots))))
    for line in lines:
        examples.append(Example(line.text, label_of(line.label, line.slots)))
    for topic, sentences in (article or {}).items():
        for sentence in sentences:
            examples.append(Example(sentence, f"ask:{topic}", ARTICLE_WEIGHT))
    return examples


class ReaderUnavailable(RuntimeError):
    """The statistical reader cannot be used; the message is one line."""


class Reader(Protocol):
    """What `understand` asks of the readings behind the templates."""

    @property
    def ready(self) -> bool: ...

    @property
    def deciding(self) -> str:
        """Which reading `probabilities` answers with: "tuned" or "ngram"."""
        ...

    def opinions(self, text: str) -> dict[str, dict[str, float]]:
        """Each loaded reading's probabilities, by its name ("tuned", "ngram"): each reading
        reads the line once."""
        ...

    def probabilities_of(self, opinions: Mapping[str, dict[str, float]]) -> dict[str, float]:
        """The probabilities `deciding` answers with, made from one line's `opinions` (no
        reading runs again)."""
        ...


class StatisticalReader:
    """The classifier, trained once from its examples and cached on disk by their hash.

    `start_loading()` trains or loads it in the background; until `ready`, `understand`
    reads with the templates alone. `examples` may be a callable, so that gathering them
    (reading the training lines, expanding the templates) happens in the background too;
    `notify` hears, in one line, why the reader is unavailable when loading fails."""

    def __init__(self, examples: Sequence[Example] | Callable[[], Sequence[Example]], cache_dir: Path | None = None,
                 model_file: Path | None = None, notify: Callable[[str], None] | None = None,
                 intents: Collection[str] | None = None) -> None:
        self._examples = examples
        self.intents = frozenset(intents) if intents is not None else None   # None: labels unchecked
        self.notify = notify
        self.cache_dir = cache_dir
        self.model_file = model_file
        self.classifier: IntentClassifier | None = None
        self.error: str | None = None
        self.load_seconds = 0.0
        self._loaded = threading.Event()

    @property
    def ready(self) -> bool:
        return self.classifier is not None

    @property
    def examples(self) -> list[Example]:
        if callable(self._examples):
            self._examples = list(self._examples())
        return list(self._examples)

    def start_loading(self) -> StatisticalReader:
        threading.Thread(target=self.load, name="reader-load", daemon=True).start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """True once loading has ended (well or not) within `timeout`."""
        return self._loaded.wait(timeout)

    def load(self) -> StatisticalReader:
        started = time.perf_counter()
        try:
            self.classifier = self._load_or_train()
        except Exception as exc:  # noqa: BLE001 - a broken model file, cache or training file: the templates answer alone
            self.error = f"the statistical reader is unavailable ({' '.join(str(exc).split()) or type(exc).__name__})"
        self.load_seconds = time.perf_counter() - started
        self._loaded.set()
        if self.error and self.notify is not None:
            self.notify(f"{self.error}; reading with the templates alone")
        return self

    def _load_or_train(self) -> IntentClassifier:
        from voicecoach.intents.classifier import (
            IntentClassifier,
            ModelError,
            examples_hash,
            train,
        )

        if self.model_file is not None:
            return self._checked(IntentClassifier.load(self.model_file), self.model_file)
        examples = self.examples
        digest = examples_hash(examples)
        cached = self.cache_dir / f"reader-{digest}.npz" if self.cache_dir else None
        if cached is not None:
            try:
                private_folder(cached.parent)
                classifier = self._checked(IntentClassifier.load(cached, private=True), cached)
                if classifier.data_hash == digest:
                    return classifier
                log.info("%s was trained from other examples; training the reader again", cached)
            except ModelError as exc:     # missing, damaged, odd or not ours: trained again
                log.info("the cached reader is not used (%s); training it again", exc)
            except OSError as exc:
                log.info("the reader is not cached: %s", exc)
                cached = None
        classifier = train(examples)
        if cached is not None:
            _save_atomically(classifier, cached)
        return classifier

    def _checked(self, classifier: IntentClassifier, path: Path) -> IntentClassifier:
        """`classifier` when each of its labels names an intent this program reads (and
        `adjust` a direction); raises ModelError otherwise."""
        from voicecoach.intents.classifier import ModelError

        if self.intents is None:
            return classifier
        for label in classifier.labels:
            intent, _, value = label.partition(":")
            if intent not in self.intents or (intent == Intent.ADJUST and value not in ("+", "-")):
                raise ModelError(f"{path}: its label {label!r} is not one this program reads")
        return classifier

    def probabilities(self, text: str) -> dict[str, float]:
        if self.classifier is None:
            raise ReaderUnavailable(self.error or "the statistical reader is still loading")
        return self.classifier.probabilities(text)

    @property
    def deciding(self) -> str:
        return "ngram"

    def opinions(self, text: str) -> dict[str, dict[str, float]]:
        return {"ngram": self.probabilities(text)}

    def probabilities_of(self, opinions: Mapping[str, dict[str, float]]) -> dict[str, float]:
        return opinions["ngram"]


READER_OFF = "off"
TUNED_LOAD_DELAY = 1.0              # seconds before the fine-tuned reader loads (the first prompt first)
TUNED_LOAD_WAIT = 10.0               # seconds a program that ends at once waits for the model to finish loading


def tuned_share(weight: float) -> float:
    """`weight` as the fine-tuned reader's share of mixed probabilities: from 0.0 (the n-gram
    reader alone) to 1.0 (the fine-tuned reader alone); anything else is refused."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"the fine-tuned reader's share must be from 0.0 to 1.0, not {weight!r}")
    return float(weight)


def mixed(tuned: Mapping[str, float], ngram: Mapping[str, float], weight: float) -> dict[str, float]:
    """Both readings' probabilities in one: the fine-tuned one counts `weight`, the n-gram one the rest."""
    return {label: weight * tuned.get(label, 0.0) + (1.0 - weight) * ngram.get(label, 0.0)
            for label in set(tuned) | set(ngram)}


def deciding_probabilities(opinions: Mapping[str, dict[str, float]], weight: float) -> dict[str, float]:
    """The probabilities a line is decided with, from its readings' `opinions`: the fine-tuned
    one when there is one (mixed with the n-gram one at `weight` below 1.0, when there is that
    too), else the n-gram one. ReaderUnavailable when there is neither."""
    tuned, ngram = opinions.get("tuned"), opinions.get("ngram")
    if tuned is not None:
        return tuned if weight >= 1.0 or ngram is None else mixed(tuned, ngram, weight)
    if ngram is not None:
        return ngram
    raise ReaderUnavailable("no reader is loaded")


class Readers:
    """The fine-tuned reader first, the n-gram reader behind it.

    `probabilities` answers with the fine-tuned reader when it has loaded, else with the n-gram
    reader (so a missing or broken model costs one line and nothing else); `opinions` gives
    every loaded reading, for the pain policy ("pain whenever any reading names it"). Both load
    in one background thread, the fine-tuned one first; until one is ready the templates
    answer alone.

    `tuned_weight` is the fine-tuned reader's share when both readers are ready: 1.0 (the
    default here) takes the fine-tuned reader alone; less mixes in the n-gram reader's
    probabilities. The coach's readers come from `open_reader`, at TUNED_WEIGHT
    (bench/tuned_reader.py --sweep compares shares)."""

    def __init__(self, tuned: Any | None, ngram: StatisticalReader | None,
                 notify: Callable[[str], None] | None = None, *, tuned_weight: float = 1.0) -> None:
        self.tuned = tuned
        self.ngram = ngram
        self.notify = notify
        self._tuned_weight = tuned_share(tuned_weight)
        self.tuned_error: str | None = None
        self.load_seconds = 0.0
        self._loaded = threading.Event()
        self._tuned_loaded = threading.Event()
        self._closing = threading.Event()
        self._building = False                # the fine-tuned model is being built (onnxruntime at work)
        self._state = threading.Lock()
        self._delay = 0.0

    @property
    def ready(self) -> bool:
        return bool(self.tuned is not None and self.tuned.ready) or bool(self.ngram is not None and self.ngram.ready)

    @property
    def error(self) -> str | None:
        if self.ready:
            return None
        return (self.ngram.error if self.ngram is not None else None) or self.tuned_error

    def start_loading(self, delay: float | None = None) -> Readers:
        """Load in the background: the n-gram reader at once (as before), the fine-tuned one
        `delay` seconds later, so that importing onnxruntime (which holds the interpreter while
        it does) does not hold up the first prompt; meanwhile the n-gram reader answers."""
        self._delay = TUNED_LOAD_DELAY if delay is None else delay
        # onnxruntime aborts the process ("terminate called without an active exception") when
        # the interpreter ends while a session is being built on another thread: a program that
        # ends that soon waits for it (a fraction of a second), or stops it from starting.
        atexit.register(self._close)
        threading.Thread(target=self.load, name="reader-load", daemon=True).start()
        return self

    def _close(self) -> None:
        with self._state:
            self._closing.set()
            building = self._building
        if building:
            self._tuned_loaded.wait(TUNED_LOAD_WAIT)

    def _may_build(self) -> bool:
        """Whether to build the fine-tuned model now: not once the program is ending."""
        with self._state:
            self._building = not self._closing.is_set()
            return self._building

    @property
    def classifier(self) -> Any:
        """The n-gram reader's classifier (None when there is none)."""
        return self.ngram.classifier if self.ngram is not None else None

    def wait(self, timeout: float | None = None) -> bool:
        return self._loaded.wait(timeout)

    def load(self) -> Readers:
        started = time.perf_counter()
        if self.ngram is not None:
            self.ngram.notify = None
            self.ngram.load()
        if self.tuned is not None and not self._closing.wait(max(0.0, self._delay - (time.perf_counter() - started))) \
                and self._may_build():
            from voicecoach.intents.tuned import TunedReaderUnavailable

            try:
                self.tuned.load()
            except TunedReaderUnavailable as exc:
                fallback = "the n-gram reader" if self.ngram is not None and self.ngram.ready else "the templates alone"
                self.tuned_error = f"{' '.join(str(exc).split())}; reading with {fallback}"
                if self.notify is not None:
                    self.notify(self.tuned_error)
        self._tuned_loaded.set()
        problem = self.ngram_problem()
        if problem and self.notify is not None:
            self.notify(problem)
        self.load_seconds = time.perf_counter() - started
        self._loaded.set()
        return self

    def ngram_problem(self) -> str | None:
        if self.ngram is None or not self.ngram.error:
            return None
        tuned = self.tuned is not None and self.tuned.ready
        return f"{self.ngram.error}; reading with {'the fine-tuned reader' if tuned else 'the templates alone'}"

    @property
    def deciding(self) -> str:
        """Which reading `probabilities` answers with: "tuned" or "ngram"."""
        return "tuned" if self.tuned is not None and self.tuned.ready else "ngram"

    @property
    def tuned_weight(self) -> float:
        """The fine-tuned reader's share when both readers are ready (1.0: it alone)."""
        return self._tuned_weight

    def probabilities(self, text: str) -> dict[str, float]:
        """The probabilities `deciding` answers with; the n-gram reader reads only when it counts."""
        alone = self.tuned is not None and self.tuned.ready and self._tuned_weight >= 1.0
        return self.probabilities_of(self.opinions(text, ("tuned",) if alone else ("tuned", "ngram")))

    def opinions(self, text: str, names: Collection[str] = ("tuned", "ngram")) -> dict[str, dict[str, float]]:
        """Each loaded reading's probabilities, of those `names`: "tuned" and "ngram"."""
        out: dict[str, dict[str, float]] = {}
        if "tuned" in names and self.tuned is not None and self.tuned.ready:
            out["tuned"] = self.tuned.probabilities(text)
        if "ngram" in names and self.ngram is not None and self.ngram.ready:
            out["ngram"] = self.ngram.probabilities(text)
        return out

    def probabilities_of(self, opinions: Mapping[str, dict[str, float]]) -> dict[str, float]:
        """The probabilities `deciding` answers with, from one line's `opinions`: the fine-tuned
        reading at this share, mixed with the n-gram one; either alone when it is the only one."""
        if not opinions:
            raise ReaderUnavailable(self.error or "no reader is loaded")
        return deciding_probabilities(opinions, self._tuned_weight)


def open_reader(catalog: Catalog, article: Mapping[str, Sequence[str]] | None = None, model: str | None = None,
                background: bool = True, cache_dir: Path | None = None,
                notify: Callable[[str], None] | None = None,
                model_source: str = "the settings", tuned: str | None = None,
                tuned_source: str = "the settings",
                tuned_weight: float = TUNED_WEIGHT) -> tuple[Readers | None, str | None]:
    """The readers behind the templates (loading, or loaded) and a one-line notice when there are none.

    `tuned` is the resolved `tuned_reader` setting (`--tuned-reader FILE`,
    $VOICECOACH_TUNED_READER or `tuned_reader:` in the config file): a fine-tuned ONNX model,
    "off" for none; by default (None) the shipped voicecoach/intents/models/reader.onnx.

    `model` is the resolved `reader_model` setting (`--reader-model FILE`,
    $VOICECOACH_READER_MODEL or `reader_model:` in the config file): a saved n-gram classifier to
    use, or "off" to read without it. By default (None) the classifier is trained from the
    shipped examples once and cached in the user's cache folder. Both off: the templates alone.
    Loading in the background, a failure later reaches `notify` as one line. `tuned_weight` is
    the fine-tuned reader's share of the mixed probabilities (`Readers`).
    """
    tuned_reader, tuned_notice = _tuned_reader(catalog, tuned, tuned_source)
    ngram, notice = _ngram_reader(catalog, article, model, background, cache_dir, notify, model_source)
    if tuned_reader is None and ngram is None:
        return None, "; ".join(n for n in (tuned_notice, notice) if n) or None
    if background:
        if tuned_notice and notify is not None:
            notify(tuned_notice)
        return Readers(tuned_reader, ngram, notify, tuned_weight=tuned_weight).start_loading(), notice
    readers = Readers(tuned_reader, ngram, tuned_weight=tuned_weight).load()
    problems = "; ".join(n for n in (tuned_notice, notice, readers.tuned_error, readers.ngram_problem()) if n)
    return (readers if readers.ready else None), problems or None


def _tuned_reader(catalog: Catalog, setting: str | None, source: str) -> tuple[Any | None, str | None]:
    from voicecoach.intents.tuned import MODEL_FILE, TunedReader

    if setting is not None and str(setting).strip().lower() == READER_OFF:
        return None, None
    path = Path(str(setting)).expanduser() if setting is not None else MODEL_FILE
    if setting is None and not path.exists():
        return None, None                          # an install without the model: the n-gram reader reads
    if not path.is_file():
        return None, f"the fine-tuned reader from {source} ({path}) is not a file; reading with the n-gram reader"
    return TunedReader(path, intents=reader_intents(catalog)), None


def _ngram_reader(catalog: Catalog, article: Mapping[str, Sequence[str]] | None, model: str | None,
                  background: bool, cache_dir: Path | None,
                  notify: Callable[[str], None] | None, model_source: str) -> tuple[StatisticalReader | None, str | None]:
    if model is not None and str(model).strip().lower() == READER_OFF:
        return None, None
    model_file = Path(str(model)).expanduser() if model is not None else None
    source = model_source             # where the setting came from: flag, env or config
    if model_file is not None and not model_file.is_file():
        return None, f"the reader model from {source} ({model_file}) is not a file; reading with the templates alone"
    if cache_dir is None and model_file is None:
        from platformdirs import user_cache_dir

        cache_dir = Path(user_cache_dir("voicecoach"))
    reader = StatisticalReader(lambda: training_examples(catalog, read_training_lines(), article), cache_dir,
                               model_file, notify if background else None, reader_intents(catalog))
    return reader, None


def reader_intents(catalog: Catalog) -> frozenset[str]:
    """What a reader's labels may name: the catalog's intents, the asides and no command."""
    return frozenset(catalog.intents) | frozenset(ASIDES) | {NO_MATCH}


def _save_atomically(classifier: IntentClassifier, path: Path) -> None:
    buffer = io.BytesIO()
    classifier.save(buffer)
    try:
        write_private(path, buffer.getvalue())
        for old in path.parent.glob("reader-*.npz"):   # readers trained from older examples
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.info("the reader is not cached: %s", exc)     # trained again next time


# ----- one answer ---------------------------------------------------------------------------

# ----- policy: what no reading may get wrong ----------------------------------------------

# A line said to another assistant is not for us, whatever follows ("alexa, stop").
OTHER_ASSISTANT = re.compile(
    r"^(?:(?:um+|uh+|er+|erm|oh|so|and|hmm+)\s+)*(?:(?:hey|hi|okay|ok)\s+)?(?:siri|alexa)\b"
    r"|^(?:(?:um+|uh+|er+|erm|oh|so|and|hmm+)\s+)*(?:hey|hi|okay|ok)\s+google\b")
# Words that say something hurts. With them, a line is never "didn't catch that" during an
# exercise, and a stop, pause or next is taken as the pain report it also is.
PAIN_WORDS = re.compile(
    r"\b(?:hurt\w*|pain\w*|aches?|aching|achy|sore|burn\w*|on fire|throb\w*|stab\w*|pinch\w*|tingl\w*|"
    r"numb\w*|swell\w*|swollen|tender|popped|pop|clicked|snapped|gave (?:out|way)|giving (?:out|way)|buckl\w*|"
    r"killing (?:me|my)|agony|ouch\w*|ow+|owie|yowch|cramp\w*|stings?|stinging|smarts|twinge\w*|spasm\w*|injur\w*|torn|"
    r"tore|strained|pins and needles|out of ten|screaming|"
    r"(?:can't|cannot|can not) (?:put|bear|take) (?:any )?weight)\b")
# A question with words of pain, asked during an exercise, is about what is happening now
# ("is it supposed to hurt like this", "why is my knee throbbing"): pain. One that supposes
# ("what if it hurts", "should i stop when it burns") stays a question.
SUPPOSING = re.compile(r"\b(?:if|when|whenever|should|could|would|might|ever|usually|normally|generally|"
                       r"in general|in case|how do i know|how much pain|is it safe)\b")
# ... a question about now: a pain verb going on, or this, that, now, so much.
ABOUT_NOW = re.compile(r"\b(?:this|that|now|so much|so bad|hurting|aching|burning|throbbing|stabbing|pinching|"
                       r"tingling|stinging|killing|cramping|swelling|popping|clicking)\b")
QUESTION = re.compile(r"^(?:(?:um+|uh+|so|and|okay|ok|but|hey|coach)\s+)*(?:what|whats|what's|why|how|is|isn't|does|"
                      r"do|did|can|could|should|when|where|will|would|are|am|which|who)\b")
PAIN_WITH = frozenset({Intent.STOP, Intent.PAUSE, Intent.NEXT, Intent.TIME_LEFT, Intent.WHATS_NEXT, Intent.RESUME})   # said with pain: pain


def checked_floor(name: str, value: float) -> float:
    """`value` when it is a probability floor, above 0.0 and at most 1.0; a ValueError naming
    `name` and the value otherwise (NaN, a bool or a string included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
        raise ValueError(f"the {name} must be above 0.0 and at most 1.0, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class PainFloors:
    """From how much pain probability each reading makes a line a pain report: a partial
    template match, the fine-tuned reader, the n-gram reader. None: that reading never does."""

    template: float | None
    tuned: float | None
    ngram: float | None

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None:
                checked_floor(f"pain floor of the {field.name} reading", value)

    def of(self, reading: str) -> float:
        """The floor of `reading` ("template", "tuned", "ngram"): above every probability when it
        is None; 1.0 (certain) for a reading not named here."""
        floors = {"template": self.template, "tuned": self.tuned, "ngram": self.ngram}
        if reading not in floors:
            return 1.0
        floor = floors[reading]
        return math.inf if floor is None else floor


@dataclass(frozen=True)
class ReadingFloors:
    """The floors `understand` reads with: pain floors idle and (lower) while exercising, and
    from how much the fine-tuned reader's label is taken (a stop, pause or pain report from
    `tuned_safety_sure`). The defaults were chosen on the development sets by their totals
    (bench/tuned_reader.py --sweep, which passes others); out of range is a ValueError."""

    pain: PainFloors = PainFloors(template=0.5, tuned=0.25, ngram=0.35)
    exercising_pain: PainFloors = PainFloors(template=0.4, tuned=0.12, ngram=0.25)
    tuned_model_sure: float = 0.45
    tuned_safety_sure: float = 0.3

    def __post_init__(self) -> None:
        checked_floor("fine-tuned reader's sureness", self.tuned_model_sure)
        checked_floor("fine-tuned reader's sureness for safety", self.tuned_safety_sure)

    def pain_floors(self, context: Context) -> PainFloors:
        return self.exercising_pain if context.exercising else self.pain


FLOORS = ReadingFloors()                  # as the coach reads


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def addressed_elsewhere(text: str) -> bool:
    """Whether the line is said to another assistant (hey siri, alexa, ok google, hey google)."""
    return bool(OTHER_ASSISTANT.match(_plain(text)))


def has_pain_words(text: str) -> bool:
    return bool(PAIN_WORDS.search(_plain(text)))


def understand(text: str, catalog: Catalog, context: Context | None = None,
               reader: Reader | None = None, templates: bool = True, floors: ReadingFloors = FLOORS) -> Match:
    """What `text` means. `templates=False` reads with the statistical reader alone (to measure
    it); `floors` are the pain floors and the fine-tuned reader's sureness (the coach's by default)."""
    context = context or Context()
    if len(text) > MAX_UTTERANCE_CHARS:         # bounded before either reading does any work
        return _answer(Match(text, NO_MATCH, {}, 0.0), catalog, "template", 1.0)
    if addressed_elsewhere(text):
        return Match(text, NO_MATCH, {}, 1.0, "policy", 1.0)
    match = _read(text, catalog, context, reader, templates, floors)
    return _pain_policy(text, match, context)


def _read(text: str, catalog: Catalog, context: Context, reader: Reader | None, templates: bool,
          floors: ReadingFloors) -> Match:
    use_reader = reader is not None and reader.ready
    if templates or not use_reader:
        template = recognize(text, catalog, context, question_fallback=not use_reader)
    else:
        template = Match(text, NO_MATCH, {}, 0.0)
    if template.intent != NO_MATCH and (template.score >= TEMPLATE_SURE or not use_reader):
        return _answer(template, catalog, "template", template.score)
    if not use_reader:
        return _answer(template, catalog, "template", 1.0 - template.score)
    assert reader is not None
    opinions = reader.opinions(text)                 # each reading reads the line once
    probs = reader.probabilities_of(opinions)
    pain = _pain_named(template, opinions, floors.pain_floors(context))
    if pain is not None:
        return Match(text, Intent.REPORT_PAIN, {}, round(pain, 3), "model", round(pain, 3))
    if reader.deciding != "tuned":
        return _decide(text, template, probs, catalog, context, MODEL_SURE, SAFETY_SURE)
    if len(_plain(text).split()) == 1:
        # One word the templates do not know is little evidence ("now" is no "stop now").
        return _decide(text, template, probs, catalog, context, TUNED_ONE_WORD_SURE, TUNED_ONE_WORD_SURE)
    return _decide(text, template, probs, catalog, context, floors.tuned_model_sure, floors.tuned_safety_sure)


def _pain_named(template: Match, opinions: Mapping[str, Mapping[str, float]], floors: PainFloors) -> float | None:
    """The pain probability of the first reading that names pain above its floor, or None."""
    if template.intent == Intent.REPORT_PAIN and template.score >= floors.of("template"):
        return template.score
    for name, probs in opinions.items():
        p = probs.get(Intent.REPORT_PAIN, 0.0)
        if p >= floors.of(name):
            return p
    return None


def _pain_policy(text: str, match: Match, context: Context) -> Match:
    """Pain said with stop, pause or next is pain. During an exercise, a question with words of
    pain about now ("is it supposed to hurt like this", not "why does my it band hurt" or "what
    if it hurts") is pain, and so is a statement read as a question; an unsure line with words
    of pain pauses and asks (the `pain_check` aside), never "didn't catch that"."""
    if match.intent == Intent.REPORT_PAIN or not has_pain_words(text):
        return match
    if match.intent in PAIN_WITH:
        return Match(text, Intent.REPORT_PAIN, {}, match.score, match.by, match.confidence)
    plain = _plain(text)
    if match.intent == Intent.ASK and context.exercising and not SUPPOSING.search(plain) \
            and (not QUESTION.match(plain) or ABOUT_NOW.search(plain)):
        return Match(text, Intent.REPORT_PAIN, {}, match.score, "policy", match.confidence)
    if match.intent == NO_MATCH and context.exercising and match.aside not in ("thanks", "greeting"):
        return Match(text, Intent.PAUSE, {}, match.score, "policy", match.confidence, PAIN_CHECK)
    return match


def _answer(match: Match, catalog: Catalog, by: str, confidence: float) -> Match:
    """A template reading as the coach takes it: asides become `none`, slots finished."""
    confidence = round(min(1.0, max(0.0, confidence)), 3)
    if match.intent in catalog.asides:
        return Match(match.text, NO_MATCH, {}, match.score, by, confidence, match.intent)
    return replace(match, slots=finish_slots(match.intent, match.slots), by=by, confidence=confidence)


def intent_probabilities(probs: Mapping[str, float]) -> dict[str, float]:
    """Label probabilities summed per intent (all of "ask:..." is the probability of ask)."""
    out: dict[str, float] = {}
    for label, p in probs.items():
        intent = split_label(label)[0]
        out[intent] = out.get(intent, 0.0) + p
    return out


def _cost(intent: str, context: Context) -> float:
    if intent == Intent.REPORT_PAIN and context.exercising:
        return EXERCISING_PAIN_COST
    return COST.get(intent, 1.0)


def _reader_agrees(intent: str, by_intent: Mapping[str, float]) -> bool:
    """Whether a partial template match stands: the reader gives its intent some weight and,
    unless it is a safety intent, more than it gives to the line being no command at all."""
    p = by_intent.get(intent, 0.0)
    if p < TEMPLATE_AGREE:
        return False
    not_a_command = by_intent.get(NO_MATCH, 0.0) + sum(by_intent.get(a, 0.0) for a in ASIDES)
    return intent in SAFETY_INTENTS or p > not_a_command


def _decide(text: str, template: Match, probs: dict[str, float], catalog: Catalog, context: Context,
            model_sure: float = MODEL_SURE, safety_sure: float = SAFETY_SURE) -> Match:
    by_intent = intent_probabilities(probs)
    if template.intent != NO_MATCH and _reader_agrees(template.intent, by_intent):
        return _answer(template, catalog, "template", max(template.score, by_intent[template.intent]))
    # The intent with the least expected cost of a miss wins (safety intents weigh more);
    # then its most probable label says which topic, exercise or direction.
    intent = max(by_intent, key=lambda i: by_intent[i] * _cost(i, context))
    p_intent = by_intent[intent]
    label = max((lb for lb in probs if split_label(lb)[0] == intent), key=probs.__getitem__)
    slots = split_label(label)[1]
    if intent in ASIDES or intent == NO_MATCH:
        aside = intent if intent in ASIDES and p_intent >= ASIDE_SURE else None
        p_none = by_intent.get(NO_MATCH, 0.0) + sum(by_intent.get(a, 0.0) for a in ASIDES)
        return Match(text, NO_MATCH, {}, round(p_intent, 3), "model", round(p_none, 3), aside)
    needed = safety_sure if intent in SAFETY_INTENTS else model_sure
    if p_intent < needed:
        return Match(text, NO_MATCH, {}, round(p_intent, 3), "model", round(1.0 - p_intent, 3))
    if intent == Intent.SET_DURATION:
        duration = duration_slots(text)
        if duration is None:              # "make it longer" said with no number: no guess
            return Match(text, NO_MATCH, {}, round(p_intent, 3), "model", round(1.0 - p_intent, 3))
        slots = duration
    elif intent == Intent.ADJUST:
        slots = adjust_slots(text, int(slots["direction"]))
    return Match(text, intent, slots, round(p_intent, 3), "model", round(p_intent, 3))
