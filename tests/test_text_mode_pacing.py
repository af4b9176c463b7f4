"""Text mode's output stage on the virtual clock: instructions at a readable pace, and a hold
that counts from the "Go." shown, so a thirty second hold is exactly thirty seconds on screen."""
from __future__ import annotations

import io

import pytest

from test_app_text_mode import ScriptedReader

from voicecoach.app import reading_seconds, run_text_session
from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.session import Session
from voicecoach.content.loader import load_content
from voicecoach.intents.load import load_catalog
from voicecoach.output import OutputStage
from voicecoach.voice.speaker import TerminalSpeaker

CONTENT = load_content()


def run(lines: list[tuple[float, str]]) -> list[tuple[float, str]]:
    clock = VirtualClock()
    session = Session(CONTENT, clock, voiced=False)
    shown: list[tuple[float, str]] = []
    output = OutputStage([TerminalSpeaker(io.StringIO())], on_reply=lambda r: shown.append((clock.now(), r.text)),
                         clock=clock, pace=reading_seconds)
    run_text_session(session, load_catalog(), output, ScriptedReader(clock, lines), clock)
    return shown


def at(shown, text: str) -> float:
    return next(t for t, said in shown if said == text)


def test_a_thirty_second_hold_lasts_thirty_seconds_from_the_go_shown():
    shown = run([(1, "start the stretch"), (200, "stop")])
    go = at(shown, "Left side. Hold for thirty seconds. Go.")
    assert at(shown, "Halfway.") - go == pytest.approx(15.0, abs=1e-9)
    assert at(shown, "Switch sides. Right side next.") - go == pytest.approx(30.0, abs=1e-9)
    right = at(shown, "Right side. Hold for thirty seconds. Go.")
    assert at(shown, "Done. That's the IT band stretch finished. Well done.") - right == pytest.approx(30.0, abs=1e-9)


def test_instructions_appear_at_a_readable_pace_and_the_hold_follows_the_last():
    shown = run([(1, "start the stretch"), (100, "stop")])
    steps = ["Let's do the IT band stretch.", "Stand with your legs hip-width apart.", "Cross one leg over the other.",
             "Lean towards the crossed leg until you feel a stretch in the outer thigh.",
             "We'll start with the left side.", "Left side. Hold for thirty seconds. Go."]
    times = [at(shown, line) for line in steps]
    for line, t, t_next in zip(steps, times, times[1:]):
        assert t_next - t == pytest.approx(reading_seconds(line), abs=1e-9)   # its reading time, no more
    assert times[0] == 1.0


def test_slower_in_text_mode_slows_the_pace():
    shown = run([(1, "slower"), (2, "start the stretch"), (100, "stop")])
    first, second = at(shown, "Let's do the IT band stretch."), at(shown, "Stand with your legs hip-width apart.")
    assert second - first > reading_seconds("Let's do the IT band stretch.")


def test_a_line_waiting_its_turn_says_the_numbers_of_when_it_is_shown():
    from voicecoach.coach.replies import Reply

    clock = VirtualClock()
    shown: list[str] = []
    output = OutputStage([TerminalSpeaker(io.StringIO())], on_reply=lambda r: shown.append(r.text),
                         clock=clock, pace=reading_seconds)
    output.deliver([Reply("Lie on your side with the foam roller under your hip."),
                    Reply("queued at 0", live=lambda: f"shown at {clock.now():g}")])
    assert shown == ["Lie on your side with the foam roller under your hip."]
    clock.set(output.next_due())
    output.pump()
    assert shown[-1] == f"shown at {reading_seconds('Lie on your side with the foam roller under your hip.'):g}"


def test_a_cue_never_waits_behind_an_answer():
    from voicecoach.coach.replies import Reply

    clock = VirtualClock()
    shown: list[tuple[float, str]] = []
    output = OutputStage([TerminalSpeaker(io.StringIO())], on_reply=lambda r: shown.append((clock.now(), r.text)),
                         clock=clock, pace=reading_seconds)
    output.deliver([Reply("An answer of quite a few words, said first."), Reply("And its second sentence.")])
    clock.set(1.0)
    output.deliver([Reply("Halfway.", cue="halfway")])
    assert shown[-1] == (1.0, "Halfway.")                       # at once, before the waiting sentence
    clock.set(output.next_due())
    output.pump()
    assert shown[-1][1] == "And its second sentence."
