"""Running the coach for a person: text mode on the real clock, and the voice loop."""
from __future__ import annotations

import argparse
import errno
import functools
import logging
import os
import queue
import re
import select
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from voicecoach.coach.clock import Clock, RealClock, VirtualClock
from voicecoach.coach.replies import estimate_speech_seconds
from voicecoach.coach.session import WORDS_PER_MINUTE, Session
from voicecoach.content.model import Content
from voicecoach.intents.names import Intent
from voicecoach.output import OutputStage
from voicecoach.stopping import end_soon, exit_code, stop_reason, terminal_gone
from voicecoach.voice.speaker import Speaker, TerminalSpeaker

# Hearing is imported only when voice mode starts (text mode starts without it), and the
# intent catalog's modules once the greeting is said.
if TYPE_CHECKING:
    from voicecoach.coach.events import EventListener
    from voicecoach.hearing.pipeline import HearingOptions
    from voicecoach.history.later import HistoryLater
    from voicecoach.history.store import HistoryRecorder
    from voicecoach.intents.catalog import Catalog
    from voicecoach.intents.understand import StatisticalReader
    from voicecoach.plan import Proposal
    from voicecoach.sound import SoundSurvey
    from voicecoach.voice.devices import DuplexDevice, OutputDevice

log = logging.getLogger("voicecoach.devices")
EOF_MARK = object()
MAX_WAIT = 0.25          # longest wait between checks when no cue is due (keeps Ctrl-C prompt)
HEARING_STOP_S = 20.0    # the longest a decode under way is waited for at exit (one takes well under a second)
GOODBYE_LIMIT_S = 6.0    # at most this long for the voice to finish its goodbye before the program exits


