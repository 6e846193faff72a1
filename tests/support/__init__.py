"""Helpers shared by the test suites (test identities, fixture paths)."""
