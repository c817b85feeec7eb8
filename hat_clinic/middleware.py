"""Request plumbing: login everywhere, the session's lifetime, the current clinic, and
JSON for every error under /api/."""

import datetime as dt
from http import HTTPStatus
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import JsonResponse
from django.shortcuts import redirect, resolve_url
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django_htmx.http import HttpResponseClientRedirect

from eligibility.permissions import act_in
from eligibility.selectors import clinics_for_staff

SESSION_STARTED_KEY = "hat_session_started_at"
CURRENT_CLINIC_KEY = "hat_current_clinic_id"


# A request a page makes on its own (the dosing board's 30-second poll) says so with
# this header. It is answered, but it is not activity: it does not renew the idle time.
AUTOMATIC_HEADER = "X-Automatic-Request"
LAST_ACTIVE_KEY = "hat_last_active_at"


def is_automatic(request) -> bool:
    return request.headers.get(AUTOMATIC_HEADER) == "1"


def to_login(request, message: str | None = None):
    """Off to the login page, and back here after."""
    if message:
        messages.info(request, message)
    return _to_and_back(request, settings.LOGIN_URL)


def to_second_factor(request):
    """Off to the second step of logging in, and back here after."""
    return _to_and_back(request, "two-factor")


def _to_and_back(request, to: str):
    """A redirect to ``to`` whose ``next`` is this page. An htmx request (the board's
    poll) gets HX-Redirect with the page it was polled from, so the whole page goes
    there: a locked board, not a login form swapped into the board's table."""
    if request.htmx:
        back = quote(request.htmx.current_url_abs_path or "/")
        return HttpResponseClientRedirect(f"{resolve_url(to)}?next={back}")
    return redirect(f"{resolve_url(to)}?next={quote(request.get_full_path())}")


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Every page needs a login. The API answers for itself: DRF refuses an
    anonymous request with a 403 rather than a redirect to the login page."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

    def handle_no_permission(self, request, view_func):
        return to_login(request)


class SessionLifetimeMiddleware:
    """Ends a session after SESSION_IDLE without activity, and 12 hours after login
    whatever the activity.

    Activity is any request but an automatic one: the board's poll is answered while
    the session lasts, but does not renew it, so an unattended dosing-room PC locks
    after the idle time. The last activity is kept in the session, which is saved
    (and its cookie renewed) only when that changes. The absolute cap means a PC left
    logged in through a shift change does not stay signed in either.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            ended = self._ended(request, timezone.now())
            if ended:
                logout(request)
                if request.path_info.startswith("/api/"):
                    return self.get_response(request)
                return to_login(request, ended)
        return self.get_response(request)

    @staticmethod
    def _ended(request, now) -> str | None:
        session = request.session
        started = session.get(SESSION_STARTED_KEY)
        if started is None:
            session[SESSION_STARTED_KEY] = now.isoformat()
        elif now - dt.datetime.fromisoformat(started) >= settings.SESSION_ABSOLUTE_LIFETIME:
            hours = int(settings.SESSION_ABSOLUTE_LIFETIME.total_seconds() // 3600)
            return f"Your session reached its {hours}-hour limit. Please log in again."
        last_active = session.get(LAST_ACTIVE_KEY)
        if last_active and now - dt.datetime.fromisoformat(last_active) >= settings.SESSION_IDLE:
            minutes = int(settings.SESSION_IDLE.total_seconds() // 60)
            return (
                f"You were logged out after {minutes} minutes without activity. "
                "Please log in again."
            )
        if not is_automatic(request):
            session[LAST_ACTIVE_KEY] = now.isoformat()
        return None


class SecondFactorMiddleware:
    """A password alone opens nothing (issue 16.2): a logged-in member of staff whose
    session has not passed the second factor reaches only the pages that ask for it
    (and logging out). Pages, the API's session and the admin are all behind it.
    Integration tokens are not sessions, so they are untouched.

    Off only where settings.TWO_FACTOR_REQUIRED is false, which settings refuse with
    DEBUG off.
    """

    # Reachable with a password alone: the second-factor pages, logging in and out.
    OPEN = (
        "/two-factor/",
        "/login/",
        "/logout/",
        "/admin/login/",
        "/admin/logout/",
        "/static/",
        "/favicon.ico",
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            settings.TWO_FACTOR_REQUIRED
            and user.is_authenticated
            and not user.is_verified()
            and not request.path_info.startswith(self.OPEN)
        ):
            if request.path_info.startswith("/api/"):
                return JsonResponse(
                    {
                        "detail": "Log in with your second factor first: this session "
                        "has passed only the password.",
                        "code": "second_factor_required",
                    },
                    status=HTTPStatus.FORBIDDEN,
                )
            return to_second_factor(request)
        return self.get_response(request)


class NoStoreMiddleware:
    """Nothing the app answers is kept by a browser or a proxy: pages and the API carry
    service users' data (issue 16.7). Static files are served before this, by
    whitenoise, with their own long cache. Also sends Permissions-Policy: the app uses
    no camera, microphone, location or payment, so no page, nor anything injected into
    one, may ask for them."""

    PERMISSIONS_POLICY = (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
        "interest-cohort=(), browsing-topics=()"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        response.headers.setdefault("Permissions-Policy", self.PERMISSIONS_POLICY)
        return response


class CurrentClinicMiddleware:
    """Sets ``request.clinic``: the clinic this member of staff is working in now.

    Staff of several clinics choose one in the navigation; the choice is kept in
    the session and checked against their memberships on every request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.clinic = None
        request.staff_clinics = []
        if request.user.is_authenticated:
            request.staff_clinics = list(clinics_for_staff(request.user).order_by("name"))
            chosen = request.session.get(CURRENT_CLINIC_KEY)
            by_id = {clinic.pk: clinic for clinic in request.staff_clinics}
            request.clinic = by_id.get(chosen) or next(iter(request.staff_clinics), None)
            if not request.path_info.startswith("/api/"):
                # A page acts in this clinic: its checks are of the roles held here, and
                # it reaches this clinic's records only. The API decides per action.
                act_in(request.user, [request.clinic.pk] if request.clinic else [])
        if request.clinic is not None:
            # Times on the page and typed into forms are the clinic's local times.
            timezone.activate(request.clinic.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class ApiErrorsAsJsonMiddleware:
    """An API error is always JSON (docs/api.md), whatever raised it.

    DRF answers its own errors in JSON. What it does not catch (an exception in a
    view, a middleware or a template, an unknown path) Django turns into an HTML page:
    the technical page with DEBUG on, the plain 500 page with it off. Under /api/ that
    page becomes a JSON body with the same status. Django has already logged the
    exception with its traceback (the django.request logger) and sent
    got_request_exception, so error reporting, and the test client, which re-raises
    it unless told not to, see it as before. With DEBUG on, the body also names the
    exception, as the technical page would."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            not request.path_info.startswith("/api/")
            or response.status_code < 400
            or "json" in response.get("Content-Type", "")
        ):
            return response
        status = response.status_code
        try:
            known = HTTPStatus(status)
            body = {"detail": f"{known.phrase}.", "code": known.name.lower()}
        except ValueError:  # a status without a name
            body = {"detail": "Error.", "code": "error"}
        if status >= 500:
            body["detail"] = "Server error: the request was not completed. It has been logged."
            exception = getattr(request, "_api_exception", None)
            if settings.DEBUG and exception is not None:
                body["exception"] = f"{type(exception).__name__}: {exception}"
        return JsonResponse(body, status=status)

    def process_exception(self, request, exception):
        # Kept for the body above; Django goes on to log it and answer as usual.
        request._api_exception = exception
