"""The synthesized corpus: labels follow the samples, noise at the stated SNR, same seed same corpus."""
from __future__ import annotations

import json
import random
import shutil

import numpy as np
import pytest

from voicecoach.hearing.signal.audio import read_wav

from bench import make_corpus

STAND_IN = [("stop", "stop", {}), ("pause", "pause", {}), ("set a timer for thirty seconds", "set_duration", {"seconds": 30})]
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt install espeak-ng)")


def test_sentences_spread_over_intents_and_out_of_domain_that_parses_is_left_out():
    chosen = make_corpus.pick_sentences(STAND_IN, 20, random.Random(1), ["go", "play some jazz"],
                                        parses=lambda text: text == "go")
    assert len(chosen) == 20
    assert {intent for _, intent, _ in chosen} == {"stop", "pause", "set_duration", "none"}
    assert sum(intent == "none" for _, intent, _ in chosen) == 6
    assert all(text == "play some jazz" for text, intent, _ in chosen if intent == "none")


def test_no_samples_is_a_clear_error():
    with pytest.raises(ValueError, match="no sample sentences"):
        make_corpus.pick_sentences([], 5, random.Random(1), [])


def test_noise_is_mixed_at_the_stated_snr_of_the_speech():
    rng = np.random.default_rng(3)
    speech = (0.2 * np.sin(np.arange(16000) / 5)).astype(np.float32)
    padded = np.concatenate([np.zeros(8000, np.float32), speech, np.zeros(8000, np.float32)])
    mixed = make_corpus.mix_at_snr(speech, padded, 10, rng)
    noise = mixed - padded
    snr = 10 * np.log10(np.mean(speech ** 2) / np.mean(noise ** 2))
    assert snr == pytest.approx(10, abs=0.2)


@needs_espeak
def test_a_small_corpus_is_written_with_its_manifest_and_repeats_with_the_seed(tmp_path):
    takes = make_corpus.make_corpus(tmp_path / "a", STAND_IN, 6, seed=4)
    again = make_corpus.make_corpus(tmp_path / "b", STAND_IN, 6, seed=4)
    assert takes == again
    assert (tmp_path / "a" / takes[0].file).read_bytes() == (tmp_path / "b" / takes[0].file).read_bytes()
    rows = [line.split("\t") for line in (tmp_path / "a" / "manifest.tsv").read_text().splitlines()]
    assert rows[0][:4] == ["# file", "transcript", "intent", "slots(json)"]
    assert len(rows) == 7 and all(len(row) == 5 for row in rows)
    for file, text, intent, slots, source in rows[1:]:
        assert (text, intent, json.loads(slots)) in [(t, i, s) for t, i, s in STAND_IN] or intent == "none"
        assert source.startswith("espeak-ng ")
        assert len(read_wav(tmp_path / "a" / file)) > 1600
    assert sum("noise" in row[4] for row in rows[1:]) == 3
