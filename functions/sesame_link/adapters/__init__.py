"""Adapters: Sesame (requests) and AWS (botocore: Secrets Manager, DynamoDB, SQS, EventBridge, KMS).
They fit core's ports and import no service."""
