"""The HTML form fuzzer (issue 14.2): every form of the app, as each role of clinic A
that is shown it, sent empty and with garbage. No answer may be a 5xx, and every
refusal must name a field.

Finding the forms. Pages are crawled from the home page and the dose sessions' pages
by following links, as each role, on a clinic that holds one record of every kind
made through the services (dose sessions in each state, referrals at each step, a
suspension, a future prescription version, a draft exit plan, a register section,
alerts, a token, a manager of two clinics...), at a fixed moment with the AM window
open. Every pattern of the URLconf outside /api/ and /admin/ must be reached, as a
page or as a form's action, so that a new page without a record to show it fails
here. Forms are read with html.parser: inputs with their types, selects with their
options, textareas, hidden fields and the CSRF token, and named submit buttons (one
form per button). A form seen on several pages or records is sent once per role.

What is sent. Each submission runs in a savepoint that is rolled back, with the
client's cookies restored, so every one meets the same clinic. For each form:
  - plausible: the values the page showed, and for each empty field a plausible one
    (the first choice, today, 1, a colleague as witness with their password); while
    the answer marks a field invalid, that field moves on to its next candidate (a
    date a year ahead for an expiry, the second choice...);
  - other plausible: every field on its next candidate;
  - empty: only the hidden fields and the CSRF token;
  - garbage, one field at a time, the others plausible, so that the value reaches
    the service: text in number fields, extreme and impossible dates (0001-01-01,
    9999-12-31, 2026-02-30), large, huge and odd numbers (99999, more than some
    columns hold; 10**20, 1e308, -1, NaN), unknown choices, 10,000 characters, odd
    characters (NUL, markup, quotes, right-to-left). Hidden fields get garbage too.

What must hold.
  - No 5xx, and no exception out of the view.
  - A refusal names a field. A refusal is a 4xx, a page with an error on it, or a
    redirect carrying an error message. It names a field when the answer marks one
    aria-invalid="true", as Django does for a field rendered with its errors.
  - Unless it refuses the whole action, which no field can put right. The fuzzer
    tells those apart by what it sees, without knowing the rules:
      * a 409, or a redirect with a warning: a Conflict, the record changed under
        the form (already recorded, already revoked);
      * a 404: the record the form acts on is not the caller's, and its existence
        must not leak;
      * the form has nothing a person fills in (hidden fields and a button);
      * the garbage was in a hidden field, which no person types in;
      * both plausible submissions, whose every value differs, get the very same
        refusal (status and message): then what is refused is not a value ("the
        window has closed", "the clinic is full", "not in titration").
    Anything else that names no field fails, with the form, the value and the
    message; so does a plausible submission refused without a field when the other
    plausible one is not.

It runs in .ci/run's fuzz step (-m fuzz, on PostgreSQL) beside schemathesis, in about
a minute, and prints how many submissions it made, per role."""

import datetime as dt
import re
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import time_machine
from django.contrib.messages import constants, get_messages
from django.db import transaction
from django.urls import URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from core.roles import Role
from dosing.assessment import session_assess
from dosing.exit_plans import reducing_plan_create
from dosing.models import DoseSession
from dosing.prescribing import prescription_issue
from dosing.room import session_decline, session_observe, session_withhold
from eligibility.models import Status
from eligibility.services import staff_member_add
from tests.dosing.room_setup import give_dose
from tests.eligibility.pathway_setup import accepted, assess, refer
from tests.factories import PASSWORD, TRANSFER, make_service_user, make_staff
from tests.hat_clinic.api_setup import NOW as RECORDS_MADE
from tests.hat_clinic.api_setup import make_records
from tests.monitoring.scan_setup import SET_UP, london, schedule, session_of

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]
# The manager comes after the roles whose staff page it may change; the installation
# administrator, on no clinic's staff, opens clinics.
ROLES = ("nurse", "hca", "prescriber", "manager", "administrator")
TUESDAY = dt.date(2026, 2, 10)
# The AM window (08:00-11:30) is open: the dosing room's forms are live.
MOMENT = london(TUESDAY, 9, 30)

# Patterns that no page links to as a page or a form: the log-in and log-out, the
# favicon, downloads (a CSV, a photo).
# The second step of logging in answers only a session that passed the password alone;
# a signed-in role is sent on from it (tests/hat_clinic/test_second_factor.py drives
# its refusals). Setting up a new phone, its other form, is fuzzed here.
NOT_FORMS = {
    "login",
    "logout",
    "favicon",
    "register-csv",
    "service-user-photo",
    "dose-session-photo",
    "two-factor",
}
# A one-time link's page, used up by its first good submission: its refusals are driven
# in tests/eligibility/test_staff.py and in the browser.
NOT_FORMS |= {"staff-link"}
# Pages of one pattern crawled per role (enough to see each state of a dose session).
PAGES_PER_PATTERN = 25
SKIPPED_PATHS = re.compile(r"^/(api|admin|static|media|logout)/|/csv/$|favicon")

LONG = "x" * 10_000
HUGE = str(10**20)
ODD = 'Zoë 🙂 \u202e<b>bold</b> \' OR 1=1 -- "quoted" %s {0} \\'
NUL = "a\x00b"
GARBAGE = {
    "text": ["", "99999", HUGE, "1e308", "NaN", LONG, ODD, NUL],
    "number": ["", "abc", "-1", "99999", HUGE, "1e308", "NaN"],
    "date": ["", "abc", "0001-01-01", "9999-12-31", "2026-02-30"],
    "datetime-local": ["", "abc", "0001-01-01T00:00", "9999-12-31T23:59", "2026-02-30T09:00"],
    "time": ["", "abc", "24:00"],
    "email": ["abc", LONG + "@example.org", NUL],
    "choice": ["", "no-such-choice", HUGE],
    "checkbox": ["no-such-choice"],
    "hidden": ["no-such-value", HUGE],
}
TEXT_KINDS = {"text", "textarea", "search", "tel", "url", "password"}


# Reading pages: links and forms.


@dataclass
class Field:
    name: str
    kind: str  # an input's type, "select", "textarea", "radio", "checkbox"
    shown: list[str] = field(default_factory=list)  # the values the page would send
    options: list[str] = field(default_factory=list)  # select, radio, checkbox
    multiple: bool = False

    @property
    def garbage_kind(self) -> str:
        if self.kind in ("select", "radio"):
            return "choice"
        if self.kind in TEXT_KINDS:
            return "text"
        return self.kind if self.kind in GARBAGE else "text"


@dataclass
class Form:
    page: str
    action: str
    method: str
    fields: list[Field]
    button: tuple[str, str] | None = None

    @property
    def visible(self) -> list[Field]:
        return [f for f in self.fields if f.kind != "hidden"]

    @property
    def url_name(self) -> str:
        return resolve(urlsplit(self.action).path).url_name

    def key(self) -> tuple:
        """Forms alike: the same action pattern, fields, and hidden choices (the
        dosing room's "action"), whichever record they were shown for."""
        hidden = tuple(
            (f.name, tuple(f.shown))
            for f in self.fields
            if f.kind == "hidden" and f.name != "csrfmiddlewaretoken" and not _numeric(f.shown)
        )
        names = tuple(sorted((f.name, f.kind) for f in self.fields if f.kind != "hidden"))
        return (self.method, self.url_name, names, hidden, self.button)

    def describe(self) -> str:
        button = f" [{self.button[0]}={self.button[1]}]" if self.button else ""
        return f"{self.method} {self.action}{button} (on {self.page})"


def _numeric(values) -> bool:
    return bool(values) and all(v.strip().lstrip("-").isdigit() for v in values)


