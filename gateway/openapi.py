"""The OpenAPI 3.1 document of the REST API, generated from the descriptor set.

    python scripts/gen_protos.py      # regenerates gateway/openapi.json with the protobuf code

One source: the google.api.http rules, messages and comments of gateway/booking.pb (read with
gateway.config's readers), the gateway's route tables (public, create, admin) and the error
table mesh_common.errors.ERRORS. JSON follows the transcoder's proto3 mapping: lowerCamelCase
names, enums by name, 64-bit integers as strings, Timestamps as RFC 3339 strings. Envoy serves
the committed file at config.OPENAPI_ROUTE.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from http import HTTPStatus
from pathlib import Path

from google.protobuf import descriptor_pb2

from gateway.config import (
    _PATH_VARIABLE,
    ADMIN_PREFIXES,
    CREATE_ROUTES,
    DEFAULT_DESCRIPTOR,
    OPENAPI_ROUTE,
    PUBLIC_ROUTES,
    _descriptor_files,
    http_bindings,
)
from mesh_common.errors import ERRORS

FieldProto = descriptor_pb2.FieldDescriptorProto

OPENAPI_VERSION = "3.1.0"
TITLE = "Booking mesh API"
BEARER = "bearerAuth"

# Statuses every route may answer, besides its success: bad input (body, query, path), a
# missing resource, a state conflict, a domain rule, rate limits and a backend that is down.
# 401 and 403 are added per route (see _error_statuses).
COMMON_ERROR_STATUSES = [400, 404, 409, 422, 429, 503]

_INT32 = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
# proto3 JSON writes 64-bit integers as strings (a double cannot hold them all).
_INT64 = {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}
_UINT64 = {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"}
SCALARS = {
    FieldProto.TYPE_STRING: {"type": "string"},
    FieldProto.TYPE_BOOL: {"type": "boolean"},
    FieldProto.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
    FieldProto.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldProto.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldProto.TYPE_INT32: _INT32,
    FieldProto.TYPE_SINT32: _INT32,
    FieldProto.TYPE_SFIXED32: _INT32,
    FieldProto.TYPE_UINT32: _UINT32,
    FieldProto.TYPE_FIXED32: _UINT32,
    FieldProto.TYPE_INT64: _INT64,
    FieldProto.TYPE_SINT64: _INT64,
    FieldProto.TYPE_SFIXED64: _INT64,
    FieldProto.TYPE_UINT64: _UINT64,
    FieldProto.TYPE_FIXED64: _UINT64,
}
WELL_KNOWN = {
    ".google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    ".google.protobuf.Duration": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$"},
    ".google.protobuf.Empty": {"type": "object", "additionalProperties": False},
}

# Source-info paths (descriptor.proto field numbers) of the elements that carry comments.
_FILE_PACKAGE, _FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 2, 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM = 2, 3, 4
_ENUM_VALUE, _SERVICE_METHOD = 2, 2


def _paragraph(comment: str) -> str:
    return " ".join(line.strip() for line in comment.strip().splitlines())


class _Descriptors:
    """Messages, enums and comments of a descriptor set, by full name (".booking.v1.Slot")."""

    def __init__(self, descriptor_path: Path) -> None:
        self.files = list(_descriptor_files(descriptor_path))
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.enums: dict[str, descriptor_pb2.EnumDescriptorProto] = {}
        self.comments: dict[str, str] = {}
        for file in self.files:
            located = {tuple(loc.path): loc.leading_comments for loc in file.source_code_info.location}
            self._note(located, f".{file.package}", (_FILE_PACKAGE,))
            for i, enum in enumerate(file.enum_type):
                self._enum(located, f".{file.package}.{enum.name}", enum, (_FILE_ENUM, i))
            for i, message in enumerate(file.message_type):
                self._message(located, f".{file.package}.{message.name}", message, (_FILE_MESSAGE, i))
            for i, service in enumerate(file.service):
                name = f"{file.package}.{service.name}"
                self._note(located, name, (_FILE_SERVICE, i))
                for j, method in enumerate(service.method):
                    self._note(located, f"{name}.{method.name}", (_FILE_SERVICE, i, _SERVICE_METHOD, j))

    def _note(self, located: dict, name: str, path: tuple) -> None:
        text = _paragraph(located.get(path, ""))
        if text and name not in self.comments:
            self.comments[name] = text

    def _enum(self, located, name, enum, path) -> None:
        self.enums[name] = enum
        self._note(located, name, path)
        for i, value in enumerate(enum.value):
            self._note(located, f"{name}.{value.name}", (*path, _ENUM_VALUE, i))

    def _message(self, located, name, message, path) -> None:
        self.messages[name] = message
        self._note(located, name, path)
        for i, field in enumerate(message.field):
            self._note(located, f"{name}.{field.name}", (*path, _MESSAGE_FIELD, i))
        for i, nested in enumerate(message.nested_type):
            self._message(located, f"{name}.{nested.name}", nested, (*path, _MESSAGE_NESTED, i))
        for i, enum in enumerate(message.enum_type):
            self._enum(located, f"{name}.{enum.name}", enum, (*path, _MESSAGE_ENUM, i))


def _ref(name: str, kind: str = "schemas") -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _short(full_name: str) -> str:
    return full_name.rsplit(".", 1)[-1]


class _Builder:
    def __init__(self, descriptors: _Descriptors) -> None:
        self.d = descriptors
        self.schemas: dict[str, dict] = {}

    def describe(self, schema: dict, full_name: str, json_name: str | None = None) -> dict:
        text = self.d.comments.get(full_name)
        if text:
            proto_name = _short(full_name)
            # Comments start with the element's proto name; clients know it by its JSON name.
            if json_name and text.startswith(proto_name + " "):
                text = json_name + text[len(proto_name):]
            schema["description"] = text
        return schema

    def _component(self, name: str, full_name: str) -> None:
        owner = self.schemas.get(name, {}).get("x-proto")
        if owner is not None and owner != full_name:
            raise ValueError(f"two protobuf types would share the schema name {name}: {owner}, {full_name}")

    def enum(self, full_name: str) -> dict:
        name = _short(full_name)
        self._component(name, full_name)
        if name not in self.schemas:
            enum = self.d.enums[full_name]
            items = []
            for value in enum.value:
                text = self.d.comments.get(f"{full_name}.{value.name}", "")
                items.append(f"- `{value.name}`" + (text[len(value.name):] if text.startswith(value.name + " ") else f": {text}"))
            self.schemas[name] = {
                "x-proto": full_name,
                "type": "string",
                "enum": [value.name for value in enum.value],
                "description": self.d.comments.get(full_name, "") + "\n\n" + "\n".join(items),
            }
        return _ref(name)

    def message(self, full_name: str, request: bool, exclude: frozenset[str] = frozenset(), name: str | None = None) -> dict:
        """A $ref to the schema of a message as a request body (closed, nothing required) or
        as a response (every field without presence is always printed, so it is required)."""
        if full_name in WELL_KNOWN:
            return dict(WELL_KNOWN[full_name])
        if full_name.startswith(".google.protobuf."):
            raise ValueError(f"no JSON mapping for the well-known type {full_name} yet: add it to WELL_KNOWN")
        name = name or _short(full_name) + ("Input" if request else "")
        self._component(name, full_name)
        if name in self.schemas:
            return _ref(name)
        message = self.d.messages[full_name]
        self.schemas[name] = {"x-proto": full_name}  # placeholder: a message may contain itself
        properties, required = {}, []
        for field in message.field:
            if field.name in exclude:
                continue
            properties[field.json_name] = self.describe(self.field(field, request), f"{full_name}.{field.name}", field.json_name)
            has_presence = field.proto3_optional or field.HasField("oneof_index") or (
                field.type == FieldProto.TYPE_MESSAGE and field.label != FieldProto.LABEL_REPEATED
            )
            if not has_presence:
                required.append(field.json_name)
        schema = self.describe({"x-proto": full_name, "type": "object", "properties": properties}, full_name)
        if request:
            # The transcoder rejects unknown fields (proto3 JSON also accepts the proto names).
            schema["additionalProperties"] = False
        elif required:
            # always_print_primitive_fields: fields without presence appear even when empty.
            schema["required"] = required
        self.schemas[name] = schema
        return _ref(name)

    def field(self, field: FieldProto, request: bool) -> dict:
        if field.type == FieldProto.TYPE_MESSAGE:
            entry = self.d.messages.get(field.type_name)
            if entry is not None and entry.options.map_entry:
                _, value = entry.field
                return {"type": "object", "additionalProperties": self.field(value, request)}
            schema = self.message(field.type_name, request)
        elif field.type == FieldProto.TYPE_ENUM:
            schema = self.enum(field.type_name)
        elif field.type in SCALARS:
            schema = dict(SCALARS[field.type])
        else:
            raise ValueError(f"no JSON mapping for field {field.name} of type {field.type}")
        if field.label == FieldProto.LABEL_REPEATED:
            return {"type": "array", "items": schema}
        return schema

    def query_parameters(self, full_name: str, exclude: frozenset[str], prefix: str = "") -> list[dict]:
        """The transcoder fills the fields a GET's path does not bind from the query string;
        nested message fields by their dotted path."""
        parameters = []
        for field in self.d.messages[full_name].field:
            if field.name in exclude:
                continue
            name = prefix + field.json_name
            nested = field.type == FieldProto.TYPE_MESSAGE and field.type_name not in WELL_KNOWN
            if nested and field.label != FieldProto.LABEL_REPEATED:
                parameters += self.query_parameters(field.type_name, frozenset(), name + ".")
                continue
            if nested:
                raise ValueError(f"a repeated message field cannot be a query parameter: {full_name}.{field.name}")
            parameter = {"name": name, "in": "query", "required": False, "schema": self.field(field, request=True)}
            if field.label == FieldProto.LABEL_REPEATED:
                parameter |= {"style": "form", "explode": True}
            parameters.append(self.describe(parameter, f"{full_name}.{field.name}", field.json_name))
        return parameters


def _path(template: str, message: descriptor_pb2.DescriptorProto) -> tuple[str, list[FieldProto]]:
    """The OpenAPI path of an HTTP rule template and the fields its variables bind."""
    fields = {f.name: f for f in message.field}
    bound = []

    def variable(match: re.Match) -> str:
        name, pattern = match.group(1).strip(), match.group(2)
        if name not in fields or pattern not in (None, "*"):
            raise ValueError(f"path template {template}: only single-segment variables of top-level fields are supported")
        bound.append(fields[name])
        return "{" + fields[name].json_name + "}"

    return _PATH_VARIABLE.sub(variable, template), bound


def _error_statuses(verb: str, path: str, bound: list) -> list[int]:
    public = (verb, path) in PUBLIC_ROUTES
    admin = path.startswith(ADMIN_PREFIXES[0] + "/")
    # A customer route that names a resource in its path may name someone else's.
    owner = not public and bool(bound)
    # A public route answers 401 too when a token is sent and is not valid.
    statuses = [401] + ([403] if admin or owner else []) + COMMON_ERROR_STATUSES
    return sorted(statuses)


def _error_responses() -> tuple[dict[int, str], dict]:
    """One reusable response per HTTP status of the error table, its codes narrowed to that status."""
    codes_by_status = defaultdict(list)
    for kind in ERRORS.values():
        codes_by_status[kind.http_status].append(kind.code)
    names, responses = {}, {}
    for status, codes in sorted(codes_by_status.items()):
        phrase = HTTPStatus(status).phrase
        name = "".join(word.capitalize() for word in re.split(r"[^A-Za-z]+", phrase) if word)
        narrowed = {"type": "object", "properties": {"code": {"enum": codes}}}
        if codes == ["VALIDATION_ERROR"]:
            narrowed["required"] = ["fields"]  # the gateway always lists the fields, maybe none
        response = {
            "description": f"{phrase}: {', '.join(codes)}.",
            "content": {"application/json": {"schema": {"allOf": [_ref("Error"), narrowed]}}},
        }
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 0},
                }
            }
        names[status] = name
        responses[name] = response
    return names, responses


def _error_schemas() -> dict:
    return {
        "Error": {
            "type": "object",
            "description": "Every error answer. VALIDATION_ERROR adds the fields at fault (maybe none).",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": list(ERRORS), "description": "What went wrong, for programs."},
                "message": {"type": "string", "description": "What went wrong, for people."},
                "fields": {"type": "array", "items": _ref("FieldViolation")},
            },
            "additionalProperties": False,
        },
        "FieldViolation": {
            "type": "object",
            "description": "One invalid field of the request.",
            "required": ["field", "description"],
            "properties": {
                "field": {"type": "string", "description": "The field's JSON name (a path for nested fields)."},
                "description": {"type": "string", "description": "What is wrong with it."},
            },
            "additionalProperties": False,
        },
    }


def _openapi_operation(error_names: dict[int, str]) -> dict:
    return {
        "operationId": "GetOpenApiDocument",
        "tags": ["Gateway"],
        "summary": "This document.",
        "description": "The OpenAPI description of this API, generated from its protobuf definitions. No token needed.",
        "security": [],
        "responses": {
            "200": {"description": "The document.", "content": {"application/json": {"schema": {"type": "object"}}}},
            "401": _ref(error_names[401], "responses"),
        },
    }


def build(descriptor_path: Path = DEFAULT_DESCRIPTOR) -> dict:
    """The OpenAPI document of every HTTP rule of the gateway's services."""
    descriptors = _Descriptors(Path(descriptor_path))
    builder = _Builder(descriptors)
    error_names, error_responses = _error_responses()
    paths: dict[str, dict] = {}
    operation_ids = set()
    bindings = http_bindings(Path(descriptor_path))
    for binding in bindings:
        method = binding.method
        request = descriptors.messages[method.input_type]
        path, bound = _path(binding.path, request)
        bound_names = frozenset(f.name for f in bound)
        method_name = f"{binding.service}.{method.name}"
        if method.name in operation_ids:
            raise ValueError(f"{method.name} has several HTTP rules or services share the name: give each an operationId")
        operation_ids.add(method.name)
        public = (binding.verb, binding.path) in PUBLIC_ROUTES
        admin = binding.path.startswith(ADMIN_PREFIXES[0] + "/")
        comment = descriptors.comments.get(method_name, "")
        access = "No token needed." if public else "Needs a bearer token with role ADMIN." if admin else "Needs a bearer token."
        operation = {
            "operationId": method.name,
            "tags": [_short(binding.service)],
            "summary": comment.split(". ")[0].rstrip("."),
            "description": f"{comment} {access}".strip(),
        }
        if public:
            operation["security"] = []
        parameters = [
            builder.describe(
                {"name": f.json_name, "in": "path", "required": True, "schema": builder.field(f, request=True)},
                f"{method.input_type}.{f.name}",
                f.json_name,
            )
            for f in bound
        ]
        body = None
        if binding.body == "*":
            schema = builder.message(
                method.input_type, True, bound_names, _short(method.input_type) + ("Body" if bound_names else "")
            )
            body = schema
        else:
            body_fields = frozenset([binding.body]) if binding.body else frozenset()
            parameters += builder.query_parameters(method.input_type, bound_names | body_fields)
            if binding.body:
                (field,) = [f for f in request.field if f.name == binding.body]
                body = builder.field(field, request=True)
        if parameters:
            operation["parameters"] = parameters
        if body is not None:
            # Not required: the transcoder reads a missing body as the empty message.
            operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
        success = HTTPStatus.CREATED if (binding.verb, binding.path) in CREATE_ROUTES else HTTPStatus.OK
        response = builder.message(method.output_type, request=False)
        operation["responses"] = {
            str(success.value): {
                "description": descriptors.comments.get(method.output_type, success.phrase),
                "content": {"application/json": {"schema": response}},
            }
        } | {str(status): _ref(error_names[status], "responses") for status in _error_statuses(binding.verb, binding.path, bound)}
        paths.setdefault(path, {})[binding.verb.lower()] = operation
    verb, path = OPENAPI_ROUTE
    paths.setdefault(path, {})[verb.lower()] = _openapi_operation(error_names)

    schemas = {name: {k: v for k, v in schema.items() if k != "x-proto"} for name, schema in sorted(builder.schemas.items())}
    package = descriptors.comments.get(".booking.v1", "")
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": TITLE,
            "version": "v1",
            "description": (
                f"{package} Generated from the protobuf definitions (protos/booking/v1) by gateway/openapi.py; "
                "do not edit. Errors are JSON {\"code\", \"message\"[, \"fields\"]} with the codes of the Error schema."
            ).strip(),
        },
        "tags": [
            {"name": _short(s), "description": descriptors.comments[s]} for s in dict.fromkeys(b.service for b in bindings)
        ] + [{"name": "Gateway", "description": "Served by the gateway itself."}],
        "security": [{BEARER: []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An ES256 JWT with claims sub, role (CUSTOMER or ADMIN), exp, iss and aud.",
                }
            },
            "schemas": schemas | _error_schemas(),
            "responses": error_responses,
        },
    }


def render(descriptor_path: Path = DEFAULT_DESCRIPTOR) -> str:
    """The document as the committed file holds it (stable key order, ASCII, final newline)."""
    return json.dumps(build(descriptor_path), indent=2) + "\n"


__all__ = ["build", "render"]
