"""Rules 3 and 4 in time: the state of a journey at a moment, and which journey is chosen."""

from __future__ import annotations

import pytest

from pipeline.transforms.linking import CLOSED_MET, CLOSED_WITHDRAWN, NOT_MET, WORKS, case_state, same_place

H = 3600 * 10**9  # an hour in nanoseconds


@pytest.mark.parametrize("a, b, same", [
    (("1", "7", "LS6 1AA"), ("1", "8", "LS6 2BB"), True),  # uprn decides
    (("1", None, None), ("2", None, None), False),
    ((None, "7", "LS6 1AA"), ("2", "7", "LS6 2BB"), True),  # usrn is the finest shared
    ((None, None, "LS6 1AA"), (None, None, "LS6 2BB"), False),
    ((None, None, None), ("2", "7", "LS6 2BB"), True),
])
def test_same_place(a, b, same):
    assert same_place(a, b) is same


NEVER = 2**63 - 1


def test_case_state_over_time():
    spans = [(0, 10 * H, CLOSED_MET, NEVER, 10 * H), (2 * H, 12 * H, WORKS, NEVER, 12 * H)]
    assert case_state(spans, [], 5 * H) == ("open", 0)
    assert case_state(spans, [], 12 * H) == ("met", 12 * H)
    assert case_state(spans, [13 * H], 14 * H) == ("open", 0)  # pulled back in
    assert case_state(spans, [13 * H], 12 * H + 1) == ("met", 12 * H)  # not yet


def test_case_state_needs_every_case_met_or_every_case_withdrawn():
    met, gone = (0, H, CLOSED_MET, NEVER, H), (0, 2 * H, CLOSED_WITHDRAWN, NEVER, 2 * H)
    other = (0, H, NOT_MET, NEVER, H)
    assert case_state([gone], [], 3 * H) == ("withdrawn", 2 * H)
    assert case_state([met, gone], [], 3 * H) == ("open", 0)
    assert case_state([other], [], 3 * H) == ("open", 0)
    assert case_state([gone, (0, NEVER, WORKS, NEVER, NEVER)], [], 3 * H) == ("withdrawn", 2 * H)


def test_met_at_the_last_completion_not_a_cancellation():
    case, cancelled = (0, H, CLOSED_MET, NEVER, H), (0, 2 * H, WORKS, NEVER, NEVER)
    assert case_state([case, cancelled], [], 3 * H) == ("met", H)
    assert case_state([case, cancelled], [], H + 1) == ("open", 0)


def test_case_state_follows_a_reopened_case_through_its_spans():
    first, second = (0, H, CLOSED_WITHDRAWN, 2 * H, H), (2 * H, 3 * H, CLOSED_MET, NEVER, 3 * H)
    assert case_state([first, second], [], H + 1) == ("withdrawn", H)
    assert case_state([first, second], [], 2 * H + 1) == ("open", 0)
    assert case_state([first, second], [], 4 * H) == ("met", 3 * H)


def test_call_joins_the_most_recently_started_live_journey(council):
    council.case("C1", "2026-03-01 09:00", category="Streetlight out")  # open
    council.case("C2", "2026-03-02 09:00", closed="2026-03-03 09:00")  # met a day before the call
    council.case("C3", "2026-02-01 09:00", category="Damp", closed="2026-02-02 09:00")  # met long ago
    council.call("K1", "2026-03-04 09:00", wrap="progress_chase")
    assert council.assemble().together("C2", "K1")


def test_a_call_never_joins_a_journey_of_calls_alone(council):
    council.call("K1", "2026-03-02 09:00", queue="Council Tax", wrap="information_given")
    council.call("K2", "2026-03-02 10:00", queue="Council Tax", wrap="information_given")
    out = council.assemble()
    assert not out.together("K1", "K2")
    assert out.of("K2")["status"] == "met"


def test_case_and_call_at_the_same_instant_the_case_comes_first(council):
    council.case("C1", "2026-03-02 09:00", channel="phone").call("K1", "2026-03-02 09:00")
    out = council.assemble()
    assert out.together("C1", "K1") and out.of("C1")["contacts"] == 1


def test_call_before_a_repeat_case_joins_the_case_and_then_its_journey(council):
    council.case("C1", "2026-03-01 09:00", closed="2026-03-02 09:00")
    council.call("K1", "2026-04-20 09:00")  # outside the window of C1
    council.case("C2", "2026-04-20 09:30", channel="phone")  # rule 3 cannot join C1 either
    out = council.assemble()
    assert out.together("K1", "C2") and not out.together("C1", "C2")


def test_person_without_a_record_of_their_own_gets_no_rule_3(council):
    council.case("C1", "2026-03-01 09:00", person=None).case("C2", "2026-03-02 09:00", person=None)
    out = council.assemble()
    assert not out.together("C1", "C2")
    assert out.result.report["cases_without_person"] == 2
