"""Signal processing: audio files and sources, the echo canceller, voice activity."""
