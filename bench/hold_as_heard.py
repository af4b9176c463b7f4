"""How long a hold lasts as heard in voice mode: from the end of "Go." as played to the line
that ends the hold, with the real voice, on the virtual clock.

    python bench/hold_as_heard.py [--rates 0.6 1.0 1.5] [--exercise it_band_stretch]

Each rate runs twice: the session estimating when each line ends from its words (the
baseline), and the session told by the player when each line's last sample was played.
Also counts instructions cut short by the start of the work.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from voicecoach.coach.clock import VirtualClock  # noqa: E402
from voicecoach.coach.session import Session  # noqa: E402
from voicecoach.content.loader import load_content  # noqa: E402
from voicecoach.intents.load import load_catalog  # noqa: E402
from voicecoach.intents.matcher import recognize  # noqa: E402
from voicecoach.output import OutputStage  # noqa: E402
from voicecoach.voice.build import VoiceSettings  # noqa: E402
from voicecoach.voice.cache import CueCache  # noqa: E402
from voicecoach.voice.devices import BLOCK_SECONDS, RecordingDevice  # noqa: E402
from voicecoach.voice.player import VoiceSpeaker  # noqa: E402


def run(engine, exercise: str, reports: bool) -> tuple[float, float, int]:
    """(hold as heard, "Go." as played, instructions cut) for the first hold of `exercise`."""
    content = load_content()
    clock = VirtualClock()
    device = RecordingDevice(engine.sample_rate, clock)
    speaker = VoiceSpeaker(engine, device, CueCache(), clock, threaded=False)
    session = Session(content, clock)
    output = OutputStage([speaker])
    if reports:
        output.on_line_end = session.line_ended
        session.hears_line_ends = True
    name = content.exercises[exercise].name
    output.deliver(session.handle(recognize(f"start {name}", load_catalog(), session.context())))
    while clock.now() < 90 and session.exercise is not None:
        output.pump()
        output.deliver(session.tick())
        due = session.next_due()
        step = BLOCK_SECONDS if due is None else min(BLOCK_SECONDS, max(0.0, due - clock.now()))
        speaker.play_for(step if step > 0 else BLOCK_SECONDS)
    lines = device.spans()
    go = next(k for k, line in enumerate(lines) if line[2].endswith("Go."))
    one = next(k for k in range(go + 1, len(lines)) if lines[k][2] == "One.")
    cut = sum(1 for start, end, _ in lines[:go] if any(start < f <= end + 1e-9 for f in device.flushes))
    return lines[one + 1][0] - lines[go][1], lines[go][1] - lines[go][0], cut


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[0.6, 1.0, 1.5])
    parser.add_argument("--exercise", default="it_band_stretch")
    args = parser.parse_args()
    hold = load_content().exercises[args.exercise].program.hold_seconds
    print(f"{args.exercise}: a {hold.value:g} s hold, as heard")
    print(f"{'rate':>5} {'engine':>7} {'Go. played':>11} {'estimated':>10} {'cut':>4} {'reported':>9} {'cut':>4}")
    for rate in args.rates:
        engine, _ = VoiceSettings(rate=rate).open_engine()
        base, go, base_cut = run(engine, args.exercise, reports=False)
        heard, _, cut = run(engine, args.exercise, reports=True)
        print(f"{rate:5.2f} {engine.name:>7} {go:10.2f}s {base:9.2f}s {base_cut:4d} {heard:8.2f}s {cut:4d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
