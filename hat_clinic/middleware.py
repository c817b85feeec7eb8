"""Request plumbing: login everywhere, the session's lifetime, the current clinic, and
JSON for every error under /api/."""

import datetime as dt
from http import HTTPStatus

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.utils import timezone

from eligibility.selectors import clinics_for_staff

SESSION_STARTED_KEY = "hat_session_started_at"
CURRENT_CLINIC_KEY = "hat_current_clinic_id"


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Every page needs a login. The API answers for itself: DRF refuses an
    anonymous request with a 403 rather than a redirect to the login page."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class SessionLifetimeMiddleware:
    """Ends a session 12 hours after login whatever the activity.

    The 30-minute idle limit is the cookie age, renewed on each request
    (SESSION_SAVE_EVERY_REQUEST); this adds the absolute cap, so a dosing-room
    PC left logged in through a shift change does not stay signed in.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = timezone.now()
            started = request.session.get(SESSION_STARTED_KEY)
            if started is None:
                request.session[SESSION_STARTED_KEY] = now.isoformat()
            elif now - dt.datetime.fromisoformat(started) >= settings.SESSION_ABSOLUTE_LIFETIME:
                logout(request)
                if request.path_info.startswith("/api/"):
                    return self.get_response(request)
                messages.info(
                    request, "Your session reached its 12-hour limit. Please log in again."
                )
                return redirect_to_login(request.get_full_path())
        return self.get_response(request)


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
        if request.clinic is not None:
            # Times on the page and typed into forms are the clinic's local times.
            timezone.activate(request.clinic.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class ApiErrorsAsJsonMiddleware:
    """An API error is always JSON (API.md), whatever raised it.

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
