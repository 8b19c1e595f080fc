"""Pre-flight check of a registration: can grades and criterion coverage reach this platform's
gradebook? Run by an administrator (`assessment lti preflight`, the admin API) after
registering a platform, and whenever passback fails for reasons nobody can see.

The AGS and NRPS URLs and scopes come from launches (lti/resource_links.py), so the check works
on one resource link: the one asked for, else the platform's most recently launched. It reports
- which AGS scopes the launch granted and whether it carried the names and roles service;
- whether the platform's token endpoint actually issues tokens for them (its answer if not);
- whether the context's line items can be listed (a GET of the container) and created;
- with `round_trip` only, since it writes to the gradebook: a test line item created, read
  back and deleted.

summary_for_link() is the cheap part (no HTTP) the assessor page shows: what this course's
gradebook gets.

Nothing here commits. target() reads the database; run() makes HTTP calls and must be
called with no transaction open (the caller ends its read first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti import grade_sync, resource_links
from lti.ags import (
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
    AgsClient,
    AgsEndpoint,
    NewLineItem,
)
from lti.gradebook_vocabulary import CheckStatus
from lti.models import LtiResourceLink
from lti.service_calls import ServiceFailure, in_words
from lti.service_tokens import ServiceTokens

SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
# What each AGS scope is for, in the report's words.
AGS_SCOPE_USES = {
    SCOPE_SCORE: "send scores",
    SCOPE_LINEITEM: "create criterion columns (line items)",
    SCOPE_LINEITEM_READONLY: "list line items",
    SCOPE_RESULT_READONLY: "read grades back (reconciliation)",
}
TEST_LINE_ITEM_LABEL = "Assessment service connection check"
TEST_LINE_ITEM_TAG = "preflight"


# ---------------------------------------------------------------------------- what is checked


@dataclass(frozen=True)
class Target:
    """What the checks need from the database, read before any HTTP call."""

    platform_id: int
    link_pk: int | None = None
    resource_link_id: str | None = None
    context_id: str | None = None
    product_family: str | None = None
    launched_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    lineitems: str | None = None
    lineitem: str | None = None
    nrps_url: str | None = None
    summary: GradebookSummary | None = None


@dataclass(frozen=True)
class GradebookSummary:
    """What a course's gradebook gets from the tool, as the assessor page says it."""

    scores: bool
    criterion_columns: bool
    comment_only: bool
    sentence: str


@dataclass(frozen=True)
class Check:
    name: str
    status: CheckStatus
    detail: str


@dataclass
class Report:
    target: Target
    round_trip: bool
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No check failed (skipped ones do not count against it)."""
        return all(c.status != CheckStatus.FAILED for c in self.checks)

    def add(self, name: str, status: CheckStatus, detail: str) -> Check:
        check = Check(name, status, detail)
        self.checks.append(check)
        return check


# ---------------------------------------------------------------------------- no HTTP


def summary_for_link(session: Session, link: LtiResourceLink) -> GradebookSummary:
    """Which of scores, criterion columns or the comment alone this link's gradebook gets,
    from what its last launch granted and the deployment's Canvas choice. No HTTP."""
    if SCOPE_SCORE not in link.scopes:
        return GradebookSummary(
            scores=False,
            criterion_columns=False,
            comment_only=False,
            sentence="This course's gradebook gets nothing from the tool (the platform did not "
            "grant the score scope).",
        )
    canvas_criteria = grade_sync.canvas_choice(session, link)
    if grade_sync.shows_criterion_columns(link, canvas_criteria):
        return GradebookSummary(
            scores=True,
            criterion_columns=True,
            comment_only=False,
            sentence="This course's gradebook gets the grade and one column per criterion "
            "(1 met, 0 not yet met).",
        )
    if SCOPE_LINEITEM not in link.scopes:
        why = "the platform did not grant line item management"
    else:
        why = "this Canvas deployment shows criteria as a comment; an administrator can choose "
        why += "criterion assignments instead"
    return GradebookSummary(
        scores=True,
        criterion_columns=False,
        comment_only=True,
        sentence=f"This course's gradebook gets the grade and the criteria as a comment only "
        f"({why}).",
    )


