"""Progression: today's plan from synthetic histories, and the rules file's checks."""
from __future__ import annotations

from pathlib import Path

import pytest

from voicecoach.content.loader import load_content
from voicecoach.history.progression import RulesError, load_rules, pain_free_run, propose_plan
from voicecoach.history.store import PainReport, SessionSummary, SideResult

DAY = 86400.0
NOW = 1_800_000_000.0
CONTENT = load_content()
RULES = load_rules()


def session(days_ago: float, stretch: float | None = 30, bridges: float | None = 10, pain: str | None = None,
            rolling: float | None = None) -> SessionSummary:
    """A session `days_ago` days before NOW: both sides of each exercise given, pain optional."""
    done = []
    if rolling is not None:
        done += [SideResult("foam_rolling", side, rolling) for side in ("left", "right")]
    if bridges is not None:
        done += [SideResult("glute_bridge", None, bridges)] * 2
    if stretch is not None:
        done += [SideResult("it_band_stretch", side, stretch) for side in ("left", "right")]
    pains = [PainReport(NOW - days_ago * DAY + 60, pain, "my knee hurts")] if pain else []
    return SessionSummary(int(1000 - days_ago), NOW - days_ago * DAY, None, "done", done, pains)


def test_the_first_session_gets_the_standard_plan():
    assert propose_plan([], CONTENT, NOW, RULES) is None


def test_a_session_started_and_left_at_once_is_not_history():
    assert propose_plan([SessionSummary(1, NOW - DAY)], CONTENT, NOW, RULES) is None


def test_two_pain_free_sessions_at_the_standard_are_not_yet_a_run():
    assert propose_plan([session(2), session(1)], CONTENT, NOW, RULES) is None


def test_a_run_of_pain_free_sessions_steps_up_a_little():
    proposal = propose_plan([session(3), session(2), session(1)], CONTENT, NOW, RULES)
    assert proposal.overrides == {"it_band_stretch": {"hold_seconds": 35.0}, "glute_bridge": {"reps": 12.0}}
    assert proposal.text == ("Your last sessions went well, so let's step up a little. Shall we do twelve glute "
                             "bridges a set and the IT band stretch for thirty five seconds today?")


def test_after_a_step_the_new_level_is_kept_until_it_has_gone_well_a_few_times():
    history = [session(5), session(4), session(3), session(2, 35, 12)]
    kept = propose_plan(history, CONTENT, NOW, RULES)
    assert kept.overrides == {"it_band_stretch": {"hold_seconds": 35.0}, "glute_bridge": {"reps": 12.0}}
    assert kept.text.startswith("Last time went well, so let's do the same again.")
    history += [session(1.5, 35, 12), session(1, 35, 12)]
    stepped = propose_plan(history, CONTENT, NOW, RULES)
    assert stepped.overrides == {"it_band_stretch": {"hold_seconds": 40.0}, "glute_bridge": {"reps": 14.0}}


def test_steps_stop_at_the_stated_limits():
    at_top = [session(d, stretch=60, bridges=20, rolling=120) for d in (3, 2, 1)]
    proposal = propose_plan(at_top, CONTENT, NOW, RULES)
    assert proposal.overrides == {"it_band_stretch": {"hold_seconds": 60.0}, "glute_bridge": {"reps": 20.0},
                                  "foam_rolling": {"hold_seconds": 120.0}}
    near_top = [session(d, stretch=58, bridges=19) for d in (3, 2, 1)]
    assert propose_plan(near_top, CONTENT, NOW, RULES).overrides["it_band_stretch"] == {"hold_seconds": 60.0}


def test_each_exercise_steps_on_its_own_run():
    # The bridges were done only twice; the stretch three times.
    history = [session(3, bridges=None), session(2), session(1)]
    proposal = propose_plan(history, CONTENT, NOW, RULES)
    assert proposal.overrides == {"it_band_stretch": {"hold_seconds": 35.0}}
    assert pain_free_run(history, "glute_bridge", 10) == 2


def test_a_session_without_the_exercise_does_not_break_its_run():
    history = [session(4), session(3), session(2, stretch=None), session(1)]
    assert propose_plan(history, CONTENT, NOW, RULES).overrides["it_band_stretch"] == {"hold_seconds": 35.0}


def test_pain_backs_off_and_reminds_to_see_a_professional():
    history = [session(3, 40, 14), session(2, 40, 14), session(1, 40, 14, pain="it_band_stretch")]
    proposal = propose_plan(history, CONTENT, NOW, RULES)
    # Everything gets lighter, also the exercises not done that day; the stretch goes back to
    # the article's thirty seconds (the standard, so no override), never above it.
    assert proposal.overrides == {"glute_bridge": {"reps": 12.0},
                                  "foam_rolling": {"hold_seconds": 45.0}, "lateral_band_walk": {"reps": 8.0}}
    assert "go a little easier" in proposal.text and "please see a medical professional" in proposal.text


def test_an_easier_plan_never_goes_above_the_articles_value():
    # "make it 45 seconds" last time, then pain: one step down would be 40 s, above the article's 30 s.
    proposal = propose_plan([session(1, stretch=45, pain="it_band_stretch")], CONTENT, NOW, RULES)
    assert "it_band_stretch" not in proposal.overrides
    assert "IT band stretch for" not in proposal.text
    after_a_break = propose_plan([session(20, stretch=45, pain="it_band_stretch")], CONTENT, NOW, RULES)
    assert "it_band_stretch" not in after_a_break.overrides


def test_pain_at_the_standard_backs_off_below_it_but_not_below_the_lowest():
    proposal = propose_plan([session(1, pain="glute_bridge")], CONTENT, NOW, RULES)
    assert proposal.overrides == {"it_band_stretch": {"hold_seconds": 25.0}, "glute_bridge": {"reps": 8.0},
                                  "foam_rolling": {"hold_seconds": 45.0}, "lateral_band_walk": {"reps": 8.0}}
    floor = propose_plan([session(1, stretch=15, bridges=5, pain="glute_bridge")], CONTENT, NOW, RULES)
    assert floor.overrides["it_band_stretch"] == {"hold_seconds": 15.0}
    assert floor.overrides["glute_bridge"] == {"reps": 5.0}
    below = propose_plan([session(1, stretch=10, pain="glute_bridge")], CONTENT, NOW, RULES)
    assert below.overrides["it_band_stretch"] == {"hold_seconds": 10.0}   # never more than last time


def test_a_pain_free_session_after_pain_starts_a_new_run():
    history = [session(5), session(4), session(3, pain="it_band_stretch"), session(2, 25, 8), session(1, 25, 8)]
    proposal = propose_plan(history, CONTENT, NOW, RULES)
    assert proposal.overrides["it_band_stretch"] == {"hold_seconds": 25.0}       # two at 25: not yet a run
    assert "medical professional" not in proposal.text


def test_pain_reported_with_no_exercise_running_counts_too():
    idle_pain = SessionSummary(9, NOW - DAY, pains=[PainReport(NOW - DAY, None, "it hurts")])
    proposal = propose_plan([session(3), session(2), idle_pain], CONTENT, NOW, RULES)
    assert "medical professional" in proposal.text


def test_a_long_break_starts_light_again():
    proposal = propose_plan([session(40, 50, 16), session(30, 55, 18)], CONTENT, NOW, RULES)
    assert proposal.overrides == {}
    assert proposal.text == "It's been a while, so let's start light again with the standard plan. Shall we start?"


def test_a_long_break_keeps_a_level_below_the_standard():
    proposal = propose_plan([session(20, 20, 6)], CONTENT, NOW, RULES)
    assert proposal.overrides == {"it_band_stretch": {"hold_seconds": 20.0}, "glute_bridge": {"reps": 6.0}}


def test_a_long_break_after_pain_starts_light_and_reminds():
    proposal = propose_plan([session(30, 45, pain="it_band_stretch")], CONTENT, NOW, RULES)
    assert proposal.overrides == {}
    assert "start light" in proposal.text and "medical professional" in proposal.text


def test_thirteen_days_is_not_yet_a_long_break():
    proposal = propose_plan([session(15), session(14), session(13)], CONTENT, NOW, RULES)
    assert proposal.overrides["it_band_stretch"] == {"hold_seconds": 35.0}


def test_sessions_after_now_are_ignored_and_history_is_not_changed():
    history = [session(3), session(2), session(1), session(-1, pain="it_band_stretch")]
    before = repr(history)
    assert propose_plan(history, CONTENT, NOW, RULES).overrides["it_band_stretch"] == {"hold_seconds": 35.0}
    assert repr(history) == before


# ----- the rules file --------------------------------------------------------------------

def test_every_shipped_rule_names_the_articles_advice_and_every_exercise_has_limits():
    article = (Path(__file__).resolve().parents[1] / "content" / "article.yaml").read_text()
    assert [r.id for r in RULES.rules] == ["start_light_after_a_break_and_pain", "start_light_after_a_break",
                                           "back_off_after_pain", "step_up_after_pain_free_sessions", "keep_the_level"]
    assert all(rule.advice and rule.say for rule in RULES.rules)
    assert set(RULES.steps) == set(CONTENT.exercises)
    for exercise_id, steps in RULES.steps.items():
        exercise = CONTENT.exercises[exercise_id]
        standard = (exercise.program.hold_seconds or exercise.program.reps).value
        assert steps.lowest <= standard <= steps.highest
    assert "consult a medical professional" in article


