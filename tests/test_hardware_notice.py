"""The no-hardware notice: one plain line under 80 characters; the reason only with --verbose."""
from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from voicecoach.app import hardware_notice

MIC = "no microphone found (no audio input device)"
SPEAKER = "no speaker found (miniaudio: failed to init device -401)"
NO_MIC_SUPPORT = "no microphone support: miniaudio is not installed (pip install miniaudio)"


@pytest.mark.parametrize("mic, speaker, expected", [
    (MIC, SPEAKER, "No microphone or speaker found: type, and read the replies."),
    (MIC, None, "No microphone found; type to the coach, it answers aloud."),
    (None, SPEAKER, "No speaker found; the coach will print its lines instead."),
    (NO_MIC_SUPPORT, None, "No microphone support (pip install miniaudio); type to the coach."),
    (None, "no voice (piper is not installed)", "No voice could be loaded; the coach will print its lines instead."),
])
def test_the_notice_is_plain_words(mic, speaker, expected):
    assert hardware_notice(mic, speaker) == expected


@pytest.mark.parametrize("mic, speaker", [(MIC, SPEAKER), (MIC, None), (None, SPEAKER), (NO_MIC_SUPPORT, None),
                                          (None, "no speaker support (pip install miniaudio)"),
                                          (NO_MIC_SUPPORT, SPEAKER), (None, "no voice (a long reason " * 5 + ")")])
def test_a_missing_device_is_said_in_one_line_under_80_characters(mic, speaker):
    line = f"voicecoach: {hardware_notice(mic, speaker)}"
    assert len(line) < 80 and "\n" not in line
    assert "-401" not in line and "init" not in line and "miniaudio:" not in line


def test_the_technical_reason_goes_to_the_log(caplog):
    with caplog.at_level(logging.INFO, logger="voicecoach.devices"):
        hardware_notice(MIC, SPEAKER)
    assert [r.getMessage() for r in caplog.records] == [MIC, SPEAKER]


@pytest.mark.slow
def test_the_program_says_the_reason_only_when_verbose(tmp_path):
    """On a machine without a microphone or a speaker (skips where there is one)."""
    from voicecoach.app import _why_no_voice_loop

    if _why_no_voice_loop(None) is None:
        pytest.skip("this machine has a microphone")
    env = {"VOICECOACH_CONFIG": str(tmp_path / "none.yaml"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    plain = subprocess.run([sys.executable, "-m", "voicecoach", "--no-history"], input="stop\n", text=True,
                           capture_output=True, env=env, timeout=120)
    notices = [line for line in plain.stderr.splitlines() if line.startswith("voicecoach:")]
    assert notices and all(len(line) < 80 for line in notices), notices
    assert "(" not in notices[0] or "pip install" in notices[0]
    verbose = subprocess.run([sys.executable, "-m", "voicecoach", "--no-history", "-v"], input="stop\n", text=True,
                             capture_output=True, env=env, timeout=120)
    assert "no microphone" in verbose.stderr and notices[0] in verbose.stderr
