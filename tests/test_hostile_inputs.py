"""Files and paths an unlucky user or a hostile one might hand the program: each is refused in
one line, at once, or used safely; never a traceback, a hang, or a terminal taken over."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import warnings

import numpy as np
import pytest

from conftest import REPO
from voicecoach.hearing.signal.audio import read_wav, resample

PROGRAM = [sys.executable, "-m", "voicecoach"]


def run(*argv: str, env: dict | None = None, timeout: float = 60, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([*PROGRAM, *argv], cwd=REPO, env={**os.environ, **(env or {})}, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def one_line(done: subprocess.CompletedProcess, code: int, *words: str) -> str:
    err = done.stderr
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("voicecoach: "), err
    assert done.returncode == code, (done.returncode, err)
    for word in words:
        assert word in err, err
    return err


def wav(path, rate: int, samples: bytes, tag: int = 1, width: int = 2) -> None:
    fmt = struct.pack("<HHIIHH", tag, 1, rate, rate * width, width, 8 * width)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(samples)) + samples
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "script.txt"
    path.write_text("@0 start\n@5 stop\n")
    return path


# ----- tiny and extreme WAV files ---------------------------------------------------------

@pytest.mark.parametrize("rate", [44100, 48000, 22050, 8000])
def test_a_one_frame_wav_is_one_sample_of_audio(tmp_path, rate):
    path = tmp_path / "one.wav"
    wav(path, rate, struct.pack("<h", 1000))
    audio = read_wav(path)
    assert audio.dtype == np.float32 and len(audio) >= 1 and np.all(np.isfinite(audio))


@pytest.mark.parametrize("frames", [1, 2, 3])
def test_resampling_a_few_samples_never_makes_none(frames):
    assert len(resample(np.ones(frames, np.float32), 48000)) >= 1


def test_a_float64_wav_past_float32_range_is_clipped_without_a_warning(tmp_path):
    path = tmp_path / "loud.wav"
    wav(path, 16000, np.array([1e300, -1e300, np.nan, np.inf, 0.25]).astype("<f8").tobytes(), tag=3, width=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        audio = read_wav(path)
    assert audio.tolist() == [1.0, -1.0, 0.0, 1.0, 0.25]


@pytest.mark.slow
def test_transcribe_goes_on_past_one_frame_wavs_and_a_fifo(tmp_path):
    files = []
    for rate in (44100, 48000):
        files.append(tmp_path / f"one-{rate}.wav")
        wav(files[-1], rate, struct.pack("<h", 1000))
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    done = run("transcribe", "--keyword-model", "off", str(files[0]), str(fifo), str(files[1]), timeout=120)
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and str(files[1]) in lines[2] and "FIFO" in lines[1]
    played = run("transcribe", "--keyword-model", "off", "--played", str(files[0]), "--played", str(files[1]),
                 str(files[1]), str(files[0]), timeout=120)
    assert played.returncode == 0 and "Traceback" not in played.stderr


# ----- paths that cannot name a file ------------------------------------------------------

LONG_NAME = "h" * 300 + ".db"


@pytest.mark.parametrize("argv, words", [
    (["--db", "~nosuchuser27/history.db"], ["--db ~nosuchuser27/history.db", "no such user"]),
    (["--db", f"/tmp/{LONG_NAME}"], ["over 255 bytes"]),
    (["--reader-model", "~nosuchuser27/reader.npz"], ["no such user"]),
])
def test_a_path_that_cannot_name_a_file_is_one_line_and_exit_2(script, argv, words):
    one_line(run("simulate", *argv, str(script)), 2, *words)


def test_a_symlink_loop_is_one_line_and_exit_2(tmp_path, script):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    one_line(run("simulate", "--db", str(tmp_path / "a"), str(script)), 2, "loop of symbolic links")
    one_line(run("history", "--db", str(tmp_path / "a" / "h.db")), 2, "loop of symbolic links")
    one_line(run("parse", "stop", env={"VOICECOACH_KEYWORD_MODEL": str(tmp_path / "a")}), 2,
             "$VOICECOACH_KEYWORD_MODEL=", "loop")


def test_an_unknown_user_in_the_config_file_names_file_and_line(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("rate: 1.0\nasr_model: ~nosuchuser27/whisper\n")
    one_line(run("parse", "stop", env={"VOICECOACH_CONFIG": str(config)}), 2, f"{config}:2: asr_model", "no such user")


# ----- files that are not regular or are too big ------------------------------------------

@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "folder"])
def test_a_config_that_is_not_a_regular_file_is_refused_at_once(tmp_path, special):
    if special == "fifo":
        special = str(tmp_path / "fifo")
        os.mkfifo(special)
    elif special == "folder":
        special = str(tmp_path)
    one_line(run("parse", "stop", env={"VOICECOACH_CONFIG": special}, timeout=20), 2, special, "cannot read")


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_script_that_is_not_a_regular_file_is_refused_at_once(tmp_path, special):
    if special == "fifo":
        special = str(tmp_path / "fifo")
        os.mkfifo(special)
    one_line(run("simulate", special, timeout=20), 1, special, "not a regular file")


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from voicecoach import files

    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 2000)
    with pytest.raises(files.FileRefused, match="over the limit of 1000 bytes"):
        files.read_bytes(big, 1000)
    assert files.read_bytes(big, 2000) == b"a" * 2000


def test_a_content_folder_with_a_fifo_is_refused_in_validate(tmp_path):
    for name in ("exercises.yaml", "article.yaml", "progression.yaml"):
        (tmp_path / name).write_bytes((REPO / "content" / name).read_bytes())
    (tmp_path / "article.yaml").unlink()
    os.mkfifo(tmp_path / "article.yaml")
    done = run("validate", str(tmp_path), timeout=30)
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout
    assert f"{tmp_path / 'article.yaml'}: cannot read: it is a FIFO" in done.stdout


# ----- validate: numbers of the progression rules -----------------------------------------

@pytest.mark.parametrize("value", [".nan", ".inf", "-14"])
def test_validate_refuses_a_condition_that_is_not_a_finite_number_in_range(tmp_path, value):
    for name in ("exercises.yaml", "article.yaml", "progression.yaml"):
        (tmp_path / name).write_bytes((REPO / "content" / name).read_bytes())
    rules = tmp_path / "progression.yaml"
    text = rules.read_text()
    assert "days_since_last_session_at_least: 14}" in text
    rules.write_text(text.replace("days_since_last_session_at_least: 14}", f"days_since_last_session_at_least: {value}}}", 1))
    line = next(n for n, row in enumerate(rules.read_text().splitlines(), 1) if value + "}" in row)
    done = run("validate", str(tmp_path), timeout=30)
    assert done.returncode == 1
    assert f"{rules}:{line}: condition days_since_last_session_at_least must be a number from 0 to 3650" in done.stdout


# ----- what simulate prints ---------------------------------------------------------------

ESCAPES = "hello \x1b]0;owned\x07 \x1b[2J there \x9b31m \u202eevil \x7f"


@pytest.mark.parametrize("form", [[], ["--json"]])
@pytest.mark.slow
def test_simulate_shows_control_characters_escaped(tmp_path, form):
    path = tmp_path / "script.txt"
    path.write_text(f"@0 {ESCAPES}\n@2 stop\n", encoding="utf-8")
    done = run("simulate", *form, str(path))
    assert done.returncode == 0
    shown = done.stdout
    assert not any(ch in shown for ch in "\x1b\x07\x9b\u202e\x7f")
    assert ("\\x1b]0;owned\\x07" if not form else "\\u001b]0;owned\\u0007") in shown
    assert ("\\u202eevil" if not form else "\\u202eevil") in shown
