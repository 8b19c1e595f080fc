"""Platform registrations in the database: the ones an administrator adds by hand (admin API,
CLI), finding, listing, activating, and their deployments. Dynamic registration
(lti/registration.py) stores its result here too.

Every URL an administrator gives passes lti/url_policy.py's rules (https; no internal address
in production), as the tool later fetches the JWKS URL itself.
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from lti.gradebook_vocabulary import CanvasCriteria
from lti.models import LtiDeployment, LtiPlatform
from lti.url_policy import issuer_problem, url_problem
from service.catalogue import Page, count_and_page
from service.models import Centre

URL_FIELDS = ("auth_login_url", "auth_token_url", "key_set_url")


class InvalidPlatform(Exception):
    """Field name -> messages (the API's 422 details)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class DuplicatePlatform(Exception):
    pass


class UnknownDeployment(Exception):
    pass


class UnknownCentre(InvalidPlatform):
    def __init__(self, code: str) -> None:
        super().__init__({"centre": [f"No centre with code {code!r}."]})


def find_platform(session: Session, issuer: str, client_id: str) -> LtiPlatform | None:
    return session.scalar(
        select(LtiPlatform).where(LtiPlatform.issuer == issuer, LtiPlatform.client_id == client_id)
    )


def _centre(session: Session, code: str | None) -> Centre | None:
    if not code:
        return None
    centre = session.scalar(select(Centre).where(Centre.code == code))
    if centre is None:
        raise UnknownCentre(code)
    return centre


def check_manual(data: dict, embedded: bool) -> None:
    """The URL policy (and URL shape) for an administrator's registration."""
    errors: dict[str, list[str]] = {}
    problem = issuer_problem(data.get("issuer"), embedded)
    if problem:
        errors["issuer"] = [problem]
    for key in URL_FIELDS:
        problem = url_problem(data.get(key), embedded)
        if problem:
            errors[key] = [problem]
    deployments = data.get("deployment_ids") or []
    if len(set(deployments)) != len(deployments):
        errors["deployment_ids"] = ["Each deployment id once."]
    if errors:
        raise InvalidPlatform(errors)


def add_platform(session: Session, data: dict, embedded: bool) -> LtiPlatform:
    """Add a registration by hand. `data`: name, issuer, client_id, auth_login_url,
    auth_token_url, key_set_url, and optionally auth_audience, deployment_ids, centre (code),
    active. The caller commits. Raises InvalidPlatform or DuplicatePlatform."""
    check_manual(data, embedded)
    if find_platform(session, data["issuer"], data["client_id"]) is not None:
        raise DuplicatePlatform(
            f"Issuer {data['issuer']!r} already has a registration with client id "
            f"{data['client_id']!r}."
        )
    centre = _centre(session, data.get("centre"))
    with _unless_stored_meanwhile(session, "That registration already exists."):
        platform = LtiPlatform(
            name=data["name"],
            issuer=data["issuer"],
            client_id=data["client_id"],
            auth_login_url=data["auth_login_url"],
            auth_token_url=data["auth_token_url"],
            key_set_url=data["key_set_url"],
            auth_audience=data.get("auth_audience") or None,
            centre=centre,
            active=bool(data.get("active", False)),
            registered_by="manual",
        )
        for deployment_id in data.get("deployment_ids") or []:
            platform.deployments.append(LtiDeployment(deployment_id=deployment_id))
        session.add(platform)
    return platform


def get_platform(session: Session, platform_id: int) -> LtiPlatform | None:
    return session.get(LtiPlatform, platform_id)


def list_platforms(session: Session, page: Page) -> tuple[int, list[LtiPlatform]]:
    query = (
        select(LtiPlatform)
        .order_by(LtiPlatform.id)
        .options(selectinload(LtiPlatform.deployments), selectinload(LtiPlatform.centre))
    )
    return count_and_page(session, query, page)


def active_platforms(session: Session) -> list[LtiPlatform]:
    return list(session.scalars(select(LtiPlatform).where(LtiPlatform.active)))


def set_active(
    session: Session, platform: LtiPlatform, active: bool, centre_code: str | None = None
) -> LtiPlatform:
    """The caller commits."""
    if centre_code:
        platform.centre = _centre(session, centre_code)
    platform.active = active
    return platform


def add_deployment(session: Session, platform: LtiPlatform, deployment_id: str) -> LtiPlatform:
    """The caller commits. Raises DuplicatePlatform."""
    if deployment_id in {d.deployment_id for d in platform.deployments}:
        raise DuplicatePlatform(f"Platform {platform.id} already has deployment {deployment_id!r}.")
    with _unless_stored_meanwhile(session, "That deployment already exists."):
        platform.deployments.append(LtiDeployment(deployment_id=deployment_id))
    return platform


@contextmanager
def _unless_stored_meanwhile(session: Session, message: str):
    """Write the block's rows now, in a savepoint: the same registration or deployment added
    by another request at the same moment is a DuplicatePlatform(`message`), and the caller's
    transaction goes on without them."""
    try:
        with session.begin_nested():
            yield
    except IntegrityError as exc:
        raise DuplicatePlatform(message) from exc


def set_canvas_criteria(
    session: Session, platform: LtiPlatform, deployment_id: str, choice: CanvasCriteria
) -> LtiDeployment:
    """How this deployment's courses show criterion coverage in Canvas (see CanvasCriteria).
    Scores queued from now on follow it. The caller commits. Raises UnknownDeployment."""
    deployment = session.scalar(
        select(LtiDeployment).where(
            LtiDeployment.platform_id == platform.id,
            LtiDeployment.deployment_id == deployment_id,
        )
    )
    if deployment is None:
        raise UnknownDeployment(f"Platform {platform.id} has no deployment {deployment_id!r}.")
    deployment.canvas_criteria = CanvasCriteria(choice)
    return deployment


def deployment_view(deployment: LtiDeployment) -> dict:
    return {
        "deployment_id": deployment.deployment_id,
        "canvas_criteria": deployment.canvas_criteria.value,
    }


def platform_view(platform: LtiPlatform) -> dict:
    return {
        "id": platform.id,
        "name": platform.name,
        "issuer": platform.issuer,
        "client_id": platform.client_id,
        "auth_login_url": platform.auth_login_url,
        "auth_token_url": platform.auth_token_url,
        "key_set_url": platform.key_set_url,
        "auth_audience": platform.auth_audience,
        "deployment_ids": [d.deployment_id for d in platform.deployments],
        "centre": platform.centre.code if platform.centre else None,
        "active": platform.active,
        "registered_by": platform.registered_by,
        "created_at": platform.created_at,
    }
