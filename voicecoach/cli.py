"""The `voicecoach` command: the coach itself and the commands that measure it.

    voicecoach                 talk to the coach (microphone and voice; text when either is missing)
    voicecoach --text          type to the coach; cues still arrive on time
    voicecoach parse ...       what the matcher makes of utterances (JSON lines)
    voicecoach simulate FILE   a scripted session on a virtual clock
    voicecoach validate [DIR]  check content and intent files
    voicecoach transcribe ...  what the recognizer hears in WAV files (JSON lines)
    voicecoach say TEXT        hear or save any line in the coach's voice
    voicecoach history         past sessions, progress and pain reports
"""
from __future__ import annotations

import argparse
import errno
import faulthandler
import importlib
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.session import Session
from voicecoach.config import ConfigError
from voicecoach.files import read_bytes
from voicecoach.intents.names import Intent
from voicecoach.limits import MAX_TEXT_FILE_BYTES, MAX_UTTERANCE_CHARS
from voicecoach.printable import json_safe
from voicecoach.settings import Settings, resolve_settings, settings_of
from voicecoach.stopping import exit_code, stop_on_signals, stop_reason

if TYPE_CHECKING:
    from voicecoach.coach.events import EventListener
    from voicecoach.history.store import HistoryRecorder

# Verbs whose arguments and work live with their part of the program.
PLUGGED_VERBS = {
    "transcribe": ("voicecoach.transcribe", "what the recognizer hears in WAV files, as JSON lines"),
    "say": ("voicecoach.voice.commands", "say a line in the coach's voice, or save it as WAV"),
    "history": ("voicecoach.history.commands", "past sessions, progress and pain reports"),
    "check-audio": ("voicecoach.audiocheck", "play a test sound, record, and say how the microphone hears it"),
}


class UserError(Exception):
    """A problem the user can fix; printed as one line, never as a traceback."""


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command line. A plugged verb's module (and what it imports: numpy, the voice, the
    recognizer) is loaded only when that verb is on the line: the coach's first prompt does
    not wait for parts it does not use."""
    words = set(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="voicecoach", description="A hands-free, offline spoken coach for IT band pain.")
    add_run_arguments(parser)
    add_verbose_argument(parser, False)
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = verbs.add_parser("run", help="talk to the coach (the default)")
    add_run_arguments(p)

    p = verbs.add_parser("parse", help="match utterances to intents, one JSON object a line")
    p.add_argument("utterances", nargs="*", help="utterances; one a line on stdin when none are given")
    add_reader_argument(p)

    p = verbs.add_parser("simulate", help="run a scripted session on a virtual clock")
    p.add_argument("script", type=Path, help="lines of '@<seconds> <utterance>'; # starts a comment")
    p.add_argument("--json", action="store_true", help="one JSON object an event")
    p.add_argument("--db", default=None, help="record the session in this history database")
    add_reader_argument(p)

    p = verbs.add_parser("validate", help="check content and intent files")
    p.add_argument("directory", nargs="?", type=Path, help="a directory of YAML files (default: the shipped ones)")

    for verb, (module, help_text) in PLUGGED_VERBS.items():
        p = verbs.add_parser(verb, help=help_text)
        if verb in words:
            _plugged(module, p).add_arguments(p)
    for p in verbs.choices.values():
        add_verbose_argument(p, argparse.SUPPRESS)     # before or after the verb
    return parser


def add_verbose_argument(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", default=default,
                        help="also show what the program decided and why (settings, files, fallbacks)")


def _configure_logging(verbose: bool) -> None:
    """What users need not see goes to the log; --verbose shows it on stderr."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="voicecoach: %(message)s", force=True)
    # Ours only: the libraries' debug logs (Piper's phonemes of every line) are not decisions.
    logging.getLogger("voicecoach").setLevel(logging.DEBUG if verbose else logging.WARNING)
    if verbose and hasattr(signal, "SIGUSR1"):
        # `kill -USR1 <pid>` prints where every thread is (a coach that seems stuck says why).
        try:
            faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
        except (ValueError, OSError):        # stderr is no file (captured): nowhere to print them
            pass


