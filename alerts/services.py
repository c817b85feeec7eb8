"""Raising, acknowledging and e-mailing alerts.

Raising is idempotent: an alert is raised once per kind and cause, whether or
not an earlier one was acknowledged, so a scan that runs twice, late, or in two
workers at once never duplicates one. The database's partial unique index keeps
at most one open alert per kind and cause even when two raises race.
"""

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone

from core.audit import audited
from core.errors import Conflict, RuleViolation
from core.roles import staff_name
from eligibility.models import Clinic

from .models import KIND_ROLES, KIND_SEVERITY, Alert, AlertAddress, AlertKind

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from core.roles import Role
    from eligibility.models import ServiceUser


def sql_text(*parts: Any) -> Concat:
    """Text built in the database, for cause keys and details raised set-wise: each
    str is a literal, anything else an expression cast to text."""
    return Concat(
        *[Value(part) if isinstance(part, str) else Cast(part, CharField()) for part in parts],
        output_field=CharField(),
    )


# The columns a set-wise raise reads from its source query, by their aliases.
SOURCE_COLUMNS = (
    "alert_clinic",
    "alert_service_user",
    "alert_session",
    "alert_cause",
    "alert_detail",
)


def alerts_raise_from(rows: QuerySet[Any, Any], *, kind: AlertKind, now: dt.datetime) -> int:
    """Raise one alert of this kind per row of a values() query that names, under the
    aliases in SOURCE_COLUMNS, the clinic, service user, session, cause key and detail.

    One INSERT ... SELECT, whatever the number of rows. Returns how many were new.
    """
    source_sql, params = rows.order_by().values(*SOURCE_COLUMNS).query.sql_with_params()
    table = connection.ops.quote_name(Alert._meta.db_table)
    sql = f"""
        INSERT INTO {table} (kind, severity, clinic_id, service_user_id, session_id,
                             cause_key, detail, created_at, acknowledgement_note)
        SELECT %s, %s, src.alert_clinic, src.alert_service_user, src.alert_session,
               src.alert_cause, src.alert_detail, %s, ''
        FROM ({source_sql}) src
        WHERE NOT EXISTS (
            SELECT 1 FROM {table} earlier
            WHERE earlier.kind = %s AND earlier.cause_key = src.alert_cause
        )
        ON CONFLICT DO NOTHING
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                kind.value,
                KIND_SEVERITY[kind].value,
                connection.ops.adapt_datetimefield_value(now),
                *params,
                kind.value,
            ],
        )
        raised: int = cursor.rowcount
    if raised:
        _email_after_commit()
    return raised


def alert_raise(
    *,
    kind: AlertKind,
    clinic: Clinic,
    cause_key: str,
    detail: str,
    now: dt.datetime,
    service_user: "ServiceUser | None" = None,
    # A dosing.DoseSession: dosing is a layer above (docs/architecture.md).
    session: Any = None,
) -> Alert | None:
    """Raise one alert; None when this kind and cause was already raised."""
    if Alert.objects.filter(kind=kind, cause_key=cause_key).exists():
        return None
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                kind=kind,
                severity=KIND_SEVERITY[kind],
                clinic=clinic,
                service_user=service_user,
                session=session,
                cause_key=cause_key,
                detail=detail[:300],
                created_at=now,
            )
    except IntegrityError:
        return None  # another raise of the same alert won the race
    _email_after_commit()
    return alert


def alert_acknowledge(
    *, alert: Alert, by: "User", note: str, now: dt.datetime | None = None
) -> Alert:
    """Close an open alert, saying what was done about it."""
    now = now or timezone.now()
    note = (note or "").strip()
    if not note:
        raise RuleViolation(
            "Say what was done about the alert: the note is kept with it.",
            code="note_required",
            field="note",
        )
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if not locked.is_open:
            raise Conflict(
                f"This alert was already acknowledged by {staff_name(locked.acknowledged_by)} "  # type: ignore[arg-type]
                f"at {timezone.localtime(locked.acknowledged_at):%H:%M on %d %b}.",
                code="alert_already_acknowledged",
            )
        _acknowledge(locked, by=by, note=note, now=now)
    alert.refresh_from_db()
    return alert


def alert_close(
    *, kind: AlertKind, cause_key: str, by: "User", note: str, now: dt.datetime | None = None
) -> Alert | None:
    """Acknowledge the open alert of this kind and cause, if there is one, because the
    work it asked for has been recorded (an admission answers a place offered). Run
    inside that work's transaction, so that the two commit or roll back together.
    An alert someone acknowledged meanwhile is left as they closed it."""
    now = now or timezone.now()
    with transaction.atomic():
        # Locked so that a member of staff acknowledging it at the same moment waits,
        # then finds it closed, rather than both writing an acknowledgement.
        locked = (
            Alert.objects.select_for_update()
            .filter(kind=kind, cause_key=cause_key, acknowledged_at__isnull=True)
            .first()
        )
        if locked is None:
            return None
        _acknowledge(locked, by=by, note=note, now=now)
    return locked


def _acknowledge(locked: Alert, *, by: "User | None", note: str, now: dt.datetime) -> None:
    locked.acknowledged_by = by
    locked.acknowledged_at = now
    locked.acknowledgement_note = note
    audited(locked, by=by, why="Acknowledged")
    locked.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement_note"])


def _email_after_commit() -> None:
    # robust: a broker that is down must not fail the work already committed; the
    # beat sweep sends the e-mail later.
    transaction.on_commit(email_alerts.delay, robust=True)


@shared_task(name="alerts.email_alerts")  # type: ignore[untyped-decorator]
def email_alerts() -> int:
    """Send whatever alerts are not yet e-mailed: queued after each commit that raises
    one, and on the beat schedule in case a queued run was lost."""
    return alerts_email_pending()


def alerts_email_pending(*, now: dt.datetime | None = None) -> int:
    """Tell each clinic's role addresses about alerts not yet sent: one message per
    clinic and role, counting alerts by kind, with no clinical details (e-mail is not
    a safe place for them); the inbox has the rest. Returns the number of messages.

    The pending alerts are locked while the mail goes out, so two workers do not
    both send them; a failure to send leaves them pending for the next run.
    """
    now = now or timezone.now()
    with transaction.atomic():
        pending = list(
            Alert.objects.select_for_update(skip_locked=True)
            .filter(emailed_at__isnull=True)
            .order_by()
            .values_list("pk", "clinic_id", "kind")
        )
        if not pending:
            return 0
        addresses = {
            (clinic_id, role): email
            for clinic_id, role, email in AlertAddress.objects.filter(
                clinic_id__in={clinic_id for _, clinic_id, _ in pending}
            ).values_list("clinic_id", "role", "email")
        }
        counts: defaultdict[tuple[int, Role], defaultdict[AlertKind, int]] = defaultdict(
            lambda: defaultdict(int)
        )
        for _, clinic_id, kind in pending:
            for role in KIND_ROLES[AlertKind(kind)]:
                if (clinic_id, role) in addresses:
                    counts[(clinic_id, role)][AlertKind(kind)] += 1
        clinic_names = dict(
            Clinic.objects.filter(pk__in={clinic_id for clinic_id, _ in counts}).values_list(
                "pk", "name"
            )
        )
        inbox = settings.SITE_URL.rstrip("/") + reverse("alert-inbox")
        for (clinic_id, role), by_kind in counts.items():
            total = sum(by_kind.values())
            lines = [f"- {kind.label}: {n}" for kind, n in sorted(by_kind.items())]
            send_mail(
                subject=f"{clinic_names[clinic_id]}: {total} new alert{'s' if total > 1 else ''}",
                message="\n".join(
                    [
                        f"New alerts for the {role.lower()} team at {clinic_names[clinic_id]}:",
                        *lines,
                        "",
                        f"Open the alert inbox to see and acknowledge them: {inbox}",
                    ]
                ),
                from_email=None,
                recipient_list=[addresses[(clinic_id, role)]],
            )
        Alert.objects.filter(pk__in=[pk for pk, _, _ in pending]).update(emailed_at=now)
    return len(counts)


def alert_addresses_set(*, clinic: Clinic, addresses: dict[str, str], by: "User") -> None:
    """Set (or, with an empty address, clear) each team's alert e-mail address."""
    addresses = {role: (email or "").strip() for role, email in addresses.items()}
    for role, email in addresses.items():
        try:
            if email:
                validate_email(email)
        except ValidationError as error:
            raise RuleViolation(
                f"{email!r} is not an e-mail address.", code="email_invalid", field=role
            ) from error
    with transaction.atomic():
        for role, email in addresses.items():
            current = AlertAddress.objects.select_for_update().filter(clinic=clinic, role=role)
            record = current.first()
            if not email:
                if record is not None:
                    audited(record, by=by)
                    record.delete()
                continue
            record = record or AlertAddress(clinic=clinic, role=role)
            if record.email != email:
                record.email = email
                audited(record, by=by)
                record.save()
