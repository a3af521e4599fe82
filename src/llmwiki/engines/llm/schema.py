"""The structured replies the LLM engine asks for, as pydantic models, and their strict schemas.

Pydantic lives only here, at the LLM boundary; `engine` turns validated replies into the
engine's frozen dataclasses. A reply is validated exactly as strictly as the schema sent (every
field required, no other field allowed): a model that answered `{"text": "..."}` because its
instructions never arrived must get a repair request, not pass as an empty extraction.
Field meanings are explained to the model in the prompt templates, not here.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class _Strict(BaseModel):
    # as the schema says: additionalProperties false, and no field has a default
    model_config = ConfigDict(extra="forbid")


class FactOut(_Strict):
    statement: str
    quote: str


class EntityOut(_Strict):
    name: str
    type: Literal["person", "concept"]
    aliases: list[str]
    description: str
    facts: list[FactOut]


class ExtractOut(_Strict):
    title: str
    summary: str
    key_claims: list[FactOut]
    entities: list[EntityOut]


class SameEntityOut(_Strict):
    reasoning: str  # first, so the model argues before it decides
    same: bool


class ContradictionOut(_Strict):
    reasoning: str
    existing_fact_id: int
    new_fact_id: int
    kind: Literal["factual", "changed_over_time", "differing_opinions", "none"]


class MergeOut(_Strict):
    reasoning: str
    new_fact_ids: list[int]
    conflicts: list[ContradictionOut]  # the prompt names the field: renaming it changes the prompt


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
