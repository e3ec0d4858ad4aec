package proton

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
)

// Proton's idempotency, as its API reference documents it: a create or an
// update retried with the same clientToken returns what the first call
// did, and the same token with other parameters is refused with a
// ValidationException (IdempotentParameterMismatch). So that the two are
// told apart, the store keeps a fingerprint of the request beside the
// token.

// requestFingerprint fingerprints an operation's input: the operation
// name and the input as JSON (the client token itself included, which is
// the same on both sides of a comparison).
func requestFingerprint(op string, in any) string {
	raw, _ := json.Marshal(in)
	sum := sha256.Sum256(append([]byte(op+"\x00"), raw...))
	return hex.EncodeToString(sum[:])
}

// checkRetry refuses a call whose token is that of an earlier request
// with other parameters; prev is the earlier request's fingerprint ("" for
// a record written before fingerprints were kept, which is taken as a
// retry).
func checkRetry(token, prev, now string) error {
	if prev != "" && prev != now {
		return validationf("clientToken %q was used by an earlier request with other parameters (IdempotentParameterMismatch): use a new token for a new request", token)
	}
	return nil
}

// createMismatch answers a create of a name that exists, made by a request
// with other parameters. Proton's idempotent creates (CreateEnvironment,
// CreateService, CreateEnvironmentTemplate, CreateServiceTemplate) take a
// create of a taken name for a retry: the same parameters get the resource
// back, other ones a ValidationException (IdempotentParameterMismatch), and
// a resource changed since its create a ConflictException.
func createMismatch(what, name string) error {
	return validationf("%s %s already exists and was created with other parameters (IdempotentParameterMismatch): choose another name, or repeat the first request's parameters to retry it", what, name)
}

// alreadyGone reports whether err says the resource a delete names does not
// exist. Proton's idempotent deletes (DeleteEnvironmentTemplate and
// DeleteServiceTemplate and their versions, DeleteEnvironment,
// DeleteService, DeleteEnvironmentAccountConnection) then answer an empty
// response, so that a delete retried after the first one finished
// succeeds.
func alreadyGone(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Kind == KindNotFound
}
