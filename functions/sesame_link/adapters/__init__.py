"""Adapters: Sesame (requests) and AWS (boto3: Secrets Manager, DynamoDB, SQS, EventBridge, KMS).
They fit core's ports and import no service."""