class LineReader:
    """Reads typed lines without blocking the countdown: `read(timeout)` returns a line,
    None when nothing arrived in time, or EOF_MARK at end of input."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._buffer = b""
        self._eof = False
        self.hung_up = False          # the input ended because its terminal hung up
        try:
            self._fd: int | None = stream.fileno()
            select.select([self._fd], [], [], 0)
        except (OSError, ValueError, AttributeError, TypeError):
            self._fd = None          # not a selectable file (a test stream, or Windows)
        self._lines: queue.Queue[object] = queue.Queue()
        if self._fd is None:
            threading.Thread(target=self._pump, name="stdin-reader", daemon=True).start()

    def _pump(self) -> None:
        for line in self._stream:
            self._lines.put(line.rstrip("\r\n"))
        self._lines.put(EOF_MARK)

    def read(self, timeout: float) -> object:
        if self._fd is None:
            try:
                return self._lines.get(timeout=timeout)
            except queue.Empty:
                return None
        if b"\n" in self._buffer:
            return self._take_line()
        if self._eof:
            return self._take_line() if self._buffer else EOF_MARK
        ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout))
        if not ready:
            return None
        chunk = os.read(self._fd, 4096)
        if not chunk:
            self._eof = True
            self.hung_up = terminal_gone(self._fd)
        self._buffer += chunk
        if b"\n" in self._buffer or self._eof:
            return self.read(0)
        return None

    def _take_line(self) -> str:
        line, _, rest = self._buffer.partition(b"\n")
        self._buffer = rest
        return line.decode("utf-8", errors="replace").rstrip("\r")


def run_text_session(session: Session, catalog: Catalog, output: OutputStage, reader: LineReader,
                     clock: Clock, prompt: Callable[[], None] = lambda: None,
                     statistical: StatisticalReader | None = None, begun: bool = False) -> int:
    """Type to the coach; cues are delivered at their time while the prompt waits. Returns the
    exit status: 0, or 128 + the signal that ended it (130 for Ctrl-C).

    A paced output stage shows answers at a readable pace and tells the session when each
    line was shown, so a hold counts from the "Go." on the screen. `begun`: the greeting was
    delivered already (voice mode, when it falls back to typing)."""
    hear_line_ends(session, output)
    if not begun:
        output.deliver(session.begin())
    prompt()
    ended, status = "quit", 0
    try:
        while not session.wants_exit:
            due = [t for t in (session.next_due(), output.next_due()) if t is not None]
            wait = MAX_WAIT if not due else min(MAX_WAIT, max(0.0, min(due) - clock.now()))
            line = reader.read(wait)
            if line is EOF_MARK:
                if reader.hung_up:
                    raise OSError(errno.EIO, "the terminal hung up")
                output.flush()
                break
            shown = _step(session, catalog, output, line, statistical)
            if shown:
                prompt()
    except KeyboardInterrupt as stop:      # Ctrl-C, SIGTERM or SIGHUP
        ended, status = stop_reason(stop), exit_code(stop)
    except OSError as exc:
        if exc.errno != errno.EIO:
            raise
        ended, status = "hangup", 128 + signal.SIGHUP   # the terminal is gone (read or written): as if it hung up
        end_soon(signal.SIGHUP)
    finally:
        session.close(ended)
    return status


def hear_line_ends(session: Session, output: OutputStage) -> None:
    """The session learns from the output stage when each line ended: a voice says when it
    played the last sample; printed lines are paced by the stage itself."""
    output.on_line_end = session.line_ended
    session.hears_line_ends = output.has_voice


def reading_seconds(text: str, rate: float = 1.0) -> float:
    """How long a printed line takes to read: as long as saying it, at the chosen pace."""
    return estimate_speech_seconds(text, WORDS_PER_MINUTE * rate)


def _run_prompt(session: Session, catalog: Catalog, output: OutputStage, clock: Clock,
                statistical: StatisticalReader | None) -> int:
    """Text mode on a terminal: prompt_toolkit keeps the coach's lines out of the input line.
    Returns the exit status, as run_text_session does."""
    from voicecoach.textmode import PromptSpeaker, run_prompt_session

    output.speakers = [s for s in output.speakers if not isinstance(s, TerminalSpeaker)] + [PromptSpeaker()]
    hear_line_ends(session, output)
    ended, status = "quit", 0
    try:
        run_prompt_session(session, catalog, output, clock,
                           lambda s, c, o, line: _step(s, c, o, line, statistical))
    except KeyboardInterrupt as stop:      # Ctrl-C, SIGTERM or SIGHUP
        ended, status = stop_reason(stop), exit_code(stop)
    finally:
        session.close(ended)
    return status


def _step(session: Session, catalog: Catalog, output: OutputStage, line: object,
          statistical: StatisticalReader | None) -> bool:
    """One turn of text mode: the typed line (if any), then the cues and lines now due."""
    from voicecoach.intents.understand import understand

    before = output.last_reply
    if isinstance(line, str) and line.strip():
        output.supersede()
        output.deliver(session.handle(understand(line, catalog, session.context(), statistical)))
    output.deliver(session.tick())
    output.pump()
    return output.last_reply is not before


def run_voice_session(session: Session, loop, source, output: OutputStage, clock: Clock, catalog: Catalog,
                      on_event: Callable | None = None, typed: LineReader | None = None,
                      play_out: bool = True, statistical: StatisticalReader | None = None,
                      yielding=None, begun: bool = False) -> int:
    """The spoken loop: hearing on its own thread, cues on time on this one, until the audio or
    the user ends; the exit status (0, or 128 + the signal that ended it: 130, 143, 129).

    `loop` is a hearing.loop.ListenLoop; it reads `source` in a background thread and its
    events arrive here through a queue, so no frame and no decode holds back a cue: this
    thread only waits for the next cue's time or the next event. Typed lines (`typed`) come
    through the same queue. With `play_out`, when the audio ends (a file) the routine
    carries on to its end on the clock, as it would for a person who stopped talking.
    On a VirtualClock both threads run in lockstep, so a file is heard faster than real time.
    `source` is what hearing listens to: the microphone with the coach's voice taken out, when
    there is a canceller (hearing.pipeline's Hearing.source). With `yielding`
    (hearing.bargein.yielding) the coach falls silent when the user
    starts talking over it: the fade and a resume happen on the hearing thread, at once; a
    command to act on lets go of the held line here, after its replies are delivered.
    `begun`: the session's opening lines were delivered already (voice mode greets while
    hearing is built).
    """
    from voicecoach.hearing.loop import ListenEnded, UtteranceHeard
    from voicecoach.intents.understand import understand

    arrived = threading.Event()
    inbox: queue.Queue[object] = queue.Queue()
    ended = "quit"

    def post(item: object) -> None:
        inbox.put(item)
        arrived.set()

    def tell_gate_who_speaks() -> None:
        # Whether the coach is speaking, and what (for barge-in and echo), placed at the stream's
        # present. The reply being said, not the last one queued: echo is judged by the words now playing.
        said = output.saying or output.last_reply
        if output.speaking and said is not None:
            loop.coach_speaking(said.text)
        else:
            loop.coach_silent()

    def tell_hearing_who_speaks() -> None:
        tell_gate_who_speaks()
        if yielding is not None:
            yielding.frame(clock.now())

    def hear(event: object) -> None:
        if yielding is not None and not isinstance(event, UtteranceHeard):
            yielding.heard(event, clock.now())
        post(event)

    clock.take_part()
    hear_line_ends(session, output)
    output.wake = arrived.set
    if not begun:
        output.deliver(session.begin())
    loop.start(source, hear, tell_hearing_who_speaks, clock)
    typist = _TypedLines(typed, post) if typed is not None else None
    listening = True
    status = 0
    try:
        while not session.wants_exit:
            while True:
                try:
                    item = inbox.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Typed):
                    _answer(session, output, understand(item.line, catalog, session.context(), statistical))
                    continue
                if on_event:
                    on_event(item)
                if isinstance(item, UtteranceHeard):
                    _answer(session, output, item.match)
                    if yielding is not None:
                        yielding.heard(item, clock.now())
                elif isinstance(item, ListenEnded):
                    listening = False
            output.pump()
            output.deliver(session.tick())
            tell_gate_who_speaks()       # also from here: the hearing thread says it only between decodes
            due = session.next_due()
            if session.wants_exit or (not listening and (not play_out or due is None)):
                break
            arrived.clear()
            if not inbox.empty() or output.line_ends_waiting:
                continue
            deadline = clock.now() + MAX_WAIT if due is None else min(due, clock.now() + MAX_WAIT)
            clock.wait_until(deadline, arrived)
    except KeyboardInterrupt as stop:      # Ctrl-C, SIGTERM or SIGHUP
        ended = stop_reason(stop)
        status = exit_code(stop)
    finally:
        if typist is not None:
            typist.stop()
        session.close(ended)           # the history is closed first, whatever hearing does next
        # A decode under way is waited for: the recognizer's model must not be freed under it
        # (freed at exit while decoding, it crashed the process).
        stopped = loop.stop(timeout=HEARING_STOP_S)
        clock.leave()
        if not stopped:
            print(f"voicecoach: hearing did not stop within {HEARING_STOP_S:g} s; leaving now", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status or 1)      # no interpreter teardown under a running decode
    return status


def _goodbye_time(session: Session) -> float:
    """How long the voice may go on saying its last lines at exit: the goodbye when the user said
    stop; nothing after Ctrl-C or the end of input (leaving then means now)."""
    return GOODBYE_LIMIT_S if session.wants_exit else 0.0


def _answer(session: Session, output: OutputStage, match) -> None:
    """What the user said is answered now: answers not yet said give way (as in text mode and
    the simulator), unless it was not understood (a cough read as words drops nothing)."""
    if match.intent != Intent.NONE:
        output.supersede()
    output.deliver(session.handle(match))


class _Typed:
    """A line typed during the voice loop (it arrives through the same queue as hearing)."""

    def __init__(self, line: str) -> None:
        self.line = line


class _TypedLines:
    """Reads typed lines in a thread and posts each one; ends cooperatively on `stop`."""

    def __init__(self, reader: LineReader, post: Callable[[object], None]) -> None:
        self._reader, self._post = reader, post
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="voicecoach-typed", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._cancel.is_set():
                line = self._reader.read(MAX_WAIT)
                if line is EOF_MARK:
                    return
                if isinstance(line, str) and line.strip():
                    self._post(_Typed(line))
        except (OSError, ValueError) as exc:   # stdin closed under us: typing ends, the voice goes on
            print(f"voicecoach: typed input ended ({exc})", file=sys.stderr)

    def stop(self) -> None:
        self._cancel.set()
        self._thread.join(timeout=2 * MAX_WAIT)


class Reading:
    """The intent catalog and the statistical reader behind it, made when first asked for.

    Voice mode greets before it reads anything: compiling the templates (a quarter of a second
    on a first launch) and opening the readers come once the greeting is queued."""

    def __init__(self, make: Callable[[], tuple[Catalog, StatisticalReader | None]]) -> None:
        self._make = make
        self._made: tuple[Catalog, StatisticalReader | None] | None = None

    def get(self) -> tuple[Catalog, StatisticalReader | None]:
        if self._made is None:
            self._made = self._make()
        return self._made


History = Callable[[argparse.Namespace], "tuple[HistoryRecorder | None, str | None]"]


def run_coach(args: argparse.Namespace, content: Content, reading: Reading, history: History) -> int:
    """The coach for a person: the spoken loop when there is a microphone, else text mode.
    Spoken, the greeting comes first: what it does not need (the intent catalog, a first
    history database, the recognizer, hearing, loading the voice's engine) comes after it."""
    greeting_first = greets_first(args)
    if not greeting_first:
        reading.get()               # broken templates are said before anything starts
    later = _history_later(args, content, history) if greeting_first else None
    recorder, notice = (None, None) if later is not None else history(args)
    listeners: list[EventListener] = [later] if later is not None else [recorder] if recorder is not None else []
    if notice:
        print(f"voicecoach: {notice}", file=sys.stderr)
    audio_in = getattr(args, "audio_in", None)
    fast = getattr(args, "fast", False)
    if fast and audio_in is None:
        print("voicecoach: --fast goes with --audio-in (a file can be heard faster than real time; you cannot)",
              file=sys.stderr)
        return 2
    clock: Clock = VirtualClock() if fast else RealClock()
    if not args.text:
        release_big_buffers_when_freed()
    # Held by the voice while it synthesizes and by Whisper while it loads: their transient
    # buffers are the two largest, and never overlap (docs/architecture.md, "Footprint and
    # start-up").
    heavy_work = threading.Lock()
    use_voice_loop = not args.text and audio_in is not None
    # The sound system's backends, surveyed once for everything that opens a stream or lists devices.
    surveyed = None if args.text or fast else _sound_survey()
    mic_problem = None if args.text or audio_in is not None else _why_no_voice_loop(args, surveyed)
    with_microphone = not args.text and audio_in is None and mic_problem is None
    voice, voice_problem = (None, None) if args.text or fast else _voice_speaker(args, content, clock, heavy_work,
                                                                                   with_microphone, surveyed)
    if not args.text and audio_in is None:
        use_voice_loop = mic_problem is None
    if not args.text and (mic_problem or (voice_problem and not fast)):
        print(f"voicecoach: {hardware_notice(mic_problem, voice_problem)}", file=sys.stderr)
    session = Session(content, clock, listeners=listeners, proposal=_proposal(recorder, content),
                      history=later.answer if later is not None else _history_answer(recorder),
                      voiced=voice is not None)
    output = OutputStage([voice, TerminalSpeaker()] if voice else [TerminalSpeaker()])
    if use_voice_loop:
        return _run_voice(args, session, reading, output, clock, heavy_work, surveyed, later)
    if later is not None:
        later.start()
    try:
        return _run_typed(session, reading, output, clock, voice is not None)
    finally:
        if later is not None:
            later.close()


def greets_first(args: argparse.Namespace) -> bool:
    """A person at the microphone (no --text, no --audio-in): the greeting is said before
    anything it does not need is made."""
    return not args.text and getattr(args, "audio_in", None) is None


def _history_later(args: argparse.Namespace, content: Content, history: History) -> HistoryLater | None:
    """On a user's first launch (history wanted, no database file yet), the history is created
    after the greeting, which is then the first-time greeting; None when history is off or
    its database exists (then it is opened now, for today's plan)."""
    from voicecoach.history.later import HistoryLater
    from voicecoach.settings import settings_of

    settings = settings_of(args)
    try:
        if not settings.history or Path(settings.db).expanduser().exists():
            return None
    except OSError:              # not even its folder can be looked into: opened now, and it says why
        return None
    return HistoryLater(lambda: history(args), content, _tell)


def _tell(line: str) -> None:
    """A problem the user should know of now, while the program goes on."""
    print(f"voicecoach: {line}", file=sys.stderr, flush=True)


def _run_typed(session: Session, reading: Reading, output: OutputStage, clock: Clock, voiced: bool) -> int:
    """Text mode: typed lines, answered on the screen (and aloud when there is a voice)."""
    catalog, statistical = reading.get()
    interactive = sys.stdin.isatty()
    if not voiced:            # printed only: lines at a readable pace, each reported when shown
        output = OutputStage([TerminalSpeaker()], clock=clock, pace=reading_seconds)

    def prompt() -> None:
        if interactive:
            sys.stdout.write("you> ")
            sys.stdout.flush()

    if interactive and sys.stdout.isatty():
        status = _run_prompt(session, catalog, output, clock, statistical)
    else:
        status = run_text_session(session, catalog, output, LineReader(sys.stdin), clock, prompt, statistical)
        if interactive:
            print()
    output.close(_goodbye_time(session))
    for error in session.listener_errors:
        print(f"voicecoach: {error}", file=sys.stderr)
    return status


def _run_voice(args: argparse.Namespace, session: Session, reading: Reading, output: OutputStage, clock: Clock,
               heavy_work: threading.Lock | None = None, surveyed: SoundSurvey | None = None,
               later: HistoryLater | None = None) -> int:
    """The spoken loop. The greeting is said as soon as the voice and the microphone are open;
    the rest is made while it plays: a first history database (on its own thread), the
    catalog and readers, the recognizer and hearing. A line typed meanwhile waits in the
    terminal and is read once they are ready."""
    source = _microphone(args, output, clock, surveyed)
    if source is None:
        return 1
    if not args.audio_in:
        _log_audio_devices(output, surveyed)
    live = _live_view(session, output)
    typed = None if args.audio_in or not sys.stdin.isatty() else LineReader(sys.stdin)
    # The greeting first: building hearing (the voice activity detector, the echo canceller's
    # native library, the keyword model) takes a second or more on a busy machine, and hearing
    # begins only once it is built. The canceller hears what is played from its wiring on.
    hear_line_ends(session, output)
    output.deliver(session.begin())
    if later is not None:
        later.start()
    recognizer = None
    status = 1
    try:
        catalog, statistical = reading.get()
        recognizer = _recognizer(args, catalog, heavy_work)
        if recognizer is None:          # said why; typed lines instead
            run_text_session(session, catalog, output, LineReader(sys.stdin), clock, statistical=statistical,
                             begun=True)
            return 0
        status = _listen(args, session, recognizer, catalog, statistical, output, clock, source, live, typed)
    finally:
        output.close(_goodbye_time(session))
        if recognizer is not None:
            recognizer.close()      # a model still loading must finish before the process exits
        if later is not None:
            later.close()
    return status


def _microphone(args: argparse.Namespace, output: OutputStage, clock: Clock, surveyed: SoundSurvey | None):
    """What hearing listens to (the file of --audio-in, else the microphone: on the voice's duplex
    stream when it has one), or None when it cannot be opened, said in one line."""
    from voicecoach.hearing.signal.audio import AudioError
    from voicecoach.hearing.signal.sources import (
        MiniaudioMicrophone,
        WavFileSource,
        open_microphone,
    )

    try:
        duplex = _duplex_device(output)
        return (WavFileSource(args.audio_in, clock) if args.audio_in else
                MiniaudioMicrophone(open_capture=duplex.open_capture) if duplex is not None else open_microphone(surveyed))
    except (AudioError, RuntimeError) as exc:
        if args.audio_in:
            print(f"voicecoach: {exc}", file=sys.stderr)
        else:
            log.info("%s", exc)
            print(f"voicecoach: {_plain(str(exc), 'microphone')}.", file=sys.stderr)
        return None


def _live_view(session: Session, output: OutputStage):
    """On a terminal, the live bottom line takes the printed lines' place (it prints them above
    itself); None in a pipe, where lines are printed plainly."""
    if not sys.stdout.isatty():
        return None
    from voicecoach.view import LiveView, ViewState

    live = LiveView(snapshot=lambda: ViewState.from_session(session.view()))
    output.speakers = [s for s in output.speakers if not isinstance(s, TerminalSpeaker)] + [live]
    return live


def _recognizer(args: argparse.Namespace, catalog: Catalog, heavy_work: threading.Lock | None):
    """The recognizer (Whisper loading in the background), or None when there is none (said in
    one line: the coach then reads typed lines)."""
    from voicecoach.hearing.asr.engines import open_recognizer
    from voicecoach.hearing.asr.recognizer import RecognizerUnavailable
    from voicecoach.settings import settings_of

    try:
        settings = settings_of(args)
        recognizer, notice = open_recognizer(args.asr, catalog, settings.asr_model, background=True,
                                             asr_model_source=settings.sources.get("asr_model", "flag"),
                                             notify=lambda line: print(f"voicecoach: {line}", file=sys.stderr),
                                             load_gate=heavy_work)
    except RecognizerUnavailable as exc:
        print(f"voicecoach: no recognizer ({exc}); using text mode.", file=sys.stderr)
        return None
    if notice:
        print(f"voicecoach: {notice}", file=sys.stderr)
    return recognizer


def _listen(args: argparse.Namespace, session: Session, recognizer, catalog: Catalog,
            statistical: StatisticalReader | None, output: OutputStage, clock: Clock, source, live,
            typed: LineReader | None) -> int:
    """Hearing built on `recognizer` and wired to the voice, then the spoken loop until it ends."""
    from voicecoach.hearing.loop import ListenFailed, UtteranceHeard, UtteranceIgnored

    def show(event) -> None:
        if isinstance(event, ListenFailed):
            print(f"voicecoach: {event.reason}", file=sys.stderr)
            return
        if not isinstance(event, (UtteranceHeard, UtteranceIgnored)):
            return
        note = f"  ({event.reason})" if isinstance(event, UtteranceIgnored) else ""
        line = f"{event.match.text!r} -> {event.match.intent}{note}"
        log.info("heard %.0f ms after the end of speech (decoding took %.0f ms)", event.lag_ms, event.decode_ms)
        if live is not None:
            live.heard(line)
        else:
            print(f"heard: {line}", flush=True)

    hearing = voice_hearing(args, output, recognizer, catalog, session, statistical)
    for notice in hearing.notices:
        print(f"voicecoach: {notice}", file=sys.stderr)
    _, yielding = wire_echo_and_yield(hearing.canceller, output)
    return run_voice_session(session, hearing.loop, hearing.source(source, clock), output, clock, catalog, show, typed,
                             statistical=statistical, yielding=yielding, begun=True)


def _publishing_voices(output: OutputStage) -> list[Speaker]:
    """The voices that say what they play (what the echo canceller is fed from)."""
    return [s for s in output.speakers if s.publishes_playback]


def hearing_options(args: argparse.Namespace, output: OutputStage) -> HearingOptions:
    """What hearing is built with: the settings, and no canceller without a voice that says what it plays."""
    from voicecoach.hearing.pipeline import HearingOptions
    from voicecoach.settings import settings_of

    echo = (getattr(args, "echo", None) or "webrtc") if _publishing_voices(output) else "none"
    return HearingOptions(echo=echo, keyword_model=settings_of(args).keyword_model)


def voice_hearing(args: argparse.Namespace, output: OutputStage, recognizer, catalog: Catalog, session: Session,
                  statistical: StatisticalReader | None = None):
    """Voice mode's hearing chain (hearing.pipeline builds it; the benchmarks build theirs there too)."""
    from voicecoach.hearing.pipeline import build_hearing

    return build_hearing(hearing_options(args, output), recognizer, catalog, context=session.context,
                         statistical=statistical,
                         # The keyword model's hits count while the coach talks or an exercise runs.
                         model_wanted=lambda: session.context().exercising or output.speaking)


def wire_echo_and_yield(canceller, output: OutputStage):
    """The echo canceller fed by every voice that publishes what it plays, and the yielding
    coach on top; (None, None) without a canceller."""
    from voicecoach.hearing.bargein.yielding import Yielding

    if canceller is None:
        return None, None
    duplex = _duplex_device(output)
    if duplex is not None:      # timed by the stream's own sample count, on the microphone's clock
        duplex.subscribe_played(canceller.played)
    else:
        for voice in _publishing_voices(output):
            voice.subscribe(lambda text, samples, rate, at: canceller.played(samples, rate, at))
    return canceller, Yielding(output.hold, output.resume, lambda: output.speaking)


def _sound_survey():
    """The sound system's backends surveyed once (voicecoach.sound), or None without miniaudio."""
    try:
        import miniaudio
    except ImportError:
        return None
    from voicecoach import sound

    try:
        return sound.SoundSurvey.of(miniaudio)
    except Exception as exc:  # noqa: BLE001 - a broken sound system: each part says so when it opens its stream
        log.info("the sound system could not be surveyed: %s", exc)
        return None


def _log_audio_devices(output: OutputStage, surveyed: SoundSurvey | None = None) -> None:
    """Under --verbose: the backends tried, the one used, and how the voice and microphone are opened."""
    if not log.isEnabledFor(logging.INFO):
        return
    for found in surveyed.found if surveyed is not None else ():
        log.info("audio backend %s", found.describe())
    device = _voice_device(output)
    if device is not None:
        kind = "a duplex stream (voice and microphone on one clock)" if _duplex_device(output) else "its own stream"
        log.info("voice plays on %s: %s, %s Hz", kind, device.backend, device.sample_rate)


def _voice_device(output: OutputStage) -> OutputDevice | None:
    """The device the voice plays on, if there is a voice."""
    return next((s.device for s in _publishing_voices(output) if s.device is not None), None)


def _duplex_device(output: OutputStage) -> DuplexDevice | None:
    """The voice's device when it also records (a duplex stream), else None."""
    device = _voice_device(output)
    return device.duplex() if device is not None else None


M_MMAP_THRESHOLD = -3       # glibc's mallopt parameter numbers
M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 256 * 1024


def release_big_buffers_when_freed() -> None:
    """Big buffers (a sentence's tensors in the voice, a model file read while loading) go
    back to the system when freed. By default glibc raises its threshold for that after the
    first such free and keeps later ones in the heap for good: measured, 60-100 MB more
    resident in voice mode (docs/architecture.md, "Footprint and start-up"). Elsewhere than
    glibc this does nothing."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        libc.mallopt(M_ARENA_MAX, 2)     # fewer per-thread heaps holding freed memory apart
    except (OSError, AttributeError):
        pass


def _voice_speaker(args: argparse.Namespace, content: Content, clock: Clock, heavy_work: threading.Lock | None = None,
                   with_microphone: bool = False, surveyed: SoundSurvey | None = None):
    """The spoken voice and None, or None and the one-line reason there is no voice. With a
    microphone to listen to, the voice plays on a duplex stream that also records, when the
    machine has one (one clock for what is played and what is heard)."""
    from voicecoach.coach.session import OPENING_LINES
    from voicecoach.coach.timeline import cue_phrases
    from voicecoach.config import ConfigError
    from voicecoach.settings import settings_of
    from voicecoach.voice.build import VoiceSettings, open_voice
    from voicecoach.voice.devices import open_output_device
    from voicecoach.voice.duplex import duplex_or_output
    from voicecoach.voice.engines import VoiceUnavailable

    try:
        chosen = settings_of(args)
        settings = VoiceSettings.chosen(chosen.voice, chosen.rate, chosen.volume)
    except (VoiceUnavailable, ConfigError) as exc:
        return None, f"no voice ({exc})"
    # Every cue's audio is made ahead of time, so each one starts on its beat; and the opening
    # words of every answer and exercise, so a question is answered without waiting for synthesis.
    fixed_lines = [*(content.wording.line(key) for key in OPENING_LINES), *cue_phrases(content.exercises.values()),
                   *answer_openings(content)]
    playing_on = surveyed.chosen() if surveyed is not None else None
    open_speaker = functools.partial(open_output_device, backends=playing_on)
    open_device = (duplex_or_output(clock, open_speaker, log.info, surveyed.chosen(need_capture=True) if surveyed else None)
                   if with_microphone else open_speaker)
    # The greeting the engine is not needed for (shipped, or kept from before) plays first; the
    # engine loads once it has started, not while it is being opened.
    opened = open_voice(settings, clock, fixed_lines, open_device=open_device, synth_gate=heavy_work,
                        first_line_first=True)
    if opened.notice:
        print(f"voicecoach: {opened.notice}", file=sys.stderr)
    return opened.speaker, opened.problem


def answer_openings(content: Content) -> list[str]:
    """The first part the voice says of each topic's answer and each exercise's steps (the voice
    splits a line into sentences, and long ones at commas: the cache holds what it plays)."""
    from voicecoach.voice.lexicon import split_for_speech

    firsts = [topic.sentences[0] for topic in content.topics.values() if topic.sentences]
    firsts += [exercise.steps[0] for exercise in content.exercises.values() if exercise.steps]
    return [parts[0] for parts in map(split_for_speech, firsts) if parts]


def hardware_notice(mic_problem: str | None, voice_problem: str | None) -> str:
    """What is missing and what the coach does instead, in plain words on one short line;
    the technical reasons go to the log (--verbose shows them)."""
    for problem in (mic_problem, voice_problem):
        if problem:
            log.info("%s", problem)
    mic, voice = _plain(mic_problem, "microphone"), _plain(voice_problem, "speaker")
    # (Both missing: whatever the reasons, the way on is the same; --verbose gives them.)
    if mic and voice:
        return "No microphone or speaker found: type, and read the replies."
    if mic:
        return _fitting(f"{mic}; type to the coach, it answers aloud.", f"{mic}; type to the coach.")
    return _fitting(f"{voice}; the coach will print its lines instead.", f"{voice}; replies are printed.")


NOTICE_WIDTH = 80 - len("voicecoach: ")


def _fitting(*lines: str) -> str:
    """The first line that fits an 80-column terminal after the program's name."""
    return next((line for line in lines if len(line) < NOTICE_WIDTH), lines[-1])


def _plain(problem: str | None, device: str) -> str | None:
    """ "No speaker found", or what to install when the support is missing, or "No voice"."""
    if not problem:
        return None
    install = re.search(r"\(?(pip install [\w.\[\]-]+)\)?", problem)
    if install:
        return f"No {device} support ({install.group(1)})"
    if problem.startswith("no voice"):
        return "No voice could be loaded"
    return f"No {device} found"


def _why_no_voice_loop(args: argparse.Namespace, surveyed: SoundSurvey | None = None) -> str | None:
    """Why the spoken loop cannot run here (no microphone or no speaker), or None."""
    try:
        from voicecoach.hearing.signal.sources import microphone_unavailable_reason
    except ImportError:
        return "no microphone support is installed"
    return microphone_unavailable_reason(surveyed)


def _history_answer(recorder: HistoryRecorder | None) -> Callable[[str], str] | None:
    return recorder.answer if recorder is not None else None


def _proposal(recorder: HistoryRecorder | None, content: Content) -> Proposal | None:
    if recorder is None:
        return None
    try:
        return recorder.propose(content)
    except Exception:  # noqa: BLE001 - a proposal is a nicety; the coach runs without it
        return None
