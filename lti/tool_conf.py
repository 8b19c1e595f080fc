"""pylti1p3's tool configuration, read from the database (many centres, many platforms).

A launch reads the registration once (lti/platform_cache.py keeps it per process for a short
while) and never the tool's private key: validation only verifies the platform's signature.
The key is read when something signs (deep linking responses, service tokens)."""

from __future__ import annotations

from pylti1p3.deployment import Deployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy.orm import Session

from lti import keys, platform_cache
from lti.platform_cache import Registered


class ToolRegistration(Registration):
    """pylti1p3 derives no kid from a PEM; ours is the one published at /lti/jwks. The signing
    key (kid and private key) is read on first use, by signing only."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self._session = session
        self._signing = None

    def _signing_key(self):
        if self._signing is None:
            self._signing = keys.signing_key(self._session)
        return self._signing

    def get_kid(self) -> str:
        return self._signing_key().kid

    def get_tool_private_key(self) -> str:
        return self._signing_key().private_pem


class DatabaseToolConf(ToolConfAbstract):
    """Every issuer may have several client ids (one per registration)."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def platform(self, iss: str, client_id: str | None) -> Registered | None:
        """The active registration for (iss, client_id). Inactive ones do not launch."""
        return platform_cache.active(self.session, iss, client_id)

    def registration(self, platform) -> Registration:
        """`platform`: a Registered copy or an LtiPlatform row (both have these columns)."""
        registration = ToolRegistration(self.session)
        registration.set_issuer(platform.issuer).set_client_id(platform.client_id)
        registration.set_auth_login_url(platform.auth_login_url)
        registration.set_auth_token_url(platform.auth_token_url)
        registration.set_key_set_url(platform.key_set_url)
        if platform.auth_audience:
            registration.set_auth_audience(platform.auth_audience)
        return registration

    def find_registration_by_issuer(self, iss: str, *args, **kwargs) -> Registration | None:
        platform = self.platform(iss, None)
        return self.registration(platform) if platform else None

    def find_registration_by_params(self, iss: str, client_id: str, *args, **kwargs):
        platform = self.platform(iss, client_id)
        return self.registration(platform) if platform else None

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(self, iss, deployment_id, client_id, *args, **kwargs):
        platform = self.platform(iss, client_id)
        if platform is None or deployment_id not in platform.deployment_ids:
            return None
        return Deployment().set_deployment_id(deployment_id)
