"""`assessment lti ...`: LTI 1.3 registrations, the tool's signing keys and the pre-flight
check of a registration's grade services; `assessment grades ...`: gradebook reconciliation,
the outbox's newest scores and retries; `assessment worker`: sends the outbox."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from lti import (
    keys,
    passback_admin,
    platforms,
    preflight,
    reconcile,
    resource_links,
    url_policy,
)
from lti.gradebook_vocabulary import CanvasCriteria, DeliveryStatus
from lti.models import LtiKey, LtiResourceLink
from lti.passback_worker import Worker
from lti.service_tokens import ServiceTokens
from service import db
from service.catalogue import Page
from service.models import utcnow
from service.webhook_worker import WebhookWorker

lti_group = AppGroup(
    "lti",
    help="LTI 1.3: platform registrations and deployments, the tool's signing keys, and the "
    "pre-flight check of a registration's grade services.",
)


@lti_group.group("platforms", cls=AppGroup, help="Registrations of LMS platforms.")
def platforms_group() -> None:
    pass


def _embedded() -> bool:
    return url_policy.embedded_default(current_app.config)


def _platform(platform_id: int):
    platform = platforms.get_platform(db.session(), platform_id)
    if platform is None:
        raise click.ClickException(f"no LTI registration {platform_id}")
    return platform


def _invalid(errors: dict[str, list[str]]) -> click.ClickException:
    lines = [f"{field}: {' '.join(messages)}" for field, messages in errors.items()]
    return click.ClickException("invalid registration\n  " + "\n  ".join(lines))


def _run(action, *args, **kwargs):
    """A change to registrations, committed."""
    session = db.session()
    try:
        result = action(session, *args, **kwargs)
    except platforms.InvalidPlatform as exc:
        raise _invalid(exc.errors) from exc
    except platforms.DuplicatePlatform as exc:
        raise click.ClickException(str(exc)) from exc
    session.commit()
    return result


def _describe(platform) -> str:
    state = "active" if platform.active else "inactive"
    deployments = ",".join(d.deployment_id for d in platform.deployments) or "-"
    centre = platform.centre.code if platform.centre else "-"
    return (
        f"{platform.id:>4}  {state:<8} {platform.registered_by:<7} {platform.issuer}  "
        f"client_id={platform.client_id}  deployments={deployments}  centre={centre}  "
        f"{platform.name}"
    )


@platforms_group.command("add", help="Add a registration with the values the LMS shows.")
@click.option("--name", required=True, help="A name for the platform")
@click.option("--issuer", required=True, help="The platform's issuer (iss)")
@click.option("--client-id", required=True, help="The client id the platform gave the tool")
@click.option("--auth-login-url", required=True, help="OIDC authorisation endpoint")
@click.option("--auth-token-url", required=True, help="OAuth 2.0 token endpoint")
@click.option("--key-set-url", required=True, help="The platform's public keys (JWKS URL)")
@click.option("--auth-audience", help="aud for token requests, if not the token URL")
@click.option("--deployment-id", "deployment_ids", multiple=True, help="Repeat for each")
@click.option("--centre", help="Bind the registration to this centre (code)")
@click.option("--active", is_flag=True, help="Activate at once (default: inactive)")
def platforms_add(**options) -> None:
    data = {**options, "deployment_ids": list(options["deployment_ids"])}
    errors = {}
    for key in ("name", "client_id"):
        if not data[key].strip() or len(data[key]) > 255:
            errors[key] = ["Between 1 and 255 characters."]
    for deployment_id in data["deployment_ids"]:
        if not deployment_id or len(deployment_id) > 255:
            errors["deployment_ids"] = ["Each between 1 and 255 characters."]
    for key, limit in (
        ("issuer", 255),
        ("auth_login_url", 1024),
        ("auth_token_url", 1024),
        ("key_set_url", 1024),
    ):
        if len(data[key]) > limit:
            errors[key] = [f"At most {limit} characters."]
    if errors:
        raise _invalid(errors)
    platform = _run(platforms.add_platform, data, _embedded())
    click.echo(f"registration {platform.id} added ({'active' if platform.active else 'inactive'})")


@platforms_group.command("list", help="List registrations.")
def platforms_list() -> None:
    _total, rows = platforms.list_platforms(db.session(), Page(1, 10_000))
    if not rows:
        click.echo("no registrations")
    for platform in rows:
        click.echo(_describe(platform))


@platforms_group.command("activate", help="Let registration ID launch the tool.")
@click.argument("platform_id", type=int)
@click.option("--centre", help="Also bind it to this centre (code)")
def platforms_activate(platform_id: int, centre: str | None) -> None:
    _run(platforms.set_active, _platform(platform_id), True, centre)
    click.echo(f"registration {platform_id} active")


@platforms_group.command("disable", help="Stop registration ID launching the tool.")
@click.argument("platform_id", type=int)
def platforms_disable(platform_id: int) -> None:
    _run(platforms.set_active, _platform(platform_id), False)
    click.echo(f"registration {platform_id} disabled")


@platforms_group.command("add-deployment", help="Add DEPLOYMENT_ID to registration ID.")
@click.argument("platform_id", type=int)
@click.argument("deployment_id")
def platforms_add_deployment(platform_id: int, deployment_id: str) -> None:
    if not deployment_id or len(deployment_id) > 255:
        raise click.ClickException("a deployment id has between 1 and 255 characters")
    _run(platforms.add_deployment, _platform(platform_id), deployment_id)
    click.echo(f"deployment {deployment_id} added to registration {platform_id}")


@lti_group.group("keys", cls=AppGroup, help="The tool's RSA signing keys (published at /lti/jwks).")
def keys_group() -> None:
    pass


@keys_group.command("list", help="List the tool's keys: which signs, which are published.")
def keys_list() -> None:
    session = db.session()
    signing = keys.signing_key(session)
    rows = session.scalars(select(LtiKey).where(LtiKey.owner == "tool").order_by(LtiKey.id))
    for key in rows:
        if key.retired_at is not None:
            state = f"retired {key.retired_at:%Y-%m-%d %H:%M}"
        else:
            state = "signing" if key.kid == signing.kid else "published"
        click.echo(f"{key.kid}  {key.created_at:%Y-%m-%d %H:%M}  {state}")


@keys_group.command(
    "rotate", help="Make a new key that signs from now on; older keys stay published."
)
def keys_rotate() -> None:
    session = db.session()
    keys.signing_key(session)  # the current key exists before the new one, so stays published
    key = keys.rotate(session)
    click.echo(f"new signing key {key.kid}; older keys stay published until retired")


@keys_group.command("retire", help="Stop publishing key KID (never the signing key).")
@click.argument("kid")
def keys_retire(kid: str) -> None:
    session = db.session()
    published = keys.published(session)
    if published and published[-1].kid == kid:
        raise click.ClickException(
            f"{kid} is the signing key: rotate first, then retire it once platforms have "
            "fetched the new key"
        )
    if kid not in {k.kid for k in published}:
        raise click.ClickException(f"no published key {kid}")
    if not keys.retire(session, kid):
        raise click.ClickException(f"could not retire {kid}")
    click.echo(f"key {kid} retired: no longer published at /lti/jwks")


@lti_group.command("purge", help="Delete expired login states, nonces and launch sessions.")
def purge() -> None:
    """Run it from cron (hourly is plenty): expired rows only take space, they never
    authorise anything (every check also looks at the expiry)."""
    from lti.housekeeping import purge_expired

    session = db.session()
    counts = purge_expired(session)
    session.commit()
    click.echo(", ".join(f"{n} {what}" for what, n in counts.items()) + " deleted")


@lti_group.group("deployments", cls=AppGroup, help="A registration's deployments.")
def deployments_group() -> None:
    pass


@deployments_group.command("list", help="List registration ID's deployments and their choices.")
@click.argument("platform_id", type=int)
def deployments_list(platform_id: int) -> None:
    platform = _platform(platform_id)
    if not platform.deployments:
        click.echo("no deployments")
    for deployment in platform.deployments:
        click.echo(f"{deployment.deployment_id}  canvas criteria: {deployment.canvas_criteria}")


@deployments_group.command(
    "set-canvas-criteria",
    help="How DEPLOYMENT_ID of registration ID shows criteria in Canvas: comment (the default: "
    "the grade's comment and submission) or assignments (one assignment per criterion, which "
    "learners see).",
)
@click.argument("platform_id", type=int)
@click.argument("deployment_id")
@click.argument("choice", type=click.Choice([c.value for c in CanvasCriteria]))
def deployments_set_canvas_criteria(platform_id: int, deployment_id: str, choice: str) -> None:
    session = db.session()
    try:
        platforms.set_canvas_criteria(
            session, _platform(platform_id), deployment_id, CanvasCriteria(choice)
        )
    except platforms.UnknownDeployment as exc:
        raise click.ClickException(str(exc)) from exc
    session.commit()
    click.echo(f"registration {platform_id}, deployment {deployment_id}: canvas criteria {choice}")


@lti_group.command("links", help="List registration ID's course links (numbers for --link).")
@click.argument("platform_id", type=int)
def links_list(platform_id: int) -> None:
    _platform(platform_id)
    rows = db.session().scalars(
        select(LtiResourceLink)
        .where(LtiResourceLink.platform_id == platform_id)
        .order_by(LtiResourceLink.updated_at.desc(), LtiResourceLink.id.desc())
    )
    found = False
    for link in rows:
        found = True
        scopes = ",".join(scope.rsplit("/", 1)[-1] for scope in link.scopes) or "-"
        click.echo(
            f"{link.id:>5}  {link.updated_at:%Y-%m-%d %H:%M}  {link.product_family or '-'}  "
            f"context={link.context_id or '-'}  link={link.resource_link_id}  "
            f"assessment={link.assessment_code or '-'}  scopes={scopes}"
        )
    if not found:
        click.echo("no course links yet: launch the tool from a course")


@lti_group.command(
    "preflight",
    help="Check registration ID's grade services on one course link: scopes granted, tokens, "
    "listing line items; --round-trip also creates, reads back and deletes a test line item.",
)
@click.argument("platform_id", type=int)
@click.option("--link", "link_pk", type=int, help="Resource link number (default: the newest)")
@click.option("--round-trip", is_flag=True, help="Write a test line item to the gradebook")
def preflight_command(platform_id: int, link_pk: int | None, round_trip: bool) -> None:
    _platform(platform_id)
    session = db.session()
    try:
        target = preflight.target(session, platform_id, link_pk)
    except resource_links.UnknownResourceLink as exc:
        raise click.ClickException(str(exc)) from exc
    # End the read: no transaction stays open while the platform answers.
    session.rollback()
    report = preflight.run(ServiceTokens.for_app(current_app), target, round_trip)
    for line in preflight.lines(report):
        click.echo(line)
    if not report.passed:
        # A non-zero status, so a script (or a deploy check) can tell.
        click.get_current_context().exit(1)


grades_group = AppGroup("grades", help="Grades sent to LMS gradebooks.")


@grades_group.command(
    "reconcile",
    help="Compare registration ID's gradebooks with the scores last sent; --resend queues the "
    "mismatched ones again.",
)
@click.argument("platform_id", type=int)
@click.option("--link", "link_pk", type=int, help="One resource link (default: all)")
@click.option("--resend", is_flag=True, help="Queue each mismatched score again")
def grades_reconcile(platform_id: int, link_pk: int | None, resend: bool) -> None:
    _platform(platform_id)
    session = db.session()
    try:
        plans = reconcile.plan(session, platform_id, link_pk)
    except resource_links.UnknownResourceLink as exc:
        raise click.ClickException(str(exc)) from exc
    # End the read: no transaction stays open while the platform answers.
    session.rollback()
    outcome = reconcile.compare(ServiceTokens.for_app(current_app), plans)
    for line in reconcile.lines(outcome):
        click.echo(line)
    if resend:
        queued = reconcile.resend(session, outcome.mismatches, utcnow())
        session.commit()
        click.echo(f"{len(queued)} score(s) queued again")


@grades_group.command(
    "list",
    help="Each learner's newest score per line item: status, tries and the platform's last "
    "answer, newest first.",
)
@click.option(
    "--status",
    type=click.Choice([s.value for s in DeliveryStatus]),
    help="Only those whose newest score is in this status",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
def grades_list(status: str | None, limit: int) -> None:
    wanted = DeliveryStatus(status) if status else None
    total, entries = passback_admin.newest(db.session(), wanted, Page(1, limit))
    for entry in entries:
        row = entry.row
        click.echo(
            f"{row.id:>7}  {row.status.value:<10} tries={row.tries}  "
            f"platform={entry.link.platform_id} link={entry.link.id}  "
            f"line item {entry.line_item.id} ({entry.line_item.label})  "
            f"attempt={row.attempt_id}  timestamp={row.timestamp:%Y-%m-%d %H:%M:%S}"
            + (f"\n         {row.last_error}" if row.last_error else "")
        )
    click.echo(f"{len(entries)} of {total} shown")


@grades_group.command(
    "retry",
    help="Send scores ID... (or every failed one) again now, their tries counted afresh. "
    "Only failed or pending scores; a superseded one never is.",
)
@click.argument("ids", nargs=-1, type=int)
@click.option("--failed", "all_failed", is_flag=True, help="Every failed score")
def grades_retry(ids: tuple[int, ...], all_failed: bool) -> None:
    if not ids and not all_failed:
        raise click.UsageError("name score ids, or --failed")
    session = db.session()
    wanted = list(ids) + (passback_admin.failed_ids(session) if all_failed else [])
    result = passback_admin.retry(session, wanted, utcnow())
    session.commit()
    for row_id, reason in result.skipped.items():
        click.echo(f"{row_id}: not retried: {reason}")
    click.echo(f"{len(result.retried)} score(s) queued to send now")


@click.command(
    "worker",
    help="Send queued scores to the platforms' gradebooks until SIGTERM or SIGINT (in-flight "
    "sends finish first); --once sends what is due and exits.",
)
@click.option("--once", is_flag=True, help="Drain what is due now, then exit")
@click.option("--batch", type=click.IntRange(1, 1000), help="Rows claimed at a time")
@click.option("--poll", type=click.FloatRange(0.05), help="Seconds between looks when idle")
@with_appcontext
def worker_command(once: bool, batch: int | None, poll: float | None) -> None:
    overrides = {"batch": batch, "poll_seconds": poll}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    worker = Worker.for_app(current_app, **overrides)
    # Centres' webhooks go through the same durable delivery, on a thread of their own.
    hooks = WebhookWorker.for_app(current_app, **overrides)
    # The session of the app context is not used: each send has its own short transactions.
    db.session().close()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def stop(signum, _frame) -> None:
        worker.stopping.set()
        hooks.stopping.set()

    for sig in previous:
        signal.signal(sig, stop)
    settings = worker.settings
    click.echo(
        f"worker started: batch {settings.batch}, {settings.per_platform} per platform, "
        + ("until nothing is due" if once else f"polling every {settings.poll_seconds:g} s")
    )
    sent_hooks = []
    hooks_thread = threading.Thread(
        target=lambda: sent_hooks.append(hooks.run(once=once)), name="webhooks"
    )
    hooks_thread.start()
    try:
        claimed = worker.run(once=once)
    except BaseException:
        hooks.stopping.set()
        raise
    finally:
        hooks_thread.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(
        f"worker stopped; {claimed} score(s) and {sum(sent_hooks)} webhook delivery(ies) handled"
    )
