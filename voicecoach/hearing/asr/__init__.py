"""Speech recognition: the recognizer seam and its engines (Whisper, pocketsphinx)."""
