"""The cue cache: made once per engine, voice, rate and volume; in memory and on disk."""
from __future__ import annotations

import numpy as np

from test_voice_fakes import ToneEngine
from voicecoach.voice.cache import CueCache


def test_hits_come_from_memory_then_from_disk_in_a_new_run(tmp_path):
    engine = ToneEngine()
    cache = CueCache(tmp_path)
    first = cache.get(engine, "Halfway.")
    again = cache.get(engine, "Halfway.")
    assert engine.calls == ["Halfway."] and np.array_equal(first, again)
    assert (cache.hits, cache.misses) == (1, 1)
    fresh = CueCache(tmp_path)                       # a new run finds the disk copy
    assert np.array_equal(fresh.get(engine, "Halfway."), first)
    assert engine.calls == ["Halfway."] and (fresh.hits, fresh.misses) == (1, 0)


def test_rate_voice_volume_and_text_each_make_a_new_entry(tmp_path):
    engine = ToneEngine()
    cache = CueCache(tmp_path)
    normal = cache.get(engine, "Halfway.")
    engine.rate = 0.8
    slower = cache.get(engine, "Halfway.")
    assert len(slower) > len(normal)                 # not the stale normal-rate audio
    engine.rate = 1.0
    engine.volume = 0.5
    quieter = cache.get(engine, "Halfway.")
    assert np.abs(quieter).max() < np.abs(normal).max()
    engine.volume = 1.0
    cache.get(ToneEngine(voice_id="another"), "Halfway.")
    cache.get(engine, "Done.")
    assert cache.misses == 5 and len(list(tmp_path.glob("*.npy"))) == 5
    assert np.array_equal(cache.get(engine, "Halfway."), normal) and cache.hits == 1


def test_a_damaged_cache_file_is_made_again(tmp_path):
    engine = ToneEngine()
    made = CueCache(tmp_path).get(engine, "Done.")
    for path in tmp_path.glob("*.npy"):
        path.write_bytes(b"garbage")
    again = CueCache(tmp_path)
    assert np.array_equal(again.get(engine, "Done."), made) and again.misses == 1


def test_an_unwritable_cache_directory_still_caches_in_memory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    engine = ToneEngine()
    cache = CueCache(blocker / "cues")
    cache.get(engine, "Done.")
    cache.get(engine, "Done.")
    assert engine.calls == ["Done."] and cache.hits == 1
