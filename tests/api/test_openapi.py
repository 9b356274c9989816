"""The OpenAPI document is the contract: current, served as checked in, complete, strict."""

import ast
import importlib
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import opensspr
from opensspr.api.document import render_document
from opensspr.api.problems import ALIASES, PROBLEMS
from opensspr.api.schema import DOCUMENT_PATH
from tests.api.conftest import PREFIX, ApiClient, load_document

pytestmark = pytest.mark.django_db
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _routes(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def test_the_checked_in_document_is_current():
    assert DOCUMENT_PATH.read_text(encoding="utf-8") == render_document(), (
        "opensspr/api/openapi.json is stale: run scripts/build_openapi.py"
    )


def test_the_document_is_valid_openapi_3_1(document):
    validate_openapi(document)  # raises on any violation of the OpenAPI 3.1 schema


def test_the_served_document_is_the_checked_in_file(api):
    served = api.get("/openapi.json")
    assert served.status == 200
    assert served.raw.content == DOCUMENT_PATH.read_bytes()


def test_every_api_route_is_documented_and_nothing_else_lives_under_api(document):
    documented = {PREFIX.lstrip("/") + path for path in document["paths"]}
    mounted = {r for r in _routes(get_resolver("tests.api.urls").url_patterns) if "api/" in r}
    assert mounted == documented
    # The project's own URLconf: whatever it mounts under api/ must be documented too.
    project = importlib.import_module("opensspr.config.urls")
    assert {r for r in _routes(project.urlpatterns) if r.startswith("api/")} <= documented


def test_every_request_body_is_closed_and_every_schema_is_valid(document):
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        Draft202012Validator.check_schema(schema)
        assert "$ref" not in str(schema) or "#/components/schemas/" in str(schema), name
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if body is None:
                assert method == "get", path
                continue
            ref = body["content"]["application/json"]["schema"]["$ref"]
            closed = schemas[ref.rsplit("/", 1)[1]]
            assert closed["additionalProperties"] is False, path
            for field in closed["properties"].values():
                string = field
                if field["type"] == "object":  # a bounded map of bounded strings
                    assert field["maxProperties"] <= 10, path
                    assert field["propertyNames"]["maxLength"] <= 64, path
                    string = field["additionalProperties"]
                assert string["type"] == "string" and string["maxLength"] <= 4096, path


def test_every_problem_code_is_documented(document):
    assert document["components"]["schemas"]["Problem"]["properties"]["code"]["enum"] == list(
        PROBLEMS
    )


def test_every_code_the_engine_raises_has_a_problem():
    """Scan the engine and the methods for FlowError/MethodError codes (drift guard)."""
    package = Path(opensspr.__file__).resolve().parent
    raised = set()
    for source in [*package.glob("resets/**/*.py"), *package.glob("methods/*.py")]:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") in {"FlowError", "MethodError"}
                and node.args
            ):  # FlowError("a"), and FlowError("a" if x else "b")
                raised |= {
                    c.value
                    for c in ast.walk(node.args[0])
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                }
    assert {"wrong_step", "invalid_code", "code_dead"} <= raised, "did the engine move?"
    # "directory:<code>" carries the directory's own code; from_engine_code maps the prefix.
    assert "directory_configuration" in PROBLEMS
    assert raised - set(PROBLEMS) - set(ALIASES) - {"directory:"} == set()


@pytest.mark.parametrize("method", METHODS)
def test_undocumented_methods_are_refused_everywhere(api, document, method):
    for path, item in document["paths"].items():
        response = api.request(method, path)
        if method.lower() in item:
            assert response.status != 405, (method, path)
        else:
            assert response.status == 405, (method, path)  # the client checked body and Allow


def test_the_client_fails_a_response_that_breaks_the_document(document):
    client = ApiClient(load_document())
    bad_flows = [
        {"handle": "x" * 43},  # fields missing
        {**_a_flow(), "verified": True},  # an undocumented field
        {**_a_flow(), "state": "skipped"},
        {**_a_flow(), "options": [{"method": "carrier_pigeon", "label": "", "needs_contact": 0}]},
    ]
    client._validate(_a_flow(), "components", "schemas", "Flow", where="good")
    for body in bad_flows:
        with pytest.raises(AssertionError, match="breaks the document"):
            client._validate(body, "components", "schemas", "Flow", where="bad")
    with pytest.raises(AssertionError, match="breaks the document"):
        client._validate(
            {"type": "t", "code": "password_rejected", "title": "", "status": 422},
            "components",
            "schemas",
            "Problem",
            where="password problem without failures",
        )


def _a_flow():
    return {
        "handle": "x" * 43,
        "state": "verify",
        "operation": "reset",
        "gate": 1,
        "gates_required": 1,
        "options": [{"method": "email", "label": "Email", "needs_contact": True}],
        "challenge": None,
        "expires_at": "2026-11-23T09:15:00Z",
        "blocked_reason": None,
        "unlock_offered": True,
    }


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"answer": "123456"}, True),
        ({"answers": {"q1": "Amsterdam"}}, True),
        ({"answer": "123456", "answers": {"q1": "Amsterdam"}}, False),
        ({}, False),
    ],
)
def test_an_answer_body_carries_exactly_one_of_answer_and_answers(document, body, valid):
    """Issue 12 item 9: the document must refuse what the server refuses."""
    registry = Registry().with_resource(
        "urn:doc", Resource(contents=document, specification=DRAFT202012)
    )
    validator = Draft202012Validator(
        {"$ref": "urn:doc#/components/schemas/AnswerRequest"}, registry=registry
    )
    assert validator.is_valid(body) is valid


def test_the_server_refuses_a_body_with_both_answers(api, jan, reset_flow):
    flow = reset_flow(jan.user_id)
    both = api.post(
        "/resets/current/verification/answer",
        {"answer": "123456", "answers": {"q1": "x"}},
        handle=flow.handle,
    )
    assert both.status == 400 and both.body["code"] == "invalid_request"
