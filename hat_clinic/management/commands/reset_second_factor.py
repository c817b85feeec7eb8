"""Reset a member of staff's second factor on the server: for an installation
administrator, or a clinic whose only manager lost their phone and recovery codes.
Managers reset their own staff's on the Staff page."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from eligibility.second_factor import reset


class Command(BaseCommand):
    help = (
        "Remove a member of staff's authenticator app and recovery codes: at their next "
        "login they set up an authenticator again. Recorded in the second-factor log."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="Whose second factor to reset.")

    def handle(self, *args, username, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as error:
            raise CommandError(f"No user {username!r}.") from error
        reset(user=user)
        self.stdout.write(
            f"Reset {username}'s second factor: they set up an authenticator app at their "
            "next login."
        )
