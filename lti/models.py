"""LTI 1.3 state that must be shared by every process: registrations, keys, login states,
used nonces, and launch sessions. Nothing LTI keeps lives in process memory."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti.ags_vocabulary import ActivityProgress, GradingProgress
from lti.gradebook_vocabulary import CanvasCriteria, DeliveryStatus, LineItemTag
from service.models import Base, Centre, UTCDateTime, _values, utcnow


class LtiPlatform(Base):
    """One registration: an LMS (issuer) and the client id it gave this tool."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    issuer: Mapped[str] = mapped_column(String(255), index=True)
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1024))
    auth_token_url: Mapped[str] = mapped_column(String(1024))
    key_set_url: Mapped[str] = mapped_column(String(1024))
    auth_audience: Mapped[str | None] = mapped_column(String(1024))
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_by: Mapped[str] = mapped_column(String(16), default="manual")  # or "dynamic"
    # The platform's JWKS, cached here so every process shares one copy and one refetch budget.
    jwks: Mapped[dict | None] = mapped_column(JSON)
    jwks_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    centre: Mapped[Centre | None] = relationship()
    deployments: Mapped[list[LtiDeployment]] = relationship(
        back_populates="platform", cascade="all, delete-orphan"
    )


class LtiDeployment(Base):
    __tablename__ = "lti_deployments"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id"))
    deployment_id: Mapped[str] = mapped_column(String(255))
    # Canvas only: how criterion coverage reaches the gradebook (see CanvasCriteria).
    canvas_criteria: Mapped[CanvasCriteria] = mapped_column(
        Enum(CanvasCriteria, native_enum=False, length=16, values_callable=_values),
        default=CanvasCriteria.COMMENT,
        server_default=CanvasCriteria.COMMENT.value,
    )

    platform: Mapped[LtiPlatform] = relationship(back_populates="deployments")


class LtiKey(Base):
    """An RSA signing key. `owner` is "tool" for this tool's keys (published at /lti/jwks) or
    "dev-platform" for the development test platform's."""

    __tablename__ = "lti_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(32), default="tool", index=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LtiLoginState(Base):
    """What the OIDC login step promised: checked, and used up, by the launch."""

    __tablename__ = "lti_login_states"
    # Each login sweeps its platform's expired states (lti/housekeeping.py).
    __table_args__ = (Index("ix_lti_login_states_platform_expires", "platform_id", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(128), unique=True)
    nonce: Mapped[str] = mapped_column(String(128))
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id"))
    target_link_uri: Mapped[str] = mapped_column(String(2048))
    # A hash of the browser's secret: only the browser that logged in can launch.
    browser_hash: Mapped[str] = mapped_column(String(64))
    storage_target: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    platform: Mapped[LtiPlatform] = relationship()


class LtiNonce(Base):
    """A nonce seen in an id_token. The unique constraint makes replay impossible across
    processes: the second insert of the same nonce fails."""

    __tablename__ = "lti_nonces"
    __table_args__ = (
        UniqueConstraint("platform_id", "nonce"),
        # Each launch sweeps its platform's expired nonces (lti/housekeeping.py).
        Index("ix_lti_nonces_platform_expires", "platform_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id"))
    nonce: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LtiSession(Base):
    """A validated launch. Its random token travels in page URLs and forms (not cookies,
    which LMS iframes often block). Personal data kept: the platform's user id, and the name
    only for staff screens; never the email."""

    __tablename__ = "lti_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id"))
    deployment_id: Mapped[str] = mapped_column(String(255))
    user_sub: Mapped[str] = mapped_column(String(255))
    user_name: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # learner | staff
    message_type: Mapped[str] = mapped_column(String(64))
    context_id: Mapped[str | None] = mapped_column(String(255))
    resource_link_id: Mapped[str | None] = mapped_column(String(255))
    assessment_code: Mapped[str | None] = mapped_column(String(24))
    claims: Mapped[dict] = mapped_column(JSON)  # service endpoints and settings, no PII
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Rotation (lti/sessions.py): the token is replaced on a page load once it is old enough;
    # the one before stays valid briefly, so that a page loaded with it can still save.
    token_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    previous_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    previous_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Browser binding: a hash of the secret in the launch's session cookie, and when that
    # cookie was first seen (from then on a request without it is refused).
    browser_hash: Mapped[str | None] = mapped_column(String(64))
    browser_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    platform: Mapped[LtiPlatform] = relationship()


class DevPlatformMessage(Base):
    """What the tool sent back to the development test platform (deep links, later scores),
    shown on its page. Development only."""

    __tablename__ = "dev_platform_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DevLineItem(Base):
    """A gradebook column of the development platform, made by the tool through AGS or by a
    deep link that declared a lineItem. Development only."""

    __tablename__ = "dev_line_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[str] = mapped_column(String(255), index=True)
    label: Mapped[str] = mapped_column(String(255))
    score_maximum: Mapped[float] = mapped_column(Double)
    resource_id: Mapped[str | None] = mapped_column(String(255))
    resource_link_id: Mapped[str | None] = mapped_column(String(255))
    tag: Mapped[str | None] = mapped_column(String(255))
    # Kept as sent and only handed back: never queried.
    submission_review: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _activity_progress():
    return Enum(ActivityProgress, native_enum=False, length=24, values_callable=_values)


def _grading_progress():
    return Enum(GradingProgress, native_enum=False, length=24, values_callable=_values)


