"""The core service workflow with boto3, its waiters and its paginators.

Usage: boto3_services.py BUNDLE_KEY ENV_A ENV_B

Registers and publishes the service template "web" from s3 {templates,
BUNDLE_KEY} (compatible with the environment template "network" 1, whose
environments ENV_A and ENV_B exist), sets the account's pipeline role, and
creates the service "shop" with the instances "front" (ENV_A) and "back"
(ENV_B) and a pipeline (waiter service_created). Lists the instances one per
page (paginator list_service_instances). Updates "front" with a slow spec and
cancels the update once its command runs (cancel_service_instance_deployment),
then updates it for real (waiter service_instance_deployed); does the same
with the pipeline (cancel_service_pipeline_deployment, waiter
service_pipeline_deployed); adds the instance "extra" with update_service
(waiter service_updated); lists the service's deployments two per page
(paginator list_deployments); deletes the service (waiter service_deleted).
Prints what it saw as one JSON object for the Go test to check.
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
# The waiters poll every second here (the model's delays are 5 and 10 s).
FAST = {"Delay": 1, "MaxAttempts": 60}


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


def spec(instances, pipeline):
    """A service spec: instances is a list of (name, environment, inputs)."""
    lines = ["proton: ServiceSpec", "pipeline:"]
    lines += ["  %s: %s" % kv for kv in pipeline.items()]
    lines.append("instances:")
    for name, env, inputs in instances:
        lines += ["  - name: " + name, "    environment: " + env, "    spec:"]
        lines += ["      %s: %s" % kv for kv in inputs.items()] or ["      {}"]
    return "\n".join(lines) + "\n"


def main():
    key, env_a, env_b = sys.argv[1:4]
    p = client()
    result = {}

    p.update_account_settings(pipelineCodebuildRoleArn="arn:aws:iam::000000000000:role/hadron-pipeline-codebuild")
    p.create_service_template(name="web", displayName="boto3 web")
    v = p.create_service_template_version(
        templateName="web",
        source={"s3": {"bucket": "templates", "key": key}},
        compatibleEnvironmentTemplates=[{"templateName": "network", "majorVersion": "1"}],
    )["serviceTemplateVersion"]
    version = {"templateName": "web", "majorVersion": v["majorVersion"], "minorVersion": v["minorVersion"]}
    p.get_waiter("service_template_version_registered").wait(**version, WaiterConfig=FAST)
    p.update_service_template_version(**version, status="PUBLISHED")

    front = ("front", env_a, {"port": 8080})
    back = ("back", env_b, {"image": "api"})
    first = spec([front, back], {"stages": 1})
    result["created"] = p.create_service(
        name="shop", templateName="web", templateMajorVersion="1", spec=first
    )["service"]
    p.get_waiter("service_created").wait(name="shop", WaiterConfig=FAST)
    result["active"] = p.get_service(name="shop")["service"]

    pages = p.get_paginator("list_service_instances").paginate(
        serviceName="shop", sortBy="name", PaginationConfig={"PageSize": 1}
    )
    result["instancePages"] = 0
    result["instances"] = []
    for page in pages:
        result["instancePages"] += 1
        result["instances"] += page["serviceInstances"]

    # An instance update, cancelled once its command runs; then one that succeeds.
    slow = spec([("front", env_a, {"port": 8080, "seconds": 120}), back], {"stages": 1})
    inst = p.update_service_instance(
        serviceName="shop", name="front", deploymentType="CURRENT_VERSION", spec=slow
    )["serviceInstance"]
    poll("the instance update to start", lambda: log_contains(inst["lastAttemptedDeploymentId"], "instance: started"))
    result["instanceCancelling"] = p.cancel_service_instance_deployment(
        serviceName="shop", serviceInstanceName="front"
    )["serviceInstance"]

    def instance_ended():
        i = p.get_service_instance(serviceName="shop", name="front")["serviceInstance"]
        return None if i["deploymentStatus"] in ("IN_PROGRESS", "CANCELLING") else i

    result["instanceCancelled"] = poll("the instance cancel to end", instance_ended)
    updated = spec([("front", env_a, {"port": 9090}), back], {"stages": 1})
    p.update_service_instance(serviceName="shop", name="front", deploymentType="CURRENT_VERSION", spec=updated)
    p.get_waiter("service_instance_deployed").wait(serviceName="shop", name="front", WaiterConfig=FAST)
    result["instanceDeployed"] = p.get_service_instance(serviceName="shop", name="front")["serviceInstance"]
    result["instanceOutputs"] = p.list_service_instance_outputs(
        serviceName="shop", serviceInstanceName="front"
    )["outputs"]

    # A pipeline update, cancelled once its command runs; then one that succeeds.
    slow = spec([front, back], {"stages": 4, "seconds": 120})
    pipe = p.update_service_pipeline(serviceName="shop", deploymentType="CURRENT_VERSION", spec=slow)["pipeline"]
    poll("the pipeline update to start", lambda: log_contains(pipe["lastAttemptedDeploymentId"], "pipeline: started"))
    result["pipelineCancelling"] = p.cancel_service_pipeline_deployment(serviceName="shop")["pipeline"]

    def pipeline_ended():
        q = p.get_service(name="shop")["service"]["pipeline"]
        return None if q["deploymentStatus"] in ("IN_PROGRESS", "CANCELLING") else q

    result["pipelineCancelled"] = poll("the pipeline cancel to end", pipeline_ended)
    p.update_service_pipeline(
        serviceName="shop", deploymentType="CURRENT_VERSION", spec=spec([front, back], {"stages": 2})
    )
    p.get_waiter("service_pipeline_deployed").wait(name="shop", WaiterConfig=FAST)
    result["pipelineDeployed"] = p.get_service(name="shop")["service"]["pipeline"]

    # update_service adds an instance; the pipeline deploys again.
    bigger = spec([("front", env_a, {"port": 9090}), back, ("extra", env_a, {"seconds": 1})], {"stages": 2})
    result["updating"] = p.update_service(name="shop", spec=bigger)["service"]
    p.get_waiter("service_updated").wait(name="shop", WaiterConfig=FAST)
    result["updated"] = p.get_service(name="shop")["service"]
    result["pipelineOutputs"] = p.list_service_pipeline_outputs(serviceName="shop")["outputs"]

    pages = p.get_paginator("list_deployments").paginate(serviceName="shop", PaginationConfig={"PageSize": 2})
    result["deploymentPages"] = 0
    result["deployments"] = []
    for page in pages:
        result["deploymentPages"] += 1
        result["deployments"] += page["deployments"]

    result["deleting"] = p.delete_service(name="shop")["service"]
    p.get_waiter("service_deleted").wait(name="shop", WaiterConfig=FAST)
    try:
        p.get_service(name="shop")
        result["afterDelete"] = None
    except ClientError as e:
        result["afterDelete"] = e.response["Error"]
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
