package proton

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
)

// Environment account connections. A connection is requested from an
// environment account (the account of the key that calls
// CreateEnvironmentAccountConnection, see WithAccount) to the management
// account, which is always the server's own (Config.AccountID: every
// template, environment and service lives there), for one environment of
// that name; the management account accepts or rejects it. Package auth
// lets an environment account's key call nothing but its side of its
// connections (AccessDeniedException otherwise), so the other operations
// always run in the management account. An environment created in the management account
// with the connection's id deploys with the connection's roles, and its
// resources see the environment account as environment.account_id. While
// the connection is not CONNECTED (rejected, deleted), the environment and
// what runs in it cannot deploy. Which party may call what:
//
//	create, update, delete        the environment account
//	accept, reject                the management account
//	get, list                     either (list says which with requestedBy)
//
// A caller who is neither party does not see the connection.

// connectionArn is the ARN of a connection: it lives in its environment account.
func (s *API) connectionArn(c *store.Connection) string {
	return fmt.Sprintf("arn:aws:proton:%s:%s:%s", s.cfg.Region, c.EnvironmentAccount, store.ConnectionKey(c.ID))
}

func (s *API) apiConnection(c *store.Connection) *api.EnvironmentAccountConnection {
	return &api.EnvironmentAccountConnection{
		Arn: s.connectionArn(c), CodebuildRoleArn: c.CodebuildRoleArn, ComponentRoleArn: c.ComponentRoleArn,
		EnvironmentAccountId: c.EnvironmentAccount, EnvironmentName: c.EnvironmentName, Id: c.ID,
		LastModifiedAt: apiTime(c.LastModifiedAt), ManagementAccountId: c.ManagementAccountID,
		RequestedAt: apiTime(c.RequestedAt), RoleArn: c.RoleArn, Status: c.Status,
	}
}

// party names a side of a connection.
type party int

const (
	anyParty party = iota
	managementParty
	environmentParty
)

