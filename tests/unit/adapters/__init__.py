"""Unit tests of the adapters, on botocore's Stubber or in-process fakes."""
