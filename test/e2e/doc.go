// Package e2e drives the real hadron binary with real clients: the AWS CLI,
// boto3 (Python snippets under testdata/) and, for the crash-safety tests, a
// plain Go HTTP client speaking AWS JSON 1.0.
//
// TestMain builds ./cmd/hadron once; every test starts its own server on a
// free loopback port with its own data directory. Tests that need the AWS
// CLI or boto3 skip when it is missing, unless HADRON_E2E_REQUIRE=1 is set
// (as CI does), in which case they fail.
//
// Most tests are long (hadrontest.Long) and run only with HADRON_E2E=full;
// the README's `go test ./...` runs the few fast ones (the CLI walkthrough of
// one environment, boto3, a cancel, a crash and a SIGTERM, the operator's
// view) and skips the others, each naming the command that runs it.
//
//	go test ./test/e2e/...
//	HADRON_E2E=full HADRON_E2E_REQUIRE=1 go test -count=1 -v -timeout 40m ./test/e2e/...
package e2e