def add_reader_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reader-model", default=None, metavar="FILE",
                        help="a saved statistical reader (.npz), or 'off' to read with the templates alone")
    parser.add_argument("--tuned-reader", default=None, metavar="FILE",
                        help="the fine-tuned reader (.onnx; default: the shipped one), or 'off' for the n-gram reader")


def add_keyword_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keyword-model", default=None, metavar="FILE",
                        help="the barge-in keyword model (.npz; default: the shipped one), or 'off' for Whisper's check alone")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", action="store_true", help="type instead of speaking")
    add_reader_argument(parser)
    add_keyword_model_argument(parser)
    parser.add_argument("--db", default=None, help="history database path (default: in your data directory)")
    parser.add_argument("--no-history", action="store_true", help="do not read or write history")
    parser.add_argument("--audio-in", type=Path, default=None, metavar="FILE.wav",
                        help="hear this WAV file as if it were the microphone")
    parser.add_argument("--fast", action="store_true",
                        help="with --audio-in: run on a virtual clock, as fast as possible")
    parser.add_argument("--asr", choices=("whisper", "sphinx"), default="whisper", help="the recognizer")
    parser.add_argument("--asr-model", default=None, metavar="DIR", help="a CTranslate2 Whisper model directory")
    parser.add_argument("--echo", choices=("webrtc", "none"), default="webrtc",
                        help="echo canceller for the coach's own voice (none: told apart by its words only, and the coach does not yield)")
    from voicecoach.voice.commands import add_voice_arguments

    add_voice_arguments(parser)


class _MissingPart:
    """Stands in for a part of the program whose module is not installed."""

    def __init__(self, module: str, reason: str) -> None:
        self.module, self.reason = module, reason

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("rest", nargs=argparse.REMAINDER)

    def run(self, args: argparse.Namespace, settings: Settings) -> int:
        print(f"voicecoach: this command is unavailable: {self.reason}", file=sys.stderr)
        return 1


def _plugged(module: str, parser: argparse.ArgumentParser | None = None):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        return _MissingPart(module, str(exc))


