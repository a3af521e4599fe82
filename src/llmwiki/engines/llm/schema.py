"""The structured replies the LLM engine asks for, as pydantic models, and their strict schemas.

Pydantic lives only here, at the LLM boundary: `parse_reply` reads a reply against its model,
and `engine` turns validated replies into the engine's frozen dataclasses. A reply is validated
exactly as strictly as the schema sent (every field required, no other field allowed): a model
that answered `{"text": "..."}` because its instructions never arrived must get a repair
request, not pass as an empty extraction.
Field meanings are explained to the model in the prompt templates, not here.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from llmwiki.engines.llm.failures import cut
from llmwiki.errors import EngineError

_SNIPPET_CHARS = 80  # of a reply that is not JSON, in the error
_THINK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE_RE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)

_Reply = TypeVar("_Reply", bound=BaseModel)


class InvalidReply(EngineError):
    """The server answered, but not with JSON matching the schema. Never leaves the engine:
    it asks for a repair, then raises an EngineError that says what to do."""


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


class OverviewSentenceOut(_Strict):
    text: str
    sources: list[str]  # titles of the source pages the sentence rests on


class OverviewOut(_Strict):
    sentences: list[OverviewSentenceOut]


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


def parse_reply(text: str, model: type[_Reply], scrub: Callable[[str], str]) -> _Reply:
    """The reply as `model`, validated as strictly as the schema sent; `scrub` redacts the
    key from any reply text quoted in the error before it is cut."""
    cleaned = _THINK_RE.sub("", text).strip()
    fenced = _FENCE_RE.match(cleaned)
    if fenced:
        cleaned = fenced.group(1).strip()
    try:
        # strict=False: grammar-constrained decoding can emit raw control characters (a
        # newline) inside strings; they carry no ambiguity, so they cost no repair call.
        data = json.loads(cleaned, strict=False)
    except json.JSONDecodeError as error:
        # Some models wrap the object in a sentence; take the outermost braces if they parse.
        start, end = cleaned.find("{"), cleaned.rfind("}")
        try:
            data = json.loads(cleaned[start : end + 1], strict=False) if 0 <= start < end else None
        except json.JSONDecodeError:
            data = None
        if data is None:
            snippet = cut(" ".join(scrub(cleaned).split()), _SNIPPET_CHARS) or "(empty)"
            reason = error.msg.removesuffix(" at")  # "Invalid control character at"
            raise InvalidReply(
                f"not JSON ({reason}, line {error.lineno} column {error.colno}; began {snippet!r})"
            ) from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        # stray fields first: they show what the model answered instead
        errors = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {_problem(e['type'], e['msg'])}"
            for e in errors[:4]
        ]
        more = f" and {error.error_count() - 4} more" if error.error_count() > 4 else ""
        raise InvalidReply("does not match the schema: " + "; ".join(problems) + more) from None


def _problem(kind: str, message: str) -> str:
    if kind == "extra_forbidden":
        return "not a field of the schema"
    if kind == "missing":
        return "required field missing"
    return message
