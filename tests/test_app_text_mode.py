"""Text mode on a clock that moves only while the reader waits: cues arrive while the prompt waits."""
from __future__ import annotations

import io

from voicecoach.app import EOF_MARK, LineReader, run_text_session
from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.session import Session
from voicecoach.intents.load import load_catalog
from voicecoach.output import OutputStage
from voicecoach.voice.speaker import TerminalSpeaker


class ScriptedReader:
    """Hands over typed lines at given times; waiting moves the virtual clock, as time would."""

    def __init__(self, clock: VirtualClock, lines: list[tuple[float, str]]) -> None:
        self.clock, self.lines = clock, list(lines)
        self.waits: list[float] = []
        self.hung_up = False            # as LineReader: whether the input ended by a hang-up

    def read(self, timeout: float):
        self.waits.append(timeout)
        if not self.lines:
            return EOF_MARK
        t, text = self.lines[0]
        if t <= self.clock.now() + timeout:
            self.clock.set(max(self.clock.now(), t))
            self.lines.pop(0)
            return text
        self.clock.advance(timeout)
        return None


def run(tiny_content, lines):
    clock = VirtualClock()
    out = io.StringIO()
    session = Session(tiny_content, clock)
    reader = ScriptedReader(clock, lines)
    stamped: list[tuple[float, str]] = []
    output = OutputStage([TerminalSpeaker(out)], on_reply=lambda r: stamped.append((clock.now(), r.text)))
    run_text_session(session, load_catalog(), output, reader, clock)
    return out.getvalue(), stamped, reader


def test_cues_arrive_on_time_while_waiting_for_input(tiny_content):
    text, stamped, reader = run(tiny_content, [(1, "start the stretch"), (80, "how long left")])
    assert "coach: Hi, I'm your IT band coach." in text
    halfway = next(t for t, s in stamped if s == "Halfway.")
    remaining = next(t for t, s in stamped if s == "Ten seconds left.")
    assert abs(remaining - (halfway + 5)) < 1e-9
    assert max(reader.waits) <= 0.25


def test_end_of_input_ends_the_session_cleanly(tiny_content):
    text, _, _ = run(tiny_content, [])
    assert text.count("coach:") == 3


def test_stop_when_idle_leaves(tiny_content):
    text, _, reader = run(tiny_content, [(1, "i'm done"), (2, "never read")])
    assert "Goodbye" in text
    assert reader.lines == [(2, "never read")]


def test_line_reader_on_a_real_pipe():
    import os

    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "r") as stream:
        reader = LineReader(stream)
        assert reader.read(0.0) is None
        os.write(write_fd, b"pause\nresume\n")
        assert reader.read(1.0) == "pause"
        assert reader.read(0.0) == "resume"
        os.close(write_fd)
        assert reader.read(1.0) is EOF_MARK


def test_line_reader_on_a_stream_without_a_file_descriptor():
    reader = LineReader(io.StringIO("one\ntwo\n"))
    assert reader.read(1.0) == "one"
    assert reader.read(1.0) == "two"
    assert reader.read(1.0) is EOF_MARK


def test_the_opening_words_of_every_answer_are_made_ahead_of_time():
    from voicecoach.app import answer_openings
    from voicecoach.content.loader import load_content
    from voicecoach.intents.matcher import recognize
    from voicecoach.voice.lexicon import split_for_speech

    content = load_content()
    ahead = set(answer_openings(content))
    for topic in content.topics:
        session = Session(content, VirtualClock())
        session.begin()
        match = recognize(f"tell me about {topic.replace('_', ' ')}", load_catalog(), session.context())
        if match.intent != "ask" or match.slots.get("topic") != topic:
            continue
        first = session.handle(match)[0].text
        assert split_for_speech(first)[0] in ahead, (topic, first)
    for exercise in content.exercises.values():
        assert split_for_speech(exercise.steps[0])[0] in ahead
