"""The player: cues on their beat, cutting answers, stopping mid-word, rates, callbacks."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from test_voice_fakes import ToneEngine, make_speaker, spans
from voicecoach.coach.clock import RealClock
from voicecoach.coach.replies import Reply
from voicecoach.voice.cache import CueCache
from voicecoach.voice.devices import BLOCK_SECONDS, RecordingDevice
from voicecoach.voice.lexicon import split_for_speech
from voicecoach.voice.player import VoiceSpeaker


def test_a_cue_cuts_the_answer_at_its_time_and_the_answer_continues_after():
    sp, device, clock = make_speaker()
    sp.speak(Reply("one two three four five six seven eight. nine ten."))
    sp.play_for(1.0)
    sp.speak(Reply("Halfway.", cue="halfway"))
    sp.play_all()
    said = spans(device)
    assert said[0][2].startswith("one two") and said[0][1] == pytest.approx(1.0)
    assert said[1] == (pytest.approx(1.0), pytest.approx(1.3), "Halfway.")
    assert said[2][2] == "nine ten."
    assert device.flushes == [pytest.approx(1.0)]


def test_stop_mid_sentence_silences_within_one_block():
    sp, device, clock = make_speaker()
    sp.speak(Reply("a long answer that goes on and on and on for a while"))
    sp.play_for(0.5)
    sp.stop()
    assert spans(device)[-1][1] - 0.5 <= BLOCK_SECONDS + 1e-9
    assert not sp.speaking
    written = len(device.blocks)
    sp.play_all()
    assert len(device.blocks) == written


def test_urgent_replies_drop_the_queue():
    sp, device, clock = make_speaker()
    sp.speak(Reply("first sentence here. second sentence here. third one."))
    sp.play_for(0.2)
    sp.speak(Reply("Stop the stretch now.", urgent=True))
    sp.play_all()
    assert [t for _, _, t in spans(device)] == ["first sentence here.", "Stop the stretch now."]


def test_cue_onsets_follow_the_session_schedule_exactly():
    """Cues handed over at their due times start then, even with a long answer playing."""
    sp, device, clock = make_speaker()
    due = [2.0, 3.0, 4.0, 5.0]
    sp.speak(Reply("a long answer " * 10))
    for t, word in zip(due, ["Three.", "Two.", "One.", "Done."]):
        sp.play_for(t - clock.now())
        sp.speak(Reply(word, cue="countdown"))
    sp.play_all()
    onsets = {text: start for start, _, text in spans(device) if text in ("Three.", "Two.", "One.", "Done.")}
    assert [onsets[w] for w in ("Three.", "Two.", "One.", "Done.")] == pytest.approx(due)


def test_a_session_routine_plays_each_cue_when_it_is_handed_over(tiny_content):
    """The real session's timeline on a virtual clock: every cue's first sample is written the
    moment the session hands it over, unless the cue before it is still being said (then it
    follows right after). The session hands it over within one block of its due time."""
    from voicecoach.coach.session import Session
    from voicecoach.intents.load import load_catalog
    from voicecoach.intents.matcher import recognize

    sp, device, clock = make_speaker()
    session = Session(tiny_content, clock)
    for reply in session.begin():
        sp.speak(reply)
    for reply in session.handle(recognize("start", load_catalog(), session.context())):
        sp.speak(reply)
    handed = []
    while (due := session.next_due()) is not None:
        sp.play_for(due - clock.now())
        for reply in session.tick():
            if reply.cue:
                assert 0 <= clock.now() - due < BLOCK_SECONDS
                handed.append((clock.now(), len(device.blocks), reply.text, sp.speaking_cue))
            sp.speak(reply)
    sp.play_all()
    assert len(handed) > 10
    waited = 0
    for at, index, text, behind_cue in handed:
        j = next(j for j in range(index, len(device.blocks)) if device.blocks[j].text == text)
        onset = device.blocks[j].t
        if behind_cue:
            waited += 1
            before = device.blocks[j - 1]
            assert onset >= at and onset == pytest.approx(before.t + len(before.samples) / device.sample_rate)
        else:
            assert onset == pytest.approx(at), (text, at, onset)
    assert waited < len(handed) / 4


def test_cues_that_fall_due_while_a_cue_plays_keep_their_order():
    sp, device, clock = make_speaker()
    sp.speak(Reply("Set one of two. Left side. Ten steps. Go.", cue="hold_start"))
    sp.play_for(0.5)
    sp.speak(Reply("One.", cue="rep"))
    sp.play_for(0.5)
    sp.speak(Reply("Two.", cue="rep"))
    sp.play_all()
    assert [t for _, _, t in spans(device)] == ["Set one of two. Left side. Ten steps. Go.", "One.", "Two."]


def test_long_answers_are_split_so_the_first_part_plays_first():
    engine = ToneEngine()
    sp, device, clock = make_speaker(engine)
    sp.speak(Reply("First. Second sentence. Third."))
    assert engine.calls == ["First.", "Second sentence.", "Third."]
    chunks = split_for_speech("Poor running form, such as landing on the outside of the foot or overpronating, "
                              "adds stress to the band, and over time it becomes irritated and sore.")
    assert len(chunks) >= 2 and all(len(c.split()) <= 14 for c in chunks)
    assert " ".join(chunks).replace(", ", ",") .count(",") >= 2    # nothing lost at the cuts


def test_rate_changes_multiply_the_configured_rate_for_the_rest_of_the_session():
    engine = ToneEngine()
    engine.rate = 1.2                      # the user's configured rate
    sp, device, clock = make_speaker(engine, cue_phrases=["Halfway."])
    sp.set_rate(0.8)                       # "slower"
    assert engine.rate == pytest.approx(0.96)
    sp.speak(Reply("three words here"))
    sp.play_all()
    assert len(device.audio()) / device.sample_rate == pytest.approx(0.9 / 0.96, abs=0.03)
    sp.set_rate(1.0)                       # back to normal is the configured rate, not 1.0
    assert engine.rate == pytest.approx(1.2)


def test_after_a_rate_change_the_cues_are_made_again_at_the_new_rate():
    engine = ToneEngine()
    cache = CueCache()
    sp, device, clock = make_speaker(engine, cache, cue_phrases=["Halfway.", "Done."])
    sp.prepare_cues()
    assert engine.calls == ["Halfway.", "Done."]
    sp.set_rate(1.15)
    assert not cache.contains(engine, "Halfway.")
    sp.prepare_cues()
    assert cache.contains(engine, "Halfway.") and engine.calls[2:] == ["Halfway.", "Done."]
    sp.speak(Reply("Halfway.", cue="halfway"))
    assert engine.calls[4:] == []          # the cue came from the cache


def test_start_and_stop_callbacks_bracket_what_is_said():
    events = []
    sp, device, clock = make_speaker(on_start=lambda text: events.append(("start", text, clock.now())),
                                     on_stop=lambda: events.append(("stop", None, clock.now())))
    sp.speak(Reply("One two. Three."))
    sp.play_all()
    assert [e[:2] for e in events] == [("start", "One two."), ("start", "Three."), ("stop", None)]
    assert events[-1][2] == pytest.approx(0.9 - BLOCK_SECONDS)    # the last block is being played
    events.clear()
    sp.speak(Reply("a long answer that goes on"))
    sp.play_for(0.3)
    sp.stop()
    assert [e[0] for e in events] == ["start", "stop"]


def test_a_block_waiting_for_the_device_when_it_is_flushed_is_dropped():
    """The play thread may hold one block of the old answer when a cue cuts in: it must not play."""
    clock = RealClock()
    device = RecordingDevice(8000, clock, paced=True)
    device.write(np.zeros(800, np.float32))               # busy for 100 ms
    writer = threading.Thread(target=device.write, args=(np.ones(160, np.float32),))
    writer.start()
    device.flush()
    writer.join(timeout=5)
    assert len(device.blocks) == 1


def test_the_threaded_speaker_plays_everything_in_order_and_closes():
    engine = ToneEngine()
    clock = RealClock()
    device = RecordingDevice(engine.sample_rate, clock, paced=False)
    done = threading.Event()
    sp = VoiceSpeaker(engine, device, CueCache(), clock, on_stop=done.set, cue_phrases=["Done."])
    sp.speak(Reply("First part. Second part."))
    assert done.wait(timeout=10)
    assert [t for _, _, t in spans(device)] == ["First part.", "Second part."]
    assert len(device.audio()) == int(0.6 * 8000) * 2
    sp.close()


def test_a_fixed_answer_made_ahead_of_time_plays_from_the_cache():
    engine = ToneEngine()
    sp, device, clock = make_speaker(engine, cue_phrases=["Okay, paused. Say resume when you're ready."])
    sp.prepare_cues()
    sp.speak(Reply("Okay, paused. Say resume when you're ready.", urgent=True))
    sp.speak(Reply("Not made ahead. Two parts."))
    sp.play_all()
    assert engine.calls == ["Okay, paused. Say resume when you're ready.", "Not made ahead.", "Two parts."]
    assert [t for _, _, t in spans(device)][0] == "Okay, paused. Say resume when you're ready."


def test_a_fixed_line_kept_on_disk_by_an_earlier_run_plays_without_the_engine(tmp_path):
    """The greeting is heard at once: its audio is on disk from an earlier run, so no
    synthesis (and no loading of the voice) stands before it."""
    greeting = "Hi, I'm your IT band coach."
    earlier = ToneEngine()
    CueCache(tmp_path).warm(earlier, [greeting])
    engine = ToneEngine()
    sp, device, clock = make_speaker(engine, cache=CueCache(tmp_path))
    sp.speak(Reply(greeting))
    sp.speak(Reply("Never said before."))
    sp.play_all()
    assert engine.calls == ["Never said before."]
    assert [t for _, _, t in spans(device)] == [greeting, "Never said before."]


# Error paths and threads.


class FailingEngine(ToneEngine):
    """A tone engine that cannot say some lines (as an engine fails on odd input or a lost model)."""

    def __init__(self, fails_on: set[str]) -> None:
        super().__init__()
        self.fails_on = fails_on
        self.threads: list[str] = []
        self.rates: list[float] = []
        self.go = threading.Event()          # held until the test has queued everything
        self.go.set()

    def synthesize(self, text: str) -> np.ndarray:
        self.go.wait(timeout=10)
        self.threads.append(threading.current_thread().name)
        self.rates.append(self.rate)
        if text in self.fails_on:
            raise RuntimeError("phonemizer crashed")
        return super().synthesize(text)


def threaded_speaker(engine, **kwargs):
    device = RecordingDevice(engine.sample_rate, RealClock(), paced=False)
    errors: list[str] = []
    done = threading.Event()
    sp = VoiceSpeaker(engine, device, CueCache(), RealClock(), on_stop=done.set, on_error=errors.append, **kwargs)
    return sp, device, errors, done


def test_a_failed_synthesis_drops_that_line_says_so_once_and_the_voice_goes_on():
    engine = FailingEngine({"Broken line."})
    engine.go.clear()
    sp, device, errors, done = threaded_speaker(engine)
    sp.speak(Reply("Broken line."))
    sp.speak(Reply("Broken line."))
    sp.speak(Reply("Later words."))
    engine.go.set()
    assert done.wait(timeout=10)
    sp.close()
    assert [t for _, _, t in spans(device)] == ["Later words."]
    assert len(errors) == 1 and "Broken line." in errors[0] and "phonemizer crashed" in errors[0]
    assert len(sp.errors) == 2 and not sp.speaking


def test_when_the_only_line_fails_the_speaker_is_not_left_speaking():
    engine = FailingEngine({"Broken line."})
    sp, device, errors, done = threaded_speaker(engine)
    sp.speak(Reply("Broken line."))
    assert done.wait(timeout=10)               # on_stop: the hearing side learns the coach is silent
    assert not sp.speaking and device.blocks == []
    sp.close()


def test_a_cue_that_cannot_be_made_ahead_is_said_once_and_other_cues_still_play():
    engine = FailingEngine({"Halfway."})
    sp, device, errors, done = threaded_speaker(engine, cue_phrases=["Halfway.", "Done."])
    assert sp.cues_ready.wait(timeout=10)
    sp.speak(Reply("Done.", cue="hold_end"))
    assert done.wait(timeout=10)
    sp.close()
    assert [t for _, _, t in spans(device)] == ["Done."]
    assert len(errors) == 1 and "Halfway." in errors[0]


def test_speak_never_synthesizes_on_the_callers_thread():
    engine = FailingEngine(set())
    engine.go.clear()
    sp, device, errors, done = threaded_speaker(engine, cue_phrases=["Halfway."])
    sp.speak(Reply("Three.", cue="countdown"))        # a cue not made ahead of time
    sp.speak(Reply("An answer nobody made yet."))
    engine.go.set()
    assert done.wait(timeout=10)
    sp.close()
    assert engine.threads and set(engine.threads) == {"voice-synth"}
    assert [t for _, _, t in spans(device)] == ["Three.", "An answer nobody made yet."]


def test_after_a_rate_change_no_cue_plays_at_the_old_rate():
    engine = FailingEngine(set())
    sp, device, errors, done = threaded_speaker(engine, cue_phrases=["Halfway now."])
    assert sp.cues_ready.wait(timeout=10)
    sp.set_rate(2.0)
    sp.speak(Reply("Halfway now.", cue="halfway"))    # the cache holds it at 1.0: it must not play
    assert done.wait(timeout=10)
    sp.close()
    assert len(device.audio()) == int(0.6 / 2.0 * engine.sample_rate)
    assert engine.rates[0] == 1.0 and 2.0 in engine.rates


def test_speaker_threads_end_on_close():
    sp, device, errors, done = threaded_speaker(ToneEngine(), cue_phrases=["Halfway."])
    sp.close()
    assert not any(t.is_alive() for t in sp._threads)


def test_finish_says_what_is_queued_before_the_voice_closes():
    """The goodbye is heard whole: closing the output stage with time to finish waits for it."""
    from voicecoach.output import OutputStage

    engine = ToneEngine()
    device = RecordingDevice(engine.sample_rate, RealClock(), paced=False)
    sp = VoiceSpeaker(engine, device, CueCache(), RealClock())
    output = OutputStage([sp])
    output.deliver([Reply("Okay. Goodbye, and look after that knee.", urgent=True)])
    output.close(finish_s=10.0)
    assert [t for _, _, t in spans(device)] == ["Okay.", "Goodbye, and look after that knee."]
    whole = sum(len(ToneEngine().synthesize(t)) for t in ("Okay.", "Goodbye, and look after that knee."))
    assert len(device.audio()) == whole        # every sample written, none flushed
    assert device.flushes == []


def test_finish_stops_at_its_limit_on_the_clock():
    sp, device, clock = make_speaker()
    sp.speak(Reply("first part. second part. third part."))
    assert not sp.finish(0.7)
    assert clock.now() == pytest.approx(0.7, abs=BLOCK_SECONDS + 1e-9)
    assert sp.speaking
    assert sp.finish(5.0)
    assert [t for _, _, t in spans(device)] == ["first part.", "second part.", "third part."]


def test_finish_does_not_wait_for_a_voice_held_for_the_user():
    engine = ToneEngine()
    device = RecordingDevice(engine.sample_rate, RealClock(), paced=True)
    sp = VoiceSpeaker(engine, device, CueCache(), RealClock())
    sp.speak(Reply("a line the user cuts into"))
    sp.hold()
    assert sp.finish(5.0) is False
    sp.close()


def test_the_app_lets_the_goodbye_finish_only_when_the_user_said_stop(tiny_content):
    from voicecoach.app import GOODBYE_LIMIT_S, _goodbye_time
    from voicecoach.coach.clock import VirtualClock
    from voicecoach.coach.session import Session
    from voicecoach.intents.load import load_catalog
    from voicecoach.intents.matcher import recognize

    session = Session(tiny_content, VirtualClock())
    session.begin()
    assert _goodbye_time(session) == 0.0             # Ctrl-C or the end of input: leave now
    session.handle(recognize("stop", load_catalog(), session.context()))
    assert session.wants_exit and _goodbye_time(session) == GOODBYE_LIMIT_S
