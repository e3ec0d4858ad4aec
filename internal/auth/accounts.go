package auth

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
)

// The account model (see the package documentation, "Accounts").

// environmentAccountActions are the actions a key of an environment account
// may call: its side of an environment account connection.
var environmentAccountActions = map[string]bool{
	"proton:CreateEnvironmentAccountConnection": true,
	"proton:UpdateEnvironmentAccountConnection": true,
	"proton:DeleteEnvironmentAccountConnection": true,
	"proton:GetEnvironmentAccountConnection":    true,
	"proton:ListEnvironmentAccountConnections":  true,
}

// connectionTagActions are allowed to an environment account's key on its
// own connections only (their ARNs name the environment account).
var connectionTagActions = map[string]bool{
	"proton:TagResource":         true,
	"proton:UntagResource":       true,
	"proton:ListTagsForResource": true,
}

// environmentAccount returns the account of c's key when it is an
// environment account's key (made with an account other than the
// server's); "" for the server's own account, a run's session and an
// unauthenticated caller.
func (a *Authenticator) environmentAccount(c *Caller) string {
	if c == nil || c.key == nil || c.key.account == "" || c.key.account == a.account {
		return ""
	}
	return c.key.account
}

// checkAccount refuses, with an *AccessDeniedError that says why, an
// action an environment account's key may not call: anything but its side
// of its environment account connections. body is the call's JSON input
// (nil for Hadron's own endpoints, which it may not call).
func (a *Authenticator) checkAccount(c *Caller, action string, body []byte) error {
	account := a.environmentAccount(c)
	if account == "" || environmentAccountActions[action] {
		return nil
	}
	denied := func(resource, why string) error {
		return &AccessDeniedError{AccessKeyID: c.AccessKeyID, Action: action, Resource: resource, Reason: why}
	}
	management := a.account
	if management == "" {
		management = "the server's --account-id"
	}
	if connectionTagActions[action] {
		var in struct {
			ResourceArn string `json:"resourceArn"`
		}
		_ = json.Unmarshal(body, &in) // a body that is no object fails decoding; it is refused here first
		if isConnectionArnOf(in.ResourceArn, account) {
			return nil
		}
		return denied(cmp.Or(in.ResourceArn, AllResources), fmt.Sprintf(
			"access key %s belongs to environment account %s, which may tag only its own environment account connections (arn:aws:proton:REGION:%s:environment-account-connection/ID); the other resources live in the management account (%s)",
			c.AccessKeyID, account, account, management))
	}
	resource := strings.Join(ResourceNames(body), ", ")
	switch action {
	case "proton:AcceptEnvironmentAccountConnection", "proton:RejectEnvironmentAccountConnection":
		return denied(resource, fmt.Sprintf(
			"access key %s belongs to environment account %s: a connection is accepted or rejected with a key of its management account (%s)",
			c.AccessKeyID, account, management))
	}
	return denied(resource, fmt.Sprintf(
		"access key %s belongs to environment account %s, and this server's templates, environments, services, components and repositories live in its management account (%s): "+
			"an environment account's key may only create, update, delete, get and list its environment account connections (and tag them); use a key of account %s",
		c.AccessKeyID, account, management, management))
}

// isConnectionArnOf reports whether arn is the ARN of an environment
// account connection in account.
func isConnectionArnOf(arn, account string) bool {
	parts := strings.SplitN(arn, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[2] == "proton" && parts[4] == account &&
		strings.HasPrefix(parts[5], "environment-account-connection/")
}
