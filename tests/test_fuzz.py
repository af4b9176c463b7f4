"""Fuzzing every entry point: whatever comes in, no traceback, and every refusal is one line.

Over 10,000 generated inputs in all: the matcher, `parse` on stdin, `simulate` scripts,
content, intent and config files (valid YAML of wrong shapes and values, and YAML-like
text), and WAV headers.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

# Over 10,000 generated inputs: the default run has them, the fast tier does not.
pytestmark = pytest.mark.slow

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install -e '.[test]')")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from voicecoach import cli  # noqa: E402
from voicecoach.config import ConfigError, load_config  # noqa: E402
from voicecoach.content.loader import ContentError, default_content_dir, load_content  # noqa: E402
from voicecoach.hearing.signal.audio import AudioError, read_wav  # noqa: E402
from voicecoach.intents.catalog import validate_catalog
from voicecoach.intents.load import load_catalog  # noqa: E402
from voicecoach.intents.matcher import recognize  # noqa: E402
from voicecoach.intents.types import Context  # noqa: E402
from voicecoach.intents.understand import understand  # noqa: E402
from voicecoach.settings import resolve_settings  # noqa: E402
from voicecoach.yamlfile import YamlError, load_yaml  # noqa: E402

FUZZ = settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)


def fuzz(examples: int) -> settings:
    """The same examples every run (derandomized), so the suite's time and result are steady."""
    return settings(FUZZ, max_examples=examples)

CATALOG = load_catalog()
WORDS = sorted({w for s in CATALOG.samples(3) for w in s.text.split()})

# ----- what people might say -------------------------------------------------------------

numbers = st.one_of(
    st.integers(-10 ** 6, 10 ** 6).map(str),
    st.integers(1, 5000).map(lambda n: "9" * n),                            # past float and int limits
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: f"{f:f}"[:600]),
    st.sampled_from(["-5", "minus five", "negative 30", "1,000", "3:30", "1.5", "hundred " * 50, "a half"]),
)
words = st.one_of(st.sampled_from(WORDS), numbers,
                  st.sampled_from(["seconds", "minutes", "min", "s", "and a half", "-", "%", "I.T.", "'", "..."]))
utterances = st.one_of(
    st.lists(words, max_size=30).map(" ".join),
    st.text(max_size=700),
    st.builds(lambda w, n: " ".join(w) * n, st.lists(words, max_size=5), st.integers(1, 200)),
)
contexts = st.builds(Context, st.sampled_from([None, "yes_no"]), st.booleans(), st.booleans())


@fuzz(2000)
@given(text=utterances, context=contexts)
def test_matcher_and_reader_answer_anything(one_reader, text, context):
    for match in (recognize(text, CATALOG, context), understand(text, CATALOG, context, one_reader)):
        assert match.intent in CATALOG.intents or match.intent == "none"
        assert 0.0 <= match.score <= 1.0
        json.dumps(match.as_json(), allow_nan=False)
        for name in ("seconds", "reps", "sets"):
            amount = match.slots.get(name)
            assert amount is None or (isinstance(amount, int) and abs(amount) <= 10 ** 9), match


# ----- parse on stdin --------------------------------------------------------------------

stdin_lines = st.lists(st.one_of(utterances.map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=300)),
                       min_size=1, max_size=8)


@fuzz(400)
@given(stdin_lines)
def test_parse_stdin_answers_every_line(lines):
    lines = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines]
    out = io.BytesIO()
    stdin = io.TextIOWrapper(io.BytesIO(b"\n".join(lines) + b"\n"), encoding="ascii", errors="strict")
    stdout = io.TextIOWrapper(out, encoding="ascii", errors="strict", write_through=True)
    with _swapped(stdin=stdin, stdout=stdout):
        assert cli.main(["parse"]) == 0
    rows = [json.loads(row) for row in out.getvalue().decode("ascii").splitlines()]
    assert len(rows) == len(lines)
    assert all(set(row) >= {"text", "intent", "slots", "score"} for row in rows)


