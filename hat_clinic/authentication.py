"""`Authorization: Token <key>` for integrations (docs/api.md)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled

from .network import client_ip


class IntegrationTokenAuthentication(BaseAuthentication):
    keyword = b"token"

    def authenticate(self, request):
        from eligibility.tokens import TooManyRefusals, token_authenticate

        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the header as: Authorization: Token <key>.")
        try:
            key = parts[1].decode()
        except UnicodeError as error:
            raise AuthenticationFailed("The token key is not valid text.") from error
        try:
            token = token_authenticate(key, address=client_ip(request))
        except TooManyRefusals as refusal:
            raise Throttled(
                wait=max(refusal.wait.total_seconds(), 1), detail=str(refusal)
            ) from None
        if token is None:
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
