"""Environment account connections between two accounts, seen from boto3.

Usage: boto3_connections.py CONNECTION_ID ROLE_ARN SPEC_FILE_ARG

The server is HADRON_ENDPOINT; MGMT_KEY/MGMT_SECRET is a key of the
management account, ENV_KEY/ENV_SECRET one of the environment account that
requested connection CONNECTION_ID (accepted since). Has the environment
account's key try to create a template; requests a second connection (for
environment prod-b, with ROLE_ARN) with it, accepts it with the management
key and creates environment prod-b on it (template vpc, the spec in
SPEC_FILE_ARG, file://PATH), without waiting. Then lists the first
connection from both sides, has the wrong side try to accept and delete
it, updates its roles and deletes it from the environment account, twice.
Prints what each answered as one JSON object for the Go test.
"""
import json
import os
import sys

import boto3
from botocore.exceptions import ClientError


def client(key, secret):
    return boto3.client("proton", endpoint_url=os.environ["HADRON_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret)


def outcome(fn):
    try:
        out = fn()
        out.pop("ResponseMetadata", None)
        return {"Code": "", "Output": out}
    except ClientError as e:
        return {"Code": e.response["Error"]["Code"], "Message": e.response["Error"].get("Message", "")}


def ids(pages):
    return [c["id"] for page in pages for c in page["environmentAccountConnections"]]


def main():
    conn, role, spec_arg = sys.argv[1:4]
    with open(spec_arg.removeprefix("file://")) as f:
        spec = f.read()
    mgmt = client(os.environ["MGMT_KEY"], os.environ["MGMT_SECRET"])
    env = client(os.environ["ENV_KEY"], os.environ["ENV_SECRET"])
    paginate = lambda c, by: c.get_paginator("list_environment_account_connections").paginate(requestedBy=by)
    second = outcome(lambda: env.create_environment_account_connection(
        managementAccountId="000000000000", environmentName="prod-b", roleArn=role))
    second_id = second.get("Output", {}).get("environmentAccountConnection", {}).get("id", "")
    accept = outcome(lambda: mgmt.accept_environment_account_connection(id=second_id))
    print(json.dumps({
        "CreateTemplate": outcome(lambda: env.create_environment_template(name="from-env-account")),
        "Second": second,
        "SecondAccept": accept,
        "SecondEnvironment": outcome(lambda: mgmt.create_environment(
            name="prod-b", templateName="vpc", templateMajorVersion="1",
            environmentAccountConnectionId=second_id, spec=spec)),
        "ManagementList": ids(paginate(mgmt, "MANAGEMENT_ACCOUNT")),
        "EnvironmentList": ids(paginate(env, "ENVIRONMENT_ACCOUNT")),
        "ManagementAsEnvironment": ids(paginate(mgmt, "ENVIRONMENT_ACCOUNT")),
        "Get": outcome(lambda: env.get_environment_account_connection(id=conn)),
        "WrongSideAccept": outcome(lambda: env.accept_environment_account_connection(id=conn)),
        "WrongSideDelete": outcome(lambda: mgmt.delete_environment_account_connection(id=conn)),
        "Update": outcome(lambda: env.update_environment_account_connection(
            id=conn, componentRoleArn="arn:aws:iam::222222222222:role/component")),
        "Delete": outcome(lambda: env.delete_environment_account_connection(id=conn)),
        "DeleteAgain": outcome(lambda: env.delete_environment_account_connection(id=conn)),
        "GetAfter": outcome(lambda: mgmt.get_environment_account_connection(id=conn)),
    }, default=str))


if __name__ == "__main__":
    main()
