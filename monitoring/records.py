"""Recording tox screens and methadone collections."""

import datetime as dt
from functools import partial

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from alerts.models import AlertKind
from alerts.services import alert_raise
from core.audit import audited
from core.errors import Conflict, RuleViolation, day_not_in_future
from dosing.models import LapseCause
from dosing.take_home_lapses import take_home_lapse_record
from eligibility.models import ServiceUser

from .models import (
    STREET_HEROIN_MARKERS,
    MethadoneCollection,
    MethadoneConflict,
    Substance,
    ToxResult,
    ToxScreen,
    ToxScreenResult,
)
from .selectors import methadone_for_day


def tox_screen_record(
    *,
    service_user: ServiceUser,
    recorded_by,
    sample_date: dt.date,
    results: dict[str, str],
    notes: str = "",
    now: dt.datetime | None = None,
) -> ToxScreen:
    """Record a urine screen: a result per substance on the panel. Substances left out
    are "not tested"; at least one must have been tested."""
    now = now or timezone.now()
    day_not_in_future(
        sample_date, service_user.clinic, now, field="sample_date", what="sample date"
    )
    unknown = sorted(set(results) - set(Substance.values))
    if unknown:
        raise RuleViolation(
            f"Not on the panel: {', '.join(unknown)}. The substances are: "
            f"{', '.join(Substance.values)}.",
            code="unknown_substance",
            field="results",
        )
    wrong = sorted(name for name, value in results.items() if value not in ToxResult.values)
    if wrong:
        raise RuleViolation(
            f"Give each result as positive, negative or not_tested (check: {', '.join(wrong)}).",
            code="unknown_result",
            field="results",
        )
    full = {substance: results.get(substance, ToxResult.NOT_TESTED) for substance in Substance}
    if all(value == ToxResult.NOT_TESTED for value in full.values()):
        raise RuleViolation(
            "Record at least one result: every substance is marked not tested.",
            code="no_result",
            field="results",
        )
    with transaction.atomic():
        screen = ToxScreen(
            service_user=service_user,
            clinic=service_user.clinic,
            sample_date=sample_date,
            street_heroin=any(full[m] == ToxResult.POSITIVE for m in STREET_HEROIN_MARKERS),
            notes=(notes or "").strip(),
            recorded_by=recorded_by,
            recorded_at=now,
        )
        audited(screen, by=recorded_by)
        screen.save()
        ToxScreenResult.objects.bulk_create(
            ToxScreenResult(screen=screen, substance=substance, result=result)
            for substance, result in full.items()
        )
        if screen.street_heroin:
            # docs/domain.md: a street-heroin marker suspends take-home at once.
            take_home_lapse_record(
                service_user=service_user,
                cause=LapseCause.STREET_HEROIN,
                occurred_at=now,
                detail=f"Street-heroin marker on the tox screen of {sample_date:%-d %b %Y}.",
                now=now,
            )
    return screen


