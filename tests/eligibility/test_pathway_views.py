"""The pathway pages (issue 6): refusals shown on the page, and the role cast."""

import pytest
import time_machine
from django.urls import reverse
from django.utils.html import escape

from core.errors import Conflict
from eligibility.models import Criterion, Referral, Status
from eligibility.pathway import service_user_admit
from eligibility.services import policy_issue
from tests.eligibility.pathway_setup import NOW, accept, accepted, assess, refer
from tests.helpers import names_staff


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def answers_form(**overrides):
    form = {}
    for criterion in Criterion:
        met, evidence = overrides.get(criterion.value, (True, "Seen"))
        form[f"met_{criterion.value}"] = "yes" if met else "no"
        form[f"evidence_{criterion.value}"] = evidence
    return form


def test_recording_a_referral_in_the_browser(cast):
    client = cast.client("hca")
    url = reverse("referral-new")
    form = {
        "nhs_number": "999 000 0018",
        "given_name": "Jo",
        "family_name": "New",
        "date_of_birth": "1985-04-01",
        "referred_by": "Harbour drug service",
        "referral_date": "2026-03-02",
        "substance_use_history": "Heroin",
        "treatment_history": "Methadone twice",
        "risk_flags": ["alcohol"],
    }
    bad = client.post(url, {**form, "nhs_number": "123"})
    assert bad.status_code == 400 and "An NHS number has 10 digits" in bad.content.decode()
    done = client.post(url, form, follow=True)
    assert "Referral of Jo New recorded." in done.content.decode()
    referral = Referral.objects.get()
    assert referral.service_user.flag_alcohol
    again = client.post(url, form)
    assert "already registered" in again.content.decode()


def test_a_required_criterion_unmet_is_refused_by_name_on_the_page(cast):
    referral = refer(cast)
    nurse = cast.client("nurse")
    page = nurse.post(
        reverse("referral-assess", args=[referral.pk]),
        answers_form(capacity_to_consent=(False, "Confused today"), catchment=(True, "")),
    )
    assert page.status_code == 400
    assert "None for: Lives in the catchment area" in page.content.decode()
    nurse.post(
        reverse("referral-assess", args=[referral.pk]),
        answers_form(capacity_to_consent=(False, "Confused today")),
    )
    refused = cast.client("prescriber").post(
        reverse("referral-decide", args=[referral.pk]),
        {"decision": "accepted", "reason": "Keen", "priority": "2"},
    )
    assert refused.status_code == 400
    assert "required criteria not met: Capacity to consent" in refused.content.decode()


def test_accepting_onto_a_full_clinic_then_admitting_when_a_place_frees(cast):
    from eligibility.pathway import service_user_admit, waiting_offers_make
    from eligibility.services import service_user_transition

    policy_issue(
        clinic=cast.clinic_a,
        issued_by=cast.manager,
        effective_from=NOW,
        reason="One place",
        capacity=1,
        now=NOW,
    )
    first = accepted(cast)
    service_user_admit(
        service_user=first.service_user,
        admitted_by=cast.prescriber,
        agreement_signed_on=NOW.date(),
        witness=cast.nurse,
        now=NOW,
    )
    referral = refer(cast)
    assess(cast, referral)
    prescriber = cast.client("prescriber")
    prescriber.post(
        reverse("referral-decide", args=[referral.pk]),
        {"decision": "accepted", "reason": "Eligible", "priority": "1"},
    )
    listing = prescriber.get(reverse("referral-list"))
    assert [r.pk for r in listing.context["waiting"]] == [referral.pk]
    assert "1 of 1 places taken" in listing.content.decode()
    admit_url = reverse("referral-admit", args=[referral.pk])
    form = {"agreement_signed_on": "2026-03-02", "witness": cast.nurse.pk}
    full = prescriber.post(admit_url, form)
    assert full.status_code == 400
    assert "The clinic is full: 1 of 1 places taken" in full.content.decode()

    service_user_transition(
        service_user=first.service_user,
        to_status=Status.EXITED,
        changed_by=cast.prescriber,
        reason="Planned exit",
        now=NOW,
    )
    waiting_offers_make(clinic=cast.clinic_a, now=NOW)
    done = prescriber.post(admit_url, form, follow=True)
    assert "admitted: titration starts with the first prescription" in done.content.decode()
    referral.service_user.refresh_from_db()
    assert referral.service_user.status == Status.TITRATION


