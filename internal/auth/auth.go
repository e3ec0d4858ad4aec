package auth

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/sigv4"
)

// Service is the SigV4 signing name of the Proton API.
const Service = "proton"

// Defaults of the request rate per key.
const (
	// DefaultRate is requests per second per access key, sustained.
	DefaultRate = 100
	// DefaultBurst is how many requests a key may make at once.
	DefaultBurst = 200
)

// AccessDeniedError is a call its key's policy does not allow.
type AccessDeniedError struct {
	AccessKeyID, Action, Resource string
}

func (e *AccessDeniedError) Error() string {
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s", e.AccessKeyID, e.Action, e.Resource)
}

// ThrottlingError is a call over its key's rate.
type ThrottlingError struct {
	RetryAfter time.Duration
}

func (e *ThrottlingError) Error() string { return "Rate exceeded" }

// Config configures an Authenticator.
type Config struct {
	Keys *Keyring
	// Sessions, when set, are temporary credentials accepted besides Keys
	// (the credentials of running CodeBuild runs), each within its Scope.
	Sessions *Sessions
	// Regions a signature's scope may name; empty allows any.
	Regions []string
	// Rate is requests per second per key; 0 turns throttling off.
	Rate float64
	// Burst is the bucket's size (at least 1).
	Burst int
	// Now defaults to time.Now.
	Now func() time.Time
}

// Authenticator verifies each call's signature, throttles its key and checks
// its policy, in that order, before the call touches any state.
type Authenticator struct {
	keys     *Keyring
	sessions *Sessions
	verifier *sigv4.Verifier
	throttle *throttle
	now      func() time.Time
}

// New returns an Authenticator.
func New(cfg Config) *Authenticator {
	a := &Authenticator{keys: cfg.Keys, sessions: cfg.Sessions, now: cfg.Now}
	if a.now == nil {
		a.now = time.Now
	}
	a.verifier = &sigv4.Verifier{Service: Service, Regions: cfg.Regions, Now: a.now}
	if cfg.Rate > 0 {
		a.throttle = &throttle{rate: cfg.Rate, burst: max(cfg.Burst, 1)}
	}
	return a
}

// Caller is the key a request was verified to be signed with.
type Caller struct {
	// AccessKeyID is the key's id (a key of the keyring, or a session's).
	AccessKeyID string
	key         *ringKey
	session     bool
	sess        Session
}

// Authenticate verifies r's signature over body and throttles its key, and
// returns who signed it. Its errors are *sigv4.Error and *ThrottlingError.
func (a *Authenticator) Authenticate(r *http.Request, body []byte) (*Caller, error) {
	c := &Caller{}
	id, err := a.verifier.Verify(r, body, func(id string) (string, bool) {
		if k, ok := a.keys.lookup(id); ok {
			c.key = k
			return k.secret, true
		}
		c.sess, c.session = a.sessions.lookup(id)
		return c.sess.Secret, c.session
	})
	if err != nil {
		return nil, err
	}
	c.AccessKeyID = id
	if c.session && !c.sess.tokenMatches(r.Header.Get("X-Amz-Security-Token")) {
		return nil, &sigv4.Error{Code: sigv4.UnrecognizedClient, Message: "The security token included in the request is invalid."}
	}
	if a.throttle != nil {
		if ok, wait := a.throttle.take(id, a.now()); !ok {
			return nil, &ThrottlingError{RetryAfter: wait}
		}
	}
	return c, nil
}

// Authorize checks that the caller's policy allows action ("proton:<Name>")
// on every one of resources (names, as ResourceNames gives them), for
// Hadron's own endpoints beside the Proton API. Sessions (the credentials
// of provisioning runs) are scoped to Proton operations only, so they are
// refused. Its error is *AccessDeniedError.
func (c *Caller) Authorize(action string, resources []string) error {
	if c.session {
		return &AccessDeniedError{AccessKeyID: c.AccessKeyID, Action: action, Resource: strings.Join(resources, ", ")}
	}
	if !c.key.policy.allowsAction(action) {
		return &AccessDeniedError{AccessKeyID: c.AccessKeyID, Action: action, Resource: strings.Join(resources, ", ")}
	}
	if len(c.key.policy.resources) > 0 {
		if denied := c.key.policy.deniedResource(resources); denied != "" {
			return &AccessDeniedError{AccessKeyID: c.AccessKeyID, Action: action, Resource: denied}
		}
	}
	return nil
}

// Check is an awsjson.Authenticator. Its errors are *sigv4.Error,
// *ThrottlingError and *AccessDeniedError; none holds a secret. An empty
// operation (a target outside the model) is authenticated and throttled, not
// authorized.
func (a *Authenticator) Check(r *http.Request, operation string, body []byte) error {
	c, err := a.Authenticate(r, body)
	if err != nil {
		return err
	}
	if operation == "" {
		// No operation of the service: nothing to authorize, and the caller
		// answers UnknownOperationException to the authenticated key.
		return nil
	}
	action := "proton:" + operation
	if c.session {
		if denied := c.sess.Scope.denied(operation, body); denied != "" {
			return &AccessDeniedError{AccessKeyID: c.AccessKeyID, Action: action, Resource: denied}
		}
		return nil
	}
	return c.Authorize(action, ResourceNames(body))
}
