"""What the tool tells an LMS about itself: its URLs, scopes, claims and placements, as the
dynamic registration request (LTI-DR 1.0 §3.5), Canvas's JSON configuration, and the values
for configuring it by hand (/lti/config). Pure data: no requests, no database."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
CANVAS = "https://canvas.instructure.com/lti/"
TOOL_NAME = "Customer Service Assessments"
TOOL_DESCRIPTION = "Scenario-based assessments with per-criterion grade passback."
SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]
# The user id and display name; never "email" (nor given/family names, which add nothing).
CLAIMS = ["iss", "sub", "name"]
# Deep linking (instructors choose an assessment): Moodle's activity chooser ("ContentArea"),
# Canvas's assignment and module-item pickers.
DEEP_LINKING_PLACEMENTS = [
    "ContentArea",
    CANVAS + "assignment_selection",
    CANVAS + "link_selection",
]
# What a deep-linking target_link_uri adds to the launch URL (ToolUrls.deep_linking).
DEEP_LINKING_QUERY = "message=deep-linking"
LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" role="img" '
    'aria-label="Customer Service Assessments">'
    '<rect width="64" height="64" rx="12" fill="#00703c"/>'
    '<text x="32" y="42" font-family="Arial, sans-serif" font-size="26" font-weight="700" '
    'fill="#ffffff" text-anchor="middle">CS</text></svg>'
)


@dataclass(frozen=True)
class ToolUrls:
    """This tool's own URLs, as the platform must call them."""

    login: str
    launch: str
    jwks: str
    logo: str

    @property
    def domain(self) -> str:
        return urlsplit(self.launch).netloc

    @property
    def deep_linking(self) -> str:
        """The target_link_uri the tool registers for deep linking. The launch still posts to
        `launch`; the query only tells the login, before any token, that this is deep
        linking (lti/login.py), which must stay in the LMS frame."""
        return f"{self.launch}?{DEEP_LINKING_QUERY}"


def strings(value: object) -> list[str] | None:
    """A list of strings, or None when absent or malformed."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


SUBMISSION_REVIEW = "LtiSubmissionReviewRequest"


def message_types(config: dict) -> set[str] | None:
    """The message types a platform's OpenID configuration says it supports, if it says."""
    platform = config.get(PLATFORM_CONFIGURATION)
    messages = platform.get("messages_supported") if isinstance(platform, dict) else None
    if not isinstance(messages, list):
        return None
    return {m.get("type") for m in messages if isinstance(m, dict)}


def requested_scopes(config: dict) -> list[str]:
    """The tool's scopes (AGS line items, scores, results; NRPS), less any the platform says
    it does not support."""
    supported = strings(config.get("scopes_supported"))
    return [s for s in SCOPES if supported is None or s in supported]


def tool_registration(urls: ToolUrls, config: dict) -> dict:
    """The client registration the tool POSTs (LTI-DR 1.0 §3.5, Canvas's documented shape)."""
    types = message_types(config)
    messages = []
    if types is None or "LtiDeepLinkingRequest" in types:
        # Listed first: Canvas keeps the first message for a placement, and "ContentArea" is
        # its link_selection.
        messages.append(
            {
                "type": "LtiDeepLinkingRequest",
                # Moodle sends it as the login's target_link_uri for "Select content".
                "target_link_uri": urls.deep_linking,
                "label": f"{TOOL_NAME}: add an assessment",
                "icon_uri": urls.logo,
                "placements": DEEP_LINKING_PLACEMENTS,
                CANVAS + "visibility": "admins",
            }
        )
    messages.append(
        {"type": "LtiResourceLinkRequest", "target_link_uri": urls.launch, "label": TOOL_NAME}
    )
    if types is not None and SUBMISSION_REVIEW in types:
        # Opening a learner's work from the gradebook (LTI Submission Review 1.0), only where
        # the platform says it sends them: an unknown message type can fail a registration.
        messages.append(
            {
                "type": SUBMISSION_REVIEW,
                "target_link_uri": urls.launch,
                "label": f"{TOOL_NAME}: review a submission",
            }
        )
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls.login,
        "redirect_uris": [urls.launch],
        "client_name": TOOL_NAME,
        "jwks_uri": urls.jwks,
        "logo_uri": urls.logo,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(requested_scopes(config)),
        TOOL_CONFIGURATION: {
            "domain": urls.domain,
            "target_link_uri": urls.launch,
            "description": TOOL_DESCRIPTION,
            "claims": CLAIMS,
            "messages": messages,
            CANVAS + "privacy_level": "name_only",
        },
    }


def canvas_configuration(urls: ToolUrls) -> dict:
    """Canvas's LTI 1.3 JSON configuration (Developer Keys > + LTI Key > Paste JSON or
    Enter URL), equivalent to what dynamic registration asks for."""
    placements = [
        {
            "placement": placement,
            "message_type": "LtiDeepLinkingRequest",
            "target_link_uri": urls.deep_linking,
            "text": f"{TOOL_NAME}: add an assessment",
            "icon_url": urls.logo,
        }
        for placement in ("assignment_selection", "link_selection")
    ]
    return {
        "title": TOOL_NAME,
        "description": TOOL_DESCRIPTION,
        "oidc_initiation_url": urls.login,
        "target_link_uri": urls.launch,
        "public_jwk_url": urls.jwks,
        "scopes": list(SCOPES),
        "custom_fields": {},
        "extensions": [
            {
                "domain": urls.domain,
                "tool_id": "customer-service-assessments",
                "platform": "canvas.instructure.com",
                "privacy_level": "name_only",
                "settings": {"text": TOOL_NAME, "icon_url": urls.logo, "placements": placements},
            }
        ],
    }


def manual_configuration(urls: ToolUrls) -> dict:
    """What an administrator pastes into Moodle or Canvas to register the tool by hand."""
    return {
        "title": TOOL_NAME,
        "description": TOOL_DESCRIPTION,
        "tool_url": urls.launch,
        "initiate_login_url": urls.login,
        "redirect_uris": [urls.launch],
        "public_jwk_url": urls.jwks,
        "target_link_uri": urls.launch,
        "deep_linking_url": urls.deep_linking,
        "scopes": SCOPES,
        "messages": ["LtiResourceLinkRequest", "LtiDeepLinkingRequest", SUBMISSION_REVIEW],
        "custom_fields": {},
        "privacy": "The tool receives the user id and name; it never stores email addresses.",
    }
