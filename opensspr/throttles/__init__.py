"""Every rate limit of the product: one table of rules, one service, two stores.

``rules`` declares each limit as data; ``service`` is the one API every caller
uses (``hit``, ``reserve``/``give_back``, ``blocked_until``, ``clear``); the
database store (row locks) and the Redis store (one Lua script per operation)
keep the counts. See docs/contributors/throttles.md and docs/adr/0003.
"""
