"""A bare LTI 1.3 tool for comparison (bench/lti_launch.py): pylti1p3's Flask integration and
nothing else. OIDC login, launch (the id_token validated: state, nonce, registration,
signature, deployment, message), a small page that reads the launch back. No database: the
nonce, the launch and the platform's JWKS live in Redis (pylti1p3's FlaskCacheDataStorage),
the shared cache a multi-process tool needs.

    BARE_TOOL='{"iss": ..., "client_id": ..., "deployment_id": ..., "key_set_url": ...}' \\
    REDIS_URL=redis://127.0.0.1:6379/14 gunicorn 'bench.bare_tool:create_app()'
"""

from __future__ import annotations

import json
import os
import uuid

from flask import Flask, redirect, render_template_string, request, url_for
from flask_caching import Cache
from pylti1p3.contrib.flask import (
    FlaskCacheDataStorage,
    FlaskMessageLaunch,
    FlaskOIDCLogin,
    FlaskRequest,
)
from pylti1p3.tool_config import ToolConfDict

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><main><h1>{{ title }}</h1>
<p id="bare-page">Hello {{ name }}: you launched {{ resource }}.</p>
</main></body></html>"""


def create_app() -> Flask:
    settings = json.loads(os.environ["BARE_TOOL"])
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=uuid.uuid4().hex,
        CACHE_TYPE="RedisCache",
        CACHE_REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
        CACHE_KEY_PREFIX=f"bench-bare-{uuid.uuid4().hex[:8]}:",
        CACHE_DEFAULT_TIMEOUT=600,
    )
    cache = Cache(app)
    tool_conf = ToolConfDict(
        {
            settings["iss"]: [
                {
                    "default": True,
                    "client_id": settings["client_id"],
                    "auth_login_url": settings["iss"] + "/auth",
                    "auth_token_url": settings["iss"] + "/token",
                    "key_set_url": settings["key_set_url"],
                    "key_set": None,
                    "deployment_ids": [settings["deployment_id"]],
                }
            ]
        }
    )

    def storage() -> FlaskCacheDataStorage:
        return FlaskCacheDataStorage(cache)

    @app.get("/login")
    def login():
        oidc = FlaskOIDCLogin(FlaskRequest(), tool_conf, launch_data_storage=storage())
        return oidc.redirect(request.args["target_link_uri"])

    @app.post("/launch")
    def launch():
        data_storage = storage()
        message = FlaskMessageLaunch(FlaskRequest(), tool_conf, launch_data_storage=data_storage)
        message.set_public_key_caching(data_storage, cache_lifetime=7200)
        message.get_launch_data()  # validates the launch, and keeps it under its launch id
        return redirect(url_for("page", launch_id=message.get_launch_id()), code=303)

    @app.get("/page")
    def page():
        message = FlaskMessageLaunch.from_cache(
            request.args["launch_id"], FlaskRequest(), tool_conf, launch_data_storage=storage()
        )
        claims = message.get_launch_data()
        link = claims.get("https://purl.imsglobal.org/spec/lti/claim/resource_link", {})
        return render_template_string(
            PAGE, title="Bare tool", name=claims.get("name", ""), resource=link.get("title", "")
        )

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
