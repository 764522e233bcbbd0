"""Unit tests of what the handlers share."""
