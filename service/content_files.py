"""Reading and validating criteria_data/ files; errors that name the file and the path."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "criteria_data" / "schema"


class ContentError(Exception):
    """A data file is not valid. Names the file, the path inside it and what is wrong."""

    def __init__(self, file: Path | str, path: str, message: str) -> None:
        self.file, self.path, self.message = str(file), path, message
        super().__init__(f"{self.file}: at {path or '/'}: {message}")


@dataclass
class LoadReport:
    changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@cache
def _validator(schema_name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / schema_name).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _pointer(path) -> str:
    return "/" + "/".join(str(p) for p in path)


def read_data_file(file: Path, schema_name: str) -> dict[str, Any]:
    """Parse a YAML file and validate it; raise ContentError with the first problem found."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        # Often a file saved as Latin-1 or UTF-16 by a desktop editor: say where, not a traceback.
        raise ContentError(file, f"byte {exc.start}", "not UTF-8: save the file as UTF-8") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ContentError(file, where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    errors = sorted(_validator(schema_name).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        raise ContentError(file, _pointer(error.absolute_path), error.message)
    return data
