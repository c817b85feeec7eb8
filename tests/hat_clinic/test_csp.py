"""A strict Content-Security-Policy (issue 16.7): every page carries it, and no
template, nor any page as rendered, holds an inline script, an inline event handler, a
``javascript:`` URL or a style attribute, which the policy would refuse to run.

Behaviour lives in static/js/clinic.js (attached by data attributes) and sizes in
static/css/clinic.css; data for scripts goes in json_script blocks, which are
``type="application/json"`` and never run. tests/browser/test_csp.py checks in
Chromium that no page breaks the policy and that the moved behaviour still works.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from dosing.register import register_section_add
from tests.conftest import CAST_A
from tests.factories import make_staff

# The policy, directive by directive, as it must be sent.
POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "font-src": {"'self'"},
    "connect-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "form-action": {"'self'"},
    "frame-ancestors": {"'none'"},
}


def policy_of(response) -> dict[str, set[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']}: no Content-Security-Policy header"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = set(sources)
    return directives


def assert_strict_policy(response) -> None:
    path = response.request["PATH_INFO"]
    assert policy_of(response) == POLICY, f"{path}: {response['Content-Security-Policy']}"
    assert "Content-Security-Policy-Report-Only" not in response, path
    # Sent by NoStoreMiddleware, beside the policy.
    assert "camera=()" in response["Permissions-Policy"], path


# What the policy would refuse, in a template's source. An inline handler is an
# attribute on...= (onclick, onchange, onsubmit...) or htmx's hx-on, which evaluates
# its value; a style attribute or a <style> element is an inline style.
HANDLER = re.compile(r"""(?:^|[\s"'/])(on[a-z]+|hx-on[:\-][\w:.\-]*)\s*=""", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"""(?:^|[\s"'/])style\s*=""", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"javascript\s*:", re.IGNORECASE)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
JSON_TYPE = re.compile(r"""\btype\s*=\s*["']?application/(?:ld\+)?json\b""", re.IGNORECASE)
SRC = re.compile(r"\bsrc\s*=", re.IGNORECASE)
# A tag's opening: from < and a name to the next >, template tags inside it included.
TAG = re.compile(r"<[a-zA-Z][\w-]*(?:\{[{%#].*?[}%#]\}|[^>{]|\{(?![{%#]))*>", re.DOTALL)


def template_problems(source: str) -> list[str]:
    """Each thing in a template's source that the policy would not run or apply."""
    problems = []
    text = re.sub(r"\{#.*?#\}", "", source)  # template comments are never sent
    text = re.sub(r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", "", text, flags=re.DOTALL)
    for found in TAG.findall(text):
        # A template tag or variable inside the tag: its words are not attributes, and
        # an attribute just after it ({% if x %}onclick=) is still one.
        tag = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", " ", found, flags=re.DOTALL)
        if match := HANDLER.search(tag):
            problems.append(f"inline event handler {match.group(1)}= in {tag[:80]!r}")
        if STYLE_ATTRIBUTE.search(tag):
            problems.append(f"style attribute in {tag[:80]!r}")
    for attributes in SCRIPT_TAG.findall(text):
        if not SRC.search(attributes) and not JSON_TYPE.search(attributes):
            problems.append(f"inline script <script{attributes}>")
    if STYLE_ELEMENT.search(text):
        problems.append("inline <style> element")
    if JAVASCRIPT_URL.search(text):
        problems.append("javascript: URL")
    return problems


def project_templates() -> list[Path]:
    """Every template of the project: the template folders of settings and of its apps
    (not the virtualenv's, nor run-time files)."""
    root = Path(settings.BASE_DIR)
    skip = {".venv", "venv", "node_modules", ".git", "var"}
    found = []
    for path in root.rglob("*.html"):
        parts = path.relative_to(root).parts
        if "templates" in parts and not skip & set(parts) and not parts[0].startswith("."):
            found.append(path)
    return sorted(found)


def test_no_template_holds_an_inline_script_handler_style_or_javascript_url():
    templates = project_templates()
    assert len(templates) >= 40, f"only {len(templates)} templates found: the scan looks wrong"
    problems = [
        f"{path.relative_to(settings.BASE_DIR)}: {problem}"
        for path in templates
        for problem in template_problems(path.read_text())
    ]
    assert not problems, "The CSP would refuse these:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "source",
    [
        '<button type="button" onclick="window.print()">Print</button>',
        "<select name=clinic ONCHANGE='this.form.submit()'>",
        '<form method="post"\n      onsubmit="return confirm(1)">',
        '<a class="x{% if a %} y{% endif %}" onmouseover="go()">',
        '<a href="/"{% if a %}onclick="go()"{% endif %}>',
        '<div hx-on:click="alert(1)">',
        '<div hx-on::after-request="go()">',
        '<div class="card" style="max-width: 40rem">',
        "<img class=avatar style=width:5rem>",
        "<script>alert(1)</script>",
        '<script type="module">go()</script>',
        "<style>body { margin: 0 }</style>",
        '<a href="javascript:history.back()">Back</a>',
        '<a href="JavaScript :void(0)">',
    ],
)
def test_the_template_scan_catches(source):
    assert template_problems(source), source


@pytest.mark.parametrize(
    "source",
    [
        "<script src=\"{% static 'js/clinic.js' %}\" defer></script>",
        '<script id="x"\n  src="/static/x.js"></script>',
        '<script type="application/json" id="d">{"a": 1}</script>',
        '<button type="button" data-print>Print</button>',
        '<select data-submit-on-change aria-controls="m" aria-expanded="false">',
        '<meta name="viewport" content="width=device-width">',
        '{# style="x" onclick="y" #}<p>Depends on=the clinic; the style = calm.</p>',
        '<a class="nav-link{% if x %} active" aria-current="page{% endif %}" href="/">',
        "<option{% if none == option %} selected{% endif %}>",
    ],
)
def test_the_template_scan_passes(source):
    assert template_problems(source) == [], source


class InlineFinder(HTMLParser):
    """The same things in a page as sent: what a widget or a filter added counts too."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on") or name.startswith("hx-on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name == "style":
                self.problems.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action", "formaction") and (value or "").replace(
                " ", ""
            ).lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "style":
            self.problems.append("<style> element")
        if (
            tag == "script"
            and "src" not in attributes
            and attributes.get("type") != "application/json"
        ):
            self.problems.append(f"inline <script {attributes}>")


def inline_in(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.problems


def check_page(client: Client, path: str, problems: list[str], *, page_only=True) -> int:
    """Checks the policy on the answer to GET path, and, for a page, that nothing in it
    is inline. Answers the status."""
    response = client.get(path)
    if page_only:
        assert response.status_code == 200, f"{path}: HTTP {response.status_code}"
    assert_strict_policy(response)
    if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
        problems.extend(f"{path}: {found}" for found in inline_in(response.content.decode()))
    return response.status_code


def test_the_login_page_carries_the_policy(db):
    client = Client()
    response = client.get("/login/")
    assert response.status_code == 200
    assert_strict_policy(response)
    assert inline_in(response.content.decode()) == []
    # A refused login, and the redirect a page answers an anonymous visitor with.
    refused = client.post("/login/", {"username": "nobody", "password": "wrong-password"})
    assert_strict_policy(refused)
    assert_strict_policy(client.get("/service-users/"))


def test_the_policy_allows_no_inline_code_nor_eval():
    sent = Client().get("/login/")["Content-Security-Policy"]
    for word in ("unsafe-inline", "unsafe-eval", "unsafe-hashes", "nonce-", "sha256-", "*"):
        assert word not in sent, sent


def test_every_page_of_every_role_carries_the_policy_and_nothing_inline(cast):
    """Every route of the URLconf, filled with records of every kind as the tablet test
    fills them, for each role: every answer carries the policy (a refusal, a redirect,
    an action's 405 too), and no page holds anything inline."""
    from tests.browser.test_tablet import TUE, paths_for, records_by_route, url_patterns
    from tests.monitoring.scan_setup import london

    # Tuesday 09:00, as the tablet test: Monday's sessions are done, Tuesday's are open.
    with time_machine.travel(london(TUE, 9), tick=True):
        records = records_by_route(cast)
        routes, _ = url_patterns()
        problems: list[str] = []
        pages = 0
        for role in CAST_A:
            client = cast.client(role)
            for route, _ in routes:
                try:
                    paths = paths_for(route, records)
                except AssertionError:
                    # No records for its arguments yet: the tablet test, which needs
                    # every route opened, asks for them in records_by_route.
                    continue
                for path in paths:
                    status = check_page(client, path, problems, page_only=False)
                    pages += status == 200
            check_page(client, "/api/v1/docs/", problems)
    assert pages >= 100, f"only {pages} pages answered 200: the set-up looks broken"
    assert not problems, "Inline code or style in pages as sent:\n" + "\n".join(problems)


def test_the_api_docs_load_their_script_from_a_url_under_the_policy(cast):
    client = cast.client("nurse")
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    assert_strict_policy(page)
    html = page.content.decode()
    assert inline_in(html) == []
    script = re.search(r'<script src="([^"]*\?script=[^"]*)"', html)
    assert script, "Swagger UI's start-up script is not loaded from its own URL"
    answer = client.get(script.group(1).replace("&amp;", "&"))
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in answer.content
    assert "/api/v1/schema/" in answer.content.decode()


def test_the_admin_carries_the_policy_and_nothing_inline(client, cast, service_user_a):
    section = register_section_add(clinic=cast.clinic_a, strength_mg="100")
    admin = make_staff(None, is_staff=True, is_superuser=True)
    client.force_login(admin)
    problems: list[str] = []
    paths = [
        "/admin/",
        "/admin/eligibility/serviceuser/",
        f"/admin/eligibility/serviceuser/{service_user_a.pk}/change/",
        f"/admin/eligibility/serviceuser/{service_user_a.pk}/history/",
        "/admin/auth/user/",
        f"/admin/auth/user/{admin.pk}/change/",
        "/admin/dosing/registerentry/",
        f"/admin/dosing/registersection/{section.pk}/change/",
    ]
    for path in paths:
        check_page(client, path, problems)
    assert not problems, "Inline code or style in the admin:\n" + "\n".join(problems)
