"""The shared cast every view and endpoint test is checked against."""

import datetime as dt
import os
from dataclasses import dataclass

import pytest
from django.conf import settings

from core.roles import Role, sync_role_permissions

from .factories import (
    StaffClient,
    enrol_authenticator,
    make_clinic,
    make_service_user,
    make_staff,
)

# Argon2 with the least work for the suite (tests/hashers.py); production's stays.
settings.PASSWORD_HASHERS = [
    "tests.hashers.QuickArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM
# calls from such a thread unless told this is deliberate (LIBRARIES.md).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _use_credentials(url: str) -> None:
    """Connect as the user of this database URL from now on (the same database)."""
    import dj_database_url
    from django.db import connections

    parsed = dj_database_url.parse(url)
    connection = connections["default"]
    connection.close()
    for key in ("USER", "PASSWORD"):
        connection.settings_dict[key] = parsed[key]
        settings.DATABASES["default"][key] = parsed[key]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """With DATABASE_OWNER_URL (CI's PostgreSQL tier), the owner creates and migrates
    the test database, as migrations run in production: migrate installs the
    append-only triggers and grants DATABASE_APP_ROLE what it may do."""
    if settings.DATABASE_OWNER_URL:
        _use_credentials(settings.DATABASE_OWNER_URL)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """...and then the suite runs as the app's role, which owns nothing, as the app does
    in production. The owner drops the test database at the end."""
    if not settings.DATABASE_OWNER_URL:
        yield
        return
    _use_credentials(os.environ["DATABASE_URL"])
    yield
    _use_credentials(settings.DATABASE_OWNER_URL)


@dataclass
class Cast:
    clinic_a: object
    clinic_b: object
    nurse: object
    hca: object
    prescriber: object
    manager: object
    nurse_b: object

    def client(self, who: str | None) -> StaffClient:
        """A logged-in client for a member of the cast, or an anonymous one for None."""
        client = StaffClient()
        if who is not None:
            client.force_login(getattr(self, who))
        return client


# Early enough that tests may place events anywhere in the year.
CLINICS_OPENED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

# Each role of clinic A, a nurse of clinic B, and an anonymous visitor.
CAST_A = ["nurse", "hca", "prescriber", "manager"]
EVERYONE = [*CAST_A, "nurse_b", None]


@pytest.fixture
def client():
    """pytest-django's client, whose force_login also passes the second factor."""
    return StaffClient()


@pytest.fixture
def admin_client(db, admin_user):
    """pytest-django's admin client, with an administrator who set up an authenticator."""
    enrol_authenticator(admin_user)
    client = StaffClient()
    client.force_login(admin_user)
    return client


@pytest.fixture(autouse=True, scope="session")
def _tasks_run_in_process():
    """A task queued by the code under test (an alert's e-mail after commit) runs in
    the test's own process. The worker tests reach real workers with send_task,
    which this does not touch."""
    from hat_clinic.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


def _restore_roles():
    """A transactional test (browser, worker) ends by emptying every table, the role
    groups among them: sync them from ROLE_PERMISSIONS again."""
    from django.contrib.auth.models import Group

    if not Group.objects.exists():
        sync_role_permissions()


@pytest.fixture
def cast(db):
    _restore_roles()
    clinic_a = make_clinic("Clinic A", now=CLINICS_OPENED)
    clinic_b = make_clinic("Clinic B", now=CLINICS_OPENED)
    return Cast(
        clinic_a=clinic_a,
        clinic_b=clinic_b,
        nurse=make_staff(clinic_a, Role.NURSE, username="nurse_a"),
        hca=make_staff(clinic_a, Role.HCA, username="hca_a"),
        prescriber=make_staff(clinic_a, Role.PRESCRIBER, username="prescriber_a"),
        manager=make_staff(clinic_a, Role.MANAGER, username="manager_a"),
        nurse_b=make_staff(clinic_b, Role.NURSE, username="nurse_b"),
    )


@pytest.fixture
def service_user_a(cast):
    from eligibility.models import Status

    return make_service_user(
        cast.clinic_a,
        Status.MAINTENANCE,
        by=cast.prescriber,
        given_name="Alice",
        family_name="Anders",
        preferred_name="Ali",
    )
