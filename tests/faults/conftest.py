"""The fault suite shares the API tests' client and people (tests/api/conftest.py)."""

from tests.api.conftest import _api_urls, _policy, api, document, jan  # noqa: F401
