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

// Unrestricted is the caller of a server that does not authenticate: every
// permission is held (whoever reaches the port is an administrator).
var Unrestricted = &Caller{unrestricted: true}

// Allows reports whether the caller holds the permission action (such as
// ActionRunCommands), whatever the resources. The temporary credentials of
// a run hold none; a nil Caller (no authenticated caller) holds none.
func (c *Caller) Allows(action string) bool {
	switch {
	case c == nil:
		return false
	case c.unrestricted:
		return true
	case c.session || c.key == nil:
		return false
	}
	return c.key.policy.allowsAction(action)
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller ctx carries; nil outside an authenticated
// call.
func CallerFrom(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey{}).(*Caller)
	return c
}

// Name is the caller's key's description, as `hadron keys create
// --description` gave it: "" for a key without one, for the temporary
// credentials of a run and for Unrestricted.
func (c *Caller) Name() string {
	if c == nil || c.key == nil {
		return ""
	}
	return c.key.description
}

// KeyName returns the description of the enabled access key id ("" when
// it has none), and whether such a key is enabled. Disabled and deleted
// keys are not, within a second of the change (the keyring's reload).
func (a *Authenticator) KeyName(id string) (string, bool) {
	k, ok := a.keys.lookup(id)
	if !ok {
		return "", false
	}
	return k.description, true
}
