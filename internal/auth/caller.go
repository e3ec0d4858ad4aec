package auth

import "context"

// ActionRunCommands is the permission to have the server run commands
// supplied through the API: a component whose manifest uses an engine that
// runs commands on the server's host (CodeBuild provisioning, Terraform).
// It is Hadron's, not Proton's: no "proton:" pattern grants it, so a key
// allowed "proton:*" or "proton:CreateComponent" does not hold it; only a
// key allowed "*" (or without any --allow pattern), or one of the patterns
// "hadron:*" and "hadron:RunCommands", does.
const ActionRunCommands = "hadron:RunCommands"

// Caller is who made an API call, as the Authenticator found it.
type Caller struct {
	// AccessKeyID is the key that signed the call; "" when the server
	// does not authenticate (--auth none).
	AccessKeyID  string
	policy       *compiledPolicy // nil with session: nothing beyond its scope
	session      bool            // a run's temporary credentials
	unrestricted bool
}

// Unrestricted is the caller of a server that does not authenticate: every
// permission is held (whoever reaches the port is an administrator).
var Unrestricted = Caller{unrestricted: true}

// Allows reports whether the caller holds the permission action (such as
// ActionRunCommands). The temporary credentials of a run hold none.
func (c Caller) Allows(action string) bool {
	switch {
	case c.unrestricted:
		return true
	case c.session || c.policy == nil:
		return false
	}
	return c.policy.allowsAction(action)
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller ctx carries; ok is false outside an
// authenticated call.
func CallerFrom(ctx context.Context) (c Caller, ok bool) {
	c, ok = ctx.Value(callerKey{}).(Caller)
	return c, ok
}