GOOD_STEPS = "  steps:\n    it_band_stretch: {step: 5, lowest: 15, highest: 60}\n"
GOOD_RULE = "    - id: a\n      advice: b\n      when: {always: true}\n      then: keep\n      say: c\n"


@pytest.mark.parametrize("body, line, message", [
    (GOOD_STEPS + "  rules:\n    - id: a\n      advice: b\n      when: {moon_phase: full}\n      then: keep\n      say: c\n",
     8, "unknown condition 'moon_phase'"),
    (GOOD_STEPS + "  rules:\n    - id: a\n      advice: b\n      when: {pain_last_session: 3}\n      then: keep\n      say: c\n",
     8, "pain_last_session takes true or false"),
    (GOOD_STEPS + "  rules:\n    - id: a\n      advice: b\n      when: {always: true}\n      then: jump\n      say: c\n",
     9, "then must be one of"),
    (GOOD_STEPS + "  rules:\n    - id: a\n      when: {always: true}\n      then: keep\n      say: c\n",
     6, "needs advice"),
    ("  steps:\n    hamstring_curl: {step: 5, lowest: 15, highest: 60}\n  rules:\n" + GOOD_RULE,
     4, "unknown exercise 'hamstring_curl'"),
    ("  steps:\n    it_band_stretch: {step: 5, lowest: 70, highest: 60}\n  rules:\n" + GOOD_RULE,
     4, "lowest at most highest"),
    ("  steps:\n    it_band_stretch: {step: five, lowest: 15, highest: 60}\n  rules:\n" + GOOD_RULE,
     4, "step must be a number"),
    ("  steps:\n    it_band_stretch: {step: 5, lowest: 15, highest: .inf}\n  rules:\n" + GOOD_RULE,
     4, "highest must be a number from 0 to 600, not inf"),
    ("  steps:\n    it_band_stretch: {step: .nan, lowest: 15, highest: 60}\n  rules:\n" + GOOD_RULE,
     4, "step must be a number from 0 to 600, not nan"),
    (GOOD_STEPS + "  rules:\n" + GOOD_RULE + GOOD_RULE, 11, "rule id 'a' is used twice"),
    (GOOD_STEPS + "  rules:\n" + GOOD_RULE.replace("{always: true}", "{days_since_last_session_at_least: .nan}"),
     8, "days_since_last_session_at_least must be a number from 0 to 3650, not nan"),
    (GOOD_STEPS + "  rules:\n" + GOOD_RULE.replace("{always: true}", "{days_since_last_session_at_least: .inf}"),
     8, "days_since_last_session_at_least must be a number from 0 to 3650, not inf"),
    (GOOD_STEPS + "  rules:\n" + GOOD_RULE.replace("{always: true}", "{days_since_last_session_at_least: -14}"),
     8, "not -14"),
    (GOOD_STEPS + "  rules:\n" + GOOD_RULE.replace("{always: true}", "{pain_free_sessions_in_a_row_at_least: -1}"),
     8, "pain_free_sessions_in_a_row_at_least must be a number from 0 to 1000, not -1"),
    ("  steps:\n    it_band_stretch: {step: -5, lowest: 15, highest: 60}\n  rules:\n" + GOOD_RULE,
     4, "step must be a number from 0 to 600, not -5"),
    (GOOD_STEPS + "  ruels:\n" + GOOD_RULE, 5, "unknown key 'ruels'"),
])
def test_a_broken_rules_file_names_file_and_line(tmp_path, body, line, message):
    path = tmp_path / "progression.yaml"
    path.write_text("# rules\nprogression:\n" + body)
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert str(caught.value).startswith(f"{path}:{line}: ") and message in str(caught.value)


def test_invalid_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "progression.yaml"
    path.write_text("progression:\n  steps: {\n")
    with pytest.raises(RulesError, match=rf"^{path}:\d+: invalid YAML"):
        load_rules(path)


def test_a_minimal_rules_file_drives_the_plan(tmp_path):
    path = tmp_path / "progression.yaml"
    path.write_text("progression:\n" + GOOD_STEPS.replace("step: 5", "step: 10") + "  rules:\n"
                    "    - id: up\n      advice: b\n      when: {pain_free_sessions_in_a_row_at_least: 1}\n"
                    "      then: step_up\n      say: Up.\n")
    proposal = propose_plan([session(1)], CONTENT, NOW, load_rules(path))
    assert proposal.overrides == {"it_band_stretch": {"hold_seconds": 40.0}}    # no steps for the bridges
    assert proposal.text == "Up. Shall we do the IT band stretch for forty seconds today?"
