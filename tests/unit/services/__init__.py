"""Unit tests of the services, on in-process fakes of the ports."""
