"""The second factor's pages: the second step of logging in, setting up an
authenticator app, one's own recovery codes, and the managers' staff page, where a
lost phone's second factor is reset."""

from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from core.forms import Done, form_page
from core.roles import staff_name

from . import second_factor
from .selectors import current_clinic


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "autofocus": True,
                "class": "form-control form-control-lg",
                "spellcheck": "false",
                "autocapitalize": "off",
            }
        ),
        error_messages={"required": "Type the code your authenticator app shows."},
    )


def _next(request) -> str:
    """Where to go once the second factor is passed: the page asked for, if it is ours."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("code")
def two_factor(request):
    """The second step of logging in: a code from the authenticator, or a recovery code."""
    user = request.user  # logged in: LoginRequiredMiddleware sees to that
    if user.is_verified():
        return redirect(_next(request))
    if not second_factor.is_enrolled(user):
        return redirect(f"{reverse('two-factor-setup')}?next={quote(_next(request))}")
    form = CodeForm(request.POST or None)

    def save(data):
        left = second_factor.verify(request, data["code"])
        request.session.cycle_key()
        return Done(
            _next(request),
            warning=""
            if left is None
            else f"You logged in with a recovery code, which now no longer works. "
            f"You have {left} left: make new ones on your Two-step login page "
            "if you are running out.",
        )

    return form_page(
        request,
        form,
        save=save,
        template="registration/two_factor.html",
        context={"next": _next(request)},
    )


@sensitive_post_parameters("code")
def two_factor_setup(request):
    """Set up an authenticator app: scan the QR code (or type the key), then type the
    code it shows. A password alone may set one up only for an account that has none;
    replacing one needs a session that passed the second factor."""
    user = request.user  # logged in: LoginRequiredMiddleware sees to that
    if second_factor.is_enrolled(user) and not user.is_verified():
        return redirect(f"{reverse('two-factor')}?next={quote(_next(request))}")
    form = CodeForm(request.POST or None)

    def save(data):
        codes = second_factor.enrol_confirm(request, data["code"])
        request.session.cycle_key()
        # Shown once, here: never kept where a redirect could show them again.
        return render(
            request,
            "registration/recovery_codes.html",
            {"codes": codes, "next": _next(request), "first_time": True},
        )

    return form_page(
        request,
        form,
        save=save,
        page=lambda form: render(
            request,
            "registration/two_factor_setup.html",
            {
                "form": form,
                "enrolment": second_factor.enrol_start(request),
                "next": _next(request),
            },
        ),
    )


def two_factor_account(request):
    """One's own second factor: since when, recovery codes left, and the ways to renew."""
    return render(
        request,
        "registration/two_factor_account.html",
        {
            "device": second_factor.confirmed_device(request.user),
            "recovery_left": second_factor.recovery_left(request.user),
        },
    )


@require_POST
def recovery_codes_renew(request):
    codes = second_factor.recovery_renew(request.user)
    return render(
        request,
        "registration/recovery_codes.html",
        {"codes": codes, "next": reverse("two-factor-account"), "first_time": False},
    )


@permission_required("eligibility.reset_second_factor", raise_exception=True)
def staff_second_factor_reset(request, pk):
    """A manager resets a member of staff's second factor (a lost or new phone): asked
    to confirm, then done. Only staff of the clinic the manager is working in; never
    their own nor an administrator's, which the page says instead of offering."""
    clinic = current_clinic(request)
    membership = get_object_or_404(second_factor.staff_of([clinic]), pk=pk)
    refusal = second_factor.reset_refusal(user=membership.user, by=request.user)
    if request.method == "POST" and refusal is None:
        second_factor.reset(user=membership.user, by=request.user, clinic=clinic)
        messages.success(
            request,
            f"{staff_name(membership.user)}'s second factor is reset: they set up an "
            "authenticator app again when they next log in.",
        )
        return redirect("staff-list")
    return render(
        request,
        "eligibility/staff_reset.html",
        {"membership": membership, "refusal": refusal.message if refusal else None},
        status=400 if refusal and request.method == "POST" else 200,
    )
