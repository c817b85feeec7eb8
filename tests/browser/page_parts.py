"""What a browser test reads on any form page: the message after a save, a field by
its label, and the refusal standing beside a field."""


def told(page, text: str):
    """The message shown at the top of the page after a save."""
    return page.get_by_role("alert").filter(has_text=text)


def field(page, label: str):
    return page.get_by_label(label, exact=True)


def error_beside(page, name: str):
    """The refusal beside the field of this HTML name."""
    return page.locator(f'[data-error-for="{name}"]')
