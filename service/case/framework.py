"""The qualification as a CASE competency framework, in the CASE 1.0 or 1.1 data model.

The qualification is the CFDocument; units, learning outcomes and assessment criteria are
CFItems joined by isChildOf associations; knowledge topics are CFConcepts. Identifiers are
the stable UUIDs stored with the content, so they survive reloads and fresh databases, and they
are the same in both versions: only the uris (which name the binding's base) differ.

CASE 1.1 (Final Release, 24 January 2025; REST/JSON binding section 1.3 lists the changes from
1.0) changes only the data model. build_framework(..., case_version="1.1") adds what we can fill
truthfully:

- CFDocument.caseVersion = "1.1" (optional; "if present this MUST be set as '1.1'");
- CFDocument.frameworkType = FRAMEWORK_TYPE. The property is a free NormalizedString; the only
  value 1.1 predefines is 'CourseCodes', which this framework is not, so we name what it is;
- CFItem.subject / subjectURI (new on CFItem): every item is in the qualification's subject, the
  document's one CFSubject;
- LinkGenURI.targetType = "CASE" on association origin and destination nodes: both ends of every
  association are CASE objects of this framework.

What 1.1 adds that we leave out, because we have nothing true to put there:

- CFAssociation.notes: our associations are the plain isChildOf tree; there is nothing to say;
- the associationType token isTranslationOf: we publish no translations;
- extensions (now allowed on the package, document, items, associations, definitions and
  rubrics): we have no proprietary data, so no extension object is sent;
- fullStatement and the CFDocument / CFRubric descriptions may now carry markup (String, not
  NormalizedString): our texts are plain and are sent unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from service.identifiers import stable_uuid
from service.models import Criterion, LearningOutcome, Qualification, Rubric, Unit

LANGUAGE = "en-GB"

CASE_VERSIONS = ("1.0", "1.1")
# CFDocument.frameworkType (CASE 1.1): the framework is a qualification's specification.
FRAMEWORK_TYPE = "Qualification"
# LinkGenURI.targetType (CASE 1.1): the node is a CASE object.
TARGET_TYPE = "CASE"

# (title, hierarchyCode, description): the three levels of the framework's tree.
ITEM_TYPES = {
    "Unit": ("1", "A unit of the qualification."),
    "Learning Outcome": ("1.1", "What the learner will understand or be able to do."),
    "Assessment Criterion": ("1.1.1", "What the learner must show to evidence the outcome."),
}


def iso(moment: datetime) -> str:
    # PostgreSQL answers in the session's time zone: convert before labelling it UTC.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@dataclass
class Framework:
    """Every CASE object of one document, by identifier, as the binding's dicts."""

    base: str
    case_version: str = "1.0"
    document: dict = field(default_factory=dict)
    items: dict[str, dict] = field(default_factory=dict)
    associations: dict[str, dict] = field(default_factory=dict)
    item_types: dict[str, dict] = field(default_factory=dict)
    concepts: dict[str, dict] = field(default_factory=dict)
    subjects: dict[str, dict] = field(default_factory=dict)
    licences: dict[str, dict] = field(default_factory=dict)
    rubrics: dict[str, dict] = field(default_factory=dict)

    @property
    def v1p1(self) -> bool:
        return self.case_version == "1.1"

    def uri(self, collection: str, identifier: str) -> str:
        return f"{self.base}/{collection}/{identifier}"

    def link(self, collection: str, identifier: str, title: str) -> dict:
        return {"title": title, "identifier": identifier, "uri": self.uri(collection, identifier)}

    def node(self, link: dict) -> dict:
        """An association's origin or destination (a LinkGenURI): in 1.1 it says it is CASE."""
        return {**link, "targetType": TARGET_TYPE} if self.v1p1 else link

    def subject_fields(self) -> dict:
        """subject and subjectURI: the document's in both versions, an item's in 1.1."""
        subjects = self.subjects.values()
        return {
            "subject": [s["title"] for s in subjects],
            "subjectURI": [self.link("CFSubjects", s["identifier"], s["title"]) for s in subjects],
        }

    def document_link(self) -> dict:
        return self.link("CFDocuments", self.document["identifier"], self.document["title"])

    # Shapes outside a package carry a link back to their document (or package).
    def item_out(self, identifier: str) -> dict:
        return {**self.items[identifier], "CFDocumentURI": self.document_link()}

    def association_out(self, identifier: str) -> dict:
        return {**self.associations[identifier], "CFDocumentURI": self.document_link()}

    def document_out(self) -> dict:
        package = self.link("CFPackages", self.document["identifier"], self.document["title"])
        return {**self.document, "CFPackageURI": package}

    def associations_of(self, item_id: str) -> list[dict]:
        return [
            a
            for a in self.associations.values()
            if item_id in (a["originNodeURI"]["identifier"], a["destinationNodeURI"]["identifier"])
        ]

    def package(self) -> dict:
        return {
            "CFDocument": self.document,
            "CFItems": list(self.items.values()),
            "CFAssociations": list(self.associations.values()),
            "CFDefinitions": {
                "CFConcepts": list(self.concepts.values()),
                "CFSubjects": list(self.subjects.values()),
                "CFLicenses": list(self.licences.values()),
                "CFItemTypes": list(self.item_types.values()),
                "CFAssociationGroupings": [],
            },
            "CFRubrics": list(self.rubrics.values()),
        }


