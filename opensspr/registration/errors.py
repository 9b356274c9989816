"""What a security-info proof refuses with: a ``code`` that picks the message shown."""


class ProofError(Exception):
    """A proof can't be started or didn't pass; ``code`` picks the message shown."""

    def __init__(self, code: str, *, retry_after: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.retry_after = retry_after  # seconds of a short pause after wrong codes in a row
