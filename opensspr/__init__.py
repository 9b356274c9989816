"""OpenSSPR: self-hosted self-service password reset."""

__version__ = "0.1.0"
