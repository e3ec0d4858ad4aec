"""The core environment workflow with boto3, its waiters and its paginator.

Usage: boto3_workflow.py TEMPLATE BUNDLE_KEY ENVIRONMENT SPEC SLOW_SPEC

Registers and publishes TEMPLATE from s3 {templates, BUNDLE_KEY}, creates
ENVIRONMENT with SPEC and waits for it (waiter environment_deployed), updates
it with SLOW_SPEC and cancels the update once its provisioning command has
started, waits for the end of the cancel, lists the deployments one per page
(paginator list_deployments), deletes the environment and waits until it is
gone. Prints what it saw as one JSON object for the Go test to check.
The server is HADRON_ENDPOINT, its data directory HADRON_DATA_DIR.
"""
import json
import os
import sys
import time

import boto3
from botocore.exceptions import ClientError

POLL = 0.1
TIMEOUT = 60


def client():
    return boto3.client(
        "proton",
        endpoint_url=os.environ["HADRON_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )


def poll(what, fn):
    """Calls fn until it returns something other than None."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        got = fn()
        if got is not None:
            return got
        time.sleep(POLL)
    raise SystemExit("timed out waiting for " + what)


def log_contains(deployment_id, text):
    path = os.path.join(os.environ["HADRON_DATA_DIR"], "logs", deployment_id + ".log")
    try:
        with open(path) as f:
            return True if text in f.read() else None
    except FileNotFoundError:
        return None


def main():
    template, key, name, spec, slow_spec = sys.argv[1:6]
    p = client()
    result = {}

    p.create_environment_template(name=template, displayName="boto3 " + template)
    v = p.create_environment_template_version(
        templateName=template, source={"s3": {"bucket": "templates", "key": key}}
    )["environmentTemplateVersion"]
    version = {"templateName": template, "majorVersion": v["majorVersion"], "minorVersion": v["minorVersion"]}
    p.get_waiter("environment_template_version_registered").wait(
        **version, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    p.update_environment_template_version(**version, status="PUBLISHED")

    env = p.create_environment(
        name=name,
        templateName=template,
        templateMajorVersion=v["majorVersion"],
        codebuildRoleArn="arn:aws:iam::000000000000:role/hadron-codebuild",
        spec=spec,
    )["environment"]
    result["created"] = env
    p.get_waiter("environment_deployed").wait(name=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    result["deployed"] = p.get_environment(name=name)["environment"]
    result["outputs"] = p.list_environment_outputs(environmentName=name)["outputs"]

    env = p.update_environment(name=name, deploymentType="CURRENT_VERSION", spec=slow_spec)["environment"]
    result["updated"] = env
    poll("the update's provisioning to start", lambda: log_contains(env["lastAttemptedDeploymentId"], "provision: started"))
    result["cancelled"] = p.cancel_environment_deployment(environmentName=name)["environment"]

    def ended():
        e = p.get_environment(name=name)["environment"]
        return None if e["deploymentStatus"] in ("IN_PROGRESS", "CANCELLING") else e

    result["final"] = poll("the cancel to end", ended)

    pages = p.get_paginator("list_deployments").paginate(environmentName=name, PaginationConfig={"PageSize": 1})
    result["pages"] = 0
    result["deployments"] = []
    for page in pages:
        result["pages"] += 1
        result["deployments"] += page["deployments"]

    result["deleted"] = p.delete_environment(name=name)["environment"]

    def gone():
        try:
            p.get_environment(name=name)
            return None
        except ClientError as e:
            return e.response["Error"]

    result["afterDelete"] = poll("the delete to end", gone)
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
