"""bench/keywords.py's bookkeeping: which intent each column acts on, and the misses it prints
(clean one-word commands first, with Whisper's own transcript)."""
from __future__ import annotations

from bench import keywords as bench

# (name, expected, check score, check intent, baseline intent, model score, model intent, free transcript)
HEARD_BY_CHECK = ("stop [a]", "stop", 0.5, "stop", "none", -0.7, "stop", "Stop.")
HEARD_BY_MODEL = ("wait [b]", "pause", -2.0, "pause", "none", 0.1, "pause", "Wait?")
VETOED = ("ouch [c]", "report_pain", -9.0, "report_pain", "none", 0.1, "report_pain", "8 8")
MISSED = ("ouch [d]", "report_pain", -1.2, "report_pain", "none", -0.05, "report_pain", "Out")


def test_the_used_column_takes_the_model_unless_the_check_vetoes_it():
    assert bench.verdicts(HEARD_BY_CHECK, 0.0)["both"] == "stop"
    assert bench.verdicts(HEARD_BY_MODEL, 0.0)["both"] == "pause"
    assert bench.verdicts(VETOED, 0.0)["both"] is None and bench.verdicts(VETOED, 0.0)["either"] == "report_pain"
    assert bench.verdicts(MISSED, 0.0)["both"] is None


def test_the_used_column_takes_the_models_sure_pain_over_the_checks_command():
    stop_that_hurts = ("stop that hurts [e]", "report_pain", 1.1, "stop", "none", 0.2, "report_pain", "Stop.")
    unsure = ("stop that hurts [f]", "report_pain", 1.1, "stop", "none", 0.05, "report_pain", "Stop.")
    assert bench.verdicts(stop_that_hurts, 0.0)["both"] == "report_pain"
    assert bench.verdicts(stop_that_hurts, 0.0)["check"] == "stop"
    assert bench.verdicts(unsure, 0.0)["both"] == "stop"


def test_the_misses_are_printed_clean_one_word_commands_first(capsys):
    sets = {"one-word, espeak-ng": [HEARD_BY_CHECK, MISSED], "one-word, espeak-ng, noise 10 dB": [VETOED],
            "leading words, Piper": [HEARD_BY_MODEL]}
    bench.print_misses(sets, 0.0)
    out = capsys.readouterr().out
    clean, rest = out.split("in noise or with leading words")
    assert "clean one-word commands: 1 of 2" in clean and "ouch [d]" in clean and "'Out'" in clean
    assert "stop [a]" not in out and "wait [b]" not in out
    assert ": 1 of 2" in rest and "ouch [c]" in rest
