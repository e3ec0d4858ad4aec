"""Linked repositories with boto3.

Usage: boto3_repositories.py IN_USE_NAME UNUSED_NAME

Lists the repositories with the list_repositories paginator (one per page),
reads GITHUB repository IN_USE_NAME, tries to delete it (an environment uses
it, so the delete must fail), deletes GITHUB repository UNUSED_NAME and
reads it again. Prints what each call gave as one JSON object. The server is
HADRON_ENDPOINT.
"""
import json
import os
import sys

import boto3
from botocore.exceptions import ClientError


def error(call):
    try:
        call()
    except ClientError as e:
        return {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}
    return None


def main():
    in_use, unused = sys.argv[1:3]
    p = boto3.client(
        "proton",
        endpoint_url=os.environ["HADRON_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    result = {"listed": [], "pages": 0}
    for page in p.get_paginator("list_repositories").paginate(PaginationConfig={"PageSize": 1}):
        result["pages"] += 1
        result["listed"] += page["repositories"]
    result["got"] = p.get_repository(provider="GITHUB", name=in_use)["repository"]
    result["deleteInUse"] = error(lambda: p.delete_repository(provider="GITHUB", name=in_use))
    result["deleted"] = p.delete_repository(provider="GITHUB", name=unused)["repository"]
    result["afterDelete"] = error(lambda: p.get_repository(provider="GITHUB", name=unused))
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
