"""voicecoach: a hands-free, offline spoken coach for IT band pain."""
