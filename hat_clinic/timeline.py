"""A service user's timeline: everything that happened to the person, newest first,
filterable by kind. One query per kind, each limited to a page, whatever the length
of the history; the pages are stitched together by time."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.urls import reverse

from alerts.models import Alert
from alerts.selectors import visible_to
from core.roles import staff_name
from dosing.models import (
    OPEN_SESSION_STATUSES,
    Amendment,
    BreathTest,
    DoseSession,
    Exit,
    Prescription,
    Review,
    Suspension,
)
from dosing.selectors import (
    noteworthy_observations,
    observation_as_read,
    with_observation_amendments,
)
from eligibility.models import EligibilityAssessment, Referral, StatusChange
from monitoring.models import ToxScreen

PAGE = 100


@dataclass(frozen=True)
class Event:
    at: dt.datetime
    kind: str
    title: str
    detail: str = ""
    who: object = None
    url: str = ""
    # An adverse event after a dose: the page marks it so that it stands out.
    urgent: bool = False


PATHWAY_SOURCES = (
    (
        lambda p: Referral.objects.filter(service_user=p),
        "recorded_at",
        lambda r: Event(
            r.recorded_at,
            "pathway",
            f"Referral by {r.referred_by}",
            r.substance_use_history,
            url=reverse("referral-detail", args=[r.pk]),
        ),
    ),
    (
        lambda p: Suspension.objects.filter(service_user=p).select_related("recorded_by"),
        "recorded_at",
        lambda s: Event(
            s.recorded_at,
            "pathway",
            f"Suspended: {s.get_kind_display().lower()} from {s.starts_on:%d %b}",
            s.reason + (f" Back on {s.returned_on:%d %b}." if s.returned_on else ""),
            s.recorded_by,
        ),
    ),
    (
        lambda p: Exit.objects.filter(service_user=p).select_related("recorded_by"),
        "recorded_at",
        lambda e: Event(
            e.recorded_at,
            "pathway",
            f"{e.get_kind_display()} exit ({e.get_detail_display().lower()})",
            e.reason,
            e.recorded_by,
        ),
    ),
)

# Each kind: its label and its sources. A source is the rows (a queryset of the
# person's records), the time field they are ordered by, and how a row reads. The
# rows are filtered by time and cut to a page before they are read.
KINDS = {
    "status": (
        "Status changes",
        (
            (
                lambda p: StatusChange.objects.filter(service_user=p).select_related("changed_by"),
                "changed_at",
                lambda c: Event(
                    c.changed_at,
                    "status",
                    f"Status: {c.get_to_status_display()}",
                    c.reason,
                    c.changed_by,
                ),
            ),
        ),
    ),
    "pathway": ("Referrals, suspensions and exits", PATHWAY_SOURCES),
    "assessment": (
        "Eligibility assessments",
        (
            (
                lambda p: (
                    EligibilityAssessment.objects.filter(referral__service_user=p)
                    .select_related("assessed_by")
                    .prefetch_related("answers")
                ),
                "assessed_at",
                lambda a: Event(
                    a.assessed_at,
                    "assessment",
                    "Eligibility assessment",
                    "; ".join(
                        f"{x.get_criterion_display()}: {'met' if x.met else 'not met'}"
                        for x in a.answers.all()
                        if not x.met
                    )
                    or "Every criterion met",
                    a.assessed_by,
                    reverse("referral-detail", args=[a.referral_id]),
                ),
            ),
        ),
    ),
    "prescription": (
        "Prescriptions",
        (
            (
                lambda p: (
                    Prescription.objects.filter(service_user=p)
                    .select_related("prescriber")
                    .prefetch_related("slot_doses")
                ),
                "issued_at",
                lambda x: Event(
                    x.issued_at,
                    "prescription",
                    f"Prescription version {x.version} ({x.get_purpose_display().lower()})",
                    ", ".join(f"{d.slot_code} {d.dose_mg} mg" for d in x.slot_doses.all())
                    + f"; {x.reason}",
                    x.prescriber,
                    reverse("prescription-list", args=[x.service_user_id]),
                ),
            ),
        ),
    ),
    "review": (
        "Reviews",
        (
            (
                lambda p: Review.objects.filter(service_user=p).select_related("prescriber"),
                "reviewed_at",
                lambda r: Event(
                    r.reviewed_at,
                    "review",
                    f"Review: {r.get_decision_display()}",
                    r.notes,
                    r.prescriber,
                ),
            ),
        ),
    ),
    "session": (
        "Dose sessions",
        (
            (
                lambda p: (
                    DoseSession.objects.filter(service_user=p)
                    # Sessions with an outcome: one still open (deferred included) has
                    # no event yet.
                    .exclude(status__in=OPEN_SESSION_STATUSES)
                    .select_related("outcome_by")
                ),
                "status_changed_at",
                lambda s: Event(
                    s.status_changed_at,
                    "session",
                    f"{s.slot_code} {s.clinic_day:%a %d %b}: {s.get_status_display().lower()}",
                    s.outcome_note or s.outcome_reason,
                    s.outcome_by,
                    reverse("dose-session", args=[s.pk]),
                ),
            ),
        ),
    ),
    "observation": (
        "Observations other than no concerns",
        (
            (
                lambda p: with_observation_amendments(
                    noteworthy_observations(DoseSession.objects.filter(service_user=p))
                ),
                "observed_at",
                lambda o: _observation_event(o),
            ),
        ),
    ),
    "amendment": (
        "Amendments",
        (
            (
                lambda p: Amendment.objects.filter(session__service_user=p).select_related(
                    "amended_by", "session"
                ),
                "amended_at",
                lambda a: Event(
                    a.amended_at,
                    "amendment",
                    f"Amendment to the {a.session.slot_code} {a.session.clinic_day:%d %b} record",
                    "; ".join(f"{label}: {was} → {now}" for label, was, now in a.readable_changes)
                    + f". {a.reason}",
                    a.amended_by,
                    reverse("dose-session", args=[a.session_id]),
                ),
            ),
        ),
    ),
    "tox": (
        "Tox screens",
        (
            (
                lambda p: (
                    ToxScreen.objects.filter(service_user=p)
                    .select_related("recorded_by")
                    .prefetch_related("results")
                ),
                "recorded_at",
                lambda t: Event(
                    t.recorded_at,
                    "tox",
                    f"Tox screen, sample of {t.sample_date:%d %b}",
                    "Positive: "
                    + (
                        ", ".join(
                            r.get_substance_display()
                            for r in t.results.all()
                            if r.result == "positive"
                        )
                        or "none"
                    ),
                    t.recorded_by,
                ),
            ),
        ),
    ),
    "breath": (
        "Breath tests",
        (
            (
                lambda p: BreathTest.objects.filter(service_user=p).select_related("recorded_by"),
                "taken_at",
                lambda b: Event(
                    b.taken_at,
                    "breath",
                    f"Breath test: {b.reading_mcg_per_100ml} µg/100 ml",
                    "",
                    b.recorded_by,
                ),
            ),
        ),
    ),
    "alert": (
        "Alerts",
        (
            (
                lambda p: Alert.objects.filter(service_user=p).select_related("acknowledged_by"),
                "created_at",
                lambda a: Event(
                    a.created_at,
                    "alert",
                    f"Alert: {a.get_kind_display()}",
                    a.detail
                    + (
                        f" Acknowledged by {staff_name(a.acknowledged_by)}: "
                        f"{a.acknowledgement_note}"
                        if a.acknowledged_at
                        else " (open)"
                    ),
                ),
            ),
        ),
    ),
}

KIND_LABELS = {code: label for code, (label, _) in KINDS.items()}


def _observation_event(observation) -> Event:
    """An observation as it now reads: an adverse event stands out."""
    read = observation_as_read(observation)
    session = observation.session
    what = "adverse event" if read.adverse else read.outcome_label.lower()
    return Event(
        observation.observed_at,
        "observation",
        f"{session.slot_code} {session.clinic_day:%a %d %b}: {what}",
        ". ".join(part for part in (read.signs, read.details) if part),
        observation.observed_by,
        reverse("dose-session", args=[session.pk]),
        urgent=read.adverse,
    )


def _page(rows: QuerySet, field: str, before: dt.datetime | None):
    if before is not None:
        rows = rows.filter(**{f"{field}__lt": before})
    return rows.order_by(f"-{field}", "-pk")[:PAGE]


def timeline(
    person, *, viewer, kinds=None, before: dt.datetime | None = None
) -> tuple[list[Event], bool]:
    """The newest PAGE events (before `before`) that the viewer may see, and whether
    there are older ones. One query per kind (two for kinds that prefetch), whatever
    the history's length."""
    chosen = kinds or list(KIND_LABELS)
    sources = [source for code in chosen for source in KINDS[code][1]]
    events, full = [], False
    for rows, field, read in sources:
        found = rows(person)
        if found.model is Alert:
            found = visible_to(found, viewer)
        page = list(_page(found, field, before))
        full = full or len(page) == PAGE
        events.extend(read(row) for row in page)
    events.sort(key=lambda event: event.at, reverse=True)
    # A kind that filled its page may have older events: offer the next page.
    return events[:PAGE], full or len(events) > PAGE
