"""Stand-ins for the statistical readers, shared by the reading tests and the benchmark's tests."""
from __future__ import annotations


class FixedReader:
    """A loaded reader that always gives the same probabilities, and counts the lines it read."""

    def __init__(self, probs: dict[str, float], ready: bool = True) -> None:
        self.probs, self.ready, self.lines = probs, ready, 0

    def probabilities(self, text: str) -> dict[str, float]:
        self.lines += 1
        return dict(self.probs)


class Opinionated(FixedReader):
    """A loaded fine-tuned reading that gives the same probabilities, as `understand` asks of one."""

    deciding = "tuned"

    def opinions(self, text: str) -> dict[str, dict[str, float]]:
        return {"tuned": self.probabilities(text)}

    def probabilities_of(self, opinions: dict[str, dict[str, float]]) -> dict[str, float]:
        return opinions["tuned"]
