"""The brochure PDF, fetched from S3 with boto3 (in a worker thread: boto3 blocks)."""
from __future__ import annotations

import asyncio

from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from notification_svc.failures import Outage, RetryableFailure


class BrochureSource:
    def __init__(self, client, bucket: str, key: str):
        self._client = client
        self._bucket = bucket
        self._key = key

    def _get(self) -> bytes:
        response = self._client.get_object(Bucket=self._bucket, Key=self._key)
        return response["Body"].read()

    async def fetch(self) -> bytes:
        try:
            return await asyncio.to_thread(self._get)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "?")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status >= 500:
                raise Outage(f"S3 error {code}") from exc
            raise RetryableFailure(f"brochure s3://{self._bucket}/{self._key} unavailable: {code}") from exc
        except (BotoConnectionError, BotoCoreError, OSError) as exc:
            raise Outage(f"S3 unreachable: {type(exc).__name__}") from exc
