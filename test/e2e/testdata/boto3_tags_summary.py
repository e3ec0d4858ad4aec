"""Tags and the resources summary, seen from boto3.

Usage: boto3_tags_summary.py ENVIRONMENT

The server is HADRON_ENDPOINT; ENVIRONMENT is a deployed environment of
template "network". Tags the environment and its template, reads the tags
back with the list_tags_for_resource paginator (page size 2), removes one,
asks for the tags of a resource that does not exist, and reads
get_resources_summary. Prints what each answered as one JSON object for the
Go test.
"""
import json
import os
import sys

import boto3
from botocore.exceptions import ClientError

PREFIX = "arn:aws:proton:us-east-1:000000000000:"


def main():
    env = sys.argv[1]
    proton = boto3.client("proton", endpoint_url=os.environ["HADRON_ENDPOINT"], region_name="us-east-1")
    env_arn = PREFIX + "environment/" + env
    proton.tag_resource(resourceArn=env_arn, tags=[{"key": k, "value": v} for k, v in (("a", "1"), ("b", "2"), ("c", "3"))])
    proton.untag_resource(resourceArn=env_arn, tagKeys=["b"])
    proton.tag_resource(resourceArn=PREFIX + "environment-template/network", tags=[{"key": "owner", "value": "net"}])
    pages = 0
    tags = {}
    for page in proton.get_paginator("list_tags_for_resource").paginate(
        resourceArn=env_arn, PaginationConfig={"PageSize": 1}
    ):
        pages += 1
        tags.update({t["key"]: t["value"] for t in page["tags"]})
    template_tags = proton.list_tags_for_resource(resourceArn=PREFIX + "environment-template/network")["tags"]
    missing = {}
    try:
        proton.list_tags_for_resource(resourceArn=PREFIX + "environment/none")
    except ClientError as e:
        missing = {"Code": e.response["Error"]["Code"], "Message": e.response["Error"].get("Message", "")}
    print(json.dumps({
        "EnvironmentTags": tags,
        "Pages": pages,
        "TemplateTags": {t["key"]: t["value"] for t in template_tags},
        "Missing": missing,
        "Summary": proton.get_resources_summary()["counts"],
    }))


if __name__ == "__main__":
    main()
