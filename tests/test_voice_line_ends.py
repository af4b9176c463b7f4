"""Voice mode learns when each line ended from playback, and says numbers true when they start.

A paced fake device on the virtual clock plays what the voice makes; the session hears of
each line's end through the output stage, as text mode tells it when a line was shown.
"""
from __future__ import annotations

import pytest

from test_voice_fakes import ToneEngine, make_speaker, spans
from voicecoach.coach.replies import Reply
from voicecoach.coach.session import Session
from voicecoach.intents.load import load_catalog
from voicecoach.intents.matcher import recognize
from voicecoach.output import OutputStage
from voicecoach.voice.speaker import SpeakerBase
from voicecoach.voice.devices import BLOCK_SECONDS


class SlowTone(ToneEngine):
    """A tone engine whose words take `seconds_per_word` (ToneEngine: 0.3)."""

    def __init__(self, seconds_per_word: float) -> None:
        super().__init__()
        self.seconds_per_word = seconds_per_word

    def synthesize(self, text: str):
        self.rate = 0.3 / self.seconds_per_word
        return super().synthesize(text)


def voice_session(content, engine=None):
    speaker, device, clock = make_speaker(engine)
    session = Session(content, clock)
    output = OutputStage([speaker])
    output.on_line_end = session.line_ended
    session.hears_line_ends = True
    return speaker, device, clock, session, output


def run_until(speaker, clock, session, output, until: float, said=None) -> None:
    """The voice loop in one thread: play a block, pass on line ends, hand over due cues."""
    catalog = load_catalog()
    said = dict(said or {})
    while clock.now() < until:
        for at in sorted(said):
            if at <= clock.now():
                match = recognize(said.pop(at), catalog, session.context())
                output.supersede()                  # as the voice loop does for what it heard
                output.deliver(session.handle(match))
        output.pump()
        output.deliver(session.tick())
        due = session.next_due()
        step = BLOCK_SECONDS if due is None else min(BLOCK_SECONDS, max(0.0, due - clock.now()))
        speaker.play_for(step if step > 0 else BLOCK_SECONDS)


def first_hold(device) -> tuple[float, float]:
    """(end of the first "... Go." as played, onset of the line that ends that hold: after "One.")."""
    said = spans(device)
    go = next(k for k, (_, _, text) in enumerate(said) if text.endswith("Go."))
    one = next(k for k in range(go + 1, len(said)) if said[k][2] == "One.")
    return said[go][1], said[one + 1][0]


@pytest.mark.parametrize("seconds_per_word", [0.3, 0.6])
def test_a_30_s_hold_lasts_30_s_from_the_end_of_go_as_played(tiny_content, seconds_per_word):
    speaker, device, clock, session, output = voice_session(tiny_content, SlowTone(seconds_per_word))
    output.deliver(session.begin())
    output.deliver(session.handle(recognize("start the stretch", load_catalog(), session.context())))
    run_until(speaker, clock, session, output, 80.0)
    go_end, done = first_hold(device)
    assert done - go_end == pytest.approx(30.0, abs=1e-6)


def test_a_longer_go_moves_the_start_of_the_hold_by_as_much(tiny_content):
    ends = []
    for seconds_per_word in (0.3, 0.6):
        speaker, device, clock, session, output = voice_session(tiny_content, SlowTone(seconds_per_word))
        output.deliver(session.handle(recognize("start the stretch", load_catalog(), session.context())))
        run_until(speaker, clock, session, output, 80.0)
        ends.append(first_hold(device))
    (go_fast, done_fast), (go_slow, done_slow) = ends
    assert go_slow > go_fast + 1.0                       # the slow voice took longer over all of it
    assert done_slow - done_fast == pytest.approx(go_slow - go_fast, abs=1e-6)


def test_the_instructions_are_never_cut_by_the_start_of_the_work(tiny_content):
    """A voice much slower than the session's estimate: "Go." waits for the last instruction."""
    speaker, device, clock, session, output = voice_session(tiny_content, SlowTone(0.8))
    output.deliver(session.handle(recognize("start the stretch", load_catalog(), session.context())))
    run_until(speaker, clock, session, output, 30.0)
    said = spans(device)
    go = next(k for k, (_, _, text) in enumerate(said) if text.endswith("Go."))
    assert said[go - 1][2] == "We'll start with the left side."
    assert not device.flushes                     # nothing was cut
    assert said[go][0] >= said[go - 1][1] - 1e-9


def test_a_time_left_answer_queued_behind_a_long_line_says_the_true_number(tiny_content):
    speaker, device, clock, session, output = voice_session(tiny_content)
    engine = speaker.engine
    output.deliver(session.handle(recognize("start the stretch", load_catalog(), session.context())))
    run_until(speaker, clock, session, output, 12.0)           # into the left side's hold
    output.deliver(session.handle(recognize("what is the IT band", load_catalog(), session.context())))
    queued = session.handle(recognize("how long is left", load_catalog(), session.context()))
    output.deliver(queued)
    at_queue = queued[0].text
    run_until(speaker, clock, session, output, 40.0)
    said = spans(device)
    start, _, text = next(s for s in said if s[2].endswith("left.") and s[0] > 12.0)
    assert text != at_queue                                     # it waited long enough to matter
    left = session_left_at(tiny_content, start, device)
    assert text == f"{left}."
    assert at_queue not in engine.calls                         # only the fresh text was made