def main(argv: list[str] | None = None) -> int:
    args = build_parser(argv).parse_args(argv)
    command = args.command or "run"
    _configure_logging(bool(getattr(args, "verbose", False)))
    try:
        args.settings = resolve_settings(args)
    except ConfigError as exc:
        print(f"voicecoach: {exc}", file=sys.stderr)
        return 2
    for line in args.settings.explained():
        logging.getLogger("voicecoach.settings").info("%s", line)
    try:
        with stop_on_signals():
            if command in PLUGGED_VERBS:
                return int(_plugged(PLUGGED_VERBS[command][0]).run(args, args.settings) or 0)
            return COMMANDS[command](args)
    except UserError as exc:
        print(f"voicecoach: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except OSError as exc:
        if exc.errno != errno.EIO:
            raise
        return 128 + signal.SIGHUP          # the terminal is gone: nobody to tell
    except KeyboardInterrupt as exc:
        return exit_code(exc)


# ----- parse ------------------------------------------------------------------------------

def cmd_parse(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    statistical = _statistical_reader(args, catalog, background=False)
    lines = (_clean_text(u) for u in args.utterances) if args.utterances else _stdin_lines()
    ascii_only = "utf" not in (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    for text in lines:
        print(json.dumps(_parse_line(text, catalog, statistical), ensure_ascii=ascii_only), flush=not args.utterances)
    return 0


def _parse_line(text: str, catalog, statistical=None) -> dict:
    """One line's answer; a line that cannot be read gets an `error` and the stream goes on."""
    from voicecoach.intents.understand import understand

    if len(text) > MAX_UTTERANCE_CHARS:
        return {**understand(text, catalog, None, statistical).as_json(),
                "error": f"line too long ({len(text)} characters, at most {MAX_UTTERANCE_CHARS})"}
    try:
        return understand(text, catalog, None, statistical).as_json()
    except Exception as exc:  # noqa: BLE001 - one bad line must not end a stream another program feeds
        return {"text": text, "intent": Intent.NONE.value, "slots": {}, "score": 0.0, "error": f"{type(exc).__name__}: {exc}"}


def _stdin_lines():
    """stdin as text whatever the locale: bytes that are not UTF-8 become U+FFFD."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:                # already text (a test, or an embedding program)
        yield from (_clean_text(line.rstrip("\r\n")) for line in sys.stdin)
        return
    for raw in stream:
        yield raw.rstrip(b"\r\n").decode("utf-8", errors="replace")


def _clean_text(text: str) -> str:
    """Arguments the OS could not decode arrive as lone surrogates; JSON must not carry them."""
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace") \
        if any("\ud800" <= ch <= "\udfff" for ch in text) else text


# ----- simulate ---------------------------------------------------------------------------

def cmd_simulate(args: argparse.Namespace) -> int:
    from voicecoach.coach.simulate import (
        ScriptError,
        SimulationLimit,
        Simulator,
        load_script,
    )
    from voicecoach.intents.understand import understand

    try:
        script = load_script(args.script)
    except ScriptError as exc:
        raise UserError(str(exc)) from None
    content = _content()
    catalog = _catalog(args, content)
    statistical = _statistical_reader(args, catalog, content, background=False)
    recorder, notice = _history(args, simulated=True)
    listeners: list[EventListener] = [recorder] if recorder is not None else []
    if notice:
        print(f"voicecoach: {notice}", file=sys.stderr)

    from voicecoach.app import _history_answer, _proposal

    def make_session(clock: VirtualClock) -> Session:
        return Session(content, clock, listeners=listeners, proposal=_proposal(recorder, content),
                       history=_history_answer(recorder))

    simulator = Simulator(make_session, lambda text, session: understand(text, catalog, session.context(), statistical))
    try:
        for event in simulator.events(script):
            print(json_safe(json.dumps(event.as_json(), ensure_ascii=False)) if args.json else event.as_text())
    except SimulationLimit as exc:
        raise UserError(f"{args.script}: {exc}") from None
    except KeyboardInterrupt as stop:        # the record of the session is closed, with why
        simulator.close(stop_reason(stop))
        raise
    if simulator.not_run is not None:
        print(f"voicecoach: {args.script}: {simulator.not_run}", file=sys.stderr)
    return 0


# ----- validate ---------------------------------------------------------------------------

def cmd_validate(args: argparse.Namespace) -> int:
    from voicecoach.content.loader import validate_content
    from voicecoach.intents.catalog import validate_catalog
    from voicecoach.intents.load import load_catalog

    content_dir, intents_dir = _validation_dirs(args.directory)
    problems: list[str] = []
    if content_dir is not None:
        problems += validate_content(content_dir)
        rules = content_dir / "progression.yaml"
        if rules.exists():
            from voicecoach.history.progression import RulesError, load_rules

            try:
                load_rules(rules)
            except RulesError as exc:
                problems.append(str(exc))
    if intents_dir is not None:
        problems += validate_catalog(intents_dir)
    if content_dir is not None and intents_dir is not None and not problems:
        from voicecoach.content.loader import load_content, topic_problems

        content = load_content(content_dir)
        catalog = load_catalog(intents_dir, content.exercise_names(), cache=settings_of(args).catalog_cache)
        problems += topic_problems(catalog.named_values("topic"), content, content_dir)
    for problem in problems:
        print(problem)
    if not problems:
        checked = " and ".join(str(d) for d in (content_dir, intents_dir) if d is not None)
        print(f"ok: {checked}")
    return 1 if problems else 0


def _validation_dirs(directory: Path | None) -> tuple[Path | None, Path | None]:
    """Which folders hold content and which hold intent templates."""
    from voicecoach.content.loader import default_content_dir
    from voicecoach.intents.catalog import INTENTS_DIR

    if directory is None:
        return default_content_dir(), INTENTS_DIR
    if not directory.is_dir():
        raise UserError(f"{directory}: not a directory")
    if (directory / "content").is_dir() or (directory / "voicecoach" / "intents").is_dir():
        content = directory / "content"
        intents = directory / "voicecoach" / "intents"
        return (content if content.is_dir() else None), (intents if intents.is_dir() else None)
    if any(_is_intent_file(f) for f in directory.glob("*.yaml")):
        return None, directory
    return directory, None


def _is_intent_file(path: Path) -> bool:
    try:
        head = read_bytes(path, MAX_TEXT_FILE_BYTES).decode("utf-8", errors="replace")
    except OSError:            # not read here: loading the file says why
        return False
    return any(line.split(":")[0] in ("intents", "lists", "rules") for line in head.splitlines() if line and not line[0].isspace())


# ----- run: the coach ---------------------------------------------------------------------

def cmd_run(args: argparse.Namespace) -> int:
    from voicecoach.app import Reading, run_coach

    content = _content()
    return run_coach(args, content, Reading(lambda: _reading(args, content)), _history)


def _reading(args: argparse.Namespace, content):
    """The catalog and the statistical reader behind it (voice mode makes them after the greeting)."""
    catalog = _catalog(args, content)
    return catalog, _statistical_reader(args, catalog, content)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run, "parse": cmd_parse, "simulate": cmd_simulate, "validate": cmd_validate,
}


# ----- shared loading ---------------------------------------------------------------------

def _catalog(args: argparse.Namespace, content=None):
    """The intent catalog (compiled, or read from the user's cache), checked against the content."""
    from voicecoach.intents.catalog import CatalogError
    from voicecoach.intents.load import load_catalog

    try:
        catalog = load_catalog(None, content.exercise_names() if content is not None else (),
                               cache=settings_of(args).catalog_cache)
    except CatalogError as exc:
        raise UserError(f"the intent templates are broken:\n{exc}") from None
    if content is not None:
        from voicecoach.content.loader import topic_problems

        problems = topic_problems(catalog.named_values("topic"), content)
        if problems:
            raise UserError("the intent templates and the content disagree:\n" + "\n".join(problems))
    return catalog


def _statistical_reader(args: argparse.Namespace, catalog, content=None, background: bool = True):
    """The statistical reader behind the templates, or None (with one line saying why)."""
    from voicecoach.intents.understand import open_reader

    content = content if content is not None else _content()
    def say(line: str) -> None:
        print(f"voicecoach: {line}", file=sys.stderr)

    settings = settings_of(args)
    reader, notice = open_reader(catalog, content.topic_texts(), settings.reader_model, background, notify=say,
                                 model_source=settings.sources.get("reader_model", "the settings"),
                                 tuned=settings.tuned_reader)
    if notice:
        say(notice)
    return reader


def _content():
    from voicecoach.content.loader import ContentError, load_content

    try:
        return load_content()
    except ContentError as exc:
        raise UserError(f"the content files are broken:\n{exc}") from None


def _history(args: argparse.Namespace, simulated: bool = False) -> tuple[HistoryRecorder | None, str | None]:
    """The history recorder when history is wanted and works; else None and why.
    A simulated session is recorded only in a database named with --db."""
    settings = settings_of(args)
    if simulated and settings.history and settings.sources.get("db") not in ("flag", "default"):
        # A scripted session is not the user's: it never lands in their history by default.
        logging.getLogger("voicecoach.history").info(
            "simulate records a session only in a database named with --db; the %s db is not used",
            settings.sources.get("db"))
    if not settings.history or (simulated and settings.sources.get("db") != "flag"):
        return None, None
    try:
        from voicecoach.history.store import open_history
    except ImportError as exc:
        return None, f"history is unavailable ({exc}); the coach runs without it"
    return open_history(settings.db, on_failure=_tell)


def _tell(line: str) -> None:
    """A problem the user should know of now, while the program goes on."""
    print(f"voicecoach: {line}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
