"""The one way both the CLI and the notification service talk to S3 (AWS or any S3-compatible server)."""
from __future__ import annotations

import boto3
from botocore.config import Config


def s3_client(endpoint_url: str, access_key: str, secret_key: str, region: str = "us-east-1"):
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        # Empty keys mean "use the default credential chain" (e.g. a workload identity in a cluster).
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        region_name=region,
        config=Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            connect_timeout=3,
            read_timeout=10,
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )
