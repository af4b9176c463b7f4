"""The user's settings file: `config.yaml` in the user's config directory.

    asr_model: /path/to/a/ctranslate2/whisper/model   # what the recognizer loads
    encoder_model: /path/to/a/minilm/model.onnx       # the sentence encoder
    voice: piper                                     # or espeak, or a Piper .onnx file
    rate: 1.0
    volume: 1.0

Flags beat environment variables, which beat this file, which beats the defaults; only the
composition root (voicecoach.settings) reads it, and hands the resolved values down.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from voicecoach.yamlfile import YamlError, load_yaml

# Each setting's type in this file. A new setting is one row here, one in
# settings.TEXT_SETTINGS or NUMBER_SETTINGS, and one field of settings.Settings.
KNOWN_KEYS: dict[str, type | tuple[type, ...]] = {"asr_model": str, "voice": str, "rate": (int, float), "volume": (int, float), "db": str,
              "reader_model": str, "tuned_reader": str, "encoder_model": str,
              "keyword_model": str}


class ConfigError(ValueError):
    pass


def config_path() -> Path:
    override = os.environ.get("VOICECOACH_CONFIG")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("voicecoach")) / "config.yaml"


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The settings, or {} when there is no file. Raises ConfigError naming file and line."""
    path = path or config_path()
    if not path.exists():
        return {}
    try:
        doc = load_yaml(path)
    except YamlError as exc:
        raise ConfigError(str(exc)) from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}:1: expected settings as 'key: value' lines")
    for key, value in doc.items():
        if key not in KNOWN_KEYS:
            raise ConfigError(f"{path}:{getattr(key, 'line', 0)}: unknown setting {key!r} (known: {', '.join(KNOWN_KEYS)})")
        if not isinstance(value, KNOWN_KEYS[key]) or isinstance(value, bool):
            raise ConfigError(f"{path}:{getattr(key, 'line', 0)}: {key} has the wrong type: {value!r}")
    return dict(doc)
