package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
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

// AccessDeniedError is a call its key's policy, or its key's account, does
// not allow.
type AccessDeniedError struct {
	AccessKeyID, Action, Resource string
	// Reason, when set, says why beyond the policy (as AWS's "because ..."):
	// the key belongs to an environment account.
	Reason string
}

func (e *AccessDeniedError) Error() string {
	msg := fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s", e.AccessKeyID, e.Action, e.Resource)
	if e.Reason != "" {
		msg += " because " + e.Reason
	}
	return msg
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
	// Logger gets an INFO line for every call refused by authentication or
	// authorization: the access key id, the operation and why.
	Logger *slog.Logger
	// Account is the server's own account (hadron serve --account-id), the
	// management account. A key made for any other account is an
	// environment account's key, which may call only its side of its
	// environment account connections (see the package documentation).
	Account string
}

// Authenticator verifies each call's signature, throttles its key and checks
// its policy, in that order, before the call touches any state.
type Authenticator struct {
	keys     *Keyring
	sessions *Sessions
	verifier *sigv4.Verifier
	throttle *throttle
	now      func() time.Time
	regions  []string
	logger   *slog.Logger
	account  string
}

// New returns an Authenticator.
func New(cfg Config) *Authenticator {
	a := &Authenticator{keys: cfg.Keys, sessions: cfg.Sessions, now: cfg.Now, regions: cfg.Regions, logger: cfg.Logger, account: cfg.Account}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.verifier = &sigv4.Verifier{Service: Service, Regions: cfg.Regions, Now: a.now}
	if cfg.Rate > 0 {
		a.throttle = &throttle{rate: cfg.Rate, burst: max(cfg.Burst, 1)}
	}
	return a
}

// Check is an awsjson.Authenticator. Its errors are *sigv4.Error (wrapped
// in a *HintError when a hint helps), *ThrottlingError and
// *AccessDeniedError; none holds a secret. An empty operation (a target
// outside the model) is authenticated and throttled, not authorized. An
// operation with a colon ("hadron:GetStatus") is an action of Hadron's own
// endpoints, authorized as it is; any other is the Proton action
// "proton:<operation>". Refusals are logged at INFO.
func (a *Authenticator) Check(r *http.Request, operation string, body []byte) error {
	_, err := a.CheckContext(r, operation, body)
	return err
}

// CheckContext is Check for awsjson: on success it returns the request's
// context carrying the Caller (CallerFrom), for the permissions an
// operation checks beyond its own action (ActionRunCommands).
func (a *Authenticator) CheckContext(r *http.Request, operation string, body []byte) (context.Context, error) {
	c, err := a.check(r, operation, body)
	if err != nil {
		a.logRefusal(r, operation, err)
		return nil, err
	}
	return WithCaller(r.Context(), c), nil
}

// AccountOf returns the account of the key that signed the call ctx belongs
// to, as CheckContext recorded it: "" for the server's own account (a key
// made without an account, a run's session, or no authentication). A call
// that got this far in another account is one CheckContext let through for
// an environment account: its side of its environment account connections.
func AccountOf(ctx context.Context) string {
	if c := CallerFrom(ctx); c != nil && c.key != nil {
		return c.key.account
	}
	return ""
}

func (a *Authenticator) check(r *http.Request, operation string, body []byte) (*Caller, error) {
	c, err := a.authenticate(r, body)
	if err != nil {
		return nil, err
	}
	if operation == "" {
		// No operation of the service: nothing to authorize, and the caller
		// answers UnknownOperationException to the authenticated key.
		return c, nil
	}
	action := "proton:" + operation
	if strings.Contains(operation, ":") {
		action = operation
	}
	if c.session {
		// A session's scope names Proton operations only: a Hadron action
		// is never in it.
		if denied := c.sess.Scope.denied(operation, body); denied != "" {
			return nil, &AccessDeniedError{AccessKeyID: c.AccessKeyID, Action: action, Resource: denied}
		}
		return c, nil
	}
	if err := c.authorize(action, ResourceNames(body)); err != nil {
		return nil, err
	}
	if err := a.checkAccount(c, action, body); err != nil {
		return nil, err
	}
	return c, nil
}

