"""Register sections in the browser's forms and the API (issue 18.4): a manager opens
a section for a strength the clinic has not held; the same strength twice, a second
dose-supply section and a nonsense strength are refused by name; nobody else opens
one."""

import pytest
from django.urls import reverse

from dosing.models import RegisterSection
from dosing.register import register_section_add
from tests.conftest import EVERYONE

pytestmark = pytest.mark.django_db


def open_section(cast, who="manager", **body):
    return cast.client(who).post(
        reverse("register-index"), {"strength_mg": "100", "form": "ampoule", **body}
    )


def test_a_manager_opens_a_section_that_supplies_doses_at_a_balance_of_nothing(cast):
    page = cast.client("manager").get(reverse("register-index"))
    assert "Open a section" in page.content.decode()
    answer = open_section(cast, supplies_doses="on")
    assert answer.status_code == 302
    section = RegisterSection.objects.get(clinic=cast.clinic_a)
    assert (str(section), section.supplies_doses, section.balance_mg) == (
        "Diamorphine hydrochloride 100 mg ampoule",
        True,
        0,
    )
    listed = cast.client("nurse").get(reverse("register-index")).content.decode()
    assert "Diamorphine hydrochloride 100 mg ampoule" in listed
    assert "Open a section" not in listed, "a nurse is not offered the form"


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"strength_mg": "100"}, "strength_mg", "already has a section"),
        ({"strength_mg": "500", "supplies_doses": "on"}, "supplies_doses", "supplies the doses"),
        ({"strength_mg": "0"}, "strength_mg", "greater than or equal to 0.01"),
        ({"strength_mg": "abc"}, "strength_mg", "Enter a number"),
        ({"strength_mg": "5000"}, "strength_mg", "less than or equal to 1000"),
    ],
)
def test_each_refusal_stands_by_its_field_and_opens_nothing(cast, body, field, says):
    register_section_add(clinic=cast.clinic_a, strength_mg="100", supplies_doses=True)
    answer = open_section(cast, **body)
    assert answer.status_code == 400
    assert says in " ".join(answer.context["form"].errors[field])
    assert 'value="ampoule"' in answer.content.decode(), "what was typed is kept"
    assert RegisterSection.objects.filter(clinic=cast.clinic_a).count() == 1


@pytest.mark.parametrize("who", [w for w in EVERYONE if w != "manager"])
def test_nobody_else_opens_a_section(cast, who):
    answer = open_section(cast, who=who)
    assert answer.status_code == (302 if who is None else 403)
    assert not RegisterSection.objects.filter(clinic=cast.clinic_a).exists()


def test_the_api_opens_lists_and_refuses_a_second_of_the_same_strength(cast):
    client = cast.client("manager")
    url = "/api/v1/cd-register/sections/"
    made = client.post(url, {"strength_mg": "500"}, content_type="application/json")
    assert made.status_code == 201, made.json()
    assert (made.json()["strength_mg"], made.json()["balance_mg"]) == ("500.00", "0.00")
    again = client.post(url, {"strength_mg": "500.00"}, content_type="application/json")
    assert again.status_code == 400
    assert (again.json()["code"], again.json()["field"]) == ("section_exists", "strength_mg")
    listed = cast.client("nurse").get(url).json()["results"]
    assert [row["name"] for row in listed] == ["Diamorphine hydrochloride 500 mg ampoule"]
    assert cast.client("nurse_b").get(url).json()["results"] == [], "another clinic's"
    refused = cast.client("nurse").post(url, {"strength_mg": "10"}, content_type="application/json")
    assert refused.status_code == 403
