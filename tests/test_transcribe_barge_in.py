"""`voicecoach transcribe` hears a file as the live coach would: the closed-vocabulary check
for stop, pause and pain phrases first, then Whisper with both readings."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest


from conftest import AUDIO, REPO, require_shared
from voicecoach import transcribe as commands


class FakeSpotter:
    def __init__(self, hit=None, fails: bool = False) -> None:
        self.hit, self.fails = hit, fails

    def spot(self, audio):
        if self.fails:
            raise RuntimeError("decoder gone")
        return self.hit


def test_a_failing_check_leaves_the_recognizer_to_hear():
    assert commands._barge_in_hit(FakeSpotter(fails=True), []) is None
    assert commands._barge_in_hit(None, []) is None
    assert commands._barge_in_hit(FakeSpotter(hit="stop"), []) == "stop"


@pytest.mark.slow
def test_real_single_word_stops_are_heard():
    clips = sorted(AUDIO.glob("sc_stop_*.wav")) if AUDIO.exists() else []
    if not clips:
        require_shared("audio/sc_stop_*.wav")
    result = subprocess.run([sys.executable, "-m", "voicecoach", "transcribe", *map(str, clips)],
                            capture_output=True, text=True, timeout=600, cwd=REPO)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    heard = sum(row["intent"] == "stop" for row in rows)
    print(f"single-word stops heard: {heard}/{len(rows)}")
    assert len(rows) == len(clips) and heard >= len(clips) - 1
