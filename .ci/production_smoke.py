"""Drive a production deployment over HTTP, as staff would, and fail on anything but 200.

Run by ``.ci/production-smoke`` against gunicorn serving ``hat_clinic.wsgi`` with
``DEBUG=false`` after ``collectstatic``. For each demo role it logs in (the password,
then setting up two-step login with the key the set-up page shows, then out and in
again with a recovery code), opens every page of that role's navigation, and fetches
every static file those pages link to, checking each is served (by whitenoise, under
its hashed name, with a long cache).

It speaks plain HTTP to 127.0.0.1 and sends ``X-Forwarded-Proto: https``, as the TLS
proxy of the README's production section would, so the HTTPS settings stay on. It keeps
cookies itself, because the session and CSRF cookies are ``Secure``.

Usage: production_smoke.py BASE_URL PASSWORD ROLE...
"""

import base64
import hashlib
import hmac
import http.client
import re
import struct
import sys
import time
import urllib.parse
from html.parser import HTMLParser


class Page(HTMLParser):
    """The links, static assets and CSRF token of one page."""

    def __init__(self):
        super().__init__()
        self.nav: list[str] = []
        self.assets: list[str] = []
        self.csrf = ""
        self._in_nav = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav":
            self._in_nav += 1
        if tag == "a" and self._in_nav and attrs.get("href", "").startswith("/"):
            self.nav.append(attrs["href"])
        if tag in ("script", "img") and attrs.get("src", "").startswith("/static/"):
            self.assets.append(attrs["src"])
        if tag == "link" and attrs.get("href", "").startswith("/static/"):
            self.assets.append(attrs["href"])
        if tag == "input" and attrs.get("name") == "csrfmiddlewaretoken":
            self.csrf = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "nav":
            self._in_nav -= 1


class Browser:
    def __init__(self, base: str):
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {
            "Host": self.host,
            "X-Forwarded-Proto": "https",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"https://{self.host}{path}"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        content = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        connection.close()
        return response, content

    def csrf(self) -> str:
        return self.cookies.get("csrftoken", "")

    def page(self, path: str) -> Page:
        response, content = self.request("GET", path)
        check(response.status == 200, f"GET {path} answered {response.status}")
        check(
            "no-store" in (response.getheader("Cache-Control") or ""),
            f"GET {path} may be cached: it carries service users' data",
        )
        check_csp(path, response)
        page = Page()
        page.feed(content.decode())
        return page


failures: list[str] = []


def check(condition: bool, message: str) -> None:
    if not condition:
        failures.append(message)
        print(f"  FAIL {message}")


def check_csp(path: str, response) -> None:
    """The page carries the strict Content-Security-Policy: scripts only from the site
    itself, and nothing inline (issue 16.7)."""
    policy = response.getheader("Content-Security-Policy") or ""
    directives = {
        name: sources
        for name, *sources in (part.split() for part in policy.split(";") if part.strip())
    }
    check(bool(policy), f"GET {path} has no Content-Security-Policy header")
    check(
        directives.get("script-src") == ["'self'"],
        f"GET {path}: script-src is {directives.get('script-src')}, not 'self' alone",
    )
    check("'unsafe-inline'" not in policy, f"GET {path}: the policy allows 'unsafe-inline'")


def log_in(browser: "Browser", role: str, password: str) -> None:
    """The password: which leads to the second step, and to nothing else yet."""
    login = browser.page("/login/")
    response, _ = browser.request(
        "POST",
        "/login/",
        {"username": role, "password": password, "csrfmiddlewaretoken": login.csrf},
    )
    check(
        response.status == 302 and response.getheader("Location") == "/",
        f"{role} login answered {response.status} to {response.getheader('Location')}",
    )
    response, _ = browser.request("GET", "/")
    check(
        response.status == 302 and response.getheader("Location", "").startswith("/two-factor/"),
        f"{role}'s password alone opened / ({response.status}): the second factor was skipped",
    )


def enrol(browser: "Browser", role: str) -> list[str]:
    """Set up an authenticator as a new member of staff does: read the key the set-up
    page shows beside its QR code, type the code it gives. Returns the recovery codes."""
    response, content = browser.request("GET", "/two-factor/setup/?next=/")
    check(response.status == 200, f"{role}'s set-up page answered {response.status}")
    html = content.decode()
    check("<svg" in html, f"{role}'s set-up page shows no QR code")
    key = re.search(r'data-testid="setup-key">([A-Z2-7 ]+)<', html)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not (key and csrf):
        check(False, f"{role}'s set-up page shows no key to type")
        return [""]
    response, content = browser.request(
        "POST",
        "/two-factor/setup/",
        {"code": totp(key.group(1)), "next": "/", "csrfmiddlewaretoken": csrf.group(1)},
    )
    codes = re.findall(r"<li>([a-z2-7]{4}-[a-z2-7]{4})</li>", content.decode())
    check(response.status == 200 and len(codes) == 10, f"{role}'s set-up was not confirmed")
    print(f"  set up two-step login, {len(codes)} recovery codes")
    return codes or [""]


def totp(key: str, step: int = 30, digits: int = 6) -> str:
    """RFC 6238: the code an authenticator app shows now for this base32 key."""
    secret = base64.b32decode(key.replace(" ", ""))
    counter = struct.pack(">Q", int(time.time()) // step)
    digest = hmac.new(secret, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 10**digits:0{digits}d}"


def smoke_role(base: str, password: str, role: str, assets_seen: set[str]) -> None:
    print(f"{role}:")
    browser = Browser(base)
    log_in(browser, role, password)
    recovery_codes = enrol(browser, role)
    # Out, and in again with the second factor: a recovery code this time (an app's
    # code would be the one just used, which is rightly refused for its 30 seconds).
    response, _ = browser.request("POST", "/logout/", {"csrfmiddlewaretoken": browser.csrf()})
    log_in(browser, role, password)
    second_step = browser.page("/two-factor/?next=/")
    response, _ = browser.request(
        "POST",
        "/two-factor/",
        {"code": recovery_codes[0], "next": "/", "csrfmiddlewaretoken": second_step.csrf},
    )
    check(
        response.status == 302 and response.getheader("Location") == "/",
        f"{role}'s recovery code answered {response.status} to {response.getheader('Location')}",
    )
    home = browser.page("/")
    pages = sorted(set(home.nav) - {"/logout/"})
    check(len(pages) >= 2, f"{role} sees only {pages} in the navigation")
    for path in pages:
        page = browser.page(path)
        print(f"  200 {path}")
        for asset in page.assets:
            if asset in assets_seen:
                continue
            assets_seen.add(asset)
            response, content = browser.request("GET", asset)
            check(response.status == 200 and content, f"{asset} answered {response.status}")
            check(
                re.search(r"\.[0-9a-f]{12}\.\w+$", asset) is not None,
                f"{asset} is not a hashed name: collectstatic's manifest was not used",
            )
            check(
                "max-age=315360000" in (response.getheader("Cache-Control") or ""),
                f"{asset} is not served by whitenoise with a long cache",
            )


def main() -> int:
    base, password, *roles = sys.argv[1:]
    assets: set[str] = set()
    for role in roles:
        smoke_role(base, password, role, assets)
    check(any(a.endswith(".css") for a in assets), "no stylesheet was linked")
    check(any(a.endswith(".js") for a in assets), "no script was linked")
    print(f"{len(roles)} roles, {len(assets)} static files checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
