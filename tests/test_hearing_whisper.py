"""Whisper through CTranslate2: features, model lookup, the repetition guard, real decoding."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import AUDIO, speak_to_wav
from voicecoach.hearing.signal.audio import SAMPLE_RATE, read_wav
from voicecoach.hearing.reading import read_intent
from voicecoach.hearing.asr.recognizer import RecognizerUnavailable
from voicecoach.hearing.asr.whisper import (
    Vocabulary, collapse_repetition, find_whisper_model, context_frames, features_for_context, mel_filterbank,
)
from voicecoach.intents.load import load_catalog

CATALOG = load_catalog()


def test_mel_features_have_whispers_shape_and_range():
    audio = np.random.default_rng(1).standard_normal(SAMPLE_RATE).astype(np.float32) * 0.1
    features = features_for_context(audio, 8.0)
    assert features.shape == (80, 800)
    assert features.dtype == np.float32
    assert features.max() <= 1.0 + 4 / 4 and features.max() - features.min() <= 2.0 + 1e-6
    filters = mel_filterbank()
    assert filters.shape == (80, 201) and (filters >= 0).all()


def test_context_padding_keeps_long_audio_and_caps_at_30_seconds():
    assert context_frames(SAMPLE_RATE, 8.0) == 800
    assert context_frames(12 * SAMPLE_RATE, 8.0) == 1200
    assert context_frames(40 * SAMPLE_RATE, 8.0) == 3000


def reference_log_mel(audio: np.ndarray, frames: int) -> np.ndarray:
    """Whisper's recipe written out plainly: pad with zeros, centred STFT over every frame."""
    audio = np.concatenate([audio, np.zeros(frames * 160 - len(audio), dtype=np.float32)])
    padded = np.pad(audio, (200, 200), mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)
    power = np.array([np.abs(np.fft.rfft(padded[i * 160:i * 160 + 400] * window)) ** 2 for i in range(frames)])
    logm = np.log10(np.maximum(mel_filterbank().astype(np.float64) @ power.T, 1e-10))
    return (np.maximum(logm, logm.max() - 8.0) + 4.0) / 4.0


@pytest.mark.parametrize("seconds", [0.3, 1.0, 2.7])
def test_features_skip_silent_frames_without_changing_them(seconds):
    """Only frames that see audio are transformed; the result equals the plain recipe."""
    rng = np.random.default_rng(3)
    audio = (rng.standard_normal(int(seconds * SAMPLE_RATE)) * 0.2).astype(np.float32)
    fast = features_for_context(audio, 5.0)
    assert fast.shape == (80, 500)
    assert np.abs(fast - reference_log_mel(audio, 500)).max() < 1e-4


@pytest.mark.parametrize("text,collapsed", [
    ("No. No.", "No."), ("start start start", "start"), ("happy happy happy", "happy"),
    ("Time for status. Time for Status.", "Time for status."), ("Stop.", "Stop."),
    ("go go to the next one", "go go to the next one"), ("", ""),
])
def test_repetition_guard(text, collapsed):
    assert collapse_repetition(text) == collapsed


def test_bundled_model_is_found_and_its_vocabulary_round_trips():
    path, source = find_whisper_model(None)
    assert source in ("bundled", "config", "env")
    vocabulary = Vocabulary(path)
    assert not vocabulary.multilingual
    ids = vocabulary.encode(" Foam rolling, glute bridges.")
    assert vocabulary.decode(ids) == "Foam rolling, glute bridges."


def test_the_chosen_model_is_used_and_named_by_where_it_came_from(tmp_path):
    bundled, source = find_whisper_model(None)
    assert source == "bundled"
    assert find_whisper_model(str(bundled)) == (bundled, "flag")
    assert find_whisper_model(str(bundled), "config") == (bundled, "config")
    with pytest.raises(RecognizerUnavailable, match="from flag .* is not a directory"):
        find_whisper_model(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecognizerUnavailable, match="from env .* has no model.bin"):
        find_whisper_model(str(tmp_path / "empty"), "env")


