"""`Authorization: Token <key>` for integrations (API.md)."""

import logging

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled

logger = logging.getLogger("hat_clinic.security")


class IntegrationTokenAuthentication(BaseAuthentication):
    keyword = b"token"

    def authenticate(self, request):
        from eligibility.models import TokenRefusal
        from eligibility.tokens import token_for_key

        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the header as: Authorization: Token <key>.")
        try:
            key = parts[1].decode()
        except UnicodeError as error:
            raise AuthenticationFailed("The token key is not valid text.") from error
        address = request.META.get("REMOTE_ADDR")
        now = timezone.now()
        window_start = now - settings.TOKEN_FAILURE_WINDOW
        refusals = TokenRefusal.objects.filter(ip_address=address, refused_at__gte=window_start)
        if refusals.count() >= settings.TOKEN_FAILURE_LIMIT:
            # No clinical data in these logs: only what was refused, and from where.
            logger.warning("Refused a token from %s: too many unknown keys", address)
            first = refusals.order_by("refused_at").values_list("refused_at", flat=True)[0]
            wait = (first + settings.TOKEN_FAILURE_WINDOW - now).total_seconds()
            raise Throttled(wait=max(wait, 1), detail="Too many unknown token keys: wait.")
        token = token_for_key(key, now=now)
        if token is None:
            TokenRefusal.objects.create(ip_address=address, key_prefix=key[:8], refused_at=now)
            logger.warning("Refused an unknown or revoked token %s… from %s", key[:8], address)
            raise AuthenticationFailed("Unknown or revoked token.")
        return token.account, token

    def authenticate_header(self, request):
        return "Token"


class IntegrationTokenScheme(OpenApiAuthenticationExtension):
    target_class = "hat_clinic.authentication.IntegrationTokenAuthentication"
    name = "integrationToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An integration token, sent as "Token <key>".',
        }
