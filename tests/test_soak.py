"""A day of coaching on the virtual clock: the session answers to the end and its memory stays flat."""
from __future__ import annotations

import tracemalloc

import pytest

from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.session import Session
from voicecoach.coach.simulate import ScriptLine, Simulator
from voicecoach.content.loader import load_content
from voicecoach.intents.load import load_catalog
from voicecoach.intents.matcher import recognize

DAY = 24 * 3600
EVERY = 120.0                     # a line every two minutes, all day
SAYINGS = ("start", "pause", "resume", "how long left", "hold for 45 seconds", "next", "that hurts", "yes",
           "why does my IT band hurt", "say that again", "slower", "faster", "go back", "what can I say",
           "hold for -5 seconds", "start the stretch", "do glute bridges", "skip")
GROWTH_ALLOWED = 64 * 1024        # bytes between hour 2 and hour 23: caches settle, nothing accumulates


@pytest.mark.slow
def test_a_virtual_day_keeps_memory_flat_and_answers_to_the_end():
    content, catalog = load_content(), load_catalog()
    script = [ScriptLine(1.0 + n * EVERY, SAYINGS[n % len(SAYINGS)], n + 1) for n in range(int(DAY // EVERY))]
    heard: dict = {}              # the matcher is pure: read each line once per context, so the day runs in seconds

    def understand(text, session):
        key = (text, session.context())
        if key not in heard:
            heard[key] = recognize(text, catalog, key[1])
        return heard[key]

    simulator = Simulator(lambda clock: Session(content, clock), understand, VirtualClock())
    traced: dict[int, int] = {}
    users = coach = 0
    last = None
    tracemalloc.start()
    try:
        for event in simulator.events(script):
            hour = int(event.t // 3600)
            if hour in (2, 23) and hour not in traced:
                traced[hour] = tracemalloc.get_traced_memory()[0]
            users += event.who == "user"
            coach += event.who == "coach"
            last = event
    finally:
        tracemalloc.stop()
    assert users == len(script) and coach > users
    assert last is not None and last.t >= script[-1].t
    assert set(traced) == {2, 23}
    growth = traced[23] - traced[2]
    print(f"\n24 virtual hours: {users} lines, {coach} coach lines; traced memory hour 2 -> 23: {growth:+d} bytes")
    assert growth < GROWTH_ALLOWED