def test_the_environment_is_read_once_at_the_top_not_by_the_recognizer(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICECOACH_ASR_MODEL", str(tmp_path / "missing"))
    assert find_whisper_model(None)[1] == "bundled"


def test_missing_model_falls_back_to_sphinx_with_one_line(tmp_path, monkeypatch):
    from voicecoach.hearing.asr.engines import open_recognizer

    recognizer, notice = open_recognizer("whisper", CATALOG, str(tmp_path), background=False)
    assert recognizer.name == "sphinx"
    assert notice and "\n" not in notice and "using sphinx instead" in notice


def test_silence_is_not_a_command(whisper):
    reading = read_intent(whisper.transcribe(np.zeros(SAMPLE_RATE, dtype=np.float32)), CATALOG)
    assert reading.match.intent == "none"


@pytest.mark.parametrize("text,intent,slots", [
    ("start the stretch", "start", {"exercise": "it_band_stretch"}),
    ("pause", "pause", {}),
    ("how long is left", "time_left", {}),
    ("why does my I T band hurt", "ask", {"topic": "causes"}),
    ("hold for forty five seconds", "set_duration", {"seconds": 45}),
    ("turn off the kitchen lights", "none", {}),
])
def test_synthesized_round_trip(whisper, tmp_path, text, intent, slots):
    """espeak-ng speaks, Whisper hears, the matcher reads: the whole chain on real audio."""
    audio = read_wav(speak_to_wav(text, tmp_path / "say.wav"))
    reading = read_intent(whisper.transcribe(audio), CATALOG)
    assert (reading.match.intent, reading.match.slots) == (intent, slots), reading


def _manifest() -> list[list[str]]:
    if not (AUDIO / "manifest.tsv").exists():
        return []
    return [line.split("\t") for line in (AUDIO / "manifest.tsv").read_text().splitlines()
            if line.strip() and not line.startswith("#")]


@pytest.mark.shared("audio/manifest.tsv")
@pytest.mark.slow
def test_real_recordings_through_the_whole_chain(whisper):
    """Real human speech: figures are printed; the floor guards against breaking the chain."""
    in_domain = right = out_of_domain = rejected = 0
    for name, _, intent, slots, *_ in _manifest():
        reading = read_intent(whisper.transcribe(read_wav(AUDIO / name)), CATALOG)
        ok = (reading.match.intent, reading.match.slots) == (intent, json.loads(slots))
        if intent == "none":
            out_of_domain += 1
            rejected += ok
        else:
            in_domain += 1
            right += ok
    print(f"real clips: in-domain {right}/{in_domain}, out-of-domain rejected {rejected}/{out_of_domain}")
    assert right / in_domain >= 0.7
    assert rejected / out_of_domain >= 0.9


def test_context_never_goes_below_the_minimum_and_caps_tokens():
    from voicecoach.hearing.asr.whisper import MIN_CONTEXT_SECONDS, WhisperRecognizer, max_new_tokens

    path, _ = find_whisper_model(None)
    assert WhisperRecognizer(path, context_seconds=1.0).context_seconds == MIN_CONTEXT_SECONDS
    assert WhisperRecognizer(path, context_seconds=60.0).context_seconds == 30.0
    assert max_new_tokens(1.0) < 20 and max_new_tokens(1000.0) == 120


@pytest.mark.parametrize("word", ["happy", "stop"])
def test_repetition_guard_on_the_decoder(whisper, tmp_path, word):
    """A one-second word in the shortest context: no hypothesis says a word three times."""
    from voicecoach.hearing.asr.whisper import MIN_CONTEXT_SECONDS, WhisperRecognizer

    short = WhisperRecognizer(whisper.model_dir, context_seconds=MIN_CONTEXT_SECONDS).load()
    transcript = short.transcribe(read_wav(speak_to_wav(word, tmp_path / "w.wav")))
    assert transcript.hypotheses
    for hypothesis in transcript.hypotheses:
        words = [w.lower() for w in hypothesis.text.replace(".", " ").replace(",", " ").split()]
        assert all(words.count(w) < 3 for w in words), hypothesis.text
        assert hypothesis.tokens <= 20


def test_loading_in_the_background_lets_the_caller_go_on(whisper):
    from voicecoach.hearing.asr.whisper import WhisperRecognizer

    recognizer = WhisperRecognizer(whisper.model_dir)
    assert not recognizer.ready
    with pytest.raises(RecognizerUnavailable, match="still loading"):
        recognizer.wait_ready(timeout=0)
    recognizer.start_loading()
    recognizer.wait_ready(timeout=60)
    assert recognizer.ready and recognizer.load_seconds > 0


def test_a_broken_model_file_is_one_line_naming_the_directory(tmp_path):
    from voicecoach.hearing.asr.whisper import WhisperRecognizer

    bundled, _ = find_whisper_model(None)
    for name in ("vocabulary.txt", "config.json", "tokenizer.json"):
        (tmp_path / name).write_bytes((bundled / name).read_bytes())
    (tmp_path / "model.bin").write_bytes(b"not a model")
    recognizer = WhisperRecognizer(tmp_path).start_loading()
    with pytest.raises(RecognizerUnavailable) as err:
        recognizer.wait_ready(timeout=60)
    assert str(tmp_path) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(RecognizerUnavailable):
        recognizer.transcribe(np.zeros(SAMPLE_RATE, dtype=np.float32))


def test_no_model_and_no_fallback_is_one_line(tmp_path, monkeypatch):
    import builtins

    from voicecoach.hearing.asr.engines import open_recognizer

    real_import = builtins.__import__

    def without_sphinx(name, *args, **kwargs):
        if name in ("pocketsphinx", "speech_recognition"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_sphinx)
    with pytest.raises(RecognizerUnavailable) as err:
        open_recognizer("whisper", CATALOG, str(tmp_path / "nowhere"), background=False)
    message = str(err.value)
    assert "\n" not in message and "nowhere" in message and "pip install" in message


# Load failures reach the app once, as a fallback; nothing waits for ever.


def model_copy(tmp_path: Path, **replaced: bytes) -> Path:
    """The bundled model's small files in `tmp_path`, with model.bin linked or replaced."""
    try:
        bundled, _ = find_whisper_model(None)
    except RecognizerUnavailable as exc:
        pytest.skip(f"no Whisper model here: {exc}")
    for name in ("vocabulary.txt", "config.json", "tokenizer.json"):
        if (bundled / name).exists():
            (tmp_path / name).write_bytes((bundled / name).read_bytes())
    if "model.bin" not in replaced:
        (tmp_path / "model.bin").symlink_to(bundled / "model.bin")
    for name, data in replaced.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


class FakeFallback:
    name = "fake-fallback"

    def __init__(self) -> None:
        self.calls = 0

    def transcribe(self, audio: np.ndarray):
        from voicecoach.hearing.asr.recognizer import Hypothesis, Transcript

        self.calls += 1
        return Transcript((Hypothesis("pause"),), 1.0, 1000.0 * len(audio) / SAMPLE_RATE)


def test_an_empty_vocabulary_falls_back_in_one_line_without_hanging(tmp_path, monkeypatch):
    from voicecoach.hearing.asr import engines

    monkeypatch.setattr(engines, "_sphinx", FakeFallback)
    model = str(model_copy(tmp_path, **{"vocabulary.txt": b""}))
    said: list[str] = []
    recognizer, notice = engines.open_recognizer("whisper", CATALOG, model, background=True, notify=said.append)
    assert recognizer.transcribe(np.zeros(SAMPLE_RATE, np.float32)).best.text == "pause"
    assert recognizer.name == "fake-fallback" and len(said) == 1
    assert "<|endoftext|>" in said[0] and str(tmp_path) in said[0] and "\n" not in said[0]
    recognizer, notice = engines.open_recognizer("whisper", CATALOG, model, background=False)
    assert recognizer.name == "fake-fallback" and "<|endoftext|>" in notice


def test_a_model_whose_warm_up_fails_falls_back_once_and_never_hangs(tmp_path, monkeypatch):
    from voicecoach.hearing.asr.engines import FallingBack
    from voicecoach.hearing.asr.whisper import WhisperRecognizer

    def failing_warm_up(self, model) -> None:
        raise RuntimeError("vector::_M_range_check: __n (which is 50257) >= this->size() (which is 0)")

    monkeypatch.setattr(WhisperRecognizer, "_warm_up", failing_warm_up)
    whisper = WhisperRecognizer(model_copy(tmp_path))
    said: list[str] = []
    fallback = FakeFallback()
    hearing = FallingBack(whisper, said.append, fallback=lambda: fallback)
    whisper.start_loading()
    with pytest.raises(RecognizerUnavailable, match="_M_range_check"):
        whisper.wait_ready(timeout=60)              # returns: the failure frees the waiter
    for _ in range(3):
        assert hearing.transcribe(np.zeros(SAMPLE_RATE, np.float32)).best.text == "pause"
    assert len(said) == 1 and "using sphinx instead" in said[0] and "\n" not in said[0]
    assert fallback.calls == 3 and hearing.name == "fake-fallback"


def test_a_garbage_model_bin_falls_back_with_one_line_not_a_failure_per_utterance(tmp_path, monkeypatch):
    from voicecoach.hearing.asr import engines

    fallback = FakeFallback()
    monkeypatch.setattr(engines, "_sphinx", lambda: fallback)
    model = str(model_copy(tmp_path, **{"model.bin": b"not a model"}))
    said: list[str] = []
    hearing, notice = engines.open_recognizer("whisper", CATALOG, model, background=True, notify=said.append)
    assert notice is None                           # not known yet: it loads in the background
    for _ in range(3):
        assert hearing.transcribe(np.zeros(SAMPLE_RATE, np.float32)).best.text == "pause"
    assert len(said) == 1 and str(tmp_path) in said[0] and "using sphinx instead" in said[0]
    # Without a background load (transcribe), the same model is a fallback at once.
    recognizer, notice = engines.open_recognizer("whisper", CATALOG, model, background=False)
    assert recognizer is fallback and "using sphinx instead" in notice


def test_a_load_that_does_not_end_falls_back_after_its_timeout(tmp_path):
    from voicecoach.hearing.asr.engines import FallingBack
    from voicecoach.hearing.asr.whisper import WhisperRecognizer

    whisper = WhisperRecognizer(model_copy(tmp_path))    # never started: as a load that hangs
    whisper.load_timeout = 0.01
    said: list[str] = []
    hearing = FallingBack(whisper, said.append, fallback=FakeFallback)
    assert hearing.transcribe(np.zeros(SAMPLE_RATE, np.float32)).best.text == "pause"
    assert len(said) == 1 and "still loading after 0.01 s" in said[0]


def test_without_any_fallback_hearing_goes_quiet_after_one_line(tmp_path):
    from voicecoach.hearing.asr.engines import FallingBack
    from voicecoach.hearing.asr.whisper import WhisperRecognizer

    def no_sphinx():
        raise RecognizerUnavailable("sphinx is not installed (pip install SpeechRecognition pocketsphinx)")

    whisper = WhisperRecognizer(model_copy(tmp_path))
    whisper.load_timeout = 0.01
    said: list[str] = []
    hearing = FallingBack(whisper, said.append, fallback=no_sphinx)
    for _ in range(2):
        assert hearing.transcribe(np.zeros(SAMPLE_RATE, np.float32)).best is None
    assert len(said) == 1 and "pip install SpeechRecognition" in said[0]


def test_a_quiet_utterance_is_raised_to_speaking_level_and_a_loud_one_left_alone():
    from voicecoach.hearing.asr.whisper import MAX_GAIN, SPEAKING_PEAK, at_speaking_level

    rng = np.random.default_rng(3)
    speech = (0.05 * np.sin(np.linspace(0, 400, 16000)) * rng.uniform(0.5, 1, 16000)).astype(np.float32)
    raised = at_speaking_level(speech)
    assert np.percentile(np.abs(raised), 99.9) == pytest.approx(SPEAKING_PEAK, rel=0.02)
    loud = speech * 15
    assert np.array_equal(at_speaking_level(loud), loud)                      # never lowered
    hiss = (1e-4 * rng.standard_normal(16000)).astype(np.float32)
    assert np.abs(at_speaking_level(hiss)).max() <= MAX_GAIN * np.abs(hiss).max() + 1e-7   # noise stays noise
    assert at_speaking_level(np.zeros(0, np.float32)).size == 0 and not at_speaking_level(np.zeros(10, np.float32)).any()


def test_the_same_words_quieter_read_the_same(whisper, tmp_path):
    audio = read_wav(speak_to_wav("add ten seconds", tmp_path / "add.wav"))
    texts = {gain: whisper.transcribe(audio * gain).best.text for gain in (1.0, 0.5, 0.25)}
    assert len(set(texts.values())) == 1, texts


def test_a_vocabulary_that_is_a_fifo_or_too_big_is_refused_in_one_line(tmp_path):
    import os

    from voicecoach.hearing.asr.whisper import MAX_VOCABULARY_BYTES, Vocabulary

    os.mkfifo(tmp_path / "vocabulary.json")
    with pytest.raises(RecognizerUnavailable, match="cannot read the Whisper vocabulary") as refused:
        Vocabulary(tmp_path)                     # at once: a FIFO is never opened for reading
    assert "\n" not in str(refused.value)
    big = tmp_path / "big"
    big.mkdir()
    with open(big / "vocabulary.txt", "wb") as file:
        file.truncate(MAX_VOCABULARY_BYTES + 1)  # sparse: no disk used
    with pytest.raises(RecognizerUnavailable, match="cannot read the Whisper vocabulary"):
        Vocabulary(big)
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "vocabulary.json").write_text('{"not": "a list"}')
    with pytest.raises(RecognizerUnavailable, match="not a list of tokens"):
        Vocabulary(odd)