@pytest.mark.parametrize(
    ("who", "listing", "new_form", "detail", "decide"),
    [
        ("nurse", 200, 200, 200, 403),
        ("hca", 200, 200, 200, 403),
        ("prescriber", 200, 200, 200, 302),
        ("manager", 200, 200, 200, 403),
        ("nurse_b", 200, 200, 404, 404),
        (None, 302, 302, 302, 302),
    ],
)
def test_the_pathway_pages_role_cast(cast, who, listing, new_form, detail, decide):
    referral = refer(cast)
    assess(cast, referral)
    client = cast.client(who)
    assert client.get(reverse("referral-list")).status_code == listing
    assert client.get(reverse("referral-new")).status_code == new_form
    assert client.get(reverse("referral-detail", args=[referral.pk])).status_code == detail
    answer = client.post(
        reverse("referral-decide", args=[referral.pk]),
        {"decision": "accepted", "reason": "Eligible", "priority": "2"},
    )
    assert answer.status_code == decide
    referral.refresh_from_db()
    assert bool(referral.decision) == (who == "prescriber")


def test_a_manager_switches_stable_on_methadone_off(cast):
    client = cast.client("manager")
    url = reverse("eligibility-checklist")
    form = {f"level_{c.value}": "required" for c in Criterion}
    form.update(
        {"level_stable_on_methadone": "off", "effective_from": "2026-03-02T10:00", "reason": ""}
    )
    refused = client.post(url, form)
    assert refused.status_code == 400
    done = client.post(url, {**form, "reason": "Service users' feedback"}, follow=True)
    assert "The eligibility checklist is changed" in done.content.decode()
    referral = refer(cast)
    page = cast.client("nurse").get(reverse("referral-detail", args=[referral.pk]))
    asked = [criterion for criterion, *_ in page.context["assess_form"].criteria]
    assert Criterion.STABLE_ON_METHADONE not in asked and Criterion.ADULT in asked


@pytest.mark.parametrize(
    ("who", "status"),
    [("manager", 200), ("nurse", 403), ("hca", 403), ("prescriber", 403), (None, 302)],
)
def test_only_managers_change_the_checklist(cast, who, status):
    assert cast.client(who).get(reverse("eligibility-checklist")).status_code == status


def test_sessions_start_from_the_first_slot_after_the_first_prescription(cast):
    import datetime as dt
    from zoneinfo import ZoneInfo

    from dosing.models import DoseSession
    from dosing.prescribing import prescription_issue
    from dosing.sessions import dose_sessions_generate
    from eligibility.pathway import service_user_admit

    referral = accepted(cast)
    service_user_admit(
        service_user=referral.service_user,
        admitted_by=cast.prescriber,
        agreement_signed_on=NOW.date(),
        witness=cast.nurse,
        now=NOW,
    )
    assert dose_sessions_generate(clinic=cast.clinic_a, days=[NOW.date()], now=NOW) == 0
    prescribed = dt.datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("Europe/London"))
    prescription_issue(
        service_user=referral.service_user,
        prescriber=cast.prescriber,
        slot_doses={"AM": "15", "PM": "15"},
        topup_max_mg="15",
        reason="Induction",
        valid_from=prescribed,
        now=prescribed,
    )
    dose_sessions_generate(clinic=cast.clinic_a, days=[NOW.date()], now=prescribed)
    slots = DoseSession.objects.filter(service_user=referral.service_user)
    assert list(slots.values_list("slot_code", flat=True)) == ["PM"], "the AM slot had opened"


def test_a_checklist_change_cannot_start_in_the_past(cast):
    form = {f"level_{c.value}": "required" for c in Criterion}
    form.update({"effective_from": "2026-03-01T10:00", "reason": "Backdated"})
    refused = cast.client("manager").post(reverse("eligibility-checklist"), form)
    assert refused.status_code == 400
    assert "cannot start in the past" in refused.content.decode()


def test_the_referral_page_names_who_assessed_decided_and_witnessed(cast):
    referral = accepted(cast)
    service_user_admit(
        service_user=referral.service_user,
        admitted_by=cast.prescriber,
        agreement_signed_on=NOW.date(),
        witness=cast.hca,
        now=NOW,
    )
    html = cast.client("manager").get(reverse("referral-detail", args=[referral.pk]))
    html = html.content.decode()
    for who in (cast.nurse, cast.prescriber, cast.hca):
        names_staff(html, who)
    assert f"witnessed by {escape(cast.hca.get_full_name())}" in html
    with pytest.raises(Conflict) as conflict:
        accept(cast, referral)
    assert f"already accepted by {cast.prescriber.get_full_name()}." in conflict.value.message
