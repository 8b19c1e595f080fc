"""LTI 1.3 Advantage: registration, login, launch, deep linking and the learner's pages."""

from flask import Flask


def init_app(app: Flask) -> None:
    from lti import (  # noqa: F401 - routes on the pages blueprint
        arrangement_pages,
        assessor_pages,
        evidence_pages,
        learner_pages,
        models,  # noqa: F401 - the LTI tables
        review_pages,
        session_pages,
    )
    from lti.pages import blp as pages_blp
    from lti.views import blp as views_blp

    app.register_blueprint(views_blp)
    app.register_blueprint(pages_blp)
    if app.config["DEV_PLATFORM"]:
        from lti.dev_platform import blp as dev_platform_blp
        from lti.dev_platform_services import blp as dev_platform_services_blp

        app.register_blueprint(dev_platform_blp)
        app.register_blueprint(dev_platform_services_blp)
