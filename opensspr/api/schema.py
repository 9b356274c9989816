"""The API's own description: the checked-in OpenAPI document, served as it is.

The file is the contract integrators code against, so it is served byte for byte
and never generated at request time; ``scripts/build_openapi.py`` rebuilds it from
the endpoint declarations (``opensspr.api.document``) and a test fails when the
two drift apart.
"""

from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse

from opensspr.api.endpoints import endpoint

DOCUMENT_PATH = Path(__file__).resolve().parent / "openapi.json"


@cache
def document_bytes() -> bytes:
    return DOCUMENT_PATH.read_bytes()


@endpoint(
    method="GET",
    operation_id="getOpenApiDocument",
    summary="This OpenAPI document",
    response="OpenApiDocument",
)
def openapi_document(request: HttpRequest) -> HttpResponse:
    return HttpResponse(document_bytes(), content_type="application/json")
