// Package jinja renders Proton's Jinja CloudFormation templates
// (rendering_engine: jinja) the way Proton did, with Python Jinja2's
// semantics, which the differential test checks byte for byte against
// Python's Jinja2 on the corpus under testdata/cases.
//
// # API
//
//	Render(name string, source []byte, vars map[string]any) ([]byte, error)
//	RenderContext(ctx, name, source, vars, Limits) ([]byte, error)
//
// name is the template's file name, used only in error messages. vars is
// Proton's inputs document as encoding/json decodes it: environment {name,
// account_id, inputs, outputs}, service {name, branch_name, repository_id,
// repository_connection_arn}, service_instance {name, inputs, environment
// {account_id}, components {default {name, outputs}}}, pipeline {inputs},
// service_instances [{name, inputs, outputs, environment {name,
// account_id, outputs}}], component {name}. Render does not modify vars and
// is safe for concurrent use. Errors are *Error; limits wrap ErrLimit.
//
// # Semantics
//
//   - Undefined variables are strict, as Jinja2's StrictUndefined: printing,
//     testing or iterating one fails with "cloudformation.yaml:12:
//     environment.inputs.vpc_cidr is undefined" (Error.Line, Error.Undefined).
//     "is defined", "is undefined" and the default filter work on them.
//   - Everything under service_instance.components is lenient, as Jinja2's
//     ChainableUndefined: a missing component or output renders as "", is
//     false, iterates as empty, is not defined, and takes default's value.
//     Proton rendered an instance whose component is absent rather than
//     failing it.
//   - A whole JSON number is an integer (80, not 80.0); JSON null is None.
//   - Proton's filters (the user guide's "parameter filters"):
//     proton_cfn_sanitize keeps ASCII letters and digits only (a
//     CloudFormation logical ID); proton_cfn_ecs_task_definition_formatted_env_vars
//     turns a mapping into [{"Name": "K", "Value": "v"}, ...];
//     proton_cfn_lambda_function_formatted_env_vars into {"Variables": {"K":
//     "v", ...}}; proton_cfn_iam_policy_arns turns a list, or a string of
//     ARNs separated by commas, into ["arn:...", ...]. The output is JSON,
//     which is also YAML flow syntax, so it fits either template language;
//     keys come in sorted order, and values are strings (true/false for
//     booleans, numbers as Python prints them, "" for null).
//   - tojson is Jinja2's: sorted keys, Python's separators, <>&' escaped.
//
// # Known differences from Jinja2
//
//   - Mappings iterate in sorted key order (Go maps have no order); Jinja2
//     iterates in the document's order. The differential test therefore
//     hands Python the document as Go re-encodes it, keys sorted.
//   - A JSON number written 80.0 renders 80: encoding/json cannot tell it
//     from 80.
//   - Integers are int64: 2**100 is an error, not a big integer.
//   - Only single-file statements: if, for, set, raw, with, filter,
//     autoescape. include, import, from, extends and block have nothing to
//     load (a Proton CloudFormation bundle has one template file) and
//     macro and call are refused because unbounded recursion would
//     overflow the Go stack; do, break, continue and trans are Jinja2
//     extensions that are off by default.
//   - An empty {% raw %}{% endraw %} is an error (gonja panics on it; the
//     panic is recovered).
//   - + joins a string and a number ('a' + 1 is "a1") where Python raises
//     TypeError, and None compares equal to false.
//   - Error messages are ours, not Jinja2's.
//
// # Limits
//
// A hostile template cannot hang or exhaust the server: the source size
// and its nesting (brackets, blocks, tokens per tag) are bounded before
// parsing, since the parser recurses; every loop iteration spends a step
// of a budget and checks the deadline (Limits.Timeout, also the caller's
// context); range() and list repetition are bounded in items, string
// repetition and the output in bytes. The rendering runs on the caller's
// goroutine and stops at the first exceeded limit with an error wrapping
// ErrLimit; a panic in the engine comes back as an error.
//
// # Implementation
//
// The engine is github.com/nikolalohinski/gonja/v2, with a memory loader
// holding only the template (so no statement can read the host's files),
// its arithmetic operators rewritten after parsing into functions with
// Python's semantics (arith.go), the literal none made Python's None, a
// for loop over a mapping given its keys in byte order, and default,
// tojson, items, defined, undefined, none, range and str.replace replaced
// where gonja differs from Jinja2.
package jinja
