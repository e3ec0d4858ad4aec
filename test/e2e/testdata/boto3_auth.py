"""SigV4 verification, authorization and throttling, seen from boto3.

Usage: boto3_auth.py

The server is HADRON_ENDPOINT; ADMIN_KEY/ADMIN_SECRET is a key that may do
everything, READ_KEY/READ_SECRET one allowed only proton:Get*. Makes the calls
below and prints what each answered as one JSON object for the Go test:
the right key, a wrong secret, an unknown key, no signature at all, the
read-only key cancelling a deployment, and a burst of BURST_CALLS
ListEnvironments calls from BURST_THREADS threads (each with its own client,
standard retry mode, 10 attempts) that the server throttles.
"""
import json
import os
import threading

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError


def client(key, secret, attempts=1, unsigned=False):
    cfg = Config(retries={"mode": "standard", "max_attempts": attempts})
    if unsigned:
        cfg = cfg.merge(Config(signature_version=UNSIGNED))
    return boto3.client(
        "proton",
        endpoint_url=os.environ["HADRON_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=cfg,
    )


def outcome(fn):
    try:
        fn()
        return {"Code": "", "Message": "", "Status": 200}
    except ClientError as e:
        return {
            "Code": e.response["Error"]["Code"],
            "Message": e.response["Error"].get("Message", ""),
            "Status": e.response["ResponseMetadata"]["HTTPStatusCode"],
        }


def main():
    admin, admin_secret = os.environ["ADMIN_KEY"], os.environ["ADMIN_SECRET"]
    read, read_secret = os.environ["READ_KEY"], os.environ["READ_SECRET"]
    env = os.environ["ENVIRONMENT"]
    result = {
        "Right": outcome(lambda: client(admin, admin_secret).get_environment(name=env)),
        "WrongSecret": outcome(lambda: client(admin, "not-the-secret").get_environment(name=env)),
        "UnknownKey": outcome(lambda: client("HKUNKNOWNUNKNOWN0000", admin_secret).get_environment(name=env)),
        "Unsigned": outcome(lambda: client(admin, admin_secret, unsigned=True).get_environment(name=env)),
        "ReadGet": outcome(lambda: client(read, read_secret).get_environment(name=env)),
        "ReadCancel": outcome(lambda: client(read, read_secret).cancel_environment_deployment(environmentName=env)),
    }

    calls, threads = int(os.environ["BURST_CALLS"]), int(os.environ["BURST_THREADS"])
    lock = threading.Lock()
    burst = {"Calls": 0, "Succeeded": 0, "Errors": [], "Retries": 0}

    def worker(n):
        c = client(admin, admin_secret, attempts=10)
        for _ in range(n):
            try:
                out = c.list_environments()
                with lock:
                    burst["Succeeded"] += 1
                    burst["Retries"] += out["ResponseMetadata"].get("RetryAttempts", 0)
            except ClientError as e:
                with lock:
                    burst["Errors"].append(e.response["Error"]["Code"])
            with lock:
                burst["Calls"] += 1

    ts = [threading.Thread(target=worker, args=(calls // threads,)) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    result["Burst"] = burst
    print(json.dumps(result))


main()