class PageReader(HTMLParser):
    """The links and forms of one page."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form = None
        self._fields: dict[str, Field] = {}
        self._buttons: list[tuple[str, str]] = []
        self._select = None
        self._option = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {
                "action": a.get("action") or self.page,
                "method": (a.get("method") or "get").upper(),
            }
            self._fields, self._buttons = {}, []
        elif self._form is None or "disabled" in a:
            return
        elif tag == "input":
            self._input(a)
        elif tag == "button" and a.get("name") and a.get("type", "submit") == "submit":
            self._buttons.append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self._select = self._field(a["name"], "select", multiple="multiple" in a)
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
        elif tag == "textarea" and a.get("name"):
            self._textarea = self._field(a["name"], "textarea")
            self._textarea.shown = [""]

    def _field(self, name, kind, multiple=False) -> Field:
        if name not in self._fields:
            self._fields[name] = Field(name, kind, multiple=multiple)
        return self._fields[name]

    def _input(self, a):
        kind, name = a.get("type", "text").lower(), a.get("name")
        if kind in ("submit", "image") and name:
            self._buttons.append((name, a.get("value", "")))
            return
        if not name or kind in ("submit", "image", "reset", "button", "file"):
            return
        value = a.get("value", "on" if kind in ("checkbox", "radio") else "")
        found = self._field(name, kind, multiple=kind == "checkbox")
        if kind in ("checkbox", "radio"):
            found.options.append(value)
            if "checked" in a:
                found.shown.append(value)
        else:
            found.shown = [value]

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        elif self._textarea is not None:
            self._textarea.shown = [self._textarea.shown[0] + data]

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None and self._select is not None:
            option = self._option
            value = option["value"] if option["value"] is not None else option["text"].strip()
            self._select.options.append(value)
            if option["selected"]:
                self._select.shown.append(value)
            self._option = None
        elif tag == "select" and self._select is not None:
            if not self._select.shown and self._select.options and not self._select.multiple:
                self._select.shown = [self._select.options[0]]
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._form is not None:
            fields = list(self._fields.values())
            for button in self._buttons or [None]:
                self.forms.append(
                    Form(self.page, self._form["action"], self._form["method"], fields, button)
                )
            self._form = None


# What the fuzzer sends.


def candidates(form_field: Field, role: str) -> list[list[str]]:
    """Plausible values for a field, the one the page showed first: the fuzzer moves
    to the next while the plausible submission is refused naming the field."""
    shown = [form_field.shown] if any(v.strip() for v in form_field.shown) else []
    if form_field.kind == "hidden":
        return [form_field.shown]
    if form_field.kind in ("select", "radio"):
        return shown + [[option] for option in form_field.options if option] or [[""]]
    if form_field.kind == "checkbox":
        return [form_field.shown, form_field.options[:1]]
    if form_field.kind == "password":
        return [[PASSWORD]]
    if "username" in form_field.name:
        return [[name] for name in WITNESSES[role]]
    return shown + [[value] for value in PLAUSIBLE.get(form_field.kind, PLAUSIBLE["text"])]


PLAUSIBLE = {
    "date": [
        MOMENT.date().isoformat(),
        (MOMENT.date() + dt.timedelta(days=365)).isoformat(),
        (MOMENT.date() - dt.timedelta(days=1)).isoformat(),
        "1980-05-01",
    ],
    "datetime-local": [
        MOMENT.strftime("%Y-%m-%dT%H:%M"),
        (MOMENT + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        (MOMENT - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    ],
    "time": [MOMENT.strftime("%H:%M"), "09:00"],
    "email": ["team@example.org"],
    "number": ["1", "10", "100"],
    "text": ["1", "A note from the form fuzzer", "10", "100"],
}
# Colleagues who may witness what each role records, the likeliest first.
WITNESSES = {
    "nurse": ["hca_a", "manager_a", "prescriber_a"],
    "hca": ["nurse_a", "manager_a"],
    "prescriber": ["hca_a", "nurse_a", "manager_a"],
    # The staff page's username: an account on the staff (refused), then a new one.
    "manager": ["nurse_a", "hca_a", "prescriber_a", "new_colleague"],
    # A new clinic's first manager: an existing account, then a new one.
    "administrator": ["nurse_b", "new_manager"],
}


@dataclass
class Submission:
    label: str
    data: dict[str, list[str]]
    changed: Field | None = None  # the field given garbage, if any


def plausible(client, form: Form, role: str) -> tuple[list[Submission], "Answer", "Answer"]:
    """The form filled with the values shown and plausible ones, moving each field an
    answer marks invalid on to its next candidate: the baseline for the garbage. Then
    the same with every field's next candidate, to see whether a refusal depends on
    the values at all. Returns what was sent, and the two plausible answers."""
    options = {f.name: candidates(f, role) for f in form.fields}
    chosen = dict.fromkeys(options, 0)
    button = {form.button[0]: [form.button[1]]} if form.button else {}
    sent = []
    for _ in range(8):
        data = {name: options[name][index] for name, index in chosen.items()} | button
        sent.append(Submission("plausible", data))
        answer = send(client, form, sent[-1])
        moved = [n for n in answer.invalid if n in chosen and chosen[n] + 1 < len(options[n])]
        for name in set(moved):
            chosen[name] += 1
        if not moved:
            break
    other = {name: options[name][min(i + 1, len(options[name]) - 1)] for name, i in chosen.items()}
    sent.append(Submission("other plausible", other | button))
    return sent, answer, send(client, form, sent[-1])


def garbage(form: Form, plausible: Submission) -> list[Submission]:
    hidden = {f.name: f.shown for f in form.fields if f.kind == "hidden"}
    button = {form.button[0]: [form.button[1]]} if form.button else {}
    sent = [Submission("empty", hidden | button)]
    for form_field in form.fields:
        if form_field.name == "csrfmiddlewaretoken":
            continue
        kind = "hidden" if form_field.kind == "hidden" else form_field.garbage_kind
        for value in GARBAGE[kind]:
            label = f"{form_field.name}={_short(value)}"
            data = plausible.data | {form_field.name: [value]}
            sent.append(Submission(label, data, form_field))
    return sent


def _short(value: str) -> str:
    return repr(value if len(value) <= 40 else f"{value[:12]}... ({len(value)} characters)")


# Reading the answer.


@dataclass
class Answer:
    status: int
    outcome: str  # "server error", "done", "named", "nameless", "conflict", "not found"
    message: str = ""
    invalid: tuple[str, ...] = ()  # the fields marked aria-invalid


ERROR_MARKERS = re.compile(
    r"<(div|ul|span|p|li)\b[^>]*class=\"[^\"]*"
    r"(alert-danger|invalid-feedback|errorlist|text-danger[^\"]*\"[^>]*role=\"alert)"
    r"[^>]*>(.*?)</\1>",
    re.DOTALL,
)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def read_answer(response) -> Answer:
    status = response.status_code
    if status >= 500:
        return Answer(
            status, "server error", _text(response.content.decode(errors="replace"))[:300]
        )
    levels = [(m.level, str(m)) for m in get_messages(response.wsgi_request)]
    if status == 409 or any(level == constants.WARNING for level, _ in levels):
        return Answer(status, "conflict")
    if status == 404:
        return Answer(status, "not found")
    errors = [text for level, text in levels if level >= constants.ERROR]
    html = ""
    if "html" in response.get("Content-Type", ""):
        html = response.content.decode(errors="replace")
        errors += [_text(match[2]) for match in ERROR_MARKERS.findall(html)]
    invalid = tuple(
        name
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html)
        if 'aria-invalid="true"' in tag
        for name in re.findall(r'\bname="([^"]*)"', tag)
    )
    if invalid:
        return Answer(status, "named", " | ".join(errors), invalid)
    if status >= 400 or errors:
        return Answer(status, "nameless", " | ".join(errors) or f"HTTP {status}")
    return Answer(status, "done")


def send(client, form: Form, submission: Submission) -> Answer:
    """One submission in a savepoint that is rolled back, with the cookies restored:
    every submission meets the same clinic, signed in as the same person."""
    cookies = {name: morsel.value for name, morsel in client.cookies.items()}
    path = urlsplit(form.action).path
    with transaction.atomic():
        try:
            if form.method == "GET":
                response = client.get(path + "?" + urlencode(submission.data, doseq=True))
            else:
                response = client.post(path, submission.data)
            return read_answer(response)
        except Exception as error:  # the view raised: what the browser sees as a 500
            return Answer(500, "server error", _where(error))
        finally:
            transaction.set_rollback(True)
            client.cookies = SimpleCookie()
            for name, value in cookies.items():
                client.cookies[name] = value


def _where(error: Exception) -> str:
    """The exception and the last line of the project's own code it passed through."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if f.filename.startswith(str(ROOT)) and "/.venv/" not in f.filename]
    where = f" at {Path(ours[-1].filename).relative_to(ROOT)}:{ours[-1].lineno}" if ours else ""
    return f"{type(error).__name__}: {str(error)[:200]}{where}"