def target(session: Session, platform_id: int, link_pk: int | None = None) -> Target:
    """The link to check: `link_pk` (raises resource_links.UnknownResourceLink if not the
    platform's), else the platform's most recently launched one (a launch rewrites its row only
    when something changed, so: the last one whose claims changed, newest row on a tie). A
    platform that has never launched the tool gives a Target without a link."""
    if link_pk is not None:
        link = resource_links.of_platform(session, platform_id, link_pk)
    else:
        link = session.scalar(
            select(LtiResourceLink)
            .where(LtiResourceLink.platform_id == platform_id)
            .order_by(LtiResourceLink.updated_at.desc(), LtiResourceLink.id.desc())
            .limit(1)
        )
    if link is None:
        return Target(platform_id)
    return Target(
        platform_id=platform_id,
        link_pk=link.id,
        resource_link_id=link.resource_link_id,
        context_id=link.context_id,
        product_family=link.product_family,
        launched_at=link.updated_at,
        scopes=link.scopes,
        lineitems=link.ags_lineitems,
        lineitem=link.ags_lineitem,
        nrps_url=link.nrps_url,
        summary=summary_for_link(session, link),
    )


# ---------------------------------------------------------------------------- HTTP


def run(tokens: ServiceTokens, target: Target, round_trip: bool = False) -> Report:
    """Every check, in order; a check that cannot run because of an earlier one is skipped."""
    report = Report(target, round_trip)
    if target.link_pk is None:
        report.add(
            "resource link",
            CheckStatus.FAILED,
            "no launch from this platform yet: the service URLs come from launches, so launch "
            "the tool once from a course",
        )
        return report
    report.add(
        "resource link",
        CheckStatus.PASSED,
        f"link {target.link_pk} (resource link {target.resource_link_id}, context "
        f"{target.context_id or '-'}, {target.product_family or 'unknown platform'})",
    )
    for scope, use in AGS_SCOPE_USES.items():
        name = f"scope {scope.rsplit('/', 1)[-1]}"
        if scope in target.scopes:
            report.add(name, CheckStatus.PASSED, f"granted: the tool can {use}")
        elif scope == SCOPE_LINEITEM_READONLY and SCOPE_LINEITEM in target.scopes:
            # The lineitem scope includes reading line items.
            report.add(name, CheckStatus.PASSED, "not granted, but the lineitem scope covers it")
        else:
            report.add(name, CheckStatus.FAILED, f"not granted: the tool cannot {use}")
    summary = target.summary
    report.add(
        "gradebook",
        CheckStatus.PASSED if summary.scores else CheckStatus.FAILED,
        summary.sentence,
    )
    ags_token = _token_check(report, tokens, "AGS token", target.scopes)
    _nrps_checks(report, tokens, target)
    client = AgsClient(
        tokens, target.platform_id, AgsEndpoint(target.scopes, target.lineitems, target.lineitem)
    )
    listed = _listing_check(report, client, target, ags_token)
    can_create = SCOPE_LINEITEM in target.scopes
    if can_create:
        tried = "tried below" if round_trip else "not tried: ask for the round trip"
        report.add(
            "line items can be created",
            CheckStatus.PASSED,
            f"the lineitem scope is granted ({tried})",
        )
    else:
        report.add(
            "line items can be created",
            CheckStatus.FAILED,
            "the lineitem scope is not granted: criteria reach the gradebook as a comment only",
        )
    if not round_trip:
        report.add(
            "round trip",
            CheckStatus.SKIPPED,
            "not asked for (it creates and deletes a test column in the gradebook)",
        )
    elif not (listed and can_create):
        report.add("round trip", CheckStatus.SKIPPED, "line items cannot be listed and created")
    else:
        _round_trip(report, client, target)
    return report


def _token_check(report: Report, tokens: ServiceTokens, name: str, scopes: tuple[str, ...]) -> bool:
    if not scopes:
        report.add(name, CheckStatus.SKIPPED, "no scope to ask a token for")
        return False
    try:
        # Fresh: a cached token would say nothing about what the platform grants today.
        tokens.get(report.target.platform_id, scopes, fresh=True)
    except ServiceFailure as failure:
        report.add(
            name, CheckStatus.FAILED, f"the token endpoint refused: {in_words(failure.outcome)}"
        )
        return False
    report.add(name, CheckStatus.PASSED, f"issued now for {len(scopes)} scope(s)")
    return True