def session_left_at(content, t: float, device) -> str:
    """What "how long left" should say at clock time t: from the played "Go." and the 30 s hold."""
    from voicecoach.words import say_seconds

    go_end, _ = first_hold(device)
    left = int(round(30.0 - (t - go_end)))
    text = f"{say_seconds(left)} left"
    return text[:1].upper() + text[1:]


def test_a_line_cut_by_an_urgent_reply_is_reported_ended_then():
    speaker, device, clock = make_speaker()
    ended = []
    speaker.listen_lines(None, lambda reply, at: ended.append((reply.text, at)))
    speaker.speak(Reply("a long answer that goes on. and on and on for a while."))
    speaker.play_for(0.5)
    speaker.speak(Reply("Okay, stopping.", urgent=True))
    speaker.play_all()
    assert ended[0] == ("a long answer that goes on. and on and on for a while.", pytest.approx(0.5))
    assert ended[1][0] == "Okay, stopping." and ended[1][1] == pytest.approx(0.5 + 0.6)


def test_the_terminal_shows_each_line_as_the_voice_starts_it_with_the_same_text():
    speaker, device, clock = make_speaker()
    shown = []

    class Screen(SpeakerBase):
        speaking = False

        def speak(self, reply):
            shown.append((clock.now(), reply.text))

        def stop(self): ...

        def close(self): ...

    output = OutputStage([speaker, Screen()])
    output.deliver([Reply("one two three four."), Reply("x", live=lambda: f"At {clock.now():.1f}.")])
    assert shown == []                                          # nothing is said yet
    speaker.play_for(0.5)
    assert shown == [(0.0, "one two three four.")]
    output.deliver([Reply("more words here.")])
    speaker.play_all()
    assert [text for _, text in shown] == ["one two three four.", "At 1.2.", "more words here."]
    assert shown[1][0] == pytest.approx(1.2, abs=BLOCK_SECONDS)        # within the block the device holds



def test_the_threaded_player_renders_a_live_line_when_it_starts_and_reports_both_ends():
    """On the real clock with its own threads: the live line's text is made after the line before it."""
    import threading

    from voicecoach.coach.clock import RealClock
    from voicecoach.voice.cache import CueCache
    from voicecoach.voice.devices import RecordingDevice
    from voicecoach.voice.player import VoiceSpeaker

    clock = RealClock()
    engine = ToneEngine()
    device = RecordingDevice(engine.sample_rate, clock)
    speaker = VoiceSpeaker(engine, device, CueCache(), clock)
    ended, done = [], threading.Event()
    t0 = clock.now()

    def end(reply, at):
        ended.append((reply.text, at - t0))
        if len(ended) == 2:
            done.set()

    started = []
    speaker.listen_lines(lambda reply: started.append(reply.text), end)
    try:
        speaker.speak(Reply("one two."))
        speaker.speak(Reply("queued", live=lambda: f"At {clock.now() - t0:.1f}."))
        assert done.wait(10.0)
    finally:
        speaker.close()
    (first, first_end), (second, second_end) = ended
    assert (first, second) == ("one two.", "queued")         # the session's own replies are reported
    assert first_end == pytest.approx(0.6, abs=0.2) and second_end > first_end
    said = started[1]
    assert said.startswith("At ") and float(said[3:-1]) >= 0.5          # made once "one two." was over
    assert "queued" not in engine.calls and said in engine.calls


def test_a_question_during_the_instructions_is_answered_then_they_resume_and_the_hold_waits():
    """Voice mode: the answer comes after the sentence being said, the instructions follow it,
    "Go." cuts nothing and the hold is still 30 s from its end."""
    from voicecoach.content.loader import load_content

    speaker, device, clock, session, output = voice_session(load_content())
    output.deliver(session.handle(recognize("start the stretch", load_catalog(), session.context())))
    run_until(speaker, clock, session, output, 80.0, {3.0: "what is the IT band"})
    texts = [text for _, _, text in spans(device)]
    go = next(k for k, text in enumerate(texts) if text.endswith("Go."))
    answer = texts.index("The IT band, or iliotibial band, is a long, thin strip of connective tissue.")
    back = texts.index("Now, back to the instructions.")
    assert answer < back < go and texts[go - 1] == "We'll start with the left side."
    assert texts[:go].count("Cross one leg over the other.") == 1          # said once, after the answer
    assert not device.flushes
    go_end, done = first_hold(device)
    assert done - go_end == pytest.approx(30.0, abs=1e-6)


def test_lines_the_voice_never_started_are_still_printed_when_the_coach_closes():
    speaker, device, clock = make_speaker()
    printed = []

    class Screen(SpeakerBase):
        speaking = False

        def speak(self, reply):
            printed.append(reply.text)

        def stop(self): ...

        def close(self): ...

    output = OutputStage([speaker, Screen()])
    output.deliver([Reply("first line here."), Reply("Goodbye, and look after that knee. See you.")])
    speaker.play_for(0.3)
    assert printed == ["first line here."]
    output.close()
    assert printed == ["first line here.", "Goodbye, and look after that knee. See you."]
