"""Shared fixtures: a small hand-made content set so session tests do not depend on the YAML."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from voicecoach.content.loader import load_content
from voicecoach.content.model import Content, Exercise, Program, Topic, Value

REPO = Path(__file__).resolve().parents[1]
# The development material kept beside the repository (real recordings, the article, evaluation
# sets): not in a clone. Tests that need it carry @pytest.mark.shared("audio/x.wav", ...) or call
# require_shared(...), and are skipped with the one reason below, counted at the end of the run.
SHARED = Path(os.environ.get("VOICECOACH_SHARED") or REPO.parent / "shared")
SHARED_MISSING = f"needs the development material beside the repository ({SHARED}), which a clone does not have"


def require_shared(*paths: str | Path) -> None:
    """Skip the test, with the one shared reason, unless every path exists (relative to SHARED)."""
    if not all((SHARED / p).exists() for p in paths or ("",)):
        pytest.skip(SHARED_MISSING)


def _tier(item) -> int:
    return 0 if item.get_closest_marker("live") else 1 if item.get_closest_marker("realtime") else 2


@pytest.hookimpl(tryfirst=True)        # before -m deselects
def pytest_collection_modifyitems(config, items) -> None:
    """The tiers (docs/testing.md): a test that waits on the wall clock (realtime) or runs in
    the PulseAudio room (live) is slow too, so -m "not slow" is the fast tier.

    In parallel (pytest-xdist, files kept whole and in this order): the live room first, as
    it is the longest (minutes of real time), then the tests that mostly wait on the wall
    clock, then the rest, so the live room runs beside waiting tests as long as it can."""
    for item in items:
        if _tier(item) < 2:
            item.add_marker(pytest.mark.slow)
    if hasattr(config, "workerinput"):
        items.sort(key=_tier)          # stable: the files' own order within each tier


def pytest_runtest_setup(item) -> None:
    marker = item.get_closest_marker("shared")
    if marker is not None:
        require_shared(*marker.args)


def pytest_terminal_summary(terminalreporter) -> None:
    skipped = [r for r in terminalreporter.stats.get("skipped", ())
               if isinstance(r.longrepr, tuple) and SHARED_MISSING in str(r.longrepr[-1])]
    if skipped:
        terminalreporter.write_line(f"{len(skipped)} tests skipped, each because it {SHARED_MISSING}", yellow=True)


def _v(x: float, source: str = "ours") -> Value:
    return Value(x, source)


@pytest.fixture
def tiny_content() -> Content:
    stretch = Exercise(
        "it_band_stretch", "the IT band stretch", ("It lengthens the IT band.",),
        ("Cross one leg over the other.", "Lean towards the crossed leg."),
        Program("hold", ("left", "right"), sets=_v(1), hold_seconds=_v(30, "article"), switch_seconds=_v(5)),
    )
    bridge = Exercise(
        "glute_bridge", "glute bridges", ("They strengthen the glutes.",),
        ("Lie on your back.", "Lift your hips."),
        Program("reps", (), sets=_v(2), reps=_v(5), tempo_seconds=_v(3), rest_seconds=_v(20)),
    )
    topics = {
        "causes": Topic("causes", "Causes", ("Overuse, poor form and weak glutes.",)),
        "anatomy": Topic("anatomy", "Anatomy", ("The IT band runs from hip to knee.",)),
    }
    return Content(
        title="Test", topics=topics,
        exercises={"it_band_stretch": stretch, "glute_bridge": bridge},
        routine=("it_band_stretch", "glute_bridge"),
        safety=("If you feel pain, stop.", "Consult a medical professional if it persists."),
        wording=load_content().wording,
    )


AUDIO = SHARED / "audio"


def speak_to_wav(text: str, path: Path, voice: str = "en-us", rate: int = 150) -> Path:
    """Synthesize `text` with the espeak-ng program (skips the test when it is missing)."""
    import shutil
    import subprocess

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt install espeak-ng) to synthesize test speech")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), text], check=True, capture_output=True)
    return path


@pytest.fixture(scope="session")
def whisper():
    """The real Whisper recognizer with our prompt, loaded once for the whole run."""
    from voicecoach.hearing.asr.engines import open_recognizer
    from voicecoach.intents.load import load_catalog

    recognizer, notice = open_recognizer("whisper", load_catalog(), background=False)
    if notice:
        pytest.skip(f"Whisper is not available here: {notice}")
    return recognizer


@pytest.fixture(scope="session", autouse=True)
def statistical_reader():
    """The statistical reader, trained (or loaded from the user's cache) once for the whole run,
    before any test: commands the tests run in a child process then load it from the cache."""
    from voicecoach.content.loader import load_content
    from voicecoach.intents.load import load_catalog
    from voicecoach.intents.understand import open_reader

    reader, notice = open_reader(load_catalog(), load_content().topic_texts(), background=False)
    assert reader is not None, notice
    return reader


def reproducible_piper():
    """The coach's Piper voice with its sampling noise off, so the same text gives the same
    audio every run (skips the test without Piper)."""
    from voicecoach.voice.engines import VoiceUnavailable, open_engine

    try:
        engine, notice = open_engine("piper")
    except VoiceUnavailable as exc:
        pytest.skip(f"Piper is not available: {exc}")
    if notice:
        pytest.skip(f"Piper is not available: {notice}")
    engine.noise_scale = 0.0
    return engine


@pytest.fixture
def restore_logging():
    """cli.main sets up logging on the stream it is given; put back what other tests expect."""
    import logging

    handlers, level = logging.root.handlers[:], logging.root.level
    yield
    logging.root.handlers[:] = handlers
    logging.root.setLevel(level)


def default_signals() -> None:
    """For a child that is sent Ctrl-C: a run started in the background ignores SIGINT, and
    a child would inherit that; the child must react as it would on a terminal."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


# ----- leaving the test process -----------------------------------------------------------------
# livekit's echo canceller runs a tokio runtime in native threads; when the interpreter tears down
# with its objects still alive, a worker can panic in a function that cannot unwind and abort the
# process (exit 134) after every test has passed. Once pytest has printed its summary, the test
# process leaves with pytest's own status and skips that teardown.
_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session, exitstatus) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config) -> None:
    import os
    import sys

    # Not in a pytest-xdist worker: its results are still on their way to the main process,
    # which waits for the worker to leave properly (leaving early costs it a 40 s timeout).
    worker = hasattr(config, "workerinput")
    if _EXIT_STATUS and not worker and os.environ.get("VOICECOACH_TEST_TEARDOWN") != "full":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
