import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse

from core.roles import Role
from dosing.models import DoseSession, SessionStatus
from eligibility.models import Clinic, ServiceUser, StaffMembership, StatusChange
from eligibility.selectors import policy_in_force
from hat_clinic.management.commands.seed_demo import CLINIC_NAME
from tests.factories import StaffClient, enrol_authenticator

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def _seed(*args):
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_the_demo_clinic_spreads_twelve_people_over_the_pathway():
    _seed("--password", "demo-password-123")
    clinic = Clinic.objects.get(name=CLINIC_NAME)
    counts = dict(
        ServiceUser.objects.filter(clinic=clinic).values_list("status").annotate(n=Count("pk"))
    )
    assert counts == {
        "titration": 2,
        "maintenance": 5,
        "retitration_required": 1,
        "suspended": 1,
        "waiting": 2,
        "referred": 1,
    }
    assert policy_in_force(clinic=clinic).capacity == 15
    assert ServiceUser.objects.filter(flag_alcohol=True).count() == 3
    assert ServiceUser.objects.filter(flag_benzodiazepines=True).exists()
    # every status was reached through the service, so each step is in the log
    assert StatusChange.objects.filter(service_user__clinic=clinic).count() > 12


def test_one_account_per_role_plus_a_second_nurse_all_of_the_demo_clinic():
    _seed("--password", "demo-password-123")
    memberships = StaffMembership.objects.filter(clinic__name=CLINIC_NAME)
    roles = sorted(memberships.values_list("roles__name", flat=True))
    assert roles == sorted([Role.NURSE, Role.NURSE, Role.HCA, Role.PRESCRIBER, Role.MANAGER])
    assert all(u.check_password("demo-password-123") for u in (m.user for m in memberships))


def test_seeding_again_adds_nothing_and_keeps_passwords():
    first = _seed()
    assert "created with password:" in first
    generated = first.split("created with password: ")[1].split()[0]
    again = _seed()
    assert "created with password" not in again
    assert ServiceUser.objects.count() == 12
    assert Clinic.objects.count() == 1
    assert get_user_model().objects.get(username="nurse").check_password(generated)


def test_a_lost_demo_password_is_reset_by_seeding_again_with_one():
    _seed()
    said = _seed("--password", "something-else-entirely")
    assert "The password of nurse, nurse2, hca, prescriber, manager is now the one given." in said
    assert ServiceUser.objects.count() == 12, "nothing else is added"
    demo = get_user_model().objects.filter(memberships__clinic__name=CLINIC_NAME)
    assert demo.count() == 5
    assert all(user.check_password("something-else-entirely") for user in demo)


def test_a_real_account_sharing_a_demo_name_keeps_its_password():
    from tests.factories import PASSWORD, make_clinic, make_staff

    real = make_staff(make_clinic("A real clinic"), Role.MANAGER, username="manager")
    _seed("--password", "something-else-entirely")
    real.refresh_from_db()
    assert real.check_password(PASSWORD)
    assert not real.check_password("something-else-entirely")


def test_if_empty_leaves_an_existing_database_alone():
    from tests.factories import make_clinic

    make_clinic("A real clinic")
    assert "not loaded" in _seed("--if-empty")
    assert not Clinic.objects.filter(name=CLINIC_NAME).exists()


def test_people_in_treatment_have_prescriptions_and_methadone():
    from dosing.selectors import methadone_in_force, prescription_in_force

    _seed("--password", "demo-password-123")
    treated = ServiceUser.objects.filter(
        status__in=["titration", "maintenance", "retitration_required", "suspended"]
    )
    assert treated.count() == 9
    for person in treated:
        assert prescription_in_force(service_user=person) is not None, person
        assert methadone_in_force(service_user=person) is not None, person
    starter = ServiceUser.objects.get(given_name="Daniel")
    assert prescription_in_force(service_user=starter).dose_for("AM") == 15
    assert ServiceUser.objects.get(given_name="Rachel").status == "retitration_required"


def test_the_demo_has_alert_addresses_and_first_monitoring_records():
    from alerts.models import AlertAddress
    from dosing.models import BreathTest
    from monitoring.models import ToxScreen

    _seed()
    _seed()  # and again: nothing doubled
    assert set(AlertAddress.objects.values_list("role", flat=True)) == {
        Role.NURSE,
        Role.PRESCRIBER,
        Role.MANAGER,
    }
    in_treatment = ServiceUser.objects.filter(status__in=["titration", "maintenance"])
    assert ToxScreen.objects.count() == in_treatment.count() > 0
    assert ToxScreen.objects.filter(street_heroin=True).exists()
    assert BreathTest.objects.count() == in_treatment.filter(flag_alcohol=True).count() > 0


def test_the_demo_pathway_goes_through_referrals_and_admission():
    from dosing.models import Suspension
    from eligibility.models import Referral

    _seed()
    assert Referral.objects.count() == 12
    waiting = Referral.objects.filter(decision="accepted", admitted_at__isnull=True)
    assert set(waiting.values_list("service_user__status", flat=True)) == {"waiting"}
    admitted = Referral.objects.filter(admitted_at__isnull=False)
    assert admitted.count() == 9 and all(r.agreement for r in admitted)
    assert Suspension.objects.filter(ended_at__isnull=True).count() == 1


def test_the_demo_register_has_stock_for_doses():
    from dosing.models import RegisterSection

    _seed()
    _seed()
    doses = RegisterSection.objects.get(supplies_doses=True)
    assert (str(doses), doses.balance_ampoules, doses.balance_mg) == (
        "Diamorphine hydrochloride 100 mg ampoule",
        100,
        10000,
    )
    assert RegisterSection.objects.count() == 2


def test_a_chosen_demo_password_must_pass_the_password_rules():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="This password is too short"):
        _seed("--password", "short")
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize(
    "local",
    [
        dt.datetime(2026, 1, 14, 3, 5, tzinfo=LONDON),  # before the AM window, in GMT
        dt.datetime(2026, 1, 14, 9, 40, tzinfo=LONDON),  # in the AM window
        dt.datetime(2026, 1, 14, 12, 15, tzinfo=LONDON),  # over lunch, between the windows
        dt.datetime(2026, 7, 14, 15, 0, tzinfo=LONDON),  # in the PM window, in BST
        dt.datetime(2026, 7, 14, 21, 30, tzinfo=LONDON),  # in the evening, in BST
    ],
)
def test_at_any_hour_the_demos_dosing_room_has_sessions_open_now(local):
    """Issue 18.8: a newcomer can try the nurse's journey on the first run."""
    at = local
    with time_machine.travel(at, tick=False):
        said = _seed("--password", "demo-password-123")
        clinic = Clinic.objects.get(name=CLINIC_NAME)
        open_now = DoseSession.objects.filter(
            clinic=clinic, opens_at__lte=at, closes_at__gt=at, status=SessionStatus.SCHEDULED
        )
        # Everyone on a prescription, in treatment and not suspended: 2 titrating, 5 in
        # maintenance, and the one who needs re-titration (whose dose the room blocks);
        # not the suspended one.
        assert open_now.count() == 8, [s.service_user for s in open_now]
        assert f"{open_now.count()} dose sessions are open now" in said
        nurse = StaffClient()
        account = get_user_model().objects.get(username="nurse")
        enrol_authenticator(account)  # as at the demo nurse's first login
        nurse.force_login(account)
        board = nurse.get(reverse("board"))
        assert board.status_code == 200 and len(board.context["sessions"]) >= 8
    policy = policy_in_force(clinic=clinic, at=at)
    assert "stretched" in policy.reason
