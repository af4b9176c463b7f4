"""Make the shipped first-launch greeting again (voicecoach/voice/greeting/).

    python bench/ship_greeting.py

Synthesizes the greeting's lines (content/coach.yaml: greeting, greeting_ask, offer_routine)
with the default voice (the bundled Piper voice, rate 1.0, volume 1.0) and writes them as
16-bit PCM with their cue-cache keys. Run it after changing those lines, the lexicon or the
voice: tests/test_voice_shipped.py fails until then.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from voicecoach.content.loader import load_content  # noqa: E402
from voicecoach.voice.build import ship_greeting  # noqa: E402
from voicecoach.voice.shipped import SHIPPED_DIR  # noqa: E402


def main() -> int:
    index = ship_greeting(load_content())
    size = sum(path.stat().st_size for path in SHIPPED_DIR.iterdir())
    for line in index.lines:
        print(f"{line.samples / index.sample_rate:5.2f} s  {line.text}")
    print(f"{index.engine}/{index.voice_id}, {index.sample_rate} Hz, rate {index.rate:g}, volume {index.volume:g}: "
          f"{len(index.lines)} lines, {size / 1000:.0f} kB in {SHIPPED_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
