"""The structured replies the LLM engine asks for, as pydantic models, and their strict schemas.

Pydantic lives only here, at the LLM boundary; `llmwiki.llm` turns validated replies into the
engine's frozen dataclasses. The models accept a little more than the schemas demand (missing
lists and quotes default to empty) so a small model's near-miss does not cost a repair call;
the schemas sent to the server still require every field, as OpenAI's strict mode insists.
Field meanings are explained to the model in the prompt templates, not here.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import BaseModel, Field


class FactOut(BaseModel):
    statement: str
    quote: str = ""


class EntityOut(BaseModel):
    name: str
    type: Literal["person", "concept"]
    aliases: list[str] = Field(default_factory=list)
    description: str = ""
    facts: list[FactOut] = Field(default_factory=list)


class ExtractOut(BaseModel):
    title: str = ""
    summary: str = ""
    key_claims: list[FactOut] = Field(default_factory=list)
    entities: list[EntityOut] = Field(default_factory=list)


class SameEntityOut(BaseModel):
    reasoning: str = ""  # first, so the model argues before it decides
    same: bool


class ConflictOut(BaseModel):
    reasoning: str = ""
    existing_fact_id: int
    new_fact_id: int
    kind: Literal["factual", "changed_over_time", "differing_opinions", "none"]


class MergeOut(BaseModel):
    reasoning: str = ""
    new_fact_ids: list[int]
    conflicts: list[ConflictOut] = Field(default_factory=list)


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the subset OpenAI's strict mode and grammar-based local servers
    (llama.cpp) both accept: every property required, no extra properties, no defaults, and no
    `$ref`s (some grammar converters do not follow them)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})
    strict: dict[str, Any] = _strict(schema, definitions)
    return strict


def _strict(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_strict(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _strict(copy.deepcopy(definitions[name]), definitions)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":  # names of fields, not schema keywords: keep every one
            out[key] = {name: _strict(sub, definitions) for name, sub in value.items()}
        elif key not in ("default", "title"):
            out[key] = _strict(value, definitions)
    if out.get("type") == "object" and "properties" in out:
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    return out
