"""boto3's environment_template_version_registered waiter on a bad bundle.

Usage: boto3_bad_bundle.py TEMPLATE BUNDLE_KEY

Registers a version of TEMPLATE from s3 {templates, BUNDLE_KEY} and waits for
it with the waiter, which must end in a WaiterError. Prints the error and the
version the waiter saw last as one JSON object. The server is HADRON_ENDPOINT.
"""
import json
import os
import sys

import boto3
from botocore.exceptions import WaiterError


def main():
    template, key = sys.argv[1:3]
    p = boto3.client(
        "proton",
        endpoint_url=os.environ["HADRON_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    p.create_environment_template(name=template)
    v = p.create_environment_template_version(
        templateName=template, source={"s3": {"bucket": "templates", "key": key}}
    )["environmentTemplateVersion"]
    result = {"created": v, "waiterError": None}
    try:
        p.get_waiter("environment_template_version_registered").wait(
            templateName=template,
            majorVersion=v["majorVersion"],
            minorVersion=v["minorVersion"],
            WaiterConfig={"Delay": 1, "MaxAttempts": 30},
        )
    except WaiterError as e:
        result["waiterError"] = str(e)
        result["lastResponse"] = e.last_response
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
