package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/sigv4"
)

// HintError is an authentication failure with a hint for the person behind
// the client: the AWS error (code and message unchanged) plus what Hadron
// can tell about the likely cause. The wire message is the AWS message
// followed by " Hint: " and the hint.
type HintError struct {
	Err  *sigv4.Error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() + " Hint: " + e.Hint }
func (e *HintError) Unwrap() error { return e.Err }

// hint wraps a failed verification with a hint where one helps. The hints
// name nothing the caller could not know already: the host it called, the
// key id it sent, the dates and regions it signed with.
func (a *Authenticator) hint(r *http.Request, err error) error {
	var sv *sigv4.Error
	if !errors.As(err, &sv) {
		return err
	}
	authz, _ := sigv4.ParseAuthorization(r.Header.Get("Authorization"))
	var h string
	switch {
	case sv.Code == sigv4.MissingAuthenticationToken:
		h = fmt.Sprintf("the call is not signed, and this server (%s) verifies signatures (--auth sigv4). Sign with one of its access keys: the AWS CLI profile its first start printed (--profile hadron), or a key from hadron keys create. --no-sign-request works only with a server started with --auth none.", r.Host)
	case sv.Code == sigv4.UnrecognizedClient:
		h = fmt.Sprintf("access key %s is not an enabled key of the server at %s. Check that the endpoint URL is the server the key was made for, and that the profile or environment variables hold the key you mean; on the server, hadron keys list --data-dir DIR (its data directory, or its --keys-dir) lists its keys and whether each is enabled.", authz.AccessKeyID, r.Host)
	case strings.HasPrefix(sv.Message, "Signature expired") || strings.HasPrefix(sv.Message, "Signature not yet current"):
		h = "the client's clock and the server's differ by more than 15 minutes" + a.skew(r) + "; set both clocks right (NTP)."
	case strings.HasPrefix(sv.Message, "Credential should be scoped to a valid region"):
		h = fmt.Sprintf("this server accepts signatures scoped to %s only (its --signing-regions); give the client one of them (--region, AWS_REGION or the profile's region).", strings.Join(a.regions, ", "))
	case strings.HasPrefix(sv.Message, "Credential should be scoped to correct service"):
		h = fmt.Sprintf("the call was signed for service %q; Hadron's endpoints are signed for %q, as the Proton API is.", authz.Service, Service)
	case strings.HasPrefix(sv.Message, "The request signature we calculated does not match"):
		h = fmt.Sprintf("access key %s is known, but the signature does not match: the secret key is not the one created with it (check the profile or AWS_SECRET_ACCESS_KEY), or something between the client and the server changed the request (a proxy rewriting the Host header %q or the path: give the client the server's own URL as --endpoint-url).", authz.AccessKeyID, r.Host)
	}
	if h == "" {
		return err
	}
	return &HintError{Err: sv, Hint: h}
}

// skew says how far the request's signing time is from the server's clock.
func (a *Authenticator) skew(r *http.Request) string {
	t, err := time.Parse(sigv4.TimeFormat, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return ""
	}
	d := t.Sub(a.now()).Round(time.Second)
	if d < 0 {
		return fmt.Sprintf(" (the client's clock is %s behind)", -d)
	}
	return fmt.Sprintf(" (the client's clock is %s ahead)", d)
}

// logRefusal logs a refused call at INFO: who (the access key id it was
// signed with, if any), what (the operation) and why (the error code).
func (a *Authenticator) logRefusal(r *http.Request, operation string, err error) {
	authz, _ := sigv4.ParseAuthorization(r.Header.Get("Authorization"))
	attrs := []any{"access_key_id", authz.AccessKeyID, "operation", operation, "remote", r.RemoteAddr}
	if operation == "" {
		attrs[3] = r.Header.Get("X-Amz-Target")
	}
	var (
		sv *sigv4.Error
		ad *AccessDeniedError
		te *ThrottlingError
	)
	switch {
	case errors.As(err, &te):
		// Throttled calls are retried by the SDKs: one line each would be noise.
		return
	case errors.As(err, &ad):
		a.logger.Info("call refused: access denied", append(attrs, "action", ad.Action, "resource", ad.Resource)...)
	case errors.As(err, &sv):
		a.logger.Info("call refused: authentication failed", append(attrs, "code", string(sv.Code), "message", sv.Message)...)
	default:
		a.logger.Info("call refused", append(attrs, "err", err)...)
	}
}
