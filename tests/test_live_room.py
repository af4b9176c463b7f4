"""The coach as a user runs it, through a real sound server: a private PulseAudio room
(bench/room.py) where `voicecoach` plays to one sink, a person's recorded speech is played into
another, and the coach's microphone hears both. The timings are printed by
bench/live_session.py; these tests assert the behaviour.

Needs the distribution's `pulseaudio`, `pulseaudio-utils` and `espeak-ng` (.ci/run installs
them); skipped with the reason where they are missing. Marked `live`: `-m "not live"` leaves
them out of a quick run.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.live

room_module = pytest.importorskip("bench.room", reason="bench/ is not importable from here")
pytest.importorskip("pexpect", reason="pexpect is not installed (pip install -e '.[test]')")
MISSING = room_module.missing_programs() + ([] if shutil.which("espeak-ng") else ["espeak-ng"])
if MISSING:
    pytest.skip(f"the live room needs {', '.join(MISSING)} (apt-get install pulseaudio pulseaudio-utils espeak-ng)",
                allow_module_level=True)

from bench.live_session import (EXPECTED_STATUS, GREETED, SESSION, acted_on, coach_alone, person_lines,  # noqa: E402
                                run_session, signals_while_decoding)
from bench.room import Room  # noqa: E402

STRAY = ("ALSA lib", "jack server", "JackShm", "Cannot connect to server", "Traceback", "Segmentation")


@pytest.fixture(scope="module")
def room():
    with Room() as made:
        yield made


@pytest.fixture(scope="module")
def words(tmp_path_factory):
    return person_lines(tmp_path_factory.mktemp("person"))


@pytest.fixture(scope="module")
def offline(words):
    """What `voicecoach transcribe` makes of each of the person's recordings (no room, no
    canceller): the intent read offline, by the words said."""
    result = subprocess.run([sys.executable, "-m", "voicecoach", "transcribe", *map(str, words.values())],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    by_file = {Path(json.loads(line)["file"]): json.loads(line)["intent"] for line in result.stdout.splitlines()}
    assert set(by_file) == set(words.values()), result.stderr
    return {said: by_file[wav] for said, wav in words.items()}


@pytest.fixture(scope="module")
def session(room, tmp_path_factory):
    """One launch of the coach, the scripted session spoken to it, start to end."""
    return run_session(room, tmp_path_factory.mktemp("session"))


def test_voice_mode_is_reached_on_a_stock_sound_server_with_no_stray_lines(session):
    texts = session.lines
    assert any(re.search(GREETED, t) for t in texts), texts
    assert any("voice plays on a duplex stream" in t for t in texts), texts
    assert any(re.search(r"audio backend PULSEAUDIO: playback .*capture", t) for t in texts), texts
    assert not [t for t in texts if "No microphone" in t or "No speaker" in t]
    assert not [t for t in texts if any(s in t for s in STRAY)], texts
    assert any(re.search(r"^coach: .*(Goodbye|stopping)", t) for t in texts), texts[-5:]   # "stop", typed, ends it


def test_a_spoken_session_is_heard_and_acted_on_as_the_same_audio_is_read_offline(session, offline):
    result = session
    assert result.greeting_s is not None
    misses = []
    for step in result.steps:
        if step.step.over:
            # Said over the coach's voice, as loud as it: stop, pause and pain are acted on.
            if step.acted != step.step.intent:
                misses.append((step.step, step.heard))
        elif offline[step.step.words] == step.step.intent and step.acted != step.step.intent:
            misses.append((step.step, step.heard))   # read right offline, but not through the room
    # Measured on an idle machine: 9 and 10 of 10 (bench/live_session.py, docs/hearing.md). One
    # miss is allowed for the machine this runs on; two are a regression.
    if len(misses) > 1:      # pytest.fail: an assertion's message would be cut short
        pytest.fail(f"{len(misses)} misses (one is allowed): {misses}\nwhat the coach printed and logged:\n"
                    + _compact(result.lines), pytrace=False)
    stop = next(step for step in result.steps if step.step.over and step.step.intent == "stop")
    assert stop.acted == "stop", stop.heard
    # Hearing keeps up with the room: no command was read seconds late.
    assert all(step.lag_ms is None or step.lag_ms < 2000 for step in result.steps), [s.lag_ms for s in result.steps]


def _compact(lines: list[str]) -> str:
    """What the coach printed and logged (-v), without the live line's repaints: why a step was missed."""
    return "\n".join(t for t in lines if t.startswith(("heard:", "coach:", "voicecoach:")))


def test_the_coach_talking_alone_acts_on_nothing_it_says(room):
    alone = coach_alone(room, minutes=1.0)
    assert alone.acted == [] and alone.stalls == 0


def test_signals_while_decoding_end_with_the_conventional_status(room, tmp_path):
    results = signals_while_decoding(room, tmp_path, 3)
    assert [(r.sent, r.status) for r in results] == [(r.sent, EXPECTED_STATUS[r.sent]) for r in results]


def test_the_room_records_coach_and_person_on_one_clock(room, words):
    # The harness itself: the person's line lands on the right channel only, where it was played.
    with room.recording() as take:
        room.say(words[SESSION[3].words])
    coach, person = take.timeline()
    assert coach == [] and len(person) >= 1
    assert acted_on(["heard: 'pause' -> pause"]) == "pause"
    assert acted_on(["heard: 'pause' -> pause  (echo)"]) is None


def test_the_person_is_heard_from_the_first_sample(room, tmp_path):
    # The harness itself: PulseAudio drops the start of a new stream; Room.say plays a lead-in of
    # silence first, so the room hears the person's line whole ("add" of "add ten seconds").
    import numpy as np

    from voicecoach.hearing.signal.audio import write_wav

    rate = 48000
    source = (np.random.default_rng(1).standard_normal(rate) * 0.1).astype(np.float32)
    path = tmp_path / "noise.wav"
    write_wav(path, source, rate)
    with room.recording() as take:
        room.say(path)
    _, person = take.channels()
    begins = int(np.argmax(np.abs(person) > 0.01))
    heard = person[begins:begins + rate // 10]
    lag = int(np.argmax(np.abs(np.correlate(source, heard, mode="valid"))))
    assert lag < rate // 1000, f"the room heard the line from its {1000 * lag / rate:.0f} ms on"
