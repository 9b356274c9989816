"""The JSON API under ``/api/v1/``: the reset and unlock flow for kiosks and other clients.

The API is a thin skin over the same engine the portal drives
(:mod:`opensspr.resets.flow`): it parses, calls one service, and renders. It keeps
these invariants:

* The only credential is the flow handle in ``Authorization: Flow <handle>``; never
  in a URL, never a cookie. The endpoints neither read nor write the Django session,
  so they need no CSRF token (a browser can't attach the header across origins
  without a CORS preflight, which we never grant).
* Every request body is a JSON object holding exactly the endpoint's own string
  fields (attack A20): unknown or duplicate fields, other types, oversize bodies and
  query parameters are refused before any service runs.
* Every error is one problem object (RFC 9457 style) with a stable ``code``; an
  unknown, expired or made-up handle all get the same 401.
* ``openapi.json`` beside this file is the contract; ``scripts/build_openapi.py``
  regenerates it from the endpoint declarations and the tests hold both to it.
"""
