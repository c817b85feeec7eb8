"""`Authorization: Token <key>` for integrations (API.md)."""

import logging

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

logger = logging.getLogger("hat_clinic.security")


class IntegrationTokenAuthentication(BaseAuthentication):
    keyword = b"token"

    def authenticate(self, request):
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
        token = token_for_key(key)
        if token is None:
            # No clinical data here: only that a key was refused, and from where.
            logger.warning(
                "Refused an unknown or revoked token from %s", request.META.get("REMOTE_ADDR")
            )
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
