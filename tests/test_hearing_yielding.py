"""The coach that yields, on the virtual clock: the policy's table, and the real player and
listen loop together (the user talks over a line: silence within 150 ms, then act or resume)."""
from __future__ import annotations

import numpy as np
import pytest

from hearing_signals import room, voiced
from test_voice_fakes import ToneEngine, make_speaker
from voicecoach.coach.replies import Reply
from voicecoach.hearing.signal.audio import SAMPLE_RATE
from voicecoach.hearing.loop import (ListenFailed, NothingHeard, SpeechDropped, SpeechStarted, UtteranceHeard,
                                     UtteranceIgnored, ListenLoop)
from voicecoach.hearing.signal.sources import FRAME_SAMPLES, FRAME_SECONDS
from voicecoach.hearing.signal.vad import EnergyDetector, Endpointer
from voicecoach.hearing.bargein.yielding import (MAX_YIELD_S, WARY_S, Action, Happening, VoiceState, YieldPolicy, Yielding,
                                         happening_for)
from voicecoach.intents.types import NO_MATCH, Match
from voicecoach.voice.speaker import SpeakerBase


# ----- the policy alone ------------------------------------------------------------------------

@pytest.mark.parametrize("state, happening, after, action", [
    (VoiceState.QUIET, Happening.LINE_STARTED, VoiceState.SPEAKING, Action.NONE),
    (VoiceState.SPEAKING, Happening.LINE_ENDED, VoiceState.QUIET, Action.NONE),
    (VoiceState.SPEAKING, Happening.USER_STARTED, VoiceState.YIELDED, Action.FADE_OUT),
    (VoiceState.YIELDED, Happening.USER_ACTED, VoiceState.QUIET, Action.RELEASE),
    (VoiceState.YIELDED, Happening.USER_NOTHING, VoiceState.WARY, Action.RESUME),
    (VoiceState.WARY, Happening.USER_STARTED, VoiceState.WARY, Action.NONE),         # no second cut at once
    (VoiceState.WARY, Happening.CALM, VoiceState.SPEAKING, Action.NONE),
    (VoiceState.WARY, Happening.LINE_ENDED, VoiceState.QUIET, Action.NONE),
    (VoiceState.QUIET, Happening.USER_STARTED, VoiceState.QUIET, Action.NONE),       # nothing to yield
    (VoiceState.YIELDED, Happening.USER_STARTED, VoiceState.YIELDED, Action.NONE),   # already silent
    (VoiceState.YIELDED, Happening.LINE_ENDED, VoiceState.YIELDED, Action.NONE),     # the held line is not over
])
def test_the_transition_table(state, happening, after, action):
    policy = YieldPolicy(state=state)
    assert policy.on(happening, 1.0) is action
    assert policy.state is after


def test_a_yield_with_no_verdict_resumes_after_the_time_limit():
    policy = YieldPolicy(state=VoiceState.SPEAKING)
    assert policy.on(Happening.USER_STARTED, 10.0) is Action.FADE_OUT
    assert policy.on(Happening.TICK, 10.0 + MAX_YIELD_S - 0.01) is Action.NONE
    assert policy.on(Happening.TICK, 10.0 + MAX_YIELD_S) is Action.RESUME
    assert policy.state is VoiceState.WARY


def test_after_a_yield_that_came_to_nothing_the_coach_does_not_yield_again_for_a_while():
    """The cut sentence starts again with the onset that tripped the yield: a cascade of cuts
    on the coach's own echo is what this keeps out."""
    policy = YieldPolicy(state=VoiceState.SPEAKING)
    assert policy.on(Happening.USER_STARTED, 5.0) is Action.FADE_OUT
    assert policy.on(Happening.USER_NOTHING, 5.4) is Action.RESUME
    assert policy.on(Happening.USER_STARTED, 5.9) is Action.NONE
    assert policy.on(Happening.TICK, 5.4 + WARY_S - 0.01) is Action.NONE and policy.state is VoiceState.WARY
    assert policy.on(Happening.TICK, 5.4 + WARY_S) is Action.NONE and policy.state is VoiceState.SPEAKING
    assert policy.on(Happening.USER_STARTED, 8.0) is Action.FADE_OUT


