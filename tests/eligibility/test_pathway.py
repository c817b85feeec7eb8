"""The pathway before treatment (issue 6.1-6.4): referral, the eligibility checklist,
the decision, capacity and the waiting list, admission."""

import datetime as dt

import pytest

from core.errors import Conflict
from eligibility.models import Level, Referral, Status
from eligibility.pathway import (
    places,
    referral_decide,
    referral_record,
    service_user_admit,
    waiting_list,
    waiting_offers_make,
)
from eligibility.services import policy_issue, service_user_transition
from tests.eligibility.pathway_setup import NOW, accept, accepted, assess, refer
from tests.factories import make_pharmacy_token
from tests.helpers import refused


def admit(cast, referral, now=NOW):
    return service_user_admit(
        service_user=referral.service_user,
        admitted_by=cast.prescriber,
        agreement_signed_on=now.date(),
        witness=cast.nurse,
        now=now,
    )


def test_anyone_on_the_staff_records_a_referral_with_flags(cast):
    referral = refer(cast, risk_flags=["alcohol"], risk_notes="Overdose last year")
    person = referral.service_user
    assert (person.status, person.flag_alcohol) == (Status.REFERRED, True)
    assert referral.referred_by == "Dr Shah, Riverside GP practice"
    assert referral.recorded_by == cast.hca
    assert person.status_changes.get().reason == "Referred by Dr Shah, Riverside GP practice"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("referred_by", " ", "reason_required"),
        ("substance_use_history", "", "required"),
        ("treatment_history", "", "required"),
        ("referral_date", NOW.date() + dt.timedelta(days=1), "date_in_future"),
        ("risk_flags", ["heroin"], "unknown_flag"),
    ],
)
def test_a_referral_refuses_what_is_missing_or_wrong(cast, field, value, code):
    fields = {
        "clinic": cast.clinic_a,
        "recorded_by": cast.nurse,
        "referred_by": "Drug service",
        "referral_date": NOW.date(),
        "substance_use_history": "Heroin",
        "treatment_history": "Methadone",
        "person": {
            "nhs_number": "9990000018",
            "given_name": "A",
            "family_name": "B",
            "date_of_birth": dt.date(1980, 1, 1),
        },
        "now": NOW,
    }
    fields[field] = value
    refused(code, referral_record, **fields)


def test_assessment_records_each_answer_with_evidence_and_moves_to_assessing(cast):
    referral = refer(cast)
    assessment = assess(cast, referral, injecting=(False, "No injecting for a year"))
    answers = {a.criterion: (a.level, a.met, a.evidence) for a in assessment.answers.all()}
    assert answers["injecting"] == (Level.REQUIRED, False, "No injecting for a year")
    assert answers["stable_on_methadone"][0] == Level.ADVISORY
    referral.service_user.refresh_from_db()
    assert referral.service_user.status == Status.ASSESSING


def test_the_checklist_follows_the_policy_and_off_criteria_are_not_asked(cast):
    policy_issue(
        clinic=cast.clinic_a,
        issued_by=cast.manager,
        effective_from=NOW - dt.timedelta(hours=1),
        reason="Catchment not used",
        eligibility_levels={"catchment": "off", "stable_on_methadone": "required"},
        now=NOW - dt.timedelta(hours=1),
    )
    referral = refer(cast)
    assessment = assess(cast, referral)
    levels = dict(assessment.answers.values_list("criterion", "level"))
    assert "catchment" not in levels
    assert levels["stable_on_methadone"] == "required"
    assert levels["adult"] == "required", "levels not named are carried over"


def test_assessment_refuses_missing_answers_missing_evidence_and_a_wrong_age(cast):
    from eligibility.pathway import eligibility_assess
    from tests.eligibility.pathway_setup import all_met

    referral = refer(cast)
    answers = all_met()
    del answers["catchment"]
    error = refused(
        "answers_missing",
        eligibility_assess,
        referral=referral,
        assessed_by=cast.nurse,
        answers=answers,
        now=NOW,
    )
    assert "Lives in the catchment area" in error.message
    refused(
        "evidence_missing",
        eligibility_assess,
        referral=referral,
        assessed_by=cast.nurse,
        answers=all_met(injecting=(True, " ")),
        now=NOW,
    )
    refused(
        "age_contradicts_date_of_birth",
        eligibility_assess,
        referral=referral,
        assessed_by=cast.nurse,
        answers=all_met(adult=(False, "Looks young")),
        now=NOW,
    )


def test_an_unmet_required_criterion_blocks_acceptance_naming_it(cast):
    referral = refer(cast)
    assess(cast, referral, capacity_to_consent=(False, "Confused at assessment"))
    error = refused("required_criterion_unmet", accept, cast=cast, referral=referral)
    assert "Capacity to consent" in error.message
    declined = referral_decide(
        referral=referral,
        prescriber=cast.prescriber,
        decision="declined",
        reason="No capacity to consent today; re-refer when well",
        now=NOW,
    )
    assert declined.closed_at == NOW
    declined.service_user.refresh_from_db()
    assert declined.service_user.status == Status.DECLINED


