"""A demo clinic to explore the product with. Safe to run again: it adds only what is missing."""

import datetime as dt
import secrets
from decimal import Decimal
from itertools import islice
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from alerts.models import AlertAddress
from core.errors import RuleViolation
from core.roles import Role
from dosing.breath import breath_test_record
from dosing.leaving import suspension_start
from dosing.models import DoseSession, Pharmacy, RegisterSection, SessionStatus
from dosing.prescribing import methadone_prescribe, pharmacy_add, prescription_issue
from dosing.register import register_receive, register_section_add
from dosing.selectors import methadone_in_force
from dosing.sessions import dose_sessions_generate, session_unscheduled_add, slot_windows
from eligibility.models import IN_TREATMENT, Clinic, Criterion, Referral, ServiceUser, Status
from eligibility.pathway import eligibility_assess, referral_decide, service_user_admit
from eligibility.policy_rules import SlotSpec
from eligibility.services import (
    clinic_create,
    service_user_register,
    service_user_walk,
    staff_member_add,
)
from eligibility.synthetic import synthetic_nhs_numbers
from monitoring.models import ToxScreen
from monitoring.records import methadone_collection_record, tox_screen_record

CLINIC_NAME = "Riverside HAT Clinic"


def demo_slots(at: dt.time) -> tuple[SlotSpec, SlotSpec]:
    """The standard AM and PM windows (08:00-11:30, 13:00-17:30), one of them stretched
    to the time the demo is made, so that its dosing room is open at once at any hour:
    AM from midnight before 08:00, to 13:00 over lunch, PM to 23:59 in the evening."""
    am_open, am_close, pm_open, pm_close = dt.time(8), dt.time(11, 30), dt.time(13), dt.time(17, 30)
    if at < am_open:
        am_open = dt.time(0)
    elif am_close <= at < pm_open:
        am_close = pm_open
    elif at >= pm_close:
        pm_close = dt.time(23, 59)
    return (SlotSpec("AM", am_open, am_close), SlotSpec("PM", pm_open, pm_close))


STAFF = [
    ("nurse", "Nia", "Okafor", [Role.NURSE]),
    ("nurse2", "Tom", "Reilly", [Role.NURSE]),
    ("hca", "Priya", "Shah", [Role.HCA]),
    ("prescriber", "Dr Sam", "Hughes", [Role.PRESCRIBER]),
    ("manager", "Alex", "Morgan", [Role.MANAGER]),
]

ADMITTED = [Status.ASSESSING, Status.TITRATION]
MAINTAINED = [*ADMITTED, Status.MAINTENANCE]

# (given, family, preferred, date of birth, flags, path from "referred", session dose mg)
# Titration starts at the 15 mg induction dose; the others came on established
# doses (documented transfers) so the demo shows a working clinic.
SERVICE_USERS = [
    ("Daniel", "Price", "Danny", dt.date(1979, 3, 14), ["alcohol"], ADMITTED, "15"),
    ("Marie", "Kowalski", "", dt.date(1985, 7, 2), ["benzodiazepines"], ADMITTED, "15"),
    ("Liam", "Byrne", "", dt.date(1972, 11, 30), [], MAINTAINED, "180"),
    ("Shauna", "Walsh", "Shay", dt.date(1988, 1, 9), ["stimulants"], MAINTAINED, "150"),
    (
        "Gary",
        "Thompson",
        "",
        dt.date(1969, 5, 21),
        ["alcohol", "gabapentinoids"],
        MAINTAINED,
        "200",
    ),
    ("Aisha", "Rahman", "", dt.date(1991, 9, 17), [], MAINTAINED, "120"),
    (
        "Kevin",
        "Doyle",
        "Kev",
        dt.date(1976, 12, 3),
        ["stimulants", "benzodiazepines"],
        MAINTAINED,
        "240",
    ),
    (
        "Rachel",
        "Evans",
        "",
        dt.date(1983, 4, 26),
        [],
        [*MAINTAINED, Status.RETITRATION_REQUIRED],
        "160",
    ),
    (
        "Paul",
        "Murphy",
        "",
        dt.date(1974, 8, 8),
        ["alcohol"],
        [*MAINTAINED, Status.SUSPENDED],
        "140",
    ),
    ("Jodie", "Clarke", "", dt.date(1990, 2, 11), [], [Status.ASSESSING, Status.WAITING], None),
    (
        "Mark",
        "Bennett",
        "",
        dt.date(1981, 6, 19),
        ["gabapentinoids"],
        [Status.ASSESSING, Status.WAITING],
        None,
    ),
    ("Sean", "Gallagher", "", dt.date(1987, 10, 5), [], [], None),
]


