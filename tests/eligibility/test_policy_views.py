"""The policy editor (issue 18.3): a manager changes any value of the clinic's policy,
the dose slots among them, as a new version from a stated time; each refusal keeps
what was typed; the policy page marks the version in force and the next. And a third,
evening slot, added this way, runs through the whole clinic day: three sessions
generated a day, on the dosing board, settled by the missed-dose scan and counted on
the attendance dashboard."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from dosing.missed import missed_sessions_scan
from dosing.models import DoseSession, SessionStatus
from dosing.prescribing import prescription_issue
from eligibility.models import ClinicPolicy, Status
from eligibility.selectors import policy_in_force
from tests.factories import TRANSFER, make_service_user
from tests.monitoring.scan_setup import SET_UP, london, schedule

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def form(**changes):
    """The editor's form as a manager sends it, three slots and docs/domain.md's values."""
    values = {
        "effective_from": "2026-03-09T00:00",
        "reason": "Evening slot for people in work",
        "slot_1_code": "AM",
        "slot_1_opens_at": "08:00",
        "slot_1_closes_at": "11:30",
        "slot_2_code": "PM",
        "slot_2_opens_at": "13:00",
        "slot_2_closes_at": "17:30",
        "slot_3_code": "EVE",
        "slot_3_opens_at": "19:00",
        "slot_3_closes_at": "21:00",
        "min_dose_interval_minutes": "240",
        "observation_minutes": "20",
        "observation_grace_minutes": "30",
        "topup_gap_minutes": "20",
        "missed_warning_threshold": "2",
        "retitration_threshold": "3",
        "retitration_days": "3",
        "max_injection_mg": "400",
        "max_daily_total_mg": "1000",
        "maintenance_rise_percent": "50",
        "maintenance_rise_days": "7",
        "breath_caution_threshold": "10",
        "breath_withhold_threshold": "20",
        "capacity": "18",
        "review_interval_days": "7",
        "tox_interval_days": "7",
        "methadone_uncollected_days": "3",
    }
    return {**values, **changes}


def test_the_editor_starts_from_the_version_in_force(cast):
    page = cast.client("manager").get(reverse("policy-new"))
    assert page.status_code == 200
    form_ = page.context["form"]
    assert form_["capacity"].value() == 15
    assert [form_[f"slot_{n}_code"].value() for n in (1, 2, 3)] == ["AM", "PM", ""]


def test_a_manager_adds_an_evening_slot_and_breath_thresholds(cast):
    done = cast.client("manager").post(reverse("policy-new"), form(), follow=True)
    assert "The new policy applies from 09 Mar 2026 00:00." in done.content.decode()
    new = policy_in_force(clinic=cast.clinic_a, at=dt.datetime(2026, 3, 9, 1, tzinfo=dt.UTC))
    assert [s.code for s in new.slots.order_by("opens_at")] == ["AM", "PM", "EVE"]
    assert (new.capacity, new.breath_thresholds_set, new.reason) == (
        18,
        True,
        "Evening slot for people in work",
    )
    assert new.created_by == cast.manager
    page = done.content.decode()
    assert 'data-testid="next"' in page and 'data-testid="in-force"' in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"slot_3_opens_at": "17:00"}, "Slots PM and EVE overlap"),
        ({"slot_3_code": "am"}, "Each dose slot needs its own code."),
        ({"slot_2_closes_at": "11:45", "slot_2_opens_at": "11:30"}, "could not be dosed again"),
        ({"retitration_threshold": "1", "missed_warning_threshold": "1"}, "at least 2"),
        ({"effective_from": "2026-03-01T09:00"}, "cannot start in the past"),
        ({"slot_3_closes_at": ""}, "Give the code, opening and closing time, or none."),
        ({"breath_caution_threshold": "30"}, "caution threshold must not be above"),
        ({"observation_minutes": "0"}, "it must be at least 20, as post-dose observation"),
        ({"topup_gap_minutes": "5"}, "at least 20, as a top-up comes"),
        ({"review_interval_days": "8"}, "from 1 to 7, as every service user is reviewed"),
        ({"tox_interval_days": "0"}, "from 1 to 7, as a tox screen"),
        ({"min_dose_interval_minutes": "10"}, "shorter than the post-dose observation"),
        ({"breath_withhold_threshold": ""}, "Set both breath alcohol thresholds"),
        ({"breath_caution_threshold": "-1"}, "give a reading above 0"),
        ({"missed_warning_threshold": "3", "retitration_threshold": "2"}, "no later than"),
        # The UK clocks go forward at 01:00 on 29 March 2026 and back at 02:00 on 25
        # October: a start in the hour skipped, or the hour passed twice, says so.
        (
            {"effective_from": "2026-03-29T01:30"},
            "There is no 01:30 on 29 Mar 2026 in the clinic&#x27;s time: the clocks go "
            "forward from 01:00 to 02:00 that night. Give a time before 01:00 or from 02:00.",
        ),
        (
            {"effective_from": "2026-10-25T01:00"},
            "01:00 on 25 Oct 2026 comes twice in the clinic&#x27;s time: the clocks go back "
            "from 02:00 to 01:00 that night. Give a time before 01:00 or from 02:00.",
        ),
    ],
)
def test_a_refused_version_is_a_400_that_keeps_what_was_typed(cast, changes, message):
    before = ClinicPolicy.objects.count()
    refused = cast.client("manager").post(reverse("policy-new"), form(**changes))
    assert refused.status_code == 400
    assert message in refused.content.decode()
    typed = refused.context["form"]
    for name, value in form(**changes).items():
        assert str(typed[name].value() or "") == value, name
    assert ClinicPolicy.objects.count() == before


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("manager", 200),
        ("nurse", 403),
        ("hca", 403),
        ("prescriber", 403),
        ("nurse_b", 403),
        (None, 302),
    ],
)
def test_only_a_manager_changes_the_policy(cast, who, status):
    client = cast.client(who)
    assert client.get(reverse("policy-new")).status_code == status
    client.post(reverse("policy-new"), form(capacity="20"))
    assert ClinicPolicy.objects.filter(capacity=20).exists() == (who == "manager")


def test_an_evening_slot_runs_through_the_clinic_day(cast):
    """Added in the editor, the third slot is generated, shown, scanned and counted."""
    cast.client("manager").post(reverse("policy-new"), form(effective_from="2026-03-02T10:00"))
    person = make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=SET_UP)
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "60", "PM": "60", "EVE": "40"},
        **TRANSFER,
        reason="Evening dose for work",
        now=NOW,
    )
    day = dt.date(2026, 3, 3)
    schedule(cast, day)
    slots = DoseSession.objects.filter(service_user=person, clinic_day=day)
    assert sorted(slots.values_list("slot_code", flat=True)) == ["AM", "EVE", "PM"]

    with time_machine.travel(london(day, 19, 30), tick=False):
        board = cast.client("nurse").get(reverse("board"), {"date": day.isoformat(), "slot": "EVE"})
    assert board.status_code == 200 and person.given_name in board.content.decode()

    missed_sessions_scan(now=london(day, 22))
    assert set(slots.values_list("status", flat=True)) == {SessionStatus.MISSED}

    with time_machine.travel(london(day, 23), tick=False):
        numbers = cast.client("manager").get(
            reverse("dashboard-attendance"), {"from": day.isoformat(), "to": day.isoformat()}
        )
    by_slot = {row["slot_code"]: row["missed"] for row in numbers.context["numbers"]["by_slot"]}
    assert by_slot == {"AM": 1, "PM": 1, "EVE": 1}


def test_the_minute_the_page_offered_still_means_now_after_a_while_filling_it_in(cast):
    # Opened at 09:52 (London is on GMT in March), saved at 10:00: from now, not refused.
    done = cast.client("manager").post(
        reverse("policy-new"), form(effective_from="2026-03-02T09:52", capacity="16")
    )
    assert done.status_code == 302
    assert ClinicPolicy.objects.get(capacity=16).effective_from == NOW
    earlier = cast.client("manager").post(
        reverse("policy-new"), form(effective_from="2026-03-02T09:40", capacity="17")
    )
    assert earlier.status_code == 400 and "cannot start in the past" in earlier.content.decode()


def test_a_clinic_with_four_slots_gets_a_row_for_a_fifth_and_keeps_all_four(cast):
    from eligibility.policy_rules import SlotSpec
    from eligibility.services import policy_issue

    four = [
        SlotSpec("EARLY", dt.time(7), dt.time(8)),
        SlotSpec("AM", dt.time(9), dt.time(11, 30)),
        SlotSpec("PM", dt.time(13), dt.time(17, 30)),
        SlotSpec("EVE", dt.time(19), dt.time(21)),
    ]
    policy_issue(
        clinic=cast.clinic_a,
        issued_by=cast.manager,
        effective_from=NOW,
        reason="Four slots",
        slots=four,
        min_dose_interval_minutes=120,
    )
    page = cast.client("manager").get(reverse("policy-new"))
    typed = page.context["form"]
    assert [typed[f"slot_{n}_code"].value() for n in range(1, 6)] == [
        "EARLY",
        "AM",
        "PM",
        "EVE",
        "",
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"observation_minutes": "0"}, "observation_minutes"),
        ({"breath_withhold_threshold": ""}, "breath_withhold_threshold"),
        ({"retitration_threshold": "1"}, "retitration_threshold"),
        ({"min_dose_interval_minutes": "10"}, "min_dose_interval_minutes"),
    ],
)
def test_a_refused_value_stands_beside_its_own_field(cast, changes, field):
    refused = cast.client("manager").post(reverse("policy-new"), form(**changes))
    assert refused.status_code == 400
    assert f'data-error-for="{field}"' in refused.content.decode()
    assert refused.context["form"].has_error(field)


@pytest.mark.parametrize(
    ("changes", "row"),
    [
        ({"slot_3_opens_at": "17:00"}, 3),  # EVE overlaps PM: beside the later, EVE
        ({"slot_3_code": "am"}, 3),
        ({"slot_2_closes_at": "11:45", "slot_2_opens_at": "11:30"}, 2),
        ({"slot_3_closes_at": "18:00", "slot_3_opens_at": "19:00"}, 3),
    ],
)
def test_a_refused_slot_stands_beside_its_row(cast, changes, row):
    refused = cast.client("manager").post(reverse("policy-new"), form(**changes))
    assert refused.status_code == 400
    assert refused.context["form"].has_error(f"slot_{row}_code")
    assert f'data-error-for="slot_{row}_code"' in refused.content.decode()


def test_a_value_too_large_for_the_database_is_refused_beside_its_field(cast):
    refused = cast.client("manager").post(
        reverse("policy-new"), form(min_dose_interval_minutes="100000000000000000000")
    )
    assert refused.status_code == 400
    assert refused.context["form"].has_error("min_dose_interval_minutes")


def test_the_offered_minute_means_now_with_the_clock_running(cast):
    """Found by the browser: taking the start as now, and checking it is not in the
    past, read a running clock twice, so the minute offered was always refused."""
    with time_machine.travel(NOW + dt.timedelta(seconds=30), tick=True):
        done = cast.client("manager").post(
            reverse("policy-new"), form(effective_from="2026-03-02T10:00", capacity="16")
        )
    assert done.status_code == 302
    assert ClinicPolicy.objects.filter(capacity=16).exists()