def whole_action(form: Form, submission: Submission, answer: Answer, *plausible: Answer) -> bool:
    """A refusal that names no field is allowed for a refusal of the whole action (see
    the module's docstring)."""
    if answer.outcome in ("conflict", "not found"):
        return True
    if not form.visible or (submission.changed and submission.changed.kind == "hidden"):
        return True
    return all((answer.status, answer.message) == (p.status, p.message) for p in plausible)


# The crawl.


def crawl(client, seeds: list[str]) -> tuple[list[Form], set[str]]:
    """Every page reachable from the seeds by links, at most PAGES_PER_PATTERN of each
    URL pattern: the forms found, and the patterns reached."""
    queue, seen, per_pattern, forms, reached = list(seeds), set(), Counter(), [], set()
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        try:
            name = resolve(urlsplit(url).path).url_name
        except Resolver404:
            continue
        if per_pattern[name] >= PAGES_PER_PATTERN:
            continue
        per_pattern[name] += 1
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        reached.add(name)
        reader = PageReader(url)
        reader.feed(response.content.decode())
        for form in reader.forms:
            form.action = _absolute(form.action, url)
            if form.action and not SKIPPED_PATHS.search(urlsplit(form.action).path):
                forms.append(form)
                reached.add(form.url_name)
        for link in reader.links:
            link = _absolute(link, url)
            if link and not SKIPPED_PATHS.search(urlsplit(link).path) and "export=" not in link:
                queue.append(link)
    return forms, reached