def load_frameworks(session: Session, base: str, case_version: str = "1.0") -> list[Framework]:
    qualifications = session.scalars(
        select(Qualification)
        .order_by(Qualification.code)
        .options(
            selectinload(Qualification.units).selectinload(Unit.knowledge_topics),
            selectinload(Qualification.units)
            .selectinload(Unit.learning_outcomes)
            .selectinload(LearningOutcome.criteria)
            .selectinload(Criterion.versions),
        )
    ).all()
    rubrics = session.scalars(select(Rubric).options(selectinload(Rubric.criterion))).all()
    frameworks = [build_framework(q, base, case_version) for q in qualifications]
    for fw in frameworks:
        _add_rubrics(fw, [r for r in rubrics if r.criterion.uuid in fw.items])
    return frameworks


def _add_rubrics(fw: Framework, rubrics: list[Rubric]) -> None:
    """One CFRubric per unit; a CFRubricCriterion per criterion, pointing at its CFItem."""
    by_unit: dict[int, list[Rubric]] = {}
    for rubric in rubrics:
        by_unit.setdefault(rubric.criterion.unit_id, []).append(rubric)
    for unit_rubrics in by_unit.values():
        unit_rubrics.sort(key=lambda r: r.criterion.position)
        unit_code = unit_rubrics[0].criterion.code.split(".")[0]
        rubric_id = stable_uuid("cfrubric", unit_code)
        criteria = [
            _rubric_criterion(fw, rubric_id, rubric, position)
            for position, rubric in enumerate(unit_rubrics, start=1)
        ]
        fw.rubrics[rubric_id] = {
            "identifier": rubric_id,
            "uri": fw.uri("CFRubrics", rubric_id),
            "title": f"{unit_code} extended-response rubric",
            "description": f"Performance levels for the {unit_code} criteria that extended "
            "responses evidence, used by assessors.",
            "lastChangeDateTime": max(c["lastChangeDateTime"] for c in criteria),
            "CFRubricCriteria": criteria,
        }


def build_framework(
    qualification: Qualification, base: str, case_version: str = "1.0"
) -> Framework:
    """The qualification's framework with uris under `base`, in CASE `case_version`'s model."""
    if case_version not in CASE_VERSIONS:
        raise ValueError(f"unknown CASE version {case_version!r}")
    fw = Framework(base=base, case_version=case_version)
    _definitions(fw, qualification)
    changed = [qualification.updated_at]
    for unit in qualification.units:
        changed.append(unit.updated_at)
    for lo in (lo for unit in qualification.units for lo in unit.learning_outcomes):
        changed.append(lo.updated_at)
        changed.extend(c.current.created_at for c in lo.criteria)
    last_change = iso(max(changed))

    licence = next(iter(fw.licences.values()))
    fw.document = {
        "identifier": qualification.uuid,
        "uri": fw.uri("CFDocuments", qualification.uuid),
        **({"frameworkType": FRAMEWORK_TYPE, "caseVersion": "1.1"} if fw.v1p1 else {}),
        "creator": qualification.publisher,
        "title": qualification.title,
        "lastChangeDateTime": last_change,
        "publisher": qualification.publisher,
        "description": qualification.description,
        **fw.subject_fields(),
        "language": LANGUAGE,
        "version": qualification.version,
        "adoptionStatus": "Adopted",
        "licenseURI": fw.link("CFLicenses", licence["identifier"], licence["title"]),
        "notes": f"Qualification code {qualification.code}.",
    }
    document_node = fw.link("CFDocuments", qualification.uuid, qualification.title)
    for unit in qualification.units:
        _add_unit(fw, unit, document_node)
    return fw


def _definitions(fw: Framework, qualification: Qualification) -> None:
    stamp = iso(qualification.updated_at)
    for title, (hierarchy, description) in ITEM_TYPES.items():
        identifier = stable_uuid("itemtype", title)
        fw.item_types[identifier] = {
            "identifier": identifier,
            "uri": fw.uri("CFItemTypes", identifier),
            "title": title,
            "description": description,
            "hierarchyCode": hierarchy,
            "typeCode": title,
            "lastChangeDateTime": stamp,
        }
    subject_id = stable_uuid("subject", qualification.subject)
    fw.subjects[subject_id] = {
        "identifier": subject_id,
        "uri": fw.uri("CFSubjects", subject_id),
        "title": qualification.subject,
        "hierarchyCode": "1",
        "lastChangeDateTime": stamp,
    }
    licence_id = stable_uuid("licence", qualification.code)
    fw.licences[licence_id] = {
        "identifier": licence_id,
        "uri": fw.uri("CFLicenses", licence_id),
        "title": qualification.licence_title,
        "licenseText": qualification.licence_text,
        "lastChangeDateTime": stamp,
    }
    for unit in qualification.units:
        for topic in unit.knowledge_topics:
            fw.concepts[topic.uuid] = {
                "identifier": topic.uuid,
                "uri": fw.uri("CFConcepts", topic.uuid),
                "title": topic.title,
                "keywords": topic.title,
                "hierarchyCode": f"{unit.code}.{topic.code}",
                "description": topic.description,
                "lastChangeDateTime": iso(unit.updated_at),
            }