// getConnection reads connection id as the caller may see it: a caller
// who is not one of its parties gets ResourceNotFound, one who is the
// wrong party for the operation (want) a ValidationException naming op.
func (s *API) getConnection(ctx context.Context, id, op string, want party) (*store.Connection, error) {
	c, err := s.cfg.Store.ConnectionGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("environment account connection %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	caller := s.callerAccount(ctx)
	switch {
	case caller != c.ManagementAccountID && caller != c.EnvironmentAccount:
		return nil, notFoundf("environment account connection %s not found", id)
	case want == managementParty && caller != c.ManagementAccountID:
		return nil, validationf("%s is called in the management account (%s) of environment account connection %s, not in account %s", op, c.ManagementAccountID, id, caller)
	case want == environmentParty && caller != c.EnvironmentAccount:
		return nil, validationf("%s is called in the environment account (%s) of environment account connection %s, not in account %s", op, c.EnvironmentAccount, id, caller)
	}
	return c, nil
}

// CreateEnvironmentAccountConnection requests, from the caller's account
// (the environment account), a connection to a management account for one
// environment. It starts PENDING.
func (s *API) CreateEnvironmentAccountConnection(ctx context.Context, in *api.CreateEnvironmentAccountConnectionInput) (*api.CreateEnvironmentAccountConnectionOutput, error) {
	caller := s.callerAccount(ctx)
	if in.ManagementAccountId == caller {
		return nil, validationf("managementAccountId %s is the account this request is made in: a connection joins an environment account to another (management) account", caller)
	}
	if in.ManagementAccountId != s.cfg.AccountID {
		// The server's account is the only management account it serves:
		// a connection to another could never be accepted nor used.
		return nil, validationf("managementAccountId %s is not this server's account: connections are requested to the management account %s, where the environments live",
			in.ManagementAccountId, s.cfg.AccountID)
	}
	if in.RoleArn == "" && in.CodebuildRoleArn == "" {
		return nil, validationf("roleArn or codebuildRoleArn is required: the connection gives the management account a role to provision with")
	}
	tags, err := tagMap("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	now := s.now()
	fingerprint := requestFingerprint("CreateEnvironmentAccountConnection", in)
	c := &store.Connection{
		ID: newDeploymentID(), ManagementAccountID: in.ManagementAccountId, EnvironmentAccount: caller,
		EnvironmentName: in.EnvironmentName, RoleArn: in.RoleArn, ComponentRoleArn: in.ComponentRoleArn,
		CodebuildRoleArn: in.CodebuildRoleArn, Status: store.ConnectionPending, ClientToken: deref(in.ClientToken),
		ClientRequest: fingerprint, RequestedAt: now, LastModifiedAt: now, Tags: tags,
	}
	id := c.ID
	err = s.cfg.Store.ConnectionCreate(ctx, c)
	if errors.Is(err, store.ErrExists) {
		return nil, conflictf("account %s already has an environment account connection for environment %s with management account %s: delete it, or have it rejected, first",
			caller, in.EnvironmentName, in.ManagementAccountId)
	}
	if err != nil {
		return nil, err
	}
	if c.ID != id { // the connection an earlier request with this token created
		if err := checkRetry(c.ClientToken, c.ClientRequest, fingerprint); err != nil {
			return nil, err
		}
	}
	return &api.CreateEnvironmentAccountConnectionOutput{EnvironmentAccountConnection: *s.apiConnection(c)}, nil
}

// AcceptEnvironmentAccountConnection connects a PENDING connection, in its
// management account.
func (s *API) AcceptEnvironmentAccountConnection(ctx context.Context, in *api.AcceptEnvironmentAccountConnectionInput) (*api.AcceptEnvironmentAccountConnectionOutput, error) {
	c, err := s.setConnectionStatus(ctx, in.Id, "AcceptEnvironmentAccountConnection", store.ConnectionConnected, store.ConnectionPending)
	if err != nil {
		return nil, err
	}
	return &api.AcceptEnvironmentAccountConnectionOutput{EnvironmentAccountConnection: *s.apiConnection(c)}, nil
}

// RejectEnvironmentAccountConnection rejects a connection, in its
// management account; a rejected connection cannot be accepted or used.
// A connection an environment uses cannot be rejected.
func (s *API) RejectEnvironmentAccountConnection(ctx context.Context, in *api.RejectEnvironmentAccountConnectionInput) (*api.RejectEnvironmentAccountConnectionOutput, error) {
	const op = "RejectEnvironmentAccountConnection"
	c, err := s.getConnection(ctx, in.Id, op, managementParty)
	if err != nil {
		return nil, err
	}
	// The store checks that no environment uses the connection and rejects
	// it in one transaction, under the connection's lock that a
	// CreateEnvironment or UpdateEnvironment onto it also takes: of the two,
	// exactly one wins.
	from := []string{store.ConnectionPending, store.ConnectionConnected}
	c, err = s.cfg.Store.ConnectionReject(ctx, store.ConnectionRejectParams{ID: in.Id, From: from, At: s.now()})
	var used *store.UsedByError
	switch {
	case errors.As(err, &used):
		return nil, conflictf("environment account connection %s is used by %s: it cannot be rejected", in.Id, strings.Join(used.Users, ", "))
	case errors.Is(err, store.ErrStatusChanged):
		return nil, conflictf("environment account connection %s is %s: %s needs it %s", in.Id, c.Status, op, orList(from))
	case errors.Is(err, store.ErrNotFound):
		return nil, notFoundf("environment account connection %s not found", in.Id)
	case err != nil:
		return nil, err
	}
	return &api.RejectEnvironmentAccountConnectionOutput{EnvironmentAccountConnection: *s.apiConnection(c)}, nil
}

// setConnectionStatus moves a connection from one of from to status, as
// its management account.
func (s *API) setConnectionStatus(ctx context.Context, id, op, status string, from ...string) (*store.Connection, error) {
	if _, err := s.getConnection(ctx, id, op, managementParty); err != nil {
		return nil, err
	}
	c, err := s.cfg.Store.ConnectionUpdate(ctx, store.ConnectionUpdateParams{ID: id, From: from, Status: &status, At: s.now()})
	switch {
	case errors.Is(err, store.ErrStatusChanged):
		return nil, conflictf("environment account connection %s is %s: %s needs it %s", id, c.Status, op, orList(from))
	case errors.Is(err, store.ErrNotFound):
		return nil, notFoundf("environment account connection %s not found", id)
	case err != nil:
		return nil, err
	}
	return c, nil
}

// UpdateEnvironmentAccountConnection changes the roles of a connection, in
// its environment account; roles not given stay.
func (s *API) UpdateEnvironmentAccountConnection(ctx context.Context, in *api.UpdateEnvironmentAccountConnectionInput) (*api.UpdateEnvironmentAccountConnectionOutput, error) {
	const op = "UpdateEnvironmentAccountConnection"
	if _, err := s.getConnection(ctx, in.Id, op, environmentParty); err != nil {
		return nil, err
	}
	p := store.ConnectionUpdateParams{ID: in.Id, From: []string{store.ConnectionPending, store.ConnectionConnected}, At: s.now()}
	for _, f := range []struct {
		in  string
		out **string
	}{{in.RoleArn, &p.RoleArn}, {in.ComponentRoleArn, &p.ComponentRoleArn}, {in.CodebuildRoleArn, &p.CodebuildRoleArn}} {
		if f.in != "" {
			*f.out = ptr(f.in)
		}
	}
	c, err := s.cfg.Store.ConnectionUpdate(ctx, p)
	switch {
	case errors.Is(err, store.ErrStatusChanged):
		return nil, conflictf("environment account connection %s is %s: a rejected connection cannot be updated", in.Id, c.Status)
	case errors.Is(err, store.ErrNotFound):
		return nil, notFoundf("environment account connection %s not found", in.Id)
	case err != nil:
		return nil, err
	}
	return &api.UpdateEnvironmentAccountConnectionOutput{EnvironmentAccountConnection: *s.apiConnection(c)}, nil
}

// DeleteEnvironmentAccountConnection deletes a connection, in its
// environment account. An environment that used it cannot deploy until it
// is given another. Idempotent: a connection already gone answers empty.
func (s *API) DeleteEnvironmentAccountConnection(ctx context.Context, in *api.DeleteEnvironmentAccountConnectionInput) (*api.DeleteEnvironmentAccountConnectionOutput, error) {
	_, err := s.getConnection(ctx, in.Id, "DeleteEnvironmentAccountConnection", environmentParty)
	if alreadyGone(err) {
		return &api.DeleteEnvironmentAccountConnectionOutput{}, nil
	}
	if err != nil {
		return nil, err
	}
	c, err := s.cfg.Store.ConnectionDelete(ctx, in.Id)
	if errors.Is(err, store.ErrNotFound) {
		return &api.DeleteEnvironmentAccountConnectionOutput{}, nil
	}
	if err != nil {
		return nil, err
	}
	return &api.DeleteEnvironmentAccountConnectionOutput{EnvironmentAccountConnection: s.apiConnection(c)}, nil
}

// GetEnvironmentAccountConnection returns a connection to either party.
func (s *API) GetEnvironmentAccountConnection(ctx context.Context, in *api.GetEnvironmentAccountConnectionInput) (*api.GetEnvironmentAccountConnectionOutput, error) {
	c, err := s.getConnection(ctx, in.Id, "GetEnvironmentAccountConnection", anyParty)
	if err != nil {
		return nil, err
	}
	return &api.GetEnvironmentAccountConnectionOutput{EnvironmentAccountConnection: *s.apiConnection(c)}, nil
}

// ListEnvironmentAccountConnections lists, by id, the connections the
// caller's account requested (ENVIRONMENT_ACCOUNT) or was asked to accept
// (MANAGEMENT_ACCOUNT).
func (s *API) ListEnvironmentAccountConnections(ctx context.Context, in *api.ListEnvironmentAccountConnectionsInput) (*api.ListEnvironmentAccountConnectionsOutput, error) {
	const list = "environment-account-connections"
	after, err := decodeToken(list, in.NextToken)
	if err != nil {
		return nil, err
	}
	f := store.ConnectionFilter{EnvironmentName: in.EnvironmentName, Statuses: in.Statuses}
	switch caller := s.callerAccount(ctx); in.RequestedBy {
	case api.EnvironmentAccountConnectionRequesterAccountTypeManagementAccount:
		f.ManagementAccountID = caller
	default:
		f.EnvironmentAccount = caller
	}
	limit := pageSize(in.MaxResults)
	conns, err := s.cfg.Store.ConnectionList(ctx, f, store.Page{After: after, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	out := &api.ListEnvironmentAccountConnectionsOutput{EnvironmentAccountConnections: []api.EnvironmentAccountConnectionSummary{}}
	if len(conns) > limit {
		conns = conns[:limit]
		out.NextToken = encodeToken(list, conns[limit-1].ID)
	}
	for _, c := range conns {
		full := s.apiConnection(c)
		out.EnvironmentAccountConnections = append(out.EnvironmentAccountConnections, api.EnvironmentAccountConnectionSummary{
			Arn: full.Arn, ComponentRoleArn: full.ComponentRoleArn, EnvironmentAccountId: full.EnvironmentAccountId,
			EnvironmentName: full.EnvironmentName, Id: full.Id, LastModifiedAt: full.LastModifiedAt,
			ManagementAccountId: full.ManagementAccountId, RequestedAt: full.RequestedAt, RoleArn: full.RoleArn, Status: full.Status,
		})
	}
	return out, nil
}

// checkConnection checks that an environment named env may be created or
// moved, in the caller's account, onto connection id: the caller is its
// management account, it is CONNECTED, and it is for env.
func (s *API) checkConnection(ctx context.Context, id, env string) (*store.Connection, error) {
	c, err := s.getConnection(ctx, id, "an environment's environmentAccountConnectionId", managementParty)
	if err != nil {
		if alreadyGone(err) {
			return nil, validationf("environmentAccountConnectionId %s: %s", id, err.Error())
		}
		return nil, err
	}
	if c.Status != store.ConnectionConnected {
		return nil, validationf("environment account connection %s is %s: only a CONNECTED connection can be used (accept it first)", id, c.Status)
	}
	if c.EnvironmentName != env {
		return nil, validationf("environment account connection %s is for environment %s, not %s", id, c.EnvironmentName, env)
	}
	return c, nil
}

// useConnection gives a request whose environment uses an account
// connection the connection's roles and environment account. The
// connection must still be CONNECTED: a rejected or deleted one blocks
// every deployment of the environment and of what runs in it.
func (s *API) useConnection(ctx context.Context, req *provision.Request) error {
	id := req.Settings.EnvironmentAccountConnectionID
	if id == "" || req.Target.Kind == provision.KindServicePipeline {
		return nil
	}
	c, err := s.cfg.Store.ConnectionGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return validationf("environment %s uses environment account connection %s, which was deleted: update the environment with another connection to deploy", req.Target.EnvironmentName, id)
	}
	if err != nil {
		return err
	}
	if c.Status != store.ConnectionConnected {
		return validationf("environment %s uses environment account connection %s, which is %s: it cannot deploy until the connection is CONNECTED", req.Target.EnvironmentName, id, c.Status)
	}
	req.Settings.ProtonServiceRoleArn = c.RoleArn
	if c.CodebuildRoleArn != "" {
		req.Settings.CodebuildRoleArn = c.CodebuildRoleArn
	}
	if c.ComponentRoleArn != "" {
		req.Settings.ComponentRoleArn = c.ComponentRoleArn
	}
	if req.Inputs != nil && req.Inputs.Environment != nil {
		env := *req.Inputs.Environment
		env.AccountID = c.EnvironmentAccount
		req.Inputs.Environment = &env
	}
	return nil
}

// orList writes statuses as "A or B".
func orList(statuses []string) string {
	s := slices.Clone(statuses)
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	out := s[0]
	for _, x := range s[1 : len(s)-1] {
		out += ", " + x
	}
	return out + " or " + s[len(s)-1]
}
