"""Unit tests of core: the models at the edges."""