def _absolute(href: str, page: str) -> str | None:
    href = href.split("#")[0]
    if href.startswith("?"):
        return urlsplit(page).path + href
    if href.startswith("/") and not href.startswith("//"):
        return href
    return None if href else page


def page_patterns() -> set[str]:
    """Every named pattern of the URLconf outside /api/ and /admin/."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern.name

    return {
        name
        for route, name in walk(get_resolver().url_patterns)
        if name and not route.startswith(("api/", "admin/"))
    }


# The clinic with a record of every kind.


def on_prescription(cast, status=Status.MAINTENANCE, **prescribed):
    person = make_service_user(cast.clinic_a, status, by=cast.prescriber, now=SET_UP)
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "60", "PM": "60"},
        **TRANSFER,
        reason="Transfer",
        now=SET_UP,
        **prescribed,
    )
    return person


def clinic_of_every_kind(cast) -> list[str]:
    """make_records' clinic (Monday's doses, missed PM sessions and their alerts, a
    suspension, an exit, a review, an assessed referral, methadone, monitoring
    records, a register section, a token), and on Tuesday morning a dose session in
    each state, a referral at each step, a future prescription version and a draft
    exit plan. Returns the dose sessions' pages, which the crawl starts from."""
    records = make_records(cast)
    person = records["person"]
    # A manager of two clinics is shown the clinic switcher.
    staff_member_add(clinic=cast.clinic_b, user=cast.manager, roles=[Role.MANAGER])
    assessed, topup, observed, withheld, declined = (on_prescription(cast) for _ in range(5))
    titrating = on_prescription(cast, Status.TITRATION)
    schedule(cast, TUESDAY)
    give_dose(cast, session_of(observed, TUESDAY, "AM"), london(TUESDAY, 8, 10))
    session_observe(
        session=session_of(observed, TUESDAY, "AM"),
        observer=cast.nurse,
        outcome="no_concerns",
        now=london(TUESDAY, 8, 45),
    )
    prescription_issue(
        service_user=topup,
        prescriber=cast.prescriber,
        slot_doses={"AM": "60", "PM": "60"},
        topup_max_mg="20",
        reason="Top-up allowed",
        now=london(TUESDAY, 7, 0),
    )
    give_dose(cast, session_of(topup, TUESDAY, "AM"), london(TUESDAY, 8, 40))
    session_assess(
        session=session_of(assessed, TUESDAY, "AM"),
        nurse=cast.nurse,
        identity_confirmed=True,
        poss="1",
        now=london(TUESDAY, 9, 0),
    )
    session_withhold(
        session=session_of(withheld, TUESDAY, "AM"),
        nurse=cast.nurse,
        reason="clinical",
        note="Unwell",
        now=london(TUESDAY, 9, 5),
    )
    session_decline(
        session=session_of(declined, TUESDAY, "AM"), nurse=cast.nurse, now=london(TUESDAY, 9, 6)
    )
    # A version that starts next week can be cancelled; a draft exit plan started.
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "60", "PM": "60"},
        valid_from=MOMENT + dt.timedelta(days=7),
        reason="Next week",
    )
    reducing_plan_create(
        service_user=titrating,
        created_by=cast.prescriber,
        weekly_reduction_percent=Decimal("10"),
        starts_at=MOMENT + dt.timedelta(days=7),
        reason="Planned exit",
        activate=False,
    )
    # The pathway: a new referral to assess, and an accepted one to admit.
    refer(cast, now=RECORDS_MADE)
    accepted(cast, now=RECORDS_MADE)
    assess(cast, refer(cast, now=RECORDS_MADE), now=RECORDS_MADE)
    sessions = DoseSession.objects.filter(clinic=cast.clinic_a).order_by("-clinic_day", "pk")
    return [f"/dosing/sessions/{pk}/" for pk in sessions.values_list("pk", flat=True)]


