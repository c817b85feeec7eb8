"""Integration tokens in the browser: a manager issues one for a system (a pharmacy
reporting methadone collections), sees its key once, and revokes it (docs/api.md)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.errors import Conflict
from core.forms import form_page

from .models import IntegrationToken
from .selectors import current_clinic
from .tokens import TOKEN_ROLES, token_issue, token_revoke


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=120, help_text="Who will use it, e.g. the pharmacy's name and branch."
    )
    role = forms.ChoiceField(choices=[(role.value, role.label) for role in TOKEN_ROLES])
    pharmacy = forms.ModelChoiceField(
        queryset=None,
        help_text="It reports only for the people whose methadone this pharmacy dispenses.",
    )

    def __init__(self, clinic, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pharmacy"].queryset = clinic.pharmacies.order_by("name")


@permission_required("eligibility.add_integrationtoken", raise_exception=True)
def integration_tokens(request):
    clinic = current_clinic(request)
    form = TokenForm(clinic, request.POST or None)

    def page(form, issued=None):
        return render(
            request,
            "eligibility/integration_tokens.html",
            {
                "form": form,
                "issued": issued,
                "tokens": IntegrationToken.objects.filter(clinic=clinic).select_related(
                    "created_by", "revoked_by", "pharmacy"
                ),
            },
        )

    def save(data):
        token, key = token_issue(clinic=clinic, created_by=request.user, **data)
        # The key is shown once, on this page, never in a URL or a redirect.
        return page(TokenForm(clinic), issued={"token": token, "key": key})

    return form_page(request, form, save=save, page=page)


@require_POST
@permission_required("eligibility.change_integrationtoken", raise_exception=True)
def integration_token_revoke(request, pk):
    token = get_object_or_404(IntegrationToken, pk=pk, clinic=current_clinic(request))
    try:
        token_revoke(token=token, revoked_by=request.user)
    except Conflict as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"The token for {token.name} is revoked: it no longer works.")
    return redirect("integration-tokens")
