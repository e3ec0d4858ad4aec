package store

import (
	"context"
	"time"
)

// ServiceSyncConfig is a service sync configuration (CreateServiceSyncConfig):
// the service's instances follow the proton-ops file at FilePath on Branch
// of a linked repository. A service has at most one.
type ServiceSyncConfig struct {
	ServiceName string
	// Repository is the Key of the linked repository; the store refuses a
	// key no repository has (ErrNotFound) and refuses to delete a
	// repository a configuration names.
	Repository     string
	Provider       string
	RepositoryName string
	Branch         string
	FilePath       string
	CreatedAt      time.Time
	LastModifiedAt time.Time
}

// ServiceSyncConfigFilter selects configurations; empty fields select all.
type ServiceSyncConfigFilter struct {
	Repository string
	Branch     string
}

// Sync blocker statuses and types (the model's BlockerStatus and BlockerType).
const (
	BlockerActive    = "ACTIVE"
	BlockerResolved  = "RESOLVED"
	BlockerAutomated = "AUTOMATED"
)

// SyncBlockerContext is one key and value a blocker carries.
type SyncBlockerContext struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// SyncBlocker stops the service sync of one instance (InstanceName set)
// or of every instance of a service (InstanceName ""). A target has at
// most one ACTIVE blocker.
type SyncBlocker struct {
	ID             string
	ServiceName    string
	InstanceName   string
	Type           string
	Status         string
	CreatedReason  string
	CreatedAt      time.Time
	ResolvedReason string
	ResolvedAt     time.Time
	Contexts       []SyncBlockerContext
}

// SyncBlockerFilter selects the blockers of a service: those on the
// service itself (InstanceName ""), or those on one instance.
type SyncBlockerFilter struct {
	ServiceName  string
	InstanceName string
	// Status, when set, keeps blockers in that status.
	Status string
}

// SyncBlockerResolveParams resolves blocker ID.
type SyncBlockerResolveParams struct {
	ID     string
	Reason string
	At     time.Time
}

// InstanceSync is what service sync knows of one instance: the digest of
// what it last applied, the deployment it started and has not yet seen
// end, and its attempts. Desired, LatestAttempt and LatestSuccess are JSON
// of the API's Revision and ResourceSyncAttempt ("" for none); package
// proton owns their shape.
type InstanceSync struct {
	ServiceName   string
	InstanceName  string
	SpecDigest    string
	DeploymentID  string
	Desired       string
	LatestAttempt string
	LatestSuccess string
	UpdatedAt     time.Time
}

// ServiceSyncStore is the part of Store that keeps service sync.
type ServiceSyncStore interface {
	// ServiceSyncConfigCreate inserts a configuration: ErrExists when the
	// service has one, ErrNotFound when the service or the repository
	// does not exist.
	ServiceSyncConfigCreate(ctx context.Context, c *ServiceSyncConfig) error
	ServiceSyncConfigGet(ctx context.Context, service string) (*ServiceSyncConfig, error)
	// ServiceSyncConfigList lists configurations by service name.
	ServiceSyncConfigList(ctx context.Context, f ServiceSyncConfigFilter, page Page) ([]*ServiceSyncConfig, error)
	// ServiceSyncConfigUpdate replaces the repository, branch and file path
	// of the service's configuration (ErrNotFound when it has none or the
	// repository does not exist); CreatedAt stays.
	ServiceSyncConfigUpdate(ctx context.Context, c *ServiceSyncConfig) (*ServiceSyncConfig, error)
	ServiceSyncConfigDelete(ctx context.Context, service string) (*ServiceSyncConfig, error)

	// SyncBlockerCreate inserts an ACTIVE blocker. When its target already
	// has an ACTIVE blocker nothing is inserted and the error is ErrExists.
	SyncBlockerCreate(ctx context.Context, b *SyncBlocker) error
	SyncBlockerGet(ctx context.Context, id string) (*SyncBlocker, error)
	// SyncBlockerList lists the blockers f selects, newest first, at most limit.
	SyncBlockerList(ctx context.Context, f SyncBlockerFilter, limit int) ([]*SyncBlocker, error)
	// SyncBlockerResolve moves an ACTIVE blocker to RESOLVED in one
	// conditional write; ErrStatusChanged (with the blocker as it is) when
	// it is not ACTIVE.
	SyncBlockerResolve(ctx context.Context, p SyncBlockerResolveParams) (*SyncBlocker, error)

	// InstanceSyncGet reads what sync knows of an instance (ErrNotFound
	// when it never synced).
	InstanceSyncGet(ctx context.Context, service, instance string) (*InstanceSync, error)
	// InstanceSyncList lists what sync knows of a service's instances, by name.
	InstanceSyncList(ctx context.Context, service string) ([]*InstanceSync, error)
	// InstanceSyncPut writes s, replacing what was kept for its instance.
	InstanceSyncPut(ctx context.Context, s *InstanceSync) error
}
