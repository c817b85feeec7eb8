"""Shared by the API's matrix and contract tests: every /api/v1/ route and the
methods it answers, one record of every kind in clinic A for the routes that name
one, and a client for each principal."""

import datetime as dt
from decimal import Decimal

from django.test import Client
from django.urls import URLResolver, get_resolver

from alerts.models import Alert
from core.roles import Role
from dosing.breath import breath_test_record
from dosing.guest import guest_stay_authorise
from dosing.leaving import service_user_exit, suspension_start
from dosing.missed import missed_sessions_scan
from dosing.models import DoseSession, Pharmacy, RegisterEntry, RegisterSection
from dosing.prescribing import methadone_prescribe, pharmacy_add
from dosing.register import register_receive, register_section_add
from dosing.reviews import review_record
from dosing.take_home import take_home_prescribe
from dosing.take_home_returns import take_home_return
from dosing.take_home_supply import take_home_supply
from eligibility.access import access_record
from eligibility.models import AccessLog, TakeHomeCriterion
from eligibility.services import policy_issue
from monitoring.records import methadone_collection_record, tox_screen_record
from tests.dosing.room_setup import give_dose
from tests.eligibility.pathway_setup import assess, refer
from tests.factories import PASSWORD, make_clinic, make_pharmacy_token, make_staff
from tests.monitoring.scan_setup import london, people_on_prescription, schedule, session_of

MON = dt.date(2026, 2, 9)
NOW = london(MON, 18)


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def api_routes() -> list[tuple[str, str, str]]:
    """(url name, method, route) for every API pattern and the methods it answers;
    the router's format-suffix copies are the same views and are left out."""
    routes = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/") or "format" in route:
            continue
        callback = pattern.callback
        if getattr(callback, "actions", None):
            methods = sorted(callback.actions)
        else:
            view = callback.cls
            methods = [
                m
                for m in view.http_method_names
                if hasattr(view, m) and m not in ("options", "head")
            ]
        routes += [(pattern.name, method, route) for method in methods]
    return routes


ROUTES = api_routes()


