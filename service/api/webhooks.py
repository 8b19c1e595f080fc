"""REST: a centre's webhooks and their deliveries (service/webhooks.py).

Scope webhooks:write. A centre's client manages its own centre's webhooks; the awarding body's
clients manage any centre's with admin as well; another centre's webhook is answered exactly
like a missing one (404). External verifiers' clients never hold the scope.

This module is the transaction edge: each write commits after the domain function succeeds; a
typed refusal (service.webhooks.WebhookError) is rolled back and answered 422 or 409.
"""

from __future__ import annotations

from flask import current_app
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from schemas.webhooks import (
    ChangeWebhookSchema,
    DeliveryQuerySchema,
    DeliverySchema,
    NewWebhookSchema,
    WebhookSchema,
)
from service import db, tenancy, webhooks
from service.api.blueprint import ServiceBlueprint
from service.auth import caller_scopes, current_client, require_scope
from service.client_vocabulary import ClientKind
from service.errors import rest_error
from service.models import Centre, utcnow
from service.webhook_vocabulary import WebhookEvent
from service.webhook_worker import loopback_allowed

REPLAY_MINUTES = int(webhooks.REPLAY_WINDOW.total_seconds() // 60)
blp = ServiceBlueprint(
    "webhooks",
    __name__,
    url_prefix="/api/v1",
    description="A centre's webhooks: URLs told when an attempt is graded (`attempt.graded`: "
    "automatically at submit, and fully graded after marking) or a criterion decision changes "
    "(`criterion.decision_changed`: an assessor's marking, performance evidence recorded or "
    "withdrawn). Payloads carry ids, never names: the learner's id and the centre's "
    "reference, the attempt's id, the assessment, status, grade and criterion decisions. "
    "Each event is POSTed as JSON with `Webhook-Id` (the event's id, the same on every try: "
    "drop repeats) and `Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "
    't + "." + raw body)>`. Verify the HMAC over the raw body in constant time and refuse '
    f"a `t` more than {REPLAY_MINUTES} minutes from your clock (the replay window). Answer "
    "2xx once stored; a timeout, 408, 429 or 5xx is retried with backoff for up to 72 hours "
    "(Retry-After honoured); any other answer fails the delivery at once (retry it here once "
    "fixed). Events are sent at least once, in no guaranteed order: use `occurred_at`.",
)
SECURITY = [{"oauth2": ["webhooks:write"]}]
EVENTS = [event.value for event in WebhookEvent]


@blp.errorhandler(webhooks.WebhookError)
def _refused(error: webhooks.WebhookError):
    db.session().rollback()
    status = 409 if isinstance(error, webhooks.NotRetryable) else 422
    return rest_error(status, error.message, error.details)


def _tenancy() -> tenancy.Tenancy:
    """The centres whose webhooks the caller manages."""
    client = current_client()
    if client.kind == ClientKind.CENTRE:
        return tenancy.of_client(db.session(), client)
    if client.kind == ClientKind.AWARDING_BODY and "admin" in caller_scopes():
        return tenancy.Tenancy(None)
    abort(403, message="Webhooks are managed by a centre's client, or the awarding body's admin.")


def _commit() -> None:
    try:
        db.session().commit()
    except SQLAlchemyError:
        db.session().rollback()
        raise


def _endpoint(webhook_id: str):
    found = webhooks.find(db.session(), _tenancy(), webhook_id)
    if found is None:
        abort(404, message=f"No webhook {webhook_id!r}.")
    return found


def webhook_view(endpoint, secret: str | None = None) -> dict:
    view = {
        "id": endpoint.uuid,
        "centre": endpoint.centre.code,
        "url": endpoint.url,
        "description": endpoint.description,
        "active": endpoint.active,
        "events": EVENTS,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }
    if secret is not None:
        view["secret"] = secret
    return view


def delivery_view(row) -> dict:
    return {
        "id": row.uuid,
        "event": row.event,
        "status": row.status,
        "tries": row.tries,
        "response_code": row.response_code,
        "error": row.last_error,
        "next_try_at": row.next_try_at if row.status == "pending" else None,
        "created_at": row.created_at,
        "sent_at": row.sent_at,
    }


def _centre_for(scope: tenancy.Tenancy, code: str | None) -> int:
    client = current_client()
    if client.kind == ClientKind.CENTRE:
        if code is not None and code != client.centre.code:
            message = "A centre's client registers webhooks for its own centre only."
            abort(422, message=message, errors={"centre": [message]})
        return client.centre_id
    if code is None:
        message = "Name the centre (its code)."
        abort(422, message=message, errors={"centre": [message]})
    centre_id = db.session().scalar(select(Centre.id).where(Centre.code == code))
    if centre_id is None or not scope.sees(centre_id):
        message = f"No centre {code!r}."
        abort(422, message=message, errors={"centre": [message]})
    return centre_id


@blp.route("/webhooks", methods=["POST"])
@blp.doc(security=SECURITY)
@require_scope("webhooks:write")
@blp.arguments(NewWebhookSchema)
@blp.response(201, WebhookSchema)
def create_webhook(data):
    """Register a URL for the centre's events. The answer's `secret` signs every delivery:
    keep it, it is not shown again (rotate it with PATCH). 422 for a URL the policy refuses
    (not https, an internal address, credentials in it)."""
    scope = _tenancy()
    centre_id = _centre_for(scope, data.get("centre"))
    endpoint, secret = webhooks.create(
        db.session(),
        centre_id,
        data["url"],
        data.get("description"),
        f"client:{current_client().client_id}",
        loopback_allowed(current_app.config),
        current_app.config["SECRET_KEY"],
    )
    answer = webhook_view(endpoint, secret)
    _commit()
    return answer


@blp.route("/webhooks")
@blp.doc(security=SECURITY)
@require_scope("webhooks:write")
@blp.response(200, WebhookSchema(many=True))
def list_webhooks():
    """The webhooks of the caller's centre (the awarding body's admin: every centre's),
    without their secrets."""
    return [webhook_view(e) for e in webhooks.listed(db.session(), _tenancy())]


@blp.route("/webhooks/<string:webhook_id>")
@blp.doc(security=SECURITY)
@require_scope("webhooks:write")
@blp.response(200, WebhookSchema)
def get_webhook(webhook_id):
    """One webhook, without its secret."""
    return webhook_view(_endpoint(webhook_id))


@blp.route("/webhooks/<string:webhook_id>", methods=["PATCH"])
@blp.doc(security=SECURITY)
@require_scope("webhooks:write")
@blp.arguments(ChangeWebhookSchema)
@blp.response(200, WebhookSchema)
def change_webhook(data, webhook_id):
    """Change the URL or description, pause (active false) or resume, or rotate the secret
    (rotate_secret true: the new one is in this answer only)."""
    endpoint = _endpoint(webhook_id)
    secret = webhooks.change(
        endpoint, data, loopback_allowed(current_app.config), current_app.config["SECRET_KEY"]
    )
    answer = webhook_view(endpoint, secret)
    _commit()
    return answer


@blp.route("/webhooks/<string:webhook_id>", methods=["DELETE"])
@blp.doc(security=SECURITY)
@require_scope("webhooks:write")
@blp.response(204)
def delete_webhook(webhook_id):
    """Remove the webhook and its deliveries (those not yet sent are never sent)."""
    db.session().delete(_endpoint(webhook_id))
    _commit()


@blp.route("/webhooks/<string:webhook_id>/deliveries")
@blp.doc(security=SECURITY)
@require_scope("webhooks:write")
@blp.arguments(DeliveryQuerySchema, location="query")
@blp.response(200, DeliverySchema(many=True))
def list_deliveries(args, webhook_id):
    """The webhook's latest deliveries, newest first: status, tries, the last answer's HTTP
    status or error, and when a pending one is tried next."""
    endpoint = _endpoint(webhook_id)
    return [delivery_view(r) for r in webhooks.deliveries(db.session(), endpoint, args["limit"])]


@blp.route("/webhooks/<string:webhook_id>/deliveries/<string:delivery_id>/retry", methods=["POST"])
@blp.doc(security=SECURITY)
@require_scope("webhooks:write")
@blp.response(200, DeliverySchema)
@blp.alt_response(409, response="DEFAULT_ERROR")
def retry_delivery(webhook_id, delivery_id):
    """Send a failed delivery again now (same Webhook-Id and body, a fresh signature). 409 if
    it is not failed."""
    endpoint = _endpoint(webhook_id)
    row = webhooks.delivery(db.session(), endpoint, delivery_id)
    if row is None:
        abort(404, message=f"No delivery {delivery_id!r}.")
    webhooks.retry(db.session(), row, utcnow())
    answer = delivery_view(row)
    _commit()
    return answer
