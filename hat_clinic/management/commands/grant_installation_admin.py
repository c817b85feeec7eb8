"""Give (or, with --revoke, take away) the installation administrator's role: held on
the account, in no clinic, it opens clinics with their first manager. No manager can
grant it from the browser; this command, on the server, does."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from core.roles import Role


class Command(BaseCommand):
    help = "Give an account the installation administrator's role (or --revoke it)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true", help="Take the role away.")

    def handle(self, *args, username, revoke, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account called {username}: make it first (createsuperuser).")
        role = Group.objects.get(name=Role.INSTALLATION_ADMIN.value)
        if revoke:
            user.groups.remove(role)
            self.stdout.write(f"{username} is no longer an installation administrator.")
        else:
            user.groups.add(role)
            self.stdout.write(
                f"{username} is an installation administrator: Clinics, in the navigation, "
                "opens a clinic."
            )
