// Package bundle reads AWS Proton template bundles: it fetches a bundle's
// tarball from the local bundle directory, unpacks it in memory, parses and
// validates its schema and manifests the way Proton did at registration, and
// validates spec files against the schema.
//
// Everything a bundle author or a spec writer can get wrong is reported as an
// *Error or a *SpecError whose message is meant to be shown to that person
// as it is (it becomes a REGISTRATION_FAILED statusMessage or the message of
// a ValidationException), so messages name the file, line, entry or input
// concerned.
//
// Values parsed from YAML (spec inputs and schema defaults) use these Go
// types: string, bool, nil, int64 for every whole number that fits (so JSON
// encoding gives 80, never 80.0), float64 for any other number, []any for
// sequences and map[string]any for mappings.
package bundle
