"""What the tests share: the token canary, the services' fakes, the local stack's helpers,
the AWS call log, child-process runs."""