def _rubric_criterion(fw: Framework, rubric_id: str, rubric: Rubric, position: int) -> dict:
    # CASE (1.0 and 1.1) gives rubric criteria and levels no endpoint of their own: their uris
    # are fragments of the rubric's.
    rubric_uri = fw.uri("CFRubrics", rubric_id)
    stamp = iso(rubric.updated_at)
    item = fw.items[rubric.criterion.uuid]
    levels = []
    for number, level in enumerate(rubric.levels, start=1):
        level_id = stable_uuid("rubriclevel", f"{rubric.uuid}:{level['quality']}")
        levels.append(
            {
                "identifier": level_id,
                "uri": f"{rubric_uri}#{level_id}",
                "description": level["descriptor"],
                "quality": level["quality"].replace("_", " "),
                "score": float(level["score"]),
                "position": number,
                "rubricCriterionId": rubric.uuid,
                "lastChangeDateTime": stamp,
            }
        )
    return {
        "identifier": rubric.uuid,
        "uri": f"{rubric_uri}#{rubric.uuid}",
        "category": rubric.criterion.code,
        "description": rubric.title,
        "CFItemURI": _node(item),
        "weight": 1.0,
        "position": position,
        "rubricId": rubric_id,
        "lastChangeDateTime": stamp,
        "CFRubricCriterionLevels": levels,
    }


def _item_type_link(fw: Framework, title: str) -> dict:
    return fw.link("CFItemTypes", stable_uuid("itemtype", title), title)


def _add_item(fw: Framework, identifier: str, item_type: str, **fields) -> dict:
    item = {
        "identifier": identifier,
        "uri": fw.uri("CFItems", identifier),
        "CFItemType": item_type,
        "CFItemTypeURI": _item_type_link(fw, item_type),
        "language": LANGUAGE,
        **fields,
        **(fw.subject_fields() if fw.v1p1 else {}),
    }
    fw.items[identifier] = item
    return item


def _child_of(fw: Framework, child: dict, parent: dict, sequence: int, stamp: str) -> None:
    identifier = stable_uuid(
        "association", f"{child['identifier']}:isChildOf:{parent['identifier']}"
    )
    fw.associations[identifier] = {
        "identifier": identifier,
        "associationType": "isChildOf",
        "sequenceNumber": sequence,
        "uri": fw.uri("CFAssociations", identifier),
        "originNodeURI": fw.node(
            {
                "title": child.get("humanCodingScheme", child["identifier"]),
                "identifier": child["identifier"],
                "uri": child["uri"],
            }
        ),
        "destinationNodeURI": fw.node(parent),
        "lastChangeDateTime": stamp,
    }


def _node(item: dict) -> dict:
    return {
        "title": item["humanCodingScheme"],
        "identifier": item["identifier"],
        "uri": item["uri"],
    }


def _add_unit(fw: Framework, unit: Unit, document_node: dict) -> None:
    stamp = iso(unit.updated_at)
    level = [f"RQF Level {unit.level}"]
    unit_item = _add_item(
        fw,
        unit.uuid,
        "Unit",
        fullStatement=unit.title,
        humanCodingScheme=unit.code,
        abbreviatedStatement=unit.title,
        notes=unit.synopsis,
        conceptKeywords=[t.title for t in unit.knowledge_topics],
        educationLevel=level,
        lastChangeDateTime=stamp,
    )
    _child_of(fw, unit_item, document_node, int(unit.code.rsplit("-", 1)[-1]), stamp)
    for lo in unit.learning_outcomes:
        lo_stamp = iso(lo.updated_at)
        lo_item = _add_item(
            fw,
            lo.uuid,
            "Learning Outcome",
            fullStatement=lo.statement,
            humanCodingScheme=lo.code,
            listEnumeration=str(lo.position),
            educationLevel=level,
            lastChangeDateTime=lo_stamp,
        )
        _child_of(fw, lo_item, _node(unit_item), lo.position, lo_stamp)
        for criterion in lo.criteria:
            version = criterion.current
            ac_stamp = iso(version.created_at)
            ac_item = _add_item(
                fw,
                criterion.uuid,
                "Assessment Criterion",
                fullStatement=version.text,
                humanCodingScheme=criterion.code,
                listEnumeration=str(criterion.position),
                notes=f"Evidence ({version.evidence_type}): {version.evidence}",
                educationLevel=level,
                lastChangeDateTime=ac_stamp,
            )
            _child_of(fw, ac_item, _node(lo_item), criterion.position, ac_stamp)