def _nrps_checks(report: Report, tokens: ServiceTokens, target: Target) -> None:
    """The launch's NRPS claim carries a URL but no scopes: the token request tells whether
    the platform grants the membership scope."""
    if not target.nrps_url:
        report.add(
            "names and roles service",
            CheckStatus.FAILED,
            "the launch carried no names and roles claim",
        )
        report.add("names and roles token", CheckStatus.SKIPPED, "no names and roles service")
        return
    report.add("names and roles service", CheckStatus.PASSED, target.nrps_url)
    _token_check(report, tokens, "names and roles token", (SCOPE_NRPS,))


def _listing_check(report: Report, client: AgsClient, target: Target, ags_token: bool) -> bool:
    name = "line items can be listed"
    if not ags_token:
        report.add(name, CheckStatus.SKIPPED, "no AGS token")
        return False
    if not target.lineitems:
        report.add(name, CheckStatus.FAILED, "the launch gave no line items URL")
        return False
    try:
        items = client.line_items()
    except ServiceFailure as failure:
        report.add(name, CheckStatus.FAILED, f"GET {target.lineitems}: {in_words(failure.outcome)}")
        return False
    report.add(name, CheckStatus.PASSED, f"{len(items)} line item(s) in the course")
    return True


def _round_trip(report: Report, client: AgsClient, target: Target) -> None:
    """Create the test line item, find it by its tag, delete it. The delete is tried whatever
    the read gave, so the gradebook is left as it was."""
    test_item = NewLineItem(
        label=TEST_LINE_ITEM_LABEL,
        score_maximum=1.0,
        resource_id=TEST_LINE_ITEM_TAG,
        tag=TEST_LINE_ITEM_TAG,
        # Attached to the link: in Canvas a line item without it would be a new assignment
        # that learners see.
        resource_link_id=target.resource_link_id,
    )
    try:
        created = client.create_line_item(test_item)
    except ServiceFailure as failure:
        report.add("round trip: create", CheckStatus.FAILED, in_words(failure.outcome))
        report.add("round trip: read back", CheckStatus.SKIPPED, "nothing created")
        report.add("round trip: delete", CheckStatus.SKIPPED, "nothing created")
        return
    report.add("round trip: create", CheckStatus.PASSED, created.id)
    try:
        found = [i.id for i in client.line_items(tag=TEST_LINE_ITEM_TAG)]
    except ServiceFailure as failure:
        report.add("round trip: read back", CheckStatus.FAILED, in_words(failure.outcome))
    else:
        if created.id in found:
            report.add("round trip: read back", CheckStatus.PASSED, "listed with its tag")
        else:
            report.add("round trip: read back", CheckStatus.FAILED, "not listed with its tag")
    try:
        client.delete_line_item(created.id)
    except ServiceFailure as failure:
        report.add(
            "round trip: delete",
            CheckStatus.FAILED,
            f"{in_words(failure.outcome)}: delete the column {TEST_LINE_ITEM_LABEL!r} "
            "in the gradebook by hand",
        )
    else:
        report.add("round trip: delete", CheckStatus.PASSED, "deleted")


def as_dict(report: Report) -> dict:
    """The report as the admin API shows it."""
    t = report.target
    link = None
    if t.link_pk is not None:
        link = {
            "id": t.link_pk,
            "resource_link_id": t.resource_link_id,
            "context_id": t.context_id,
            "product_family": t.product_family,
            "launched_at": t.launched_at,
            "scopes": list(t.scopes),
        }
    summary = t.summary
    return {
        "platform_id": t.platform_id,
        "link": link,
        "round_trip": report.round_trip,
        "passed": report.passed,
        "gradebook": None
        if summary is None
        else {
            "scores": summary.scores,
            "criterion_columns": summary.criterion_columns,
            "comment_only": summary.comment_only,
            "sentence": summary.sentence,
        },
        "checks": [
            {"name": c.name, "status": c.status.value, "detail": c.detail} for c in report.checks
        ],
    }


def lines(report: Report) -> list[str]:
    """The report as the CLI prints it: one line per check."""
    width = max((len(c.name) for c in report.checks), default=0)
    out = [f"{c.status.value.upper():<7}  {c.name:<{width}}  {c.detail}" for c in report.checks]
    out.append("all checks passed" if report.passed else "some checks failed")
    return out
