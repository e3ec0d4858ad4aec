"""Reference renderer for the differential test: Python's Jinja2 with
Proton's filters written out from the Proton user guide's description.

Reads {"cases": [{"name", "template", "vars"}]} as JSON on stdin and writes
{"results": {name: {"ok": bool, "output": str, "error": str}}} on stdout.
"""
import json
import re
import sys

import jinja2


def env_string(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return json.dumps(v)


def mapping(value, filter_name):
    if isinstance(value, jinja2.Undefined):
        if isinstance(value, jinja2.ChainableUndefined):
            return {}
        value._fail_with_undefined_error()
    if not isinstance(value, dict):
        raise TypeError(filter_name + " expects a mapping")
    return value


def proton_cfn_sanitize(value):
    return re.sub(r"[^A-Za-z0-9]", "", str(value))


def proton_cfn_ecs_task_definition_formatted_env_vars(value):
    m = mapping(value, "proton_cfn_ecs_task_definition_formatted_env_vars")
    return json.dumps([{"Name": k, "Value": env_string(v)} for k, v in sorted(m.items())])


def proton_cfn_lambda_function_formatted_env_vars(value):
    m = mapping(value, "proton_cfn_lambda_function_formatted_env_vars")
    return json.dumps({"Variables": {k: env_string(v) for k, v in sorted(m.items())}})


def proton_cfn_iam_policy_arns(value):
    if isinstance(value, jinja2.ChainableUndefined) or value is None:
        arns = []
    elif isinstance(value, str):
        arns = [p.strip() for p in value.split(",") if p.strip()]
    elif isinstance(value, list):
        arns = [env_string(a) for a in value]
    else:
        raise TypeError("proton_cfn_iam_policy_arns expects a list or a string")
    return json.dumps(arns)


class ComponentDict(dict):
    """A mapping under service_instance.components: a missing key is a
    ChainableUndefined, so an absent component renders as empty."""

    def __missing__(self, key):
        return jinja2.ChainableUndefined(name=key)


def lenient(value):
    if isinstance(value, dict):
        return ComponentDict((k, lenient(v)) for k, v in value.items())
    return value


def prepare(variables):
    si = variables.get("service_instance")
    if isinstance(si, dict):
        si["components"] = lenient(si.get("components") or {})
    return variables


def main():
    request = json.load(sys.stdin)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters.update(
        proton_cfn_sanitize=proton_cfn_sanitize,
        proton_cfn_ecs_task_definition_formatted_env_vars=proton_cfn_ecs_task_definition_formatted_env_vars,
        proton_cfn_lambda_function_formatted_env_vars=proton_cfn_lambda_function_formatted_env_vars,
        proton_cfn_iam_policy_arns=proton_cfn_iam_policy_arns,
    )
    results = {}
    for case in request["cases"]:
        try:
            out = env.from_string(case["template"]).render(**prepare(case["vars"]))
            results[case["name"]] = {"ok": True, "output": out, "error": ""}
        except Exception as e:  # every failure is a result to compare
            results[case["name"]] = {"ok": False, "output": "", "error": type(e).__name__ + ": " + str(e)}
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
