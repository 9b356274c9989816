"""Verification methods: one module per method, behind the VerificationMethod protocol."""
