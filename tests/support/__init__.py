"""Test support: a real proxy process, a raw protocol client, and skip-or-fail rules."""