// Caller is the key a request was verified to be signed with.
type Caller struct {
	// AccessKeyID is the key's id (a key of the keyring, or a session's).
	AccessKeyID string
	key         *ringKey
	session     bool
	sess        Session
	// unrestricted: the server does not authenticate (Unrestricted).
	unrestricted bool
}

// Authenticate verifies r's signature over body and throttles its key, and
// returns who signed it, for Hadron's endpoints that authorize only once
// they know what the call is on (Authorize). Its errors are those of Check;
// refusals are logged as Check logs them.
func (a *Authenticator) Authenticate(r *http.Request, body []byte) (*Caller, error) {
	c, err := a.authenticate(r, body)
	if err != nil {
		// No action yet: the log names the endpoint instead.
		a.logRefusal(r, r.Method+" "+r.URL.Path, err)
	}
	return c, err
}

// Authorize checks that c's policy allows action (such as
// "hadron:GetDeploymentLog") on every one of resources (resource names, as
// ResourceNames gives them). Sessions (the credentials of provisioning
// runs) are scoped to Proton operations only, so they are refused. Its
// error is *AccessDeniedError, logged as Check logs it.
func (a *Authenticator) Authorize(r *http.Request, c *Caller, action string, resources []string) error {
	err := c.authorize(action, resources)
	if err == nil {
		err = a.checkAccount(c, action, nil)
	}
	if err != nil {
		a.logRefusal(r, action, err)
	}
	return err
}

func (a *Authenticator) authenticate(r *http.Request, body []byte) (*Caller, error) {
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
		return nil, a.hint(r, err)
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

func (c *Caller) authorize(action string, resources []string) error {
	if c.session || !c.key.policy.allowsAction(action) {
		return &AccessDeniedError{AccessKeyID: c.AccessKeyID, Action: action, Resource: strings.Join(resources, ", ")}
	}
	if len(c.key.policy.resources) > 0 {
		if denied := c.key.policy.deniedResource(resources); denied != "" {
			return &AccessDeniedError{AccessKeyID: c.AccessKeyID, Action: action, Resource: denied}
		}
	}
	return nil
}

// ErrSignIn is a sign-in with an access key id that is unknown or disabled,
// or with the wrong secret; which of them is not said.
var ErrSignIn = errors.New("the access key id or the secret access key is wrong")

// SignIn checks an access key's secret as given by a person (the web
// console's sign-in form), comparing in constant time. Only the data
// directory's enabled keys sign in, never temporary sessions.
func (a *Authenticator) SignIn(id, secret string) error {
	key, ok := a.keys.lookup(id)
	if !ok {
		// Compare anyway, so that an unknown id takes as long as a wrong secret.
		subtle.ConstantTimeCompare([]byte(secret), []byte(secret))
		return ErrSignIn
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(key.secret)) != 1 {
		return ErrSignIn
	}
	return nil
}

// AuthorizeKey decides, as Check does after the signature, whether access
// key id may call operation with the JSON input body (an operation with a
// colon, such as "hadron:GetDeploymentLog", is that action; any other is
// "proton:<operation>"): the key's policy, read afresh, so a key disabled
// or deleted since is refused with ErrSignIn. It throttles the key as Check
// does. The web console asks it before every call it makes for a
// signed-in person, so that the console shows and does exactly what the
// key's API calls could.
func (a *Authenticator) AuthorizeKey(id, operation string, body []byte) error {
	key, ok := a.keys.lookup(id)
	if !ok {
		return ErrSignIn
	}
	if a.throttle != nil {
		if ok, wait := a.throttle.take(id, a.now()); !ok {
			return &ThrottlingError{RetryAfter: wait}
		}
	}
	action := "proton:" + operation
	if strings.Contains(operation, ":") {
		action = operation
	}
	c := &Caller{AccessKeyID: id, key: key}
	if err := c.authorize(action, ResourceNames(body)); err != nil {
		return err
	}
	return a.checkAccount(c, action, body)
}