def test_an_unmet_advisory_criterion_needs_the_prescribers_written_reason(cast):
    referral = refer(cast)
    assess(cast, referral, stable_on_methadone=(False, "Never stable on methadone"))
    error = refused("advisory_reason_required", accept, cast=cast, referral=referral)
    assert "Stable on methadone before starting" in error.message
    done = accept(
        cast, referral, advisory_reason="Methadone never held them: this is why HAT exists"
    )
    assert done.advisory_reason.startswith("Methadone never held them")
    with pytest.raises(Conflict):
        accept(cast, referral)


def test_a_decision_needs_an_assessment_and_a_reason(cast):
    referral = refer(cast)
    refused("assessment_missing", accept, cast=cast, referral=referral)
    assess(cast, referral)
    refused(
        "reason_required",
        referral_decide,
        referral=referral,
        prescriber=cast.prescriber,
        decision="accepted",
        reason="",
        now=NOW,
    )


def full_clinic(cast, capacity=2):
    policy_issue(
        clinic=cast.clinic_a,
        issued_by=cast.manager,
        effective_from=NOW - dt.timedelta(days=1),
        reason="Small clinic",
        capacity=capacity,
        now=NOW - dt.timedelta(days=1),
    )
    for _ in range(capacity):
        admit(cast, accepted(cast))


def test_admission_records_the_agreement_and_starts_titration(cast):
    referral = accepted(cast)
    admit(cast, referral)
    referral.refresh_from_db()
    person = referral.service_user
    person.refresh_from_db()
    assert person.status == Status.TITRATION
    assert (referral.agreement.signed_on, referral.agreement.witness) == (NOW.date(), cast.nurse)
    assert referral.admitted_at == NOW


def test_a_full_clinic_refuses_admission_and_keeps_a_waiting_list_by_priority_then_date(cast):
    full_clinic(cast)
    later = NOW + dt.timedelta(hours=1)
    routine = accepted(cast, priority=2)
    urgent = accepted(cast, now=later, priority=1)
    routine_later = accepted(cast, now=later, priority=2)
    assert list(waiting_list(clinic=cast.clinic_a)) == [urgent, routine, routine_later]
    error = refused("clinic_full", admit, cast=cast, referral=routine)
    assert "2 of 2 places taken" in error.message
    assert "stays on the waiting list (number 2)" in error.message
    routine.service_user.refresh_from_db()
    assert routine.service_user.status == Status.WAITING


def test_a_freed_place_is_offered_to_the_next_and_held_for_them(cast):
    full_clinic(cast)
    urgent = accepted(cast, priority=1)
    routine = accepted(cast, priority=2)
    assert waiting_offers_make(clinic=cast.clinic_a, now=NOW) == []
    leaver = Referral.objects.filter(admitted_at__isnull=False).first().service_user
    service_user_transition(
        service_user=leaver,
        to_status=Status.EXITED,
        changed_by=cast.prescriber,
        reason="Transfer to oral treatment",
        now=NOW,
    )
    offers = waiting_offers_make(clinic=cast.clinic_a, now=NOW)
    assert offers == [urgent]
    assert waiting_offers_make(clinic=cast.clinic_a, now=NOW) == [], "an offer is made once"
    assert places(clinic=cast.clinic_a, now=NOW) == {
        "capacity": 2,
        "taken": 1,
        "offered": 1,
        "free": 0,
    }
    refused("clinic_full", admit, cast=cast, referral=routine)  # the place is held
    admit(cast, urgent)


def test_re_referral_after_exit_keeps_the_history(cast):
    referral = accepted(cast)
    admit(cast, referral)
    person = referral.service_user
    service_user_transition(
        service_user=person,
        to_status=Status.EXITED,
        changed_by=cast.prescriber,
        reason="Disengaged",
        now=NOW,
    )
    Referral.objects.filter(pk=referral.pk).update(closed_at=NOW, closed_reason="Exit")
    again = referral_record(
        clinic=cast.clinic_a,
        recorded_by=cast.nurse,
        referred_by="Self-referral",
        referral_date=NOW.date(),
        substance_use_history="Relapsed",
        treatment_history="HAT at this clinic until March",
        service_user=person,
        now=NOW + dt.timedelta(days=1),
    )
    assert again.service_user == person
    assert person.referrals.count() == 2
    assert [c.to_status for c in person.status_changes.order_by("changed_at", "pk")][-2:] == [
        Status.EXITED,
        Status.REFERRED,
    ]
    with pytest.raises(Conflict):
        referral_record(
            clinic=cast.clinic_a,
            recorded_by=cast.nurse,
            referred_by="Again",
            referral_date=NOW.date(),
            substance_use_history="x",
            treatment_history="y",
            service_user=person,
            now=NOW + dt.timedelta(days=1),
        )


def test_a_long_reason_is_kept_whole_in_the_history(cast):
    referral = refer(cast)
    assess(cast, referral)
    reason = "Meets every criterion. " * 20  # 460 characters
    accept(cast, referral, reason=reason)
    latest = referral.service_user.history.first()
    assert latest.history_change_reason == f"Accepted: {reason.strip()}"


def test_the_admission_witness_is_a_person_on_the_staff(cast):

    referral = accepted(cast)
    token, _ = make_pharmacy_token(cast.clinic_a, created_by=cast.manager)
    for witness in (token.account, cast.nurse_b):
        refused(
            "witness_not_staff",
            service_user_admit,
            service_user=referral.service_user,
            admitted_by=cast.prescriber,
            agreement_signed_on=NOW.date(),
            witness=witness,
            now=NOW,
        )