def test_hearing_events_map_to_the_policy():
    heard = Match("stop", "stop", {}, 1.0)
    assert happening_for(SpeechStarted(0.0)) is Happening.USER_STARTED
    assert happening_for(UtteranceHeard(heard, 500.0, 50.0)) is Happening.USER_ACTED
    for nothing in (SpeechDropped(0.0), NothingHeard(500.0, 50.0), ListenFailed("x"),
                    UtteranceIgnored(heard, "echo", 500.0, 50.0)):
        assert happening_for(nothing) is Happening.USER_NOTHING
    assert happening_for("something else") is None


# ----- the player, the listen loop and the policy together -----------------------------------------

class Recognize:
    def __init__(self, text: str, intent: str) -> None:
        self.match = Match(text, intent, {}, 1.0 if intent != NO_MATCH else 0.0)
        self.calls = 0

    def __call__(self, audio: np.ndarray) -> Match:
        self.calls += 1
        return self.match


LINE = "one two three four five six seven eight nine ten eleven twelve"     # one sentence, 3.6 s of tone


def talk_over_the_coach(recognize: Recognize, user_at: float = 1.5, reply_on_act: Reply | None = None):
    """The coach says LINE; the user speaks 0.5 s at `user_at`. Returns the device, the speaker and the yields."""
    speaker, device, clock = make_speaker(ToneEngine())
    loop = ListenLoop(recognize, endpointer=Endpointer(EnergyDetector()), continuation_ms=0)
    yielding = Yielding(speaker.hold, speaker.resume, lambda: speaker.speaking)
    speaker.speak(Reply(LINE))
    mic = room(8.0)
    start = int(user_at * SAMPLE_RATE)
    mic[start:start + SAMPLE_RATE // 2] += voiced(0.5, level=0.2)
    for n in range(len(mic) // FRAME_SAMPLES):
        at = n * FRAME_SECONDS
        speaker.play_for((n + 1) * FRAME_SECONDS - clock.now())
        if speaker.speaking:
            loop.coach_speaking(LINE)
        else:
            loop.coach_silent()
        yielding.frame(at)
        for event in loop.push(mic[n * FRAME_SAMPLES:(n + 1) * FRAME_SAMPLES]):
            if isinstance(event, UtteranceHeard) and reply_on_act is not None:
                speaker.speak(reply_on_act)
            yielding.heard(event, at)
    speaker.play_all()
    return device, speaker, yielding


def audible_until(device, after: float) -> float:
    """When the device last played anything that started before the first gap after `after`."""
    end = after
    for block in device.blocks:
        if block.t < after:
            continue
        if block.t > end + 1e-6:
            break
        end = block.t + len(block.samples) / device.sample_rate
    return end


def test_user_speech_fades_the_coach_within_150_ms_and_nothing_to_act_on_resumes_the_sentence():
    recognize = Recognize("mm", NO_MATCH)
    device, speaker, yielding = talk_over_the_coach(recognize)
    assert len(yielding.yields) == 1
    silent_at = audible_until(device, yielding.yields[0] - 0.05)
    assert silent_at - 1.5 <= 0.150, f"the coach was still heard {1000 * (silent_at - 1.5):.0f} ms after the user began"
    # The whole command was heard while the coach was silent, and it was nothing to act on: one
    # utterance, read twice (begun over the coach, it is read again from closer to its onset).
    assert recognize.calls == 2
    after = [b for b in device.blocks if b.t > silent_at + 0.1]
    assert after, "the coach resumed"
    engine_audio = ToneEngine().synthesize(LINE)
    resumed = np.concatenate([b.samples for b in after])
    assert np.allclose(resumed[:800], engine_audio[:800]), "the cut sentence is said again from its start"
    assert len(resumed) == len(engine_audio)
    assert after[0].t >= 2.0                                   # after the user's 0.5 s and the end of speech


def test_a_command_to_act_on_is_not_followed_by_the_cut_sentence():
    device, speaker, yielding = talk_over_the_coach(Recognize("stop", "stop"),
                                                    reply_on_act=Reply("Okay, stopping here.", urgent=True))
    silent_at = audible_until(device, yielding.yields[0] - 0.05)
    after = [b for b in device.blocks if b.t > silent_at + 0.1]
    assert {b.text for b in after} == {"Okay, stopping here."}
    assert yielding.policy.state is VoiceState.QUIET


def test_the_held_voice_keeps_talking_state_and_the_fade_is_played():
    speaker, device, clock = make_speaker(ToneEngine())
    speaker.speak(Reply(LINE))
    speaker.play_for(1.0)
    speaker.hold()
    assert speaker.speaking and speaker.held
    speaker.play_for(0.5)
    fade = device.blocks[-1]
    assert fade.t == pytest.approx(1.0) and np.abs(fade.samples[-5:]).max() < 0.01     # ramps to silence
    assert len(fade.samples) <= int(0.02 * device.sample_rate)
    speaker.resume()
    speaker.play_all()
    assert not speaker.speaking


def test_every_played_block_is_published_with_its_device_time():
    speaker, device, clock = make_speaker(ToneEngine())
    published = []
    speaker.subscribe(lambda text, samples, rate, at: published.append((text, len(samples), rate, at)))
    speaker.speak(Reply("one two"))
    speaker.play_all()
    assert [(b.text, len(b.samples), device.sample_rate, b.t) for b in device.blocks] == published


# ----- the live voice loop wires it: the canceller on hearing's thread, the fade from there ---------

class HoldingVoice(SpeakerBase):
    """A voice that is always mid-line; notes when it is told to hold and to resume."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.speaking = True
        self.holds: list[float] = []
        self.resumes: list[float] = []

    def speak(self, reply) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...

    def hold(self) -> None:
        self.holds.append(self.clock.now())

    def resume(self) -> None:
        self.resumes.append(self.clock.now())


def test_the_voice_loop_cleans_every_frame_and_yields_then_resumes(tiny_content):
    from test_live_loop import CATALOG
    from voicecoach.app import run_voice_session
    from voicecoach.coach.clock import VirtualClock
    from voicecoach.coach.session import Session
    from voicecoach.hearing.pipeline import Hearing
    from voicecoach.hearing.signal.echo import EchoCanceller
    from voicecoach.hearing.signal.sources import ArraySource
    from voicecoach.output import OutputStage

    class PassThrough:
        name = "pass"
        frames = 0

        def process(self, mic, reference):
            PassThrough.frames += 1
            return mic

    clock = VirtualClock()
    voice = HoldingVoice(clock)
    output = OutputStage([voice])
    canceller = EchoCanceller(PassThrough)
    yielding = Yielding(output.hold, output.resume, lambda: output.speaking)
    audio = np.concatenate([room(1.0), voiced(0.5), room(2.0)])
    loop = ListenLoop(Recognize("mm", NO_MATCH), Endpointer(detector=EnergyDetector()), continuation_ms=0)
    hearing = Hearing(loop, canceller)
    run_voice_session(Session(tiny_content, clock), loop, hearing.source(ArraySource(audio, clock), clock), output,
                      clock, CATALOG, play_out=False, yielding=yielding)
    assert PassThrough.frames >= len(audio) // 160 - 3          # every 10 ms of the microphone went through it
    assert len(voice.holds) == 1 and 1.0 <= voice.holds[0] <= 1.15
    assert len(voice.resumes) == 1 and voice.resumes[0] > 1.5