def methadone_collection_record(
    *,
    service_user: ServiceUser,
    day: dt.date,
    collected: bool,
    recorded_by,
    reporting_pharmacy=None,
    note: str = "",
    now: dt.datetime | None = None,
) -> tuple[MethadoneCollection, bool]:
    """Record whether the day's methadone was collected, at the pharmacy on the
    prescription in force that day. A second report for the same day replaces the
    first (the history keeps it). Returns the day's record and whether it is new.

    A pharmacy's report (``reporting_pharmacy``, from its integration token) is
    narrower (issue 16.3):

    - it is only for people whose methadone that pharmacy dispenses that day; anyone
      else is Http404, the same nameless answer as an unknown person;
    - it never replaces the clinic staff's record of the day: one that disagrees is
      kept beside it as a MethadoneConflict, which alerts, and, once that is saved,
      Conflict (409, ``staff_record_stands``) tells the pharmacy. One that agrees
      changes nothing.
    """
    now = now or timezone.now()
    # First, and for a pharmacy too: it names nobody, and the far future (9999-12-31)
    # must not reach the look-up, which reads the day after.
    day_not_in_future(day, service_user.clinic, now, field="day", what="collection day")
    prescription = methadone_for_day(service_user=service_user, day=day)
    if reporting_pharmacy is not None and (
        prescription is None or prescription.pharmacy_id != reporting_pharmacy.pk
    ):
        raise Http404
    if prescription is None:
        raise RuleViolation(
            f"{service_user.display_name} had no methadone prescription on {day:%d %b %Y}: "
            "there was nothing to collect.",
            code="no_methadone_prescription",
            field="day",
        )
    source = (
        MethadoneCollection.Source.STAFF
        if reporting_pharmacy is None
        else MethadoneCollection.Source.PHARMACY
    )
    record = partial(
        _methadone_day_record,
        service_user,
        day,
        prescription.pharmacy,
        collected,
        note,
        source,
        recorded_by,
        now,
    )
    try:
        saved, created = record()
    except IntegrityError:
        # Two reports for a new day at the same moment: the other created the day's
        # record; this one replaces it, as any later report does.
        saved, created = record()
    if saved.source != source and saved.collected != collected:
        raise Conflict(
            "The clinic recorded this day differently. Its record stands; your report is "
            "kept beside it and the clinic's staff are alerted.",
            code="staff_record_stands",
        )
    return saved, created


def _methadone_day_record(
    service_user, day, pharmacy, collected, note, source, recorded_by, now
) -> tuple[MethadoneCollection, bool]:
    from .scans import methadone_uncollected_check

    with transaction.atomic():
        saved = _methadone_day_save(
            service_user, day, pharmacy, collected, note, source, recorded_by, now
        )
        methadone_uncollected_check(ServiceUser.objects.filter(pk=service_user.pk), now=now)
    return saved


def _methadone_day_save(
    service_user, day, pharmacy, collected, note, source, recorded_by, now
) -> tuple[MethadoneCollection, bool]:
    record = (
        MethadoneCollection.objects.select_for_update()
        .filter(service_user=service_user, day=day)
        .first()
    )
    if (
        record is not None
        and source == MethadoneCollection.Source.PHARMACY
        and record.source == MethadoneCollection.Source.STAFF
    ):
        # The clinic's own record stands; a pharmacy that disagrees is kept beside it.
        if record.collected != collected:
            _methadone_conflict(record, pharmacy, collected, note, recorded_by, now)
        return record, False
    created = record is None
    if created:
        record = MethadoneCollection(service_user=service_user, clinic=service_user.clinic, day=day)
    record.pharmacy = pharmacy  # type: ignore[union-attr]
    record.collected = collected  # type: ignore[union-attr]
    record.note = (note or "").strip()  # type: ignore[union-attr]
    record.source = source  # type: ignore[union-attr]
    record.recorded_by = recorded_by  # type: ignore[union-attr]
    record.recorded_at = now  # type: ignore[union-attr]
    audited(record, by=recorded_by, why="Recorded" if created else "Replaced by a later report")  # type: ignore[type-var]
    record.save()  # type: ignore[union-attr]
    return record, created  # type: ignore[return-value]


def _methadone_conflict(record, pharmacy, collected, note, recorded_by, now) -> None:
    conflict = MethadoneConflict.objects.create(
        collection=record,
        pharmacy=pharmacy,
        collected=collected,
        note=(note or "").strip(),
        recorded_by=recorded_by,
        recorded_at=now,
    )
    said = "collected" if collected else "not collected"
    staff_said = "collected" if record.collected else "not collected"
    alert_raise(
        kind=AlertKind.METHADONE_CONFLICT,
        clinic=record.clinic,
        service_user=record.service_user,
        cause_key=f"methadone-conflict:{conflict.pk}",
        detail=(
            f"{pharmacy.name} reports methadone {said} on {record.day:%d %b %Y}; the clinic "
            f"recorded {staff_said}. The clinic's record stands: check with the pharmacy."
        ),
        now=now,
    )
