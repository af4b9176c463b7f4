"""The keyword model's training data: voices the benchmarks never use, one intent per phrase
(what a user means where phrases share words), and the augmentations (the clipped onset,
the coach's voice as the linear canceller leaves it, a yielding coach)."""
from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest

from conftest import REPO
from voicecoach.hearing.signal.audio import SAMPLE_RATE

from bench import train_keywords as train

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt install espeak-ng)")
# The rooms, filters and canceller residues of training use scipy, which comes with the bench extra.
needs_scipy = pytest.mark.skipif(importlib.util.find_spec("scipy") is None,
                                 reason="scipy is not installed (it comes with pip install '.[bench]')")


def benchmark_voices() -> set[str]:
    from bench import make_corpus

    return set(make_corpus.VOICES) | set(train.BENCH_BARGE_IN_VOICES)


def test_the_barge_in_benchmarks_voices_are_the_ones_kept_out():
    barge_in = (REPO / "bench" / "barge_in.py").read_text(encoding="utf-8")
    for voice in train.BENCH_BARGE_IN_VOICES:
        assert f'("{voice}", ' in barge_in


def test_the_keyword_model_tests_validation_voices_are_the_training_scripts():
    spec = importlib.util.spec_from_file_location("test_keyword_model", REPO / "tests" / "test_keyword_model.py")
    source = spec.loader.get_data(spec.origin).decode("utf-8")
    assert f"VALIDATION_VOICES = {train.VALIDATION_VOICES!r}".replace("'", '"') in source


def test_no_candidate_or_validation_voice_is_named_as_a_benchmarks():
    held_out = benchmark_voices()
    assert not held_out & set(train.candidate_voices())
    assert not held_out & set(train.VALIDATION_VOICES)
    assert not set(train.VALIDATION_VOICES) & set(train.candidate_voices())


@needs_espeak
def test_voices_that_sound_like_a_benchmarks_or_each_other_are_dropped():
    # espeak-ng ignores variants on en-gb and unknown variant names: these are "en-gb" and "en-us".
    kept = train.train_voices(["en-gb+m2", "en-us+David", "en-us+m1", "en-us+m1", "en-gb-x-rp+m6"])
    assert kept == ["en-us+m1", "en-gb-x-rp+m6"]


def test_training_rates_are_off_the_benchmarks_grid():
    from bench import make_corpus

    barge_in_rates = {160, 140, 175, 150}
    assert not set(train.TRAIN_RATES) & (set(make_corpus.RATES) | barge_in_rates)


def test_every_phrase_has_one_intent():
    texts = [t for texts in train.POSITIVES.values() for t in texts]
    negatives = train.OTHER_COMMANDS + train.SOUND_ALIKES
    assert len(texts) == len(set(texts))
    assert not set(texts) & set(negatives) and not set(texts) & set(train.HOMOPHONES)


@pytest.mark.parametrize("text,intent", [
    ("wait that hurts", "report_pain"), ("stop it hurts", "report_pain"), ("hold on that hurts", "report_pain"),
    ("wait a second", "pause"), ("hold on a second", "pause"), ("hang on a second", "pause"),
    ("okay stop", "stop"), ("not those", "none"), ("then start", "none"), ("that works", "none"),
    ("and so on", "none"), ("top", "none"), ("hearts", "none"),
])
def test_what_a_user_means_names_the_class(text, intent):
    assert train.label_of(text) == intent
    assert text in train.OTHER_COMMANDS + train.SOUND_ALIKES or intent != "none"


def test_a_pain_phrase_names_every_utterance_it_ends():
    for intent, texts in train.POSITIVES.items():
        for text in texts:
            assert (intent == "report_pain") == text.endswith(("hurts", "ouch")), text


def test_the_phrases_said_alone_are_every_phrase_without_leading_words():
    alone = train.phrases_alone()
    assert set(alone) == {"stop", "pause", "wait", "hold on", "hang on", "ouch", "that hurts", "it hurts"}
    assert all(train.label_of(text) != "none" for text in alone)


def test_every_take_has_one_plain_copy_besides_its_augmented_ones():
    silent = np.zeros(10, np.float32)
    for text, source, augmented in (("ouch", "espeak en-us+m1 s145 p40", train.POSITIVE_COPIES),
                                    ("stop", "piper x1.0", train.POSITIVE_COPIES),
                                    ("start", "espeak en-us+m1 s145 p40", train.NEGATIVE_COPIES)):
        take = train.Take(text, train.label_of(text), silent, source)
        assert train.copies_of(take) == [True] + [False] * augmented
        assert train.copies_of(take, quick=True) == [True, False]


