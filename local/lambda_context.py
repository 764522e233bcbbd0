"""A Lambda context for in-process invokes: the deadline is the template's Timeout."""

from __future__ import annotations

import time
import uuid

from local.template import FunctionSpec


class LocalLambdaContext:
    def __init__(self, spec: FunctionSpec, timeout_seconds: float | None = None) -> None:
        self.function_name = f"sesame-link-local-{spec.logical_id}"
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = spec.memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{self.function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + (timeout_seconds or spec.timeout_seconds)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
