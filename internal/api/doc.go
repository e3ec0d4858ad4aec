// Package api holds the AWS Proton API as Go: a type for every structure shape
// of the model, the table of operations, and Decode, which checks a request body
// against the model (JSON types, required members, lengths, ranges, patterns,
// enums, unions) the way AWS does before any handler runs.
//
// The model is botocore's service-2.json for Proton, kept here trimmed of its
// documentation (model.json). The types and the operation table are generated
// from that copy, so any checkout can regenerate them (go generate); the
// generator refreshes the copy when given a newer service-2.json with -model:
//
//   - Structure shapes become structs named after the shape, with exported fields
//     whose json tags are the member names. Absent members are omitted on the
//     wire, never sent as null: optional scalars, structures and lists are
//     omitted when empty; timestamps (Time) when zero.
//   - Optional string members of input shapes that admit "" (Description,
//     RoleArnOrEmptyString, ...) are *string, so that "absent" and "empty" stay
//     different; other strings, enums included, are plain strings.
//   - Every enum value is an untyped string constant named shape + value in
//     CamelCase: DeploymentStatusInProgress = "IN_PROGRESS".
//   - Required lists are sent even when empty; handlers build them with make so
//     that they are not sent as null.
package api

//go:generate go run ./internal/gen
