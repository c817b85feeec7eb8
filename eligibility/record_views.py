"""The record page (issue 18.6): correct a service user's identity, take their photo,
and add or remove a risk flag, each with a reason kept in the record's history."""

from django import forms
from django.shortcuts import render
from django.urls import reverse

from core.forms import Done, form_page

from .forms import TEXT
from .models import Flag
from .record import PHOTO_MAX_BYTES, flag_set, identity_correct, photo_set
from .views import service_user_for


class IdentityForm(forms.Form):
    given_name = forms.CharField(max_length=100, widget=forms.TextInput(attrs=TEXT))
    family_name = forms.CharField(max_length=100, widget=forms.TextInput(attrs=TEXT))
    preferred_name = forms.CharField(
        required=False, max_length=100, widget=forms.TextInput(attrs=TEXT)
    )
    date_of_birth = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date", **TEXT}, format="%Y-%m-%d")
    )
    nhs_number = forms.CharField(
        label="NHS number", max_length=20, widget=forms.TextInput(attrs=TEXT)
    )
    reason = forms.CharField(
        max_length=500,
        help_text="What was wrong, and how you know: kept in the record's history.",
        widget=forms.TextInput(attrs=TEXT),
    )


class FlagForm(forms.Form):
    flag = forms.ChoiceField(
        label="Risk flag", choices=Flag.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    change = forms.ChoiceField(
        label="Change",
        choices=[("add", "Add the flag"), ("remove", "Remove the flag")],
        widget=forms.RadioSelect,
        initial="add",
    )
    reason = forms.CharField(max_length=500, widget=forms.TextInput(attrs=TEXT))


class PhotoForm(forms.Form):
    photo = forms.FileField(
        help_text=f"A photo of the face, from the tablet's camera or a file (JPEG or PNG, "
        f"at most {PHOTO_MAX_BYTES // (1024 * 1024)} MB).",
        widget=forms.FileInput(
            attrs={
                "class": "form-control",
                "accept": "image/jpeg,image/png,image/webp",
                "capture": "user",  # a tablet opens its camera
            }
        ),
    )


FORMS = {"identity": IdentityForm, "flag": FlagForm, "photo": PhotoForm}


def service_user_record(request, pk):
    """Three forms on one page; the one sent is saved, the others shown as they were."""
    person = service_user_for(
        request,
        pk,
        "eligibility.change_serviceuser",
        "Your role does not correct a service user's record.",
    )
    may_flag = request.user.has_perm("eligibility.flag_serviceuser")
    sent = request.POST.get("which") if request.method == "POST" else None
    if sent == "flag" and not may_flag:
        sent = None
    initial = {name: getattr(person, name) for name in IdentityForm.base_fields if name != "reason"}
    built = {
        name: form_class(
            request.POST if name == sent else None,
            request.FILES if name == sent else None,
            prefix=name,
            initial=initial if name == "identity" else None,
        )
        for name, form_class in FORMS.items()
    }
    if not may_flag:
        del built["flag"]

    def page(form, status=200):
        return render(
            request,
            "eligibility/service_user_record.html",
            {"service_user": person, "forms": built},
            status=status,
        )

    back = reverse("service-user-detail", args=[person.pk])

    def save_identity(data):
        identity_correct(service_user=person, by=request.user, **data)
        return Done(back, f"{person.display_name}'s record is corrected.")

    def save_flag(data):
        on = data["change"] == "add"
        flag_set(
            service_user=person, flag=data["flag"], on=on, by=request.user, reason=data["reason"]
        )
        return Done(back, f"{Flag(data['flag']).label}: flag {'added' if on else 'removed'}.")

    def save_photo(data):
        photo_set(service_user=person, upload=data["photo"], by=request.user)
        return Done(back, f"{person.display_name}'s photo is saved.")

    saves = {"identity": save_identity, "flag": save_flag, "photo": save_photo}
    if sent not in built:  # a GET, or a POST naming no form of this page
        return page(None, status=400 if request.method == "POST" else 200)
    return form_page(request, built[sent], save=saves[sent], page=page)
