"""Every number the coach accepts, with its range: one table that content, speech and the session share.

A value outside its range is refused where it enters (a content file, a spoken "hold for
...", a script line, a WAV file), with a message that states the limit. No NaN, no
infinity: `check` refuses both before comparing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    name: str
    lowest: float
    highest: float
    unit: str = ""                  # "seconds", or "" for a count
    whole: bool = False             # a count: no fractions

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.lowest:g} to {self.highest:g}{unit}"

    def problem(self, value: object) -> str | None:
        """Why `value` is not acceptable, or None when it is."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{self.name} must be a number, not {_short(value)}"
        if not math.isfinite(value):
            return f"{self.name} must be a finite number, not {value!r}"
        if self.whole and value != int(value):
            return f"{self.name} must be a whole number, not {value!r}"
        if not self.lowest <= value <= self.highest:
            return f"{self.name} must be {self.describe()}, not {value:g}"
        return None

    def clamp(self, value: float) -> float:
        """`value` moved into range (NaN to the lowest); for numbers we compute, never for input."""
        if not math.isfinite(value):
            return self.highest if value > 0 else self.lowest
        return min(self.highest, max(self.lowest, value))


# Exercise programs (content/exercises.yaml, spoken changes, progression proposals).
HOLD_SECONDS = Limit("hold_seconds", 5, 600, "seconds")
REPS = Limit("reps", 1, 100, whole=True)
SETS = Limit("sets", 1, 10, whole=True)
TEMPO_SECONDS = Limit("tempo_seconds", 0.5, 10, "seconds")
REST_SECONDS = Limit("rest_seconds", 1, 600, "seconds")
SWITCH_SECONDS = Limit("switch_seconds", 1, 120, "seconds")
PROGRAM = {limit.name: limit for limit in (SETS, HOLD_SECONDS, REPS, TEMPO_SECONDS, REST_SECONDS, SWITCH_SECONDS)}

# The voice (settings `rate` and `volume`).
SPEECH_RATE = Limit("rate", 0.5, 2.0)   # 1.0 is the voice's own pace
VOLUME = Limit("volume", 0.0, 1.0)

# Input, bounded before any work is done on it.
MAX_UTTERANCE_CHARS = 500           # a typed or recognized line; a spoken command is a few words
NUMBER_CEILING = 10 ** 9            # a spoken number beyond this reads as this (and then fails its limit)
MAX_SCRIPT_SECONDS = 24 * 3600      # `simulate`: the last line of a script at most a day in
MAX_SCRIPT_LINES = 100_000
MAX_COMMAND_AUDIO_SECONDS = 30.0    # `transcribe`: one file is one command; Whisper hears 30 s at most
MAX_WAV_SECONDS = 3600.0            # any WAV read whole into memory (about 230 MB at 16 kHz)

# Files, bounded before they are built in memory.
MAX_YAML_NODES = 100_000            # values in one YAML file once its aliases are expanded
MAX_YAML_DEPTH = 50                 # nesting of YAML collections
MAX_TEMPLATE_DEPTH = 20             # nesting of ( ) and [ ] in an intent template
MAX_PHRASES = 5000                  # phrases a rule or a list value expands to
MAX_TOTAL_PHRASES = 50_000          # phrases of all rules, and of all lists, together
MAX_TOTAL_SENTENCES = 100_000       # sentences all intent templates expand to together
MAX_TEXT_FILE_BYTES = 16_000_000    # a settings, content, template, training or script file
MAX_MODEL_BYTES = 200_000_000       # a model file (.npz), and what its arrays expand to
MAX_WAV_FILE_BYTES = 1 << 32        # a WAV file (RIFF sizes stop at 4 GB; MAX_WAV_SECONDS reads less)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
