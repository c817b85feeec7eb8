"""Make or revoke an integration token from the command line (for a pharmacy's
system). The key is printed once; only its hash is kept."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.errors import RuleViolation
from core.roles import Role
from eligibility.models import Clinic, IntegrationToken
from eligibility.tokens import token_issue, token_revoke


class Command(BaseCommand):
    help = "Make an integration token for a clinic (printing its key once), or revoke one."

    def add_arguments(self, parser):
        parser.add_argument("--clinic", help="The clinic's name.")
        parser.add_argument("--name", help="Who will use the token, e.g. the pharmacy.")
        parser.add_argument("--role", default=Role.PHARMACY.value)
        parser.add_argument("--pharmacy", help="The pharmacy's name, for a pharmacy's token.")
        parser.add_argument("--by", required=True, help="Username of the manager doing this.")
        parser.add_argument("--revoke", metavar="KEY_PREFIX", help="Revoke the token instead.")

    def handle(self, *args, clinic, name, role, by, revoke, pharmacy, **options):
        try:
            manager = get_user_model().objects.get(username=by)
        except get_user_model().DoesNotExist as error:
            raise CommandError(f"No user {by!r}.") from error
        try:
            if revoke:
                token = IntegrationToken.objects.get(key_prefix=revoke, revoked_at__isnull=True)
                token_revoke(token=token, revoked_by=manager)
                self.stdout.write(f"Revoked {token}.")
                return
            clinic = Clinic.objects.get(name=clinic)
            token, key = token_issue(
                clinic=clinic,
                name=name or "",
                role=role,
                pharmacy=clinic.pharmacies.filter(name=pharmacy).first() if pharmacy else None,
                created_by=manager,
            )
        except (Clinic.DoesNotExist, IntegrationToken.DoesNotExist) as error:
            raise CommandError(str(error)) from error
        except RuleViolation as refusal:
            raise CommandError(refusal.message) from refusal
        self.stdout.write(f"Token for {token.name} at {token.clinic}. Its key, shown only now:")
        self.stdout.write(key)
