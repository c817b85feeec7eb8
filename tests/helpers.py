"""Small assertions shared by the test modules."""

from html.parser import HTMLParser

import pytest
from django.utils.html import escape

from core.errors import RuleViolation


def refused(code, call, **kwargs) -> RuleViolation:
    """Call a service and expect it to refuse with this code; returns the refusal."""
    with pytest.raises(RuleViolation) as refusal:
        call(**kwargs)
    assert refusal.value.code == code, refusal.value.message
    return refusal.value


class _Forms(HTMLParser):
    """Every <form> of a page with what a browser would send for it as it stands."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"attrs": attrs, "data": {}})
        elif not self.forms:
            return
        data = self.forms[-1]["data"] if self.forms else {}
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button"):
            if attrs.get("type") in ("checkbox", "radio"):
                if "checked" in attrs:
                    data[name] = attrs.get("value", "on")
            else:
                data[name] = attrs.get("value", "")
        elif tag == "select" and name:
            self._select = name
            data.setdefault(name, None)
        elif tag == "option" and self._select:
            if data.get(self._select) is None or "selected" in attrs:
                data[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, text):
        if getattr(self, "_textarea", None) and self.forms:
            self.forms[-1]["data"][self._textarea] += text.lstrip("\n")


def form_data(html: str, **attrs) -> dict:
    """What the browser would submit for the page's form whose attributes match
    ``attrs`` (e.g. ``aria_label="Correct the observation"``), before any change."""
    parser = _Forms()
    parser.feed(html)
    wanted = {key.replace("_", "-"): value for key, value in attrs.items()}
    for form in parser.forms:
        if all(form["attrs"].get(key) == value for key, value in wanted.items()):
            return dict(form["data"])
    raise AssertionError(f"No form with {wanted} on the page")


def names_staff(text: str, user, *, html: bool = True) -> None:
    """A page (or, with html=False, a CSV) names the member of staff by their full
    name, never by their bare username."""
    name = user.get_full_name()
    assert name, "the member of staff needs a name for this check"
    assert (escape(name) if html else name) in text
    assert user.username not in text
