"""The clinic's icon (issue 14.11): every page links it, and /favicon.ico, which
browsers ask for whatever the page says, leads to it without a login."""

from xml.etree import ElementTree

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse

from tests.conftest import EVERYONE

pytestmark = pytest.mark.django_db

ICON = "favicon.svg"


def test_the_icon_is_a_static_svg_file():
    path = finders.find(ICON)
    assert path, f"static/{ICON} is missing"
    assert ElementTree.parse(path).getroot().tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.parametrize("who", EVERYONE)
def test_favicon_ico_leads_to_the_icon_for_anyone_logged_in_or_not(cast, who):
    response = cast.client(who).get("/favicon.ico")
    assert response.status_code == 302
    assert response.url == static(ICON)


@pytest.mark.parametrize(("who", "page"), [(None, "login"), ("nurse", "home")])
def test_pages_link_the_icon(cast, who, page):
    response = cast.client(who).get(reverse(page))
    assert response.status_code == 200
    assert f'<link rel="icon" href="{static(ICON)}" type="image/svg+xml">' in response.text
