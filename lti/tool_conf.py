"""pylti1p3's tool configuration, read from the database (many centres, many platforms)."""

from __future__ import annotations

from pylti1p3.deployment import Deployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti import keys
from lti.models import LtiDeployment, LtiPlatform


class ToolRegistration(Registration):
    """pylti1p3 derives no kid from a PEM; ours is the one published at /lti/jwks."""

    def __init__(self, kid: str) -> None:
        super().__init__()
        self._kid = kid

    def get_kid(self) -> str:
        return self._kid


class DatabaseToolConf(ToolConfAbstract):
    """Every issuer may have several client ids (one per registration)."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def platform(self, iss: str, client_id: str | None) -> LtiPlatform | None:
        """The active registration for (iss, client_id). Inactive ones do not launch."""
        query = select(LtiPlatform).where(LtiPlatform.issuer == iss, LtiPlatform.active)
        if client_id:
            query = query.where(LtiPlatform.client_id == client_id)
        platforms = self.session.scalars(query).all()
        # Without a client id the issuer must be unambiguous.
        return platforms[0] if len(platforms) == 1 else None

    def registration(self, platform: LtiPlatform) -> Registration:
        signing = keys.signing_key(self.session)
        registration = ToolRegistration(signing.kid)
        registration.set_issuer(platform.issuer).set_client_id(platform.client_id)
        registration.set_auth_login_url(platform.auth_login_url)
        registration.set_auth_token_url(platform.auth_token_url)
        registration.set_key_set_url(platform.key_set_url)
        if platform.auth_audience:
            registration.set_auth_audience(platform.auth_audience)
        registration.set_tool_private_key(signing.private_pem)
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
        if platform is None:
            return None
        known = self.session.scalar(
            select(LtiDeployment).where(
                LtiDeployment.platform_id == platform.id,
                LtiDeployment.deployment_id == deployment_id,
            )
        )
        return Deployment().set_deployment_id(deployment_id) if known else None
