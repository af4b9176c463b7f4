"""bench/tuned_reader.py's sweeps of the fine-tuned reader's share and of the floors: they build
readers with each share and pass each set of floors, and leave the understanding module as they
found it."""
from __future__ import annotations

from reader_fakes import FixedReader, Opinionated

from bench import tuned_reader as bench
from bench.understanding import Row
from voicecoach.intents import understand as understand_module
from voicecoach.intents.load import load_catalog
from voicecoach.intents.types import Context
from voicecoach.intents.understand import Readers, ReadingFloors





def test_each_share_is_a_reader_of_its_own_over_the_same_two():
    tuned, ngram = FixedReader({"pause": 0.9, "none": 0.1}), FixedReader({"none": 1.0})
    weighed = bench.weighed(Readers(tuned, ngram), (1.0, 0.5))
    assert {weight: readers.tuned_weight for weight, readers in weighed.items()} == {1.0: 1.0, 0.5: 0.5}
    assert weighed[1.0].probabilities("hm") == {"pause": 0.9, "none": 0.1}
    assert weighed[0.5].probabilities("hm") == {"pause": 0.45, "none": 0.55}
    assert (tuned.lines, ngram.lines) == (1, 1)          # each reader read the line once


def test_the_sweep_varies_the_share_and_leaves_the_module_as_it_was():
    before = dict(vars(understand_module))
    rows = [Row("blorp the flarn", "pause", {}, Context())]
    tuned, ngram = FixedReader({"pause": 0.9, "none": 0.1}), FixedReader({"none": 1.0})
    results = bench.sweep_weights(load_catalog(), Readers(tuned, ngram), rows, (1.0, 0.5, 0.0))
    assert {weight: result.right["pause"] for weight, result in results.items()} == {1.0: 1, 0.5: 1, 0.0: 0}
    assert vars(understand_module) == before





def test_the_floor_sweep_passes_floors_and_leaves_the_module_as_it_was():
    before = dict(vars(understand_module))
    rows = [Row("blorp the flarn", "report_pain", {}, Context())]
    reader = Opinionated({"report_pain": 0.3, "pause": 0.4, "none": 0.3})
    grid = bench.floor_grid(tuned=(0.25, 0.35), ngram=(None,), model_sure=(0.45,), safety_sure=(0.3,))
    results = bench.sweep_floors(load_catalog(), reader, rows, grid)
    assert [(floors.pain.tuned, result.pain_heard) for floors, result in results.items()] == [(0.25, 1), (0.35, 0)]
    assert vars(understand_module) == before and understand_module.FLOORS == ReadingFloors()
    assert len(bench.floor_grid()) == 12 and all(isinstance(f, ReadingFloors) for f in bench.floor_grid())
