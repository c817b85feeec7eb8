"""Production settings refuse to start without secrets and pass Django's deploy checks."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "SECRET_KEY",
            "DEBUG",
            "ALLOWED_HOSTS",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_start_up_refuses_a_missing_secret_key_with_debug_off():
    result = _run(["manage.py", "check"], DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_start_up_refuses_a_short_secret_key_with_debug_off():
    result = _run(["manage.py", "check"], DEBUG="false", SECRET_KEY="too-short")
    assert result.returncode != 0
    assert "at least 50 characters" in result.stderr


def test_a_bad_boolean_stops_the_start_up():
    result = _run(["manage.py", "check"], DEBUG="perhaps")
    assert result.returncode != 0
    assert "DEBUG" in result.stderr


def test_production_settings_pass_the_deploy_checks():
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="false",
        SECRET_KEY="x7Kp2" * 12,
        ALLOWED_HOSTS="hat.clinic.example",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_local_defaults_are_london_time_with_time_zone_support(settings):
    assert settings.TIME_ZONE == "Europe/London"
    assert settings.USE_TZ is True
    # As the settings module has it: the suite itself hashes with tests/hashers.py.
    production = importlib.import_module("hat_clinic.settings")
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_start_up_refuses_trusted_proxies_that_are_not_addresses():
    result = _run(["manage.py", "check"], TRUSTED_PROXIES="10.0.0.1,proxy.example")
    assert result.returncode != 0
    assert "TRUSTED_PROXIES must be IP addresses or networks" in result.stderr