PHARMACIES = [
    ("Riverside Pharmacy", "12 Quay Street", "FA001"),
    ("Market Square Chemist", "3 Market Square", "FA002"),
]


ALERT_ADDRESSES = [
    (Role.NURSE, "nurses@riverside-hat.example"),
    (Role.PRESCRIBER, "prescribers@riverside-hat.example"),
    (Role.MANAGER, "managers@riverside-hat.example"),
]

NEGATIVE_PANEL = dict.fromkeys(
    ["acetylcodeine", "papaverine", "noscapine", "cocaine", "benzodiazepines", "fentanyl"],
    "negative",
)
DEMO_TOX = [
    {**NEGATIVE_PANEL, "morphine_6mam": "positive", "methadone_eddp": "positive"},
    {**NEGATIVE_PANEL, "morphine_6mam": "positive", "cocaine": "positive"},
    {**NEGATIVE_PANEL, "morphine_6mam": "positive", "papaverine": "positive"},
]


class Command(BaseCommand):
    help = (
        "Create the demo clinic: policy defaults, 15 places, 12 service users across the "
        "pathway and one staff account per role. Run it again and it adds only what is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            help="Password for the demo staff accounts, set on those that exist too (for "
            "a newcomer who lost the printed one). Without it one is generated and printed "
            "once, when the accounts are created.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has a clinic.",
        )

    @transaction.atomic
    def handle(self, *args, password=None, if_empty=False, **options):
        if if_empty and Clinic.objects.exists():
            self.stdout.write("The database already has a clinic; demo data not loaded.")
            return
        now = timezone.now()
        london_now = timezone.localtime(now, ZoneInfo("Europe/London"))
        clinic = Clinic.objects.filter(name=CLINIC_NAME).first() or clinic_create(
            name=CLINIC_NAME,
            # Open since midnight, so that its policy is in force for today's slots.
            now=london_now.replace(hour=0, minute=0, second=0, microsecond=0),
            slots=demo_slots(london_now.time()),
            reason="Demo: the standard windows, stretched so that a session is open now",
            # Breath thresholds are the clinical lead's to set; these are demo values
            # only, so the alcohol-flagged demo service users can be shown being dosed.
            breath_caution_threshold=Decimal("9"),
            breath_withhold_threshold=Decimal("22"),
        )
        generated = password is None
        password = password or secrets.token_urlsafe(12)
        try:  # the same rules as staff choosing their own (AUTH_PASSWORD_VALIDATORS)
            validate_password(password)
        except ValidationError as refusal:
            raise CommandError("--password: " + " ".join(refusal.messages)) from refusal
        created_staff, reset = self._staff(clinic, password, reset=not generated)
        if reset:
            self.stdout.write(
                self.style.SUCCESS(f"The password of {', '.join(reset)} is now the one given.")
            )
        if created_staff:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Staff accounts {', '.join(created_staff)} created with password: {password}"
                )
            )
            if generated:
                self.stdout.write("It is shown only this once. Keep it, or run with --password.")
            if settings.TWO_FACTOR_REQUIRED:
                self.stdout.write(
                    "At each account's first login you set up two-step login: have an "
                    "authenticator app on your phone (README, 'Two-step login')."
                )
        prescriber = get_user_model().objects.get(username="prescriber")
        self._service_users(clinic, prescriber, now)
        self._register(clinic, get_user_model().objects.get(username="nurse"), now)
        self._monitoring(clinic, get_user_model().objects.get(username="nurse"), now)
        opened = self._sessions_now(clinic, prescriber, now)
        self.stdout.write(self.style.SUCCESS(f"Demo clinic ready: {clinic}."))
        if opened:
            self.stdout.write(
                f"{opened} dose sessions are open now: log in as nurse and open Dosing room."
            )

    def _sessions_now(self, clinic, prescriber, now):
        """Today's and tomorrow's sessions, and for everyone in treatment a session open
        now in the slot open now, as a prescriber would add on the day of admission (the
        schedule made at a slot's opening had nobody on a prescription yet). Someone
        the rules refuse (suspended, a session already) is left as they are."""
        today = clinic.clinic_day_of(now)
        dose_sessions_generate(clinic=clinic, days=[today, today + dt.timedelta(days=1)], now=now)
        open_now = [
            code
            for _, code, opens, closes in slot_windows(clinic=clinic, day=today)
            if opens <= now < closes
        ]
        if not open_now:
            return 0
        for person in ServiceUser.objects.filter(clinic=clinic, status__in=IN_TREATMENT):
            try:
                session_unscheduled_add(
                    service_user=person,
                    slot_code=open_now[0],
                    prescriber=prescriber,
                    reason="Demo: a session open now to try the dosing room",
                    now=now,
                )
            except RuleViolation:
                continue
        return DoseSession.objects.filter(
            clinic=clinic, opens_at__lte=now, closes_at__gt=now, status=SessionStatus.SCHEDULED
        ).count()

    def _staff(self, clinic, password, *, reset):
        """The demo's accounts, made if missing. With `reset`, those that exist take
        the password too, unless they work at another clinic: a real account that
        happens to share a demo name is left alone."""
        created, changed = [], []
        User = get_user_model()
        for username, first, last, roles in STAFF:
            user, was_created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            elsewhere = user.memberships.exclude(clinic=clinic).exists()
            if was_created or (reset and not elsewhere):
                user.set_password(password)
                user.save(update_fields=["password"])
                (created if was_created else changed).append(username)
            staff_member_add(clinic=clinic, user=user, roles=roles)
        return created, changed

    def _service_users(self, clinic, prescriber, now):
        numbers = list(islice(synthetic_nhs_numbers(), len(SERVICE_USERS)))
        existing = set(
            ServiceUser.objects.filter(nhs_number__in=numbers).values_list("nhs_number", flat=True)
        )
        pharmacies = [
            Pharmacy.objects.filter(clinic=clinic, name=name).first()
            or pharmacy_add(clinic=clinic, name=name, address=address, ods_code=ods)
            for name, address, ods in PHARMACIES
        ]
        for index, (number, (given, family, preferred, born, flags, path, dose)) in enumerate(
            zip(numbers, SERVICE_USERS, strict=True)
        ):
            if number in existing:
                continue
            service_user = service_user_register(
                clinic=clinic,
                registered_by=prescriber,
                nhs_number=number,
                given_name=given,
                family_name=family,
                preferred_name=preferred,
                date_of_birth=born,
                flags=flags,
                reason="Demo referral",
                now=now,
            )
            self._pathway(service_user, path, prescriber, now)
            if dose is not None:
                established = dose != "15"
                prescription_issue(
                    service_user=service_user,
                    prescriber=prescriber,
                    slot_doses={"AM": dose, "PM": dose},
                    topup_max_mg=None if established else "15",
                    documented_transfer=established,
                    **(
                        {
                            "transfer_service": "Leeds HAT service (demo)",
                            "transfer_last_dose_mg": dose,
                            "transfer_last_dose_on": clinic.clinic_day_of(now),
                            "transfer_confirmed_by": "Their prescriber, by phone (demo)",
                        }
                        if established
                        else {}
                    ),
                    now=now,
                    reason="Transfer on an established dose" if established else "Induction",
                )
                methadone_prescribe(
                    service_user=service_user,
                    prescriber=prescriber,
                    nightly_dose_mg="30",
                    pharmacy=pharmacies[index % 2],
                    reason="Overnight cover",
                    now=now,
                )
            # Later steps, as would happen in the clinic once prescribed.
            if Status.MAINTENANCE in path:
                service_user_walk(
                    service_user=service_user,
                    path=[Status.MAINTENANCE],
                    changed_by=prescriber,
                    reason="Titration complete",
                    now=now,
                )
            if Status.RETITRATION_REQUIRED in path:
                service_user_walk(
                    service_user=service_user,
                    path=[Status.RETITRATION_REQUIRED],
                    changed_by=None,
                    reason="3 consecutive sessions not taken (threshold 3): tolerance may be lost.",
                    now=now,
                )
            if Status.SUSPENDED in path:
                suspension_start(
                    service_user=service_user,
                    kind="hospital",
                    starts_on=clinic.clinic_day_of(now),
                    reason="Admitted to the general hospital with a leg infection",
                    recorded_by=get_user_model().objects.get(username="nurse"),
                    now=now,
                )

    def _pathway(self, service_user, path, prescriber, now):
        """Through the pathway services: the referral, the assessment (every criterion
        met), the decision and the admission with the agreement, as far as the path goes."""
        referral = Referral.objects.create(
            service_user=service_user,
            clinic=service_user.clinic,
            referred_by="Riverside community drug service",
            referral_date=service_user.clinic.clinic_day_of(now),
            substance_use_history="Injecting heroin daily for over ten years.",
            treatment_history="Oral methadone twice, residential rehab once; relapsed each time.",
            recorded_by=prescriber,
            recorded_at=now,
        )
        if Status.ASSESSING not in path:
            return
        eligibility_assess(
            referral=referral,
            assessed_by=prescriber,
            answers={c.value: (True, "Demo assessment") for c in Criterion},
            now=now,
        )
        if Status.WAITING not in path and Status.TITRATION not in path:
            return
        referral_decide(
            referral=referral,
            prescriber=prescriber,
            decision="accepted",
            reason="Meets the criteria",
            advisory_reason="Never stable on methadone: the reason HAT exists",
            now=now,
        )
        if Status.TITRATION in path:
            service_user_admit(
                service_user=service_user,
                admitted_by=prescriber,
                agreement_signed_on=service_user.clinic.clinic_day_of(now),
                witness=get_user_model().objects.get(username="nurse"),
                now=now,
            )

    def _register(self, clinic, nurse, now):
        """The controlled drugs register: a 100 mg section that supplies doses, with a
        first delivery, and a 500 mg section."""
        if RegisterSection.objects.filter(clinic=clinic).exists():
            return
        doses = register_section_add(clinic=clinic, strength_mg="100", supplies_doses=True)
        register_section_add(clinic=clinic, strength_mg="500")
        register_receive(
            section=doses,
            ampoules=100,
            supplier_name="Demo Pharmaceutical Wholesale Ltd",
            supplier_address="Unit 4, Riverside Trading Estate",
            batch="DEMO-0001",
            expiry=clinic.clinic_day_of(now) + dt.timedelta(days=365),
            received_by=nurse,
            now=now,
        )

    def _monitoring(self, clinic, nurse, now):
        """Team addresses for alert e-mails, and a first tox screen, breath test and
        methadone report for those in treatment, so the service user pages show them."""
        for role, address in ALERT_ADDRESSES:
            AlertAddress.objects.get_or_create(
                clinic=clinic, role=role, defaults={"email": address}
            )
        if ToxScreen.objects.filter(clinic=clinic).exists():
            return
        today = clinic.clinic_day_of(now)
        midday = dt.datetime.combine(today, dt.time(12), tzinfo=clinic.zone)
        in_treatment = ServiceUser.objects.filter(
            clinic=clinic, status__in=[Status.TITRATION, Status.MAINTENANCE]
        ).order_by("pk")
        for index, person in enumerate(in_treatment):
            tox_screen_record(
                service_user=person,
                recorded_by=nurse,
                sample_date=today,
                results=DEMO_TOX[index % len(DEMO_TOX)],
                now=now,
            )
            if person.flag_alcohol:
                breath_test_record(service_user=person, recorded_by=nurse, reading="0", now=now)
            # A day's methadone is the prescription in force at its midday (as the
            # collection service reads it): prescribed this afternoon, none yet.
            if methadone_in_force(service_user=person, at=midday) is not None:
                methadone_collection_record(
                    service_user=person,
                    day=today,
                    collected=index % 3 != 0,
                    recorded_by=nurse,
                    note="" if index % 3 else "Pharmacy says not seen today",
                    now=now,
                )
