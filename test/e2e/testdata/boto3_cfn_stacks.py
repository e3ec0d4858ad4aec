"""Lists the live CloudFormation stacks Hadron made, with boto3.

Usage: boto3_cfn_stacks.py ENDPOINT ROLE_ARN

The stacks live in the account of the roles Hadron assumed (moto keeps one
set of stacks per account), so the script assumes ROLE_ARN first.

Prints {"stacks": {name: {"status", "tags", "resources": {logical: physical}}}}
for every stack named AWSProton-* that is not DELETE_COMPLETE.
"""
import json
import sys

import boto3

endpoint, role = sys.argv[1], sys.argv[2]
creds = boto3.client("sts", endpoint_url=endpoint).assume_role(RoleArn=role, RoleSessionName="e2e")["Credentials"]
cfn = boto3.client("cloudformation", endpoint_url=endpoint, aws_access_key_id=creds["AccessKeyId"],
                   aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
stacks = {}
for page in cfn.get_paginator("list_stacks").paginate():
    for s in page["StackSummaries"]:
        name = s["StackName"]
        if not name.startswith("AWSProton-") or s["StackStatus"] == "DELETE_COMPLETE":
            continue
        full = cfn.describe_stacks(StackName=name)["Stacks"][0]
        res = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
        stacks[name] = {
            "status": full["StackStatus"],
            "tags": {t["Key"]: t["Value"] for t in full.get("Tags", [])},
            "resources": {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in res},
        }
json.dump({"stacks": stacks}, sys.stdout)
