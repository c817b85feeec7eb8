"""The service user's record during treatment (issue 18.6): dated corrections of the
identity fields, risk flags added and removed, and the photo. Each is a new version
of the record, kept in its history with who made it and why; nothing is overwritten
unseen."""

import datetime as dt
import io
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from core.audit import audited
from core.errors import RuleViolation, require_reason

from .models import Flag, ServiceUser, normalise_nhs_number

# What a correction may change, and how it is named to staff.
CORRECTABLE = {
    "given_name": "given name",
    "family_name": "family name",
    "preferred_name": "preferred name",
    "date_of_birth": "date of birth",
    "nhs_number": "NHS number",
}

# A photo as uploaded may be at most this large, and is kept at most this many pixels
# on its longer side, as a JPEG: enough to know a face across the dosing room.
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_SIDE = 1200
# What Pillow may open: photographs, never a format that carries script (SVG is not
# an image to Pillow at all) nor one that decodes to a huge canvas.
Image.init()
PHOTO_FORMATS = tuple(name for name in ("JPEG", "PNG", "WEBP") if name in Image.OPEN)
Image.MAX_IMAGE_PIXELS = 50_000_000


def _locked(service_user: ServiceUser) -> ServiceUser:
    return ServiceUser.objects.select_for_update().get(pk=service_user.pk)


def identity_correct(
    *,
    service_user: ServiceUser,
    by: Any,
    reason: str,
    now: dt.datetime | None = None,
    **changes: Any,
) -> ServiceUser:
    """Correct the identity fields given (CORRECTABLE), with a reason. Fields the same
    as before are not a change; a correction that changes nothing is refused."""
    now = now or timezone.now()
    reason = require_reason(reason)
    unknown = set(changes) - set(CORRECTABLE)
    if unknown:
        raise RuleViolation(
            f"Only {', '.join(CORRECTABLE.values())} are corrected here.",
            code="not_correctable",
            field=sorted(unknown)[0],
        )
    with transaction.atomic():
        person = _locked(service_user)
        changed = []
        for name, value in changes.items():
            if name == "nhs_number":
                value = normalise_nhs_number(value)
            elif isinstance(value, str):
                value = value.strip()
            if value != getattr(person, name):
                setattr(person, name, value)
                changed.append(CORRECTABLE[name])
        if not changed:
            raise RuleViolation(
                "Nothing differs from the record: change a field to correct it.",
                code="nothing_changed",
                field=next(iter(changes), None),  # beside the form's first field
            )
        if person.date_of_birth and person.date_of_birth > person.clinic.clinic_day_of(now):
            raise RuleViolation(
                "The date of birth cannot be in the future.",
                code="date_of_birth_future",
                field="date_of_birth",
            )
        person.full_clean(validate_unique=False, validate_constraints=False)
        audited(person, by=by, why=f"Corrected {', '.join(changed)}: {reason}")
        try:
            with transaction.atomic():
                person.save()
        except IntegrityError as taken:
            raise RuleViolation(
                "Another service user of this clinic has that NHS number: check it, or "
                "find their record.",
                code="nhs_number_taken",
                field="nhs_number",
            ) from taken
    return person


def flag_set(
    *, service_user: ServiceUser, flag: str, on: bool, by: Any, reason: str
) -> ServiceUser:
    """Add or remove a risk flag, with a reason. The alcohol flag starts (or stops)
    breath testing at the next session: the dosing room reads the flag as it is."""
    reason = require_reason(reason)
    if flag not in Flag.values:
        allowed = ", ".join(Flag.values)
        raise RuleViolation(
            f"“{flag}” is not a risk flag. The flags are: {allowed}.",
            code="unknown_flag",
            field="flag",
        )
    if not by.has_perm("eligibility.flag_serviceuser", service_user.clinic):
        raise RuleViolation(
            "Only a nurse or a prescriber of the clinic changes risk flags.",
            code="flag_not_allowed",
        )
    label = Flag(flag).label
    with transaction.atomic():
        person = _locked(service_user)
        if getattr(person, f"flag_{flag}") == on:
            raise RuleViolation(
                f"{person.display_name} is {'already' if on else 'not'} flagged for {label}.",
                code="flag_unchanged",
                field="flag",
            )
        setattr(person, f"flag_{flag}", on)
        audited(person, by=by, why=f"{'Flagged' if on else 'Flag removed'}: {label}: {reason}")
        person.save(update_fields=[f"flag_{flag}"])
    return person


def photo_set(*, service_user: ServiceUser, upload: Any, by: Any) -> ServiceUser:
    """Take a photo (from the tablet's camera or a file) as the person's: opened by
    Pillow only if it is a photograph, turned upright, shrunk to PHOTO_MAX_SIDE and
    re-encoded as a JPEG, so nothing of the file but its pixels is kept."""
    if upload is None:
        raise RuleViolation("Take or choose a photo.", code="photo_required", field="photo")
    if upload.size > PHOTO_MAX_BYTES:
        raise RuleViolation(
            f"The photo is too large: at most {PHOTO_MAX_BYTES // (1024 * 1024)} MB.",
            code="photo_too_large",
            field="photo",
        )
    try:
        with Image.open(upload, formats=PHOTO_FORMATS) as opened:
            opened.load()
            picture = ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as bad:
        raise RuleViolation(
            "That file is not a photo this system can read: use a JPEG or PNG photo.",
            code="photo_invalid",
            field="photo",
        ) from bad
    picture.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    encoded = io.BytesIO()
    picture.save(encoded, format="JPEG", quality=85)
    with transaction.atomic():
        person = _locked(service_user)
        audited(person, by=by, why="Photo taken")
        person.photo.save(
            f"{person.pk}-{timezone.now():%Y%m%d%H%M%S}.jpg",
            ContentFile(encoded.getvalue()),
            save=False,
        )
        person.save(update_fields=["photo"])
    return person
