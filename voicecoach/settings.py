"""Every setting, resolved once: flags beat environment variables, which beat the config file,
which beats the defaults.

    settings = resolve_settings(args)      # raises ConfigError: one line naming file and line
    settings.db, settings.rate, settings.sources["db"]   # the value, and "flag", "env", "config" or "default"

The command line builds this once for every command; parts of the program take their values
from it rather than reading flags, environment or files themselves (only this module, cli.py
and app.py import voicecoach.config; tests/test_imports.py keeps it so).

A new setting is a field of Settings, a row in TEXT_SETTINGS (or NUMBER_SETTINGS, with its
Limit from voicecoach.limits) and a row in config.KNOWN_KEYS; the part that needs it takes
the value (and, for its messages, `settings.sources[name]`) as a parameter.
"""
from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from voicecoach.config import ConfigError, config_path, load_config
from voicecoach.files import path_problem
from voicecoach.limits import SPEECH_RATE, VOLUME, Limit

# setting -> (its flag, its environment variable)
TEXT_SETTINGS = {
    "db": ("--db", "VOICECOACH_DB"),
    "asr_model": ("--asr-model", "VOICECOACH_ASR_MODEL"),
    "voice": ("--voice", "VOICECOACH_VOICE"),
    "reader_model": ("--reader-model", "VOICECOACH_READER_MODEL"),
    "tuned_reader": ("--tuned-reader", "VOICECOACH_TUNED_READER"),
    "keyword_model": ("--keyword-model", "VOICECOACH_KEYWORD_MODEL"),
    "encoder_model": ("--encoder-model", "VOICECOACH_ENCODER_MODEL"),
}
NO_CATALOG_CACHE = "VOICECOACH_NO_CATALOG_CACHE"   # set: the compiled templates are not kept
NUMBER_SETTINGS = {
    "rate": ("--rate", "VOICECOACH_RATE", 1.0, SPEECH_RATE),
    "volume": ("--volume", "VOICECOACH_VOLUME", 1.0, VOLUME),
}


@dataclass(frozen=True)
class Settings:
    db: Path                              # the history database (a link is followed when opened)
    history: bool = True                  # False with --no-history
    asr_model: str | None = None          # None: the bundled Whisper model
    voice: str | None = None              # piper, espeak or a Piper .onnx file; None: piper
    rate: float = 1.0
    volume: float = 1.0
    reader_model: str | None = None       # None: trained from the shipped examples; "off": templates alone
    tuned_reader: str | None = None       # None: the shipped fine-tuned model; "off": the n-gram reader decides
    keyword_model: str | None = None      # None: the shipped barge-in keyword model; "off": Whisper's check alone
    encoder_model: str | None = None      # None: the installed sentence encoder (bench/understanding.py)
    catalog_cache: bool = True            # False with $VOICECOACH_NO_CATALOG_CACHE set: templates compiled each run
    verbose: bool = False
    config_file: Path | None = None
    sources: Mapping[str, str] = field(default_factory=dict)   # setting -> flag, env, config or default

    def explained(self) -> list[str]:
        """One line a setting: its value and where it came from (shown with --verbose)."""
        lines = [f"config file = {self.config_file}{'' if self.config_file and self.config_file.exists() else ' (none)'}"]
        return lines + [f"{name} = {getattr(self, name)} (from {source})" for name, source in sorted(self.sources.items())]


def resolve_settings(args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None,
                     config_file: Path | None = None) -> Settings:
    """The settings for this run. Raises ConfigError (one line) for a broken config file, an
    unknown or ill-typed key in it, or a rate or volume out of range wherever it came from."""
    environ = os.environ if environ is None else environ
    config_file = config_file or config_path()
    config = load_config(config_file)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, (flag, env) in TEXT_SETTINGS.items():
        value, source = _pick(name, getattr(args, name, None), env, environ, config)
        if value is not None:
            value = _path_text(str(value), _given(name, value, source, flag, env, config_file, config))
        values[name], sources[name] = value, source
    for name, (flag, env, default, limit) in NUMBER_SETTINGS.items():
        raw, source = _pick(name, getattr(args, name, None), env, environ, config)
        values[name] = default if raw is None else _number(name, raw, source, flag, env, config_file, config, limit)
        sources[name] = source
    db = values["db"]
    values["db"] = Path(str(db)).expanduser() if db else _default_db_path()
    return Settings(history=not getattr(args, "no_history", False), verbose=bool(getattr(args, "verbose", False)),
                    catalog_cache=not environ.get(NO_CATALOG_CACHE), config_file=config_file, sources=MappingProxyType(sources), **values)


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings the command line resolved, or resolved now (a command run on its own)."""
    settings = getattr(args, "settings", None)
    return settings if isinstance(settings, Settings) else resolve_settings(args)


def _pick(name: str, flag: Any, env: str, environ: Mapping[str, str], config: dict[str, Any]) -> tuple[Any, str]:
    if flag is not None:
        return flag, "flag"
    if environ.get(env):
        return environ[env], "env"
    if name in config:
        return config[name], "config"
    return None, "default"


def _number(name: str, raw: Any, source: str, flag: str, env: str, config_file: Path, config: dict[str, Any],
            limit: Limit) -> float:
    given = _given(name, raw, source, flag, env, config_file, config)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{given} is not a number") from None
    if not (math.isfinite(value) and limit.lowest <= value <= limit.highest):
        raise ConfigError(f"{given} is outside {limit.lowest} to {limit.highest}")
    return value


def _given(name: str, raw: Any, source: str, flag: str, env: str, config_file: Path, config: dict[str, Any]) -> str:
    """Where a value was given, as the user wrote it: `--db X`, `$VOICECOACH_DB=X` or `file:line: db X`."""
    return {"flag": f"{flag} {raw}", "env": f"${env}={raw}",
            "config": f"{config_file}:{_line_of(config, name)}: {name} {raw}"}[source]


def _path_text(value: str, given: str) -> str:
    """A text setting with a leading ~ or ~user expanded; every text setting may name a file,
    so one that cannot (an unknown user, a name too long, a symlink loop) is refused here."""
    if value.strip().lower() == "off":
        return value
    problem = path_problem(value)
    if problem:
        raise ConfigError(f"{given}: {problem}")
    return str(Path(value).expanduser())


def _line_of(config: dict[str, Any], name: str) -> int:
    return next((getattr(key, "line", 0) for key in config if key == name), 0)


def _default_db_path() -> Path:
    from voicecoach.history.store import default_db_path

    return default_db_path()
