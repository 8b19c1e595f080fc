"""LTI 1.3 Advantage: registration, login, launch, deep linking and the learner's pages."""

from flask import Flask


def init_app(app: Flask) -> None:
    from lti import (  # noqa: F401 - routes on the pages blueprint
        assessor_pages,
        learner_pages,
        models,  # noqa: F401 - the LTI tables
    )
    from lti.pages import blp as pages_blp
    from lti.views import blp as views_blp

    app.register_blueprint(views_blp)
    app.register_blueprint(pages_blp)
    app.after_request(_page_headers)
    if app.config["DEV_PLATFORM"]:
        from lti.dev_platform import blp as dev_platform_blp

        app.register_blueprint(dev_platform_blp)


def _page_headers(response):
    """LTI pages run inside LMS frames: scripts only from here (no inline script), and no
    Referer, because page URLs carry the launch's session token."""
    from flask import request

    if request.path.startswith(("/lti/", "/dev-platform/")):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'",
        )
        response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
