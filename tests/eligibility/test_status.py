import datetime as dt

import pytest

from core.errors import RuleViolation
from core.roles import Role
from eligibility.models import ALLOWED_TRANSITIONS, ServiceUser, Status, StatusChange
from eligibility.services import service_user_transition
from tests.factories import PATH_TO, make_clinic, make_service_user, make_staff

pytestmark = pytest.mark.django_db

ALLOWED = sorted((src, dst) for src, targets in ALLOWED_TRANSITIONS.items() for dst in targets)
REFUSED = sorted(
    (src, dst)
    for src in Status
    for dst in Status
    if dst not in ALLOWED_TRANSITIONS[src] and dst != src
)


def test_every_status_has_a_rule():
    assert set(ALLOWED_TRANSITIONS) == set(Status)
    assert set(PATH_TO) == set(Status)


@pytest.mark.parametrize(("from_status", "to_status"), ALLOWED)
def test_allowed_transitions_are_recorded_with_who_and_why(from_status, to_status):
    clinic = make_clinic()
    prescriber = make_staff(clinic, Role.PRESCRIBER)
    person = make_service_user(clinic, from_status)
    at = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)
    service_user_transition(
        service_user=person,
        to_status=to_status,
        changed_by=prescriber,
        reason="Clinical decision",
        now=at,
    )
    person.refresh_from_db()
    assert person.status == to_status
    assert person.status_changed_at == at
    change = StatusChange.objects.filter(service_user=person).latest("pk")
    assert (change.from_status, change.to_status, change.changed_by) == (
        from_status,
        to_status,
        prescriber,
    )
    record = person.history.latest()
    assert record.history_user == prescriber
    assert record.history_change_reason == "Clinical decision"


@pytest.mark.parametrize(("from_status", "to_status"), REFUSED)
def test_refused_transitions_change_nothing_and_say_what_is_allowed(from_status, to_status):
    clinic = make_clinic()
    person = make_service_user(clinic, from_status)
    changes_before = StatusChange.objects.filter(service_user=person).count()
    with pytest.raises(RuleViolation) as refused:
        service_user_transition(
            service_user=person, to_status=to_status, changed_by=None, reason="Try"
        )
    assert refused.value.code == "status_transition_refused"
    assert Status(from_status).label in refused.value.message
    assert Status(to_status).label in refused.value.message
    assert ServiceUser.objects.get(pk=person.pk).status == from_status
    assert StatusChange.objects.filter(service_user=person).count() == changes_before


def test_same_status_is_not_a_transition():
    person = make_service_user(make_clinic(), Status.MAINTENANCE)
    with pytest.raises(RuleViolation):
        service_user_transition(
            service_user=person, to_status=Status.MAINTENANCE, changed_by=None, reason="Again"
        )


def test_a_status_change_needs_a_reason():
    person = make_service_user(make_clinic(), Status.MAINTENANCE)
    with pytest.raises(RuleViolation) as refused:
        service_user_transition(
            service_user=person, to_status=Status.SUSPENDED, changed_by=None, reason=""
        )
    assert refused.value.code == "reason_required"
    assert ServiceUser.objects.get(pk=person.pk).status == Status.MAINTENANCE


def test_an_unknown_status_is_refused():
    person = make_service_user(make_clinic(), Status.MAINTENANCE)
    with pytest.raises(ValueError):
        service_user_transition(
            service_user=person, to_status="cured", changed_by=None, reason="No"
        )


def test_re_referral_after_exit_keeps_the_history():
    person = make_service_user(make_clinic(), Status.MAINTENANCE)
    for step in (Status.EXITED, Status.REFERRED):
        service_user_transition(
            service_user=person, to_status=step, changed_by=None, reason="Left, then came back"
        )
    statuses = list(person.status_changes.values_list("to_status", flat=True))
    assert statuses == [
        Status.REFERRED,
        Status.ASSESSING,
        Status.TITRATION,
        Status.MAINTENANCE,
        Status.EXITED,
        Status.REFERRED,
    ]
