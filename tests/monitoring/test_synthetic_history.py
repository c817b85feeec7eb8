"""The synthetic history (issue 8.7): the same seed gives the same history, and it
looks like a clinic's year: about 85% attendance, every dose with its administration
and observation, withholds with a reason, admissions and exits, weekly tox screens.
The dashboards answer on it."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, Q

from dosing.models import Administration, DoseSession, Exit, Observation, SessionStatus
from eligibility.models import Referral, ServiceUser
from monitoring.models import ToxScreen

END = dt.date(2026, 10, 31)


class Rollback(Exception):
    pass


def run(seed, **options):
    call_command(
        "synthetic_history", people=15, days=90, end=END, seed=seed, stdout=None, **options
    )


def fingerprint(seed):
    try:
        with transaction.atomic():
            run(seed)
            result = (
                list(
                    DoseSession.objects.order_by("pk").values_list(
                        "clinic_day", "slot_code", "status"
                    )
                ),
                list(Exit.objects.order_by("pk").values_list("exited_on", "detail")),
                list(ToxScreen.objects.order_by("pk").values_list("sample_date", "street_heroin")),
            )
            raise Rollback
    except Rollback:
        return result


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_history():
    first = fingerprint(3)
    assert first == fingerprint(3)
    assert first != fingerprint(4)


@pytest.mark.django_db
def test_the_history_looks_like_a_clinic_year():
    run(8)
    sessions = DoseSession.objects.aggregate(
        all=Count("pk"),
        taken=Count("pk", filter=Q(status=SessionStatus.OBSERVED)),
        withheld=Count("pk", filter=Q(status=SessionStatus.WITHHELD)),
        withheld_without_reason=Count(
            "pk", filter=Q(status=SessionStatus.WITHHELD, outcome_reason="")
        ),
    )
    assert 0.80 <= sessions["taken"] / sessions["all"] <= 0.90
    assert sessions["withheld"] > 0 and sessions["withheld_without_reason"] == 0
    assert Administration.objects.count() == Observation.objects.count() == sessions["taken"]
    # Every place is filled every day: two sessions a day for each of the 15 places,
    # less the days a place stood empty between one person and the next.
    assert 0.9 * 15 * 90 * 2 <= sessions["all"] <= 15 * 90 * 2
    assert Referral.objects.filter(admitted_at__isnull=False).count() > 15
    assert ToxScreen.objects.count() > 15 * 12
    assert Exit.objects.filter(referral__isnull=False).count() == Exit.objects.count() > 0
    with pytest.raises(CommandError, match="empty"):
        run(8)


@pytest.mark.django_db
def test_the_dashboards_answer_on_it_and_are_timed(capsys):
    run(8, measure=True)
    out = capsys.readouterr().out
    for name in ["attendance", "retention", "outcomes", "workload"]:
        assert f"{name} (year): " in out and f"{name} (28 days): " in out
    assert ServiceUser.objects.filter(status="waiting").exists()
