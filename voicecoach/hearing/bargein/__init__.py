"""Barge-in policy: the closed-list check and the keyword model, the own-voice check, yielding."""