@contextlib.contextmanager
def _swapped(**streams):
    saved = {name: getattr(sys, name) for name in streams}
    try:
        for name, stream in streams.items():
            setattr(sys, name, stream)
        yield
    finally:
        for name, stream in saved.items():
            setattr(sys, name, stream)


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with _swapped(stdout=out, stderr=err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def _one_line_refusal(code: int, err: str) -> None:
    assert code in (0, 1)
    assert "Traceback" not in err
    if code == 1:
        assert len(err.strip().splitlines()) == 1 and err.startswith("voicecoach: "), err


# ----- simulate scripts ------------------------------------------------------------------

stamps = st.one_of(st.floats(0, 3000).map(lambda f: f"{f:.1f}"), st.integers(0, 10 ** 6).map(str),
                   st.integers(300, 500).map(lambda n: "9" * n), st.sampled_from(["-1", "1e5", "nan", "inf", "", "1.2.3"]))
script_lines = st.one_of(
    st.builds(lambda t, text: f"@{t} {text}", stamps, st.one_of(st.sampled_from(
        ["start", "pause", "resume", "next", "stop", "yes", "no", "that hurts", "how long left", "hold for -5 seconds",
         "hold for 99999999999999999999 seconds", "hold for 45 seconds", "slower", "go back"]), utterances)),
    st.text(max_size=80), st.just("# a comment"), st.just(""),
)


@fuzz(300)
@given(lines=st.lists(script_lines, max_size=12), as_json=st.booleans())
def test_simulate_runs_or_refuses_in_one_line(work, lines, as_json):
    script = work / "script.txt"
    script.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    code, out, err = _run_cli(["simulate", str(script)] + (["--json"] if as_json else []))
    _one_line_refusal(code, err)
    if code == 0:
        assert "NaN" not in out and "Infinity" not in out
        if as_json:
            for row in out.splitlines():
                json.loads(row)


# ----- files: valid YAML of the wrong shape or value, and YAML-like text -----------------

odd_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10 ** 30, 10 ** 30), st.floats(),
              st.text(max_size=30), st.sampled_from(["", "  ", "foam_rolling", "ours", "article", "hold", "reps", "left"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)


def _paths(doc, prefix=()):
    """Every place in a document a value could be swapped."""
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _paths(value, prefix + (i,))


def _mutate(doc, choice: int, value):
    paths = list(_paths(doc))
    path = paths[choice % len(paths)]
    if not path:
        return value
    doc = copy.deepcopy(doc)
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return doc


def _problems_name_their_file(problems: list[str], where: Path) -> None:
    for problem in problems:
        for line in problem.splitlines():
            assert line.startswith(str(where)), line


CONTENT_DOCS = {p.name: yaml.safe_load(p.read_text()) for p in sorted(default_content_dir().glob("*.yaml"))}
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(doc) -> str:
    return yaml.dump(doc, Dumper=_Dumper, allow_unicode=True)


CONTENT_TEXTS = {name: _dump(doc) for name, doc in CONTENT_DOCS.items()}


@pytest.fixture(scope="module", autouse=True)
def one_reader():
    """`parse` and `simulate` open the statistical reader each run; here it is opened once."""
    import argparse

    reader = cli._statistical_reader(argparse.Namespace(), CATALOG, background=False)
    opener = cli._statistical_reader
    cli._statistical_reader = lambda *args, **kwargs: reader
    yield reader
    cli._statistical_reader = opener


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """One folder for every example: files are overwritten, not made and removed each time."""
    return tmp_path_factory.mktemp("fuzz")


@fuzz(600)
@given(name=st.sampled_from(sorted(CONTENT_DOCS)), choice=st.integers(0, 10 ** 6), value=odd_values)
def test_content_files_of_any_shape_are_checked_not_crashed(work, name, choice, value):
    directory = work / "content"
    directory.mkdir(exist_ok=True)
    for other, doc in CONTENT_DOCS.items():
        text = _dump(_mutate(doc, choice, value)) if other == name else CONTENT_TEXTS[other]
        (directory / other).write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        content = load_content(directory)
    except ContentError as exc:
        assert exc.problems
        _problems_name_their_file(exc.problems, directory)
        return
    for exercise in content.exercises.values():
        for number in (exercise.program.hold_seconds, exercise.program.reps, exercise.program.sets):
            assert number is None or math.isfinite(number.value)


INTENT_DOC = {
    "intents": {
        "start": {"data": [{"sentences": ["(start|begin) [the] {exercise}", "go <now>"]},
                           {"slots": {"exercise": "glute_bridge"}, "sentences": ["bridge time"]}]},
        "pause": {"sentences": ["pause", "hold on"]},
        "set_duration": {"data": [{"sentences": ["hold for {seconds}"], "context": {"exercising": True}}]},
        "ask": {"question_slot": "exercise", "sentences": ["what is {exercise}", "how do i do {exercise}"]},
    },
    "lists": {"exercise": {"values": [{"in": "(glute|hip) bridge", "out": "glute_bridge"},
                                      {"in": "[it band] stretch", "out": "it_band_stretch"}]}},
    "rules": {"now": "[right] now"},
}


@fuzz(400)
@given(choice=st.integers(0, 10 ** 6), value=st.one_of(odd_values, st.text(alphabet="()[]{}<>|ab ", max_size=40)))
def test_intent_files_of_any_shape_are_checked_not_crashed(work, choice, value):
    directory = work / "intents"
    directory.mkdir(exist_ok=True)
    (directory / "x.yaml").write_text(_dump(_mutate(INTENT_DOC, choice, value)), encoding="utf-8", errors="surrogatepass")
    _problems_name_their_file(validate_catalog(directory), directory)


yaml_like = st.lists(st.sampled_from(list("[]{}:-&*!|>?,'\"# \n\tab19.x_") + ["!!int ", "!!float ", "<<: ",
                                                                                   "2001-13-45", "&a ", "*a", ".nan", ".inf"]),
                     max_size=80).map("".join)


@fuzz(2500)
@given(text=yaml_like)
def test_yaml_like_text_loads_or_is_one_error(work, text):
    path = work / "x.yaml"
    path.write_text(text)
    try:
        load_yaml(path)
    except YamlError as exc:
        _problems_name_their_file([str(exc)], path)


config_docs = st.one_of(
    st.dictionaries(st.sampled_from(["asr_model", "voice", "rate", "volume", "db", "speed", "1"]), odd_values, max_size=5),
    odd_values,
)


@fuzz(1500)
@given(text=st.one_of(config_docs.map(_dump), yaml_like))
def test_config_files_load_or_are_one_error(work, text):
    path = work / "config.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_config(path)
    except ConfigError as exc:
        _problems_name_their_file([str(exc)], path)


# ----- WAV headers -----------------------------------------------------------------------

@st.composite
def wav_files(draw) -> bytes:
    tag = draw(st.sampled_from([1, 3, 0xFFFE, 0, 2, 0x55, 0xFFFF]))
    channels = draw(st.sampled_from([0, 1, 2, 3, 8, 9, 65535]))
    rate = draw(st.sampled_from([0, 1, 4000, 8000, 16000, 44100, 48000, 96000, 2 ** 32 - 1]))
    bits = draw(st.sampled_from([0, 1, 8, 12, 16, 20, 24, 32, 64, 65535]))
    block = draw(st.one_of(st.just(max(1, channels * bits // 8) % 65536), st.integers(0, 65535)))
    fmt = struct.pack("<HHIIHH", tag, channels, rate, (rate * block) % 2 ** 32, block, bits)
    if tag == 0xFFFE and draw(st.booleans()):
        fmt += struct.pack("<HHIH", 22, bits, 0, draw(st.sampled_from([1, 3, 7]))) + bytes(14)
    fmt_size = draw(st.one_of(st.just(len(fmt)), st.integers(0, 2 ** 32 - 1)))
    data = draw(st.binary(max_size=400))
    data_size = draw(st.one_of(st.just(len(data)), st.sampled_from([0, 0xFFFFFFFF]), st.integers(0, 2 ** 32 - 1)))
    chunks = [b"fmt " + struct.pack("<I", fmt_size) + fmt, b"data" + struct.pack("<I", data_size) + data]
    if draw(st.booleans()):
        chunks.insert(draw(st.integers(0, 1)), b"LIST" + struct.pack("<I", 3) + b"abc\x00")
    body = b"WAVE" + b"".join(draw(st.permutations(chunks)) if draw(st.booleans()) else chunks)
    whole = b"RIFF" + struct.pack("<I", len(body)) + body
    return whole[:draw(st.integers(0, len(whole)))] if draw(st.booleans()) else whole


@fuzz(2500)
@given(data=st.one_of(wav_files(), st.binary(max_size=200)))
def test_wav_headers_read_or_refused_with_a_reason(work, data):
    path = work / "x.wav"
    path.write_bytes(data)
    try:
        audio = read_wav(path)
    except AudioError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: ") and "\n" not in message and "()" not in message, message
        return
    assert audio.dtype == np.float32 and audio.ndim == 1 and len(audio) > 0
    assert np.all(np.isfinite(audio))


# ----- cache files: the compiled catalog ---------------------------------------------------

from voicecoach.intents import compiled  # noqa: E402

CACHE_TEXT = json.dumps(compiled.catalog_to_json(CATALOG))


def _swap_somewhere(doc, steps: list[int], value):
    """`doc` with the value reached by following `steps` (an index a level) replaced by `value`."""
    target, key = None, None
    node = doc
    for step in steps:
        if isinstance(node, dict) and node:
            key = sorted(node)[step % len(node)]
        elif isinstance(node, list) and node:
            key = step % len(node)
        else:
            break
        target, node = node, node[key]
    if target is None:
        return value
    target[key] = value
    return doc


def _reads_like_a_catalog(catalog) -> None:
    for text in ("stop", "start the stretch", "hold for 45 seconds", "ouch", "what causes it"):
        match = recognize(text, catalog, Context())
        assert 0.0 <= match.score <= 1.0


@fuzz(300)
@given(steps=st.lists(st.integers(0, 10 ** 6), min_size=1, max_size=6), value=odd_values)
def test_a_cache_file_of_any_content_is_read_checked_or_refused(steps, value):
    doc = _swap_somewhere(json.loads(CACHE_TEXT), steps, value)
    try:
        catalog = compiled.catalog_from_json(doc)
    except compiled.DamagedCache as exc:
        assert "\n" not in str(exc)
        return
    _reads_like_a_catalog(catalog)


@fuzz(150)
@given(cut=st.integers(0, len(CACHE_TEXT)), flips=st.lists(st.tuples(st.integers(0, len(CACHE_TEXT) - 1),
                                                                      st.integers(0, 255)), max_size=4))
def test_cache_bytes_damaged_anywhere_are_ignored_or_read(work, cut, flips):
    folder = work / "cache"
    folder.mkdir(mode=0o700, exist_ok=True)
    data = bytearray(CACHE_TEXT.encode("utf-8"))
    for at, byte in flips:
        data[at] = byte
    path = folder / "catalog-fuzz.json"
    path.write_bytes(bytes(data[:cut] if cut < len(data) else data))
    path.chmod(0o600)
    catalog = compiled._read(path)
    if catalog is not None:
        _reads_like_a_catalog(catalog)


# ----- model files: the reader and the keyword model ----------------------------------------

from voicecoach.hearing.bargein.keyword_model import SHIPPED_MODEL, KeywordHead, KeywordModelUnavailable  # noqa: E402
from voicecoach.intents.classifier import IntentClassifier, ModelError  # noqa: E402


def _arrays_of(path_or_bytes) -> dict:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    with np.load(source) as saved:
        return {name: saved[name] for name in saved.files}


@pytest.fixture(scope="module")
def reader_arrays(one_reader) -> dict:
    buffer = io.BytesIO()
    one_reader.classifier.save(buffer)
    return _arrays_of(buffer.getvalue())


KEYWORD_ARRAYS = _arrays_of(SHIPPED_MODEL)

odd_arrays = st.one_of(
    st.builds(lambda n, kind: np.zeros(n, dtype=kind), st.integers(0, 5), st.sampled_from(["f4", "f8", "i4", "i8", "u1", "U5", "?"])),
    st.builds(lambda shape, fill: np.full(shape, fill), st.tuples(st.integers(0, 4), st.integers(0, 4)),
              st.sampled_from([np.nan, np.inf, -1.0, 0.0, 1e30, 7])),
    st.sampled_from([np.array(-1), np.array(0), np.array(99), np.array(3.5), np.array("x"), np.array(["a", "a"]),
                     np.array(np.nan), np.array(True)]),
)


def _changed_arrays(arrays: dict, choice: int, value, drop: bool) -> dict:
    changed = dict(arrays)
    name = sorted(changed)[choice % len(changed)]
    if drop:
        del changed[name]
    else:
        changed[name] = value
    return changed


@fuzz(300)
@given(choice=st.integers(0, 100), value=odd_arrays, drop=st.booleans(), shuffle=st.booleans())
def test_reader_models_of_any_arrays_load_checked_or_are_refused(work, reader_arrays, choice, value, drop, shuffle):
    arrays = _changed_arrays(reader_arrays, choice, value, drop)
    if shuffle and "weights" in arrays and arrays["weights"].ndim:
        arrays["weights"] = arrays["weights"][::-1]          # the right shape, in the wrong rows
    path = work / "reader.npz"
    np.savez(path, **arrays)
    try:
        classifier = IntentClassifier.load(path)
    except ModelError as exc:
        assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
        return
    probabilities = classifier.probabilities("my leg is really sore")
    assert all(math.isfinite(p) for p in probabilities.values()) and abs(sum(probabilities.values()) - 1) < 1e-3


@fuzz(200)
@given(choice=st.integers(0, 100), value=odd_arrays, drop=st.booleans())
def test_keyword_models_of_any_arrays_load_checked_or_are_refused(work, choice, value, drop):
    path = work / "keywords.npz"
    np.savez(path, **_changed_arrays(KEYWORD_ARRAYS, choice, value, drop))
    try:
        head = KeywordHead.load(path)
    except KeywordModelUnavailable as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    features = np.zeros(head.mean.shape, dtype=np.float32)
    assert np.all(np.isfinite(head.probabilities(features)))


@fuzz(200)
@given(data=st.binary(max_size=400), keep=st.integers(0, 10 ** 6))
def test_model_files_of_any_bytes_are_refused_in_one_line(work, reader_arrays, data, keep):
    buffer = io.BytesIO()
    np.savez(buffer, **reader_arrays)
    whole = buffer.getvalue()
    path = work / "model.npz"
    path.write_bytes(whole[:keep % len(whole)] + data if data or keep % 2 else data)
    for load, refusal in ((IntentClassifier.load, ModelError), (KeywordHead.load, KeywordModelUnavailable)):
        try:
            load(path)
        except refusal as exc:
            assert "\n" not in str(exc)


# ----- database bytes -----------------------------------------------------------------------

from voicecoach.history import commands as history_commands  # noqa: E402
from voicecoach.history.store import open_history  # noqa: E402


@functools.lru_cache(maxsize=1)
def history_bytes() -> bytes:
    """A history of three sessions, as bytes (made once)."""
    import tempfile

    from test_history_commands import fill

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "h.db"
        fill(path)
        return path.read_bytes()


@fuzz(250)
@given(flips=st.lists(st.tuples(st.integers(0, 10 ** 7), st.integers(0, 255)), min_size=1, max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 10 ** 7)))
def test_database_bytes_damaged_anywhere_are_one_line_and_forget_still_works(work, flips, cut, capsys):
    path = work / "history.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    data = bytearray(history_bytes())
    for at, byte in flips:
        data[at % len(data)] = byte
    path.write_bytes(bytes(data if cut is None else data[:cut % len(data)]))
    recorder, reason = open_history(path)
    if recorder is None:
        assert "\n" not in reason and str(path) in reason
    else:
        recorder.close()
    parser = __import__("argparse").ArgumentParser()
    history_commands.add_arguments(parser)
    for argv in (["--db", str(path)], ["--db", str(path), "--json"], ["--db", str(path), "--forget", "--yes"]):
        args = parser.parse_args(argv)
        code = history_commands.run(args, resolve_settings(args))
        err = capsys.readouterr().err
        assert code in (0, 1) and "Traceback" not in err
        assert err.count("\n") <= 1, err


# ----- path strings -------------------------------------------------------------------------

from voicecoach.settings import resolve_settings  # noqa: E402

path_parts = st.one_of(st.sampled_from(["~", "~nosuchuser27", "~root", "..", ".", "", "a" * 300, "é" * 200, "loop",
                                        "\x00", "off", "OFF", "-", "x\ny"]),
                       st.text(alphabet="ab~/.é\\ ", max_size=20))
path_strings = st.lists(path_parts, min_size=1, max_size=5).map("/".join)


@fuzz(600)
@given(text=path_strings, name=st.sampled_from(["db", "reader_model", "keyword_model", "asr_model", "voice"]),
       where=st.sampled_from(["flag", "env"]))
def test_path_settings_of_any_text_resolve_or_are_one_line(work, text, name, where):
    import argparse

    from voicecoach.config import ConfigError

    loop = work / "loop"
    if not loop.is_symlink():
        loop.symlink_to(work / "loop")
    text = text.replace("loop", str(loop)) if "loop" in text else text
    args = argparse.Namespace(**({name: text} if where == "flag" else {}))
    environ = {} if where == "flag" else {f"VOICECOACH_{name.upper()}": text}
    try:
        settings = resolve_settings(args, environ=environ, config_file=work / "no-config.yaml")
    except ConfigError as exc:
        assert "\n" not in str(exc).replace(text, "") and "Traceback" not in str(exc)
        return
    value = getattr(settings, name)
    assert value is None or not str(value).startswith("~")        # a ~ or ~user that names a home is expanded


@fuzz(150)
@given(text=path_strings)
def test_history_with_any_db_path_runs_or_refuses_in_one_line(work, text, capsys):
    inside = str(work / "paths") + "/" + text.lstrip("/~")      # never outside the test's folder
    code, _, err = _run_cli(["history", "--db", inside])
    assert code in (0, 1, 2) and "Traceback" not in err
    assert err.replace(inside, "").count("\n") <= 1, err


# ----- tiny WAV files -----------------------------------------------------------------------

@fuzz(400)
@given(rate=st.sampled_from([8000, 11025, 16000, 22050, 32000, 44100, 48000]), frames=st.integers(0, 4),
       channels=st.integers(1, 3), kind=st.sampled_from([(1, 1), (1, 2), (1, 3), (1, 4), (3, 4), (3, 8)]),
       samples=st.binary(min_size=64, max_size=64))
def test_tiny_wavs_give_audio_or_no_audio(work, rate, frames, channels, kind, samples):
    tag, width = kind
    data = (samples * 2)[:frames * channels * width]
    block = channels * width
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, 8 * width)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path = work / "tiny.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")
        try:
            audio = read_wav(path)
        except AudioError as exc:
            assert frames == 0 and "no audio" in str(exc)
            return
    assert frames > 0 and len(audio) >= 1 and audio.dtype == np.float32 and np.all(np.isfinite(audio))
