// Package e2e drives the real hadron binary with real clients: the AWS CLI,
// boto3 (Python snippets under testdata/) and, for the crash-safety tests, a
// plain Go HTTP client speaking AWS JSON 1.0.
//
// TestMain builds ./cmd/hadron once; every test starts its own server on a
// free loopback port with its own data directory. Tests that need the AWS
// CLI or boto3 skip when it is missing, unless HADRON_E2E_REQUIRE=1 is set
// (as CI does), in which case they fail.
//
//	go test ./test/e2e/...
//	HADRON_E2E_REQUIRE=1 go test -count=1 -v ./test/e2e/...
package e2e
