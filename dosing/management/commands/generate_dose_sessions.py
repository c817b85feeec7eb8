from django.core.management.base import BaseCommand

from dosing.sessions import dose_sessions_generate_ahead


class Command(BaseCommand):
    help = "Schedule today's and tomorrow's dose sessions in every clinic (idempotent)."

    def handle(self, *args, **options):
        created = dose_sessions_generate_ahead()
        self.stdout.write(f"{created} dose sessions scheduled.")
