"""Assessment service: the Flask app factory."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest.pagination import PaginationMetadataSchema
from flask_smorest.utils import prepare_response
from werkzeug.middleware.proxy_fix import ProxyFix

from schemas.case import CaseStatusInfoSchema
from schemas.errors import ErrorSchema
from service import (
    auth,
    cache,
    db,
    errors,
    gc_tuning,
    hosts,
    input_guard,
    request_log,
    security_headers,
)
from service.api.blueprint import DEFAULT_EXAMPLE, register_responses, rest_error_example
from service.api.examples import ExamplesAPISpec
from service.config import Config


class ServiceApi(Api):
    # Documents the error body that service.errors actually sends.
    ERROR_SCHEMA = ErrorSchema

    def _init_spec(self, *args, **kwargs):
        super()._init_spec(*args, **kwargs)
        # flask-smorest builds a plain APISpec; ours gives every JSON body an example.
        self.spec.__class__ = ExamplesAPISpec

    def _register_responses(self):
        # flask-smorest's response per status (UNPROCESSABLE_ENTITY for @blp.arguments...) and
        # DEFAULT_ERROR, each with the body the service sends as its example.
        for status in HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
                response["example"] = rest_error_example(status)
            prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {
            "description": "Default error response",
            "schema": self.ERROR_SCHEMA,
            "example": DEFAULT_EXAMPLE,
        }
        prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def _register_pagination_header(self):
        # X-Pagination carries a JSON object: say so with `content`, or the header reads as
        # OpenAPI's "simple" style (comma-separated key,value) and no client can parse it.
        self.spec.components.header(
            "PAGINATION",
            {
                "description": "Pagination metadata (JSON)",
                "content": {"application/json": {"schema": PaginationMetadataSchema}},
            },
            lazy=True,
        )

    def register_blueprint(self, blp, **options):
        # A blueprint may name its own default error response (CASE answers imsx_StatusInfo,
        # see service.api.blueprint); flask-smorest reads this while documenting its views.
        self.DEFAULT_ERROR_RESPONSE_NAME = getattr(
            blp, "DEFAULT_ERROR_RESPONSE_NAME", Api.DEFAULT_ERROR_RESPONSE_NAME
        )
        try:
            super().register_blueprint(blp, **options)
        finally:
            self.DEFAULT_ERROR_RESPONSE_NAME = Api.DEFAULT_ERROR_RESPONSE_NAME


def create_app(config: dict[str, Any] | None = None) -> Flask:
    gc_tuning.tune()  # for the whole process: the app is what the process serves
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_mapping(Config().as_dict())
    app.config.update(config or {})
    hosts.init_app(app)

    if app.config["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=app.config["TRUSTED_PROXIES"],
            x_proto=app.config["TRUSTED_PROXIES"],
            x_host=app.config["TRUSTED_PROXIES"],
        )
    request_log.init_app(app)
    security_headers.init_app(app)
    input_guard.init_app(app)
    db.init_app(app)
    cache.init_app(app)

    auth.init_app(app)
    api = ServiceApi(app)
    api.spec.components.security_scheme(
        "oauth2",
        {
            "type": "oauth2",
            "description": "OAuth 2.0 client credentials; the awarding body creates clients.",
            "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": auth.SCOPES}},
        },
    )
    api.spec.components.schema("CaseStatusInfo", schema=CaseStatusInfoSchema)
    register_responses(api.spec)
    api.spec.components.response(
        "CASE_ERROR",
        {
            "description": "CASE error: imsx_StatusInfo",
            "content": {
                "application/json": {
                    "schema": "CaseStatusInfo",
                    "example": errors.case_error_body(500, DEFAULT_EXAMPLE["message"]),
                }
            },
        },
    )
    auth.register_api(api)
    app.extensions["service_api"] = api
    _register_blueprints(app, api)
    errors.register(app)

    import lti
    from service import cli, docs

    docs.init_app(app)
    cli.init_app(app)
    lti.init_app(app)
    return app


def _register_blueprints(app: Flask, api: Api) -> None:
    from service.api.access_arrangements import blp as access_arrangements_blp
    from service.api.admin import blp as admin_blp
    from service.api.attempts import blp as attempts_blp
    from service.api.bank import blp as bank_blp
    from service.api.coverage import blp as coverage_blp
    from service.api.grade_sync_admin import blp as grade_sync_admin_blp
    from service.api.health import blp as health_blp
    from service.api.item_admin import blp as item_admin_blp
    from service.api.learner_privacy import blp as learner_privacy_blp
    from service.api.learners import blp as learners_blp
    from service.api.lti_admin import blp as lti_admin_blp
    from service.api.performance_evidence import blp as performance_evidence_blp
    from service.api.results import blp as results_blp
    from service.api.sampling import blp as sampling_blp
    from service.api.units import blp as units_blp
    from service.api.webhooks import blp as webhooks_blp
    from service.case.views import blp_v1p0 as case_v1p0_blp
    from service.case.views import blp_v1p1 as case_v1p1_blp

    api.register_blueprint(units_blp)
    # Before the bank's: /items/statistics is not an item id.
    api.register_blueprint(item_admin_blp)
    api.register_blueprint(bank_blp)
    api.register_blueprint(attempts_blp)
    api.register_blueprint(performance_evidence_blp)
    api.register_blueprint(access_arrangements_blp)
    api.register_blueprint(case_v1p0_blp)
    api.register_blueprint(case_v1p1_blp)
    api.register_blueprint(lti_admin_blp)
    api.register_blueprint(grade_sync_admin_blp)
    api.register_blueprint(admin_blp)
    api.register_blueprint(learner_privacy_blp)
    api.register_blueprint(webhooks_blp)
    api.register_blueprint(sampling_blp)
    api.register_blueprint(learners_blp)
    api.register_blueprint(results_blp)
    api.register_blueprint(coverage_blp)
    # Probes stay out of the OpenAPI document: they are for the orchestrator, not for centres.
    app.register_blueprint(health_blp)