def make_records(cast) -> dict:
    """One record of every kind in clinic A, for the routes that name one."""
    person, suspended, leaving = people_on_prescription(cast, 3)
    register_receive(
        section=register_section_add(clinic=cast.clinic_a, strength_mg="100", supplies_doses=True),
        ampoules=10,
        supplier_name="Wholesale Pharma Ltd",
        supplier_address="1 Industrial Way",
        batch="B1",
        expiry=MON + dt.timedelta(days=365),
        received_by=cast.nurse,
        now=NOW - dt.timedelta(days=1),
    )
    schedule(cast, MON)
    give_dose(cast, session_of(person, MON, "AM"), london(MON, 9))
    missed_sessions_scan(now=NOW)  # the PM sessions: missed, with alerts
    review = review_record(
        service_user=person,
        prescriber=cast.prescriber,
        decision="continue",
        notes="Stable",
        now=NOW,
    )
    referral = refer(cast, now=NOW)
    assessment = assess(cast, referral, now=NOW)
    suspension = suspension_start(
        service_user=suspended,
        kind="hospital",
        starts_on=MON,
        reason="Admitted",
        recorded_by=cast.nurse,
        now=NOW,
    )
    exit_record = service_user_exit(
        service_user=leaving,
        kind="planned",
        detail="oral_treatment",
        reason="Moving to oral methadone",
        exited_on=MON,
        recorded_by=cast.prescriber,
        now=NOW,
    )
    # Take-home for the person, the clinic having switched its criteria off for it.
    policy_issue(
        clinic=cast.clinic_a,
        issued_by=cast.manager,
        effective_from=NOW - dt.timedelta(hours=1),
        now=NOW - dt.timedelta(hours=2),
        reason="Take-home without criteria",
        take_home_levels=dict.fromkeys(TakeHomeCriterion.values, "off"),
    )
    take_home = take_home_prescribe(
        service_user=person,
        prescriber=cast.prescriber,
        route="iv",
        dose_mg="60",
        slot_codes=["PM"],
        weekdays=["sat", "sun"],
        valid_from=MON + dt.timedelta(days=1),
        valid_to=MON + dt.timedelta(days=28),
        reason="Weekends at home",
        now=NOW,
    )
    take_home_given = take_home_supply(
        service_user=person,
        nurse=cast.nurse,
        witness_username=cast.hca.username,
        witness_password=PASSWORD,
        through=MON + dt.timedelta(days=6),
        now=NOW,
    )
    brought_back = take_home_return(
        supply=take_home_given,
        dose_ids=[take_home_given.doses.last().pk],
        units=1,
        received_by=cast.nurse,
        witness_username=cast.prescriber.username,
        witness_password=PASSWORD,
        now=NOW,
    )
    pharmacy = pharmacy_add(clinic=cast.clinic_a, name="High St Pharmacy", address="1 High St")
    methadone = methadone_prescribe(
        service_user=person,
        prescriber=cast.prescriber,
        nightly_dose_mg=Decimal("30"),
        pharmacy=pharmacy,
        reason="Overnight cover",
        valid_from=NOW - dt.timedelta(days=3),
        now=NOW - dt.timedelta(days=3),
    )
    collection, _ = methadone_collection_record(
        service_user=person,
        day=MON - dt.timedelta(days=1),
        collected=True,
        recorded_by=cast.nurse,
        now=NOW,
    )
    screen = tox_screen_record(
        service_user=person,
        recorded_by=cast.nurse,
        sample_date=MON,
        results={"papaverine": "negative"},
        now=NOW,
    )
    breath = breath_test_record(service_user=person, recorded_by=cast.nurse, reading="0", now=NOW)
    _, key = make_pharmacy_token(cast.clinic_a, created_by=cast.manager)
    access_record(_Seen(cast.nurse, cast.clinic_a), AccessLog.What.RECORD, service_user=person)
    # A guest from a third clinic, staying at clinic A: its manager accepts or ends it.
    clinic_c = make_clinic("Clinic C", now=NOW - dt.timedelta(days=60))
    prescriber_c = make_staff(clinic_c, Role.PRESCRIBER, username="prescriber_c")
    (visitor,) = people_on_prescription(cast, 1, clinic=clinic_c, prescriber=prescriber_c)
    stay = guest_stay_authorise(
        service_user=visitor,
        prescriber=prescriber_c,
        host_clinic=cast.clinic_a,
        first_day=MON + dt.timedelta(days=2),
        last_day=MON + dt.timedelta(days=4),
        reason="Visiting family",
        now=NOW,
    )
    # Someone whose second factor a manager may reset, who is none of the principals.
    colleague = make_staff(cast.clinic_a, Role.HCA, username="hca_a2")
    ids = {
        "clinic": cast.clinic_a.pk,
        "service-user": person.pk,
        "prescription": pk_of(person.prescriptions.first(), "prescription"),
        "review": review.pk,
        "dose-session": pk_of(
            DoseSession.objects.filter(service_user=person).first(), "dose-session"
        ),
        "referral": referral.pk,
        "eligibility-assessment": assessment.pk,
        "suspension": suspension.pk,
        "exit": exit_record.pk,
        "cd-register-section": pk_of(
            RegisterSection.objects.filter(clinic=cast.clinic_a).first(), "cd-register-section"
        ),
        "cd-register": pk_of(
            RegisterEntry.objects.filter(section__clinic=cast.clinic_a).first(), "cd-register"
        ),
        "alert": pk_of(Alert.objects.filter(clinic=cast.clinic_a).first(), "alert"),
        "tox-screen": screen.pk,
        "breath-test": breath.pk,
        "methadone-collection": collection.pk,
        "methadone-prescription": methadone.pk,
        "access-log": pk_of(AccessLog.objects.first(), "access-log"),
        "staff": colleague.memberships.get().pk,
        "policy": cast.clinic_a.policies.first().pk,
        "pharmacy": pk_of(Pharmacy.objects.filter(clinic=cast.clinic_a).first(), "pharmacy"),
        "take-home-prescription": take_home.pk,
        "take-home-supply": take_home_given.pk,
        "take-home-return": brought_back.pk,
        "guest-stay": stay.pk,
    }
    return {"key": key, "person": person, "ids": ids}


class _Seen:
    """What access_record reads of a request: who, and the clinic they work in."""

    def __init__(self, user, clinic):
        self.user, self.clinic = user, clinic


def pk_of(record, what) -> int:
    assert record is not None, f"the set-up made no {what}"
    return record.pk


def path_for(name, route, records) -> str:
    if "(?P<pk>[^/.]+)" in route:
        prefix = next(
            (p for p in sorted(records["ids"], key=len, reverse=True) if name.startswith(p)), None
        )
        assert prefix, f"no record for {name}"
        route = route.replace("(?P<pk>[^/.]+)", str(records["ids"][prefix]))
    return "/" + route.replace("^", "").replace("$", "")


def client_for(cast, who, records) -> Client:
    if who == "token":
        return Client(HTTP_AUTHORIZATION=f"Token {records['key']}")
    if who == "administrator":  # an installation administrator, on no clinic's staff
        client = cast.client(None)
        client.force_login(make_staff(None, Role.INSTALLATION_ADMIN, username="installer"))
        return client
    return cast.client(who)