def test_the_clipped_onset_is_quiet_then_whole():
    rng = np.random.default_rng(1)
    speech = np.ones(SAMPLE_RATE, np.float32)
    for _ in range(20):
        clipped = train.clipped_onset(speech, rng)
        assert np.all(clipped[:int(0.05 * SAMPLE_RATE)] <= 10 ** (-10 / 20) + 1e-6)
        assert np.all(clipped[int(0.17 * SAMPLE_RATE):] == 1.0)


def test_the_coach_yields_after_the_first_words():
    envelope = train.fade_after(1000, 300, 100)
    assert np.all(envelope[:300] == 1.0) and np.all(envelope[400:] == 0.0)
    assert np.all(np.diff(envelope[300:400]) < 0)


@needs_scipy
@pytest.mark.slow
def test_the_linear_canceller_leaves_a_residue_well_under_the_echo():
    rng = np.random.default_rng(2)
    t = np.arange(4 * SAMPLE_RATE) / SAMPLE_RATE
    line = (0.1 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.02 * rng.standard_normal(len(t)))
    rir = np.zeros(800, np.float32)
    rir[[40, 300, 700]] = [1.0, 0.4, 0.2]
    (residue,) = train.canceller_residues([line.astype(np.float32)], [rir], rng)
    echo = np.convolve(line, rir)[SAMPLE_RATE:len(line)]
    assert len(residue) == len(line) - SAMPLE_RATE
    assert 10 * np.log10(np.mean(echo ** 2) / np.mean(residue ** 2)) > 15


@needs_scipy
def test_augmenting_is_reproducible_and_double_talk_leaves_the_coach_only_at_the_start():
    rng = np.random.default_rng(3)
    take = (0.1 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
    coach = [np.full(3 * SAMPLE_RATE, 0.05, np.float32)]
    rirs = [np.array([1.0, 0.3], np.float32)]
    first = train.Augmenter(rirs, coach, seed=4)
    again = train.Augmenter(rirs, coach, seed=4)
    for _ in range(5):
        assert np.array_equal(first(take), again(take))
    plain = train.Augmenter(rirs, [], seed=5)(np.zeros(SAMPLE_RATE, np.float32) + 1e-3, plain=True)
    with_coach = train.Augmenter(rirs, coach, seed=5)(np.zeros(SAMPLE_RATE, np.float32) + 1e-3, plain=True,
                                                       double_talk=True)
    added = with_coach - plain
    assert np.abs(added[:int(0.1 * SAMPLE_RATE)]).max() > 0                 # under the first words
    assert np.abs(added[int(0.85 * SAMPLE_RATE):]).max() == 0               # gone once the coach has yielded


def test_the_shipped_model_names_the_voices_it_trained_on_and_none_is_a_benchmarks():
    import json

    from voicecoach.hearing.bargein.keyword_model import SHIPPED_MODEL, KeywordHead

    about = json.loads(KeywordHead.load(SHIPPED_MODEL).about)
    trained = set(about["train_voices"])
    assert len(trained) >= 60
    assert not trained & benchmark_voices() and not trained & set(about["validation_voices"])
    assert not any(voice.startswith("en-gb+") for voice in trained)      # plain "en-gb" to espeak-ng 1.51


def test_the_veto_table_acts_as_the_listen_loop_decides():
    """Each veto in the table is applied by keyword_model.decide, the loop's own rule."""
    from voicecoach.hearing.bargein.keyword_model import PAIN_OVER_COMMAND, Veto, decide
    from voicecoach.hearing.bargein.keywords import KeywordHit

    check_stop, far_off = KeywordHit("stop", "stop", 0.3), KeywordHit("stop", "stop", -9.0)
    unsure_pain = KeywordHit("that hurts", "report_pain", 0.05)
    sure_pain = KeywordHit("that hurts", "report_pain", PAIN_OVER_COMMAND)
    scored = [("a", check_stop, sure_pain), ("b", far_off, unsure_pain), ("c", far_off, sure_pain),
              ("d", KeywordHit("stop", "stop", -1.0), unsure_pain)]
    assert train.acted_on(scored, Veto(-6.0, -12.0)) == [("a", "report_pain"), ("b", None), ("c", "report_pain"),
                                                         ("d", "report_pain")]
    assert train.acted_on(scored, Veto(-6.0, -6.0)) == [("a", "report_pain"), ("b", None), ("c", None),
                                                        ("d", "report_pain")]
    for veto in (Veto(-4.0, -4.0), Veto(-10.0, -100.0)):
        assert [i for _, i in train.acted_on(scored, veto)] == [getattr(decide(c, m, veto), "intent", None)
                                                                for _, c, m in scored]
