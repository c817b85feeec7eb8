from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring records, dashboards and scheduled work"

    def ready(self):
        from dosing import review_evidence, take_home_criteria
        from eligibility.panels import register

        from .selectors import latest_tox_screens
        from .selectors import review_evidence as monitoring_evidence
        from .views import monitoring_panel

        register(monitoring_panel)
        review_evidence.register(monitoring_evidence)
        take_home_criteria.register_tox_reader(latest_tox_screens)

        from eligibility.pathway import (
            places_may_have_freed,
            service_user_admitted,
            service_user_referred,
        )

        places_may_have_freed.connect(_offer_places, dispatch_uid="monitoring-offer-places")
        service_user_admitted.connect(
            _close_place_offer, dispatch_uid="monitoring-close-place-offer"
        )
        service_user_referred.connect(
            _flag_duplicates, dispatch_uid="monitoring-flag-duplicate-registrations"
        )


def _offer_places(sender, clinic_id, **kwargs):
    from .tasks import offer_free_places

    offer_free_places.delay(clinic_id)


def _close_place_offer(sender, referral, admitted_by, now, **kwargs):
    from .scans import place_offer_close

    place_offer_close(referral=referral, admitted_by=admitted_by, now=now)


def _flag_duplicates(sender, referral, now, **kwargs):
    from .scans import duplicate_registrations_flag

    duplicate_registrations_flag(service_user=referral.service_user, now=now)