class DevResult(Base):
    """The development platform's current result for one learner on one line item: the
    latest score accepted. Development only."""

    __tablename__ = "dev_results"
    __table_args__ = (UniqueConstraint("line_item_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(ForeignKey("dev_line_items.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(255))
    # Blank unless the last score was FullyGraded (as Moodle does).
    score_given: Mapped[float | None] = mapped_column(Double)
    score_maximum: Mapped[float | None] = mapped_column(Double)
    activity_progress: Mapped[ActivityProgress] = mapped_column(_activity_progress())
    grading_progress: Mapped[GradingProgress] = mapped_column(_grading_progress())
    comment: Mapped[str | None] = mapped_column(Text)
    # The tool's timestamp of the score: a later score must be newer (in whole seconds).
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DevScore(Base):
    """Every well-formed score the tool posted to the development platform, accepted or
    refused as stale, for its page's log. Development only."""

    __tablename__ = "dev_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(
        ForeignKey("dev_line_items.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(String(255))
    score_given: Mapped[float | None] = mapped_column(Double)
    score_maximum: Mapped[float | None] = mapped_column(Double)
    activity_progress: Mapped[ActivityProgress] = mapped_column(_activity_progress())
    grading_progress: Mapped[GradingProgress] = mapped_column(_grading_progress())
    comment: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    line_item: Mapped[DevLineItem] = relationship()


class LtiServiceToken(Base):
    """An OAuth 2.0 access token a platform granted this tool for its services (AGS), kept so
    every process reuses one token per platform and scope set instead of asking per request.
    Tokens are short-lived, so stored as given; they are never logged."""

    __tablename__ = "lti_service_tokens"
    __table_args__ = (UniqueConstraint("platform_id", "scope_set"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    # The granted-for scopes, sorted and joined by spaces: one row per distinct set.
    scope_set: Mapped[str] = mapped_column(String(1024))
    token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LtiResourceLink(Base):
    """A course activity linked to this tool, as its launches describe it: the course it is in,
    where its grades go (the AGS claim) and whose roster it has (the NRPS claim). Every launch
    from it brings these up to date. Attempts started from it point here, so an assessor sees
    only their own course's learners, and the worker knows where to send their scores."""

    __tablename__ = "lti_resource_links"
    __table_args__ = (UniqueConstraint("platform_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[str | None] = mapped_column(String(255))
    assessment_code: Mapped[str | None] = mapped_column(String(24))
    # tool_platform.product_family_code: "moodle", "canvas", ... (what the platform does with
    # line items and stale timestamps depends on it).
    product_family: Mapped[str | None] = mapped_column(String(64))
    # The AGS claim: the scopes granted (space-separated), the context's line items container,
    # and the link's own line item when the platform made one (from the deep link's lineItem).
    ags_scopes: Mapped[str] = mapped_column(String(1024), default="")
    ags_lineitems: Mapped[str | None] = mapped_column(String(2048))
    ags_lineitem: Mapped[str | None] = mapped_column(String(2048))
    nrps_url: Mapped[str | None] = mapped_column(String(2048))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    platform: Mapped[LtiPlatform] = relationship()

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.ags_scopes.split())


class LtiLineItem(Base):
    """A gradebook column of one resource link that the tool sends scores to: the activity's
    grade, or one assessment criterion (`resource_id` is then the criterion code). `url` is the
    platform's line item id, known once the worker has found or created it."""

    __tablename__ = "lti_line_items"
    __table_args__ = (UniqueConstraint("resource_link_pk", "resource_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_link_pk: Mapped[int] = mapped_column(
        ForeignKey("lti_resource_links.id", ondelete="CASCADE")
    )
    tag: Mapped[LineItemTag] = mapped_column(
        Enum(LineItemTag, native_enum=False, length=16, values_callable=_values)
    )
    resource_id: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(255))
    score_maximum: Mapped[float] = mapped_column(Double)
    url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    resource_link: Mapped[LtiResourceLink] = relationship()


class ScoreDelivery(Base):
    """One score to send to a platform: a transactional outbox row, written in the same
    transaction as the grade or decision it carries and sent later by `assessment worker`.
    The newest row of a learner (`user_sub`) and line item is the state their gradebook must
    end in; `timestamp` strictly increases along them, at least a second apart (Moodle compares
    whole seconds)."""

    __tablename__ = "score_deliveries"
    __table_args__ = (
        Index("ix_score_deliveries_due", "status", "next_try_at"),
        Index("ix_score_deliveries_learner", "line_item_id", "user_sub"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(ForeignKey("lti_line_items.id", ondelete="CASCADE"))
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    user_sub: Mapped[str] = mapped_column(String(255))
    score_given: Mapped[float | None] = mapped_column(Double)
    score_maximum: Mapped[float | None] = mapped_column(Double)
    activity_progress: Mapped[str] = mapped_column(String(16))
    grading_progress: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=16, values_callable=_values),
        default=DeliveryStatus.PENDING,
    )
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The first answer of the current run of transient failures (timeouts, 429, 5xx): retries
    # end this long after it (a weekend's outage must not fail a grade), not after a count.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The platform's answer to the last try (cut short), for administrators.
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    line_item: Mapped[LtiLineItem] = relationship()


class LtiMarkingDraft(Base):
    """Marks an assessor chose and posted after their launch had ended: kept for that assessor
    (platform and user id) until they relaunch and save them, so that no marks are lost
    (lti/marking_drafts.py). One row per criterion of a written answer."""

    __tablename__ = "lti_marking_drafts"
    __table_args__ = (
        UniqueConstraint("platform_id", "user_sub", "attempt_uuid", "item_code", "criterion_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id"))
    user_sub: Mapped[str] = mapped_column(String(255))
    attempt_uuid: Mapped[str] = mapped_column(String(36))
    item_code: Mapped[str] = mapped_column(String(24))
    criterion_code: Mapped[str] = mapped_column(String(24))
    quality: Mapped[str | None] = mapped_column(String(16))  # the level chosen, if any
    previous_quality: Mapped[str | None] = mapped_column(String(16))  # what the page showed
    comment: Mapped[str | None] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