# The test.


SENT = {"by role": Counter(), "answers": Counter(), "forms": Counter()}


def test_no_form_answers_a_server_error_and_every_refusal_names_a_field(
    cast, settings, capsys, caplog
):
    caplog.set_level("CRITICAL", logger="django.request")
    # Witnesses type their passwords on many forms: a fast hasher keeps the run short.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cast.administrator = make_staff(None, Role.INSTALLATION_ADMIN, username="installer")
    for role in ROLES:
        getattr(cast, role).set_password(PASSWORD)
        getattr(cast, role).save(update_fields=["password"])
    started = time.monotonic()
    failures, reached_anywhere = defaultdict(list), set()
    with time_machine.travel(MOMENT, tick=False):
        session_pages = clinic_of_every_kind(cast)
        for role in ROLES:
            client = cast.client(role)
            forms, reached = crawl(client, ["/", *session_pages])
            reached_anywhere |= reached
            unique = {}
            for form in forms:
                unique.setdefault(form.key(), form)
            SENT["forms"][role] = len(unique)
            for form in unique.values():
                fuzz_form(client, role, form, failures)
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(
            f"\nform fuzzer: {sum(SENT['by role'].values())} submissions to "
            f"{sum(SENT['forms'].values())} forms in {elapsed:.0f} s "
            f"(by role: {dict(SENT['by role'])}; forms by role: {dict(SENT['forms'])}); "
            f"answers: {dict(sorted(SENT['answers'].items()))}"
        )
    missing = page_patterns() - reached_anywhere - NOT_FORMS
    assert not missing, f"no page or form reached for these patterns: {sorted(missing)}"
    if failures:
        pytest.fail(_report(failures), pytrace=False)


def fuzz_form(client, role: str, form: Form, failures) -> None:
    tried, baseline, other = plausible(client, form, role)
    answers = [(tried[-2], baseline), (tried[-1], other)]
    for submission in garbage(form, tried[-2]):
        answers.append((submission, send(client, form, submission)))
    SENT["by role"][role] += len(tried) + len(answers) - 2
    for submission, answer in answers:
        SENT["answers"][answer.outcome] += 1
        if answer.outcome == "server error":
            problem = f"{answer.status}: {answer.message}"
        elif answer.outcome in ("nameless", "conflict", "not found") and not whole_action(
            form, submission, answer, baseline, other
        ):
            problem = f"{answer.status}, no field named: {answer.message}"
        else:
            continue
        failures[(form.describe(), answer.outcome)].append((role, submission, problem))


def _report(failures) -> str:
    """Each failing form once: who, what was sent (the values of its first failing
    submission, then the field each other one changed), and the answer."""
    lines = [f"{len(failures)} forms failed:"]
    for (form, outcome), cases in sorted(failures.items()):
        roles = sorted({role for role, _, _ in cases})
        lines.append(f"- {form}: {outcome}, {len(cases)} submissions, as {', '.join(roles)}")
        sent = {
            name: [_short(v)[1:-1] for v in values]
            for name, values in cases[0][1].data.items()
            if name != "csrfmiddlewaretoken"
        }
        lines.append(f"    values sent: {sent}")
        shown = {}
        for _, submission, problem in cases:
            shown.setdefault(problem, submission.label)
        for problem, label in list(shown.items())[:6]:
            lines.append(f"    {label}: {problem}")
    return "\n".join(lines)
