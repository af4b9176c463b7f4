"""bench/suite_time.py times the README's test command as it is: every pytest run in it."""
from __future__ import annotations

from bench.suite_time import readme_test_runs


def test_the_default_tier_is_every_pytest_run_of_the_readmes_test_command_and_together_complete():
    runs = readme_test_runs()
    assert len(runs) >= 1 and all(run and "pytest" not in run for run in runs)
    marks = [run[run.index("-m") + 1] if "-m" in run else "" for run in runs]
    # Complete: either one run with no mark, or the live room and everything but it.
    assert "" in marks or sorted(marks) == ["live", "not live"], runs
