package store

import (
	"context"
	"strings"
	"time"
)

// Sync types (the model's SyncType): what a repository branch drives.
const (
	SyncTypeTemplate = "TEMPLATE_SYNC"
	SyncTypeService  = "SERVICE_SYNC"
)

// Sync attempt statuses (the model's RepositorySyncStatus and
// ResourceSyncStatus; QUEUED is a repository status only).
const (
	SyncInitiated  = "INITIATED"
	SyncInProgress = "IN_PROGRESS"
	SyncSucceeded  = "SUCCEEDED"
	SyncFailed     = "FAILED"
	SyncQueued     = "QUEUED"
)

// TemplateSyncConfig is a template sync configuration: the template Kind
// and TemplateName are synced from Branch of the linked repository with key
// Repository, under Subdirectory ("" for the whole repository).
type TemplateSyncConfig struct {
	Kind, TemplateName string
	// Repository is the key of the linked repository; the store refuses a
	// key no repository has (ErrNotFound) and RepositoryDelete refuses a
	// repository a config uses.
	Repository string
	// Provider and RepositoryName are the repository's, filled in by reads.
	Provider, RepositoryName string
	Branch, Subdirectory     string
	CreatedAt                time.Time
	LastModifiedAt           time.Time
}

// SyncDefinition is one thing a repository drives
// (ListRepositorySyncDefinitions): Target (a template or service name) is
// synced from Directory of Branch; Parent is what the definition belongs
// to (the template name for template sync, the service for service sync).
type SyncDefinition struct {
	Branch, Directory, Parent, Target string
}

// SyncEvent is one event of a sync attempt (the model's RepositorySyncEvent
// and ResourceSyncEvent).
type SyncEvent struct {
	Type, Event, ExternalID string
	At                      time.Time
}

// RepositorySyncAttempt is one handling of a branch's new head by one sync
// type (GetRepositorySyncStatus).
type RepositorySyncAttempt struct {
	ID                 int64
	Repository, Branch string
	SyncType           string
	Commit             string
	Status             string
	StartedAt          time.Time
	Events             []SyncEvent
}

// Revision is a commit of a watched branch and the directory a sync read
// (the model's Revision).
type Revision struct {
	Provider   string `json:"repositoryProvider"`
	Repository string `json:"repositoryName"`
	Branch     string `json:"branch"`
	Directory  string `json:"directory"`
	Commit     string `json:"sha"`
}

// ResourceSyncAttempt is one sync of one resource (a template major, a
// service instance) from a commit (GetTemplateSyncStatus).
type ResourceSyncAttempt struct {
	ID       int64
	SyncType string
	// TargetKey identifies what was synced, such as
	// "environment-template/web:1" (a template major) or
	// "service/api/service-instance/one"; Target is the name the API shows.
	TargetKey, Target string
	Status            string
	// Initial is the revision synced before (nil for the first sync).
	Initial        *Revision
	TargetRevision Revision
	StartedAt      time.Time
	Events         []SyncEvent
}

// TemplateSyncMajor is what template sync last registered from one
// template major's directory: the digest of its content, the commit, and
// the minor version it became.
type TemplateSyncMajor struct {
	Kind, TemplateName string
	Major, Minor       int
	Digest, Commit     string
	SyncedAt           time.Time
}

// ResourceSyncAttemptAddParams records a finished resource sync attempt.
type ResourceSyncAttemptAddParams struct {
	Attempt *ResourceSyncAttempt
	// Version, when set, is inserted in the same transaction as
	// TemplateVersionCreate would (its Minor is the next of its Major, or
	// Major is the next major when -1); the numbers chosen are filled in.
	Version *TemplateVersion
	// Major, when set, is recorded as the template major's last sync (its
	// Major and Minor are taken from Version when Version is set).
	Major *TemplateSyncMajor
}

// SyncLeaseParams asks for the lease on a watched branch.
type SyncLeaseParams struct {
	Repository, Branch string
	Owner              string
	Expires, Now       time.Time
}

// SyncStore holds template sync configurations and the state of the
// repository watcher and of the syncs it drives.
type SyncStore interface {
	// TemplateSyncConfigCreate inserts a config; ErrExists when the
	// template has one, ErrNotFound when the template or the repository is
	// gone.
	TemplateSyncConfigCreate(ctx context.Context, c *TemplateSyncConfig) error
	TemplateSyncConfigGet(ctx context.Context, kind, name string) (*TemplateSyncConfig, error)
	// TemplateSyncConfigUpdate replaces the repository, branch and
	// subdirectory of a template's config.
	TemplateSyncConfigUpdate(ctx context.Context, c *TemplateSyncConfig) error
	TemplateSyncConfigDelete(ctx context.Context, kind, name string) (*TemplateSyncConfig, error)
	// TemplateSyncConfigList lists every config, by kind and template name.
	TemplateSyncConfigList(ctx context.Context) ([]*TemplateSyncConfig, error)

	// SyncDefinitionList lists what the repository with key repository
	// drives for syncType, by branch, directory and target.
	SyncDefinitionList(ctx context.Context, syncType, repository string) ([]SyncDefinition, error)

	// SyncLeaseClaim takes or renews the lease on a watched branch: it
	// succeeds (true) when nobody holds it, when p.Owner holds it, or when
	// the holder's lease expired before p.Now. One conditional write, so
	// of several nodes exactly one holds a branch at a time.
	SyncLeaseClaim(ctx context.Context, p SyncLeaseParams) (bool, error)
	// SyncLeaseRelease gives up owner's lease on a branch (no error when
	// owner does not hold it).
	SyncLeaseRelease(ctx context.Context, repository, branch, owner string) error
	// SyncHeadGet returns the last commit syncType handled on a branch, ""
	// when none.
	SyncHeadGet(ctx context.Context, repository, branch, syncType string) (string, error)
	// SyncHeadsForget forgets the commits syncType handled on every branch
	// of repository, so that the next pass hands each branch's head to the
	// syncer again (with no Previous: everything changed).
	SyncHeadsForget(ctx context.Context, repository, syncType string) error

	// RepositorySyncAttemptAdd records a finished attempt with its events;
	// when it SUCCEEDED, its commit becomes the branch's head for its sync
	// type in the same transaction. It fills in a.ID.
	RepositorySyncAttemptAdd(ctx context.Context, a *RepositorySyncAttempt) error
	// RepositorySyncAttemptLatest returns the latest attempt of syncType on
	// a branch; ErrNotFound when none.
	RepositorySyncAttemptLatest(ctx context.Context, repository, branch, syncType string) (*RepositorySyncAttempt, error)

	// ResourceSyncAttemptAdd records a finished resource sync attempt with
	// its events, and the version and major it registered, in one
	// transaction: nothing of it is written when any part fails.
	ResourceSyncAttemptAdd(ctx context.Context, p ResourceSyncAttemptAddParams) error
	// ResourceSyncAttemptLatest returns the latest attempt on targetKey of
	// syncType, the latest in status when status is not ""; ErrNotFound
	// when none.
	ResourceSyncAttemptLatest(ctx context.Context, syncType, targetKey, status string) (*ResourceSyncAttempt, error)

	// TemplateSyncMajorGet returns what sync last registered of a
	// template major; ErrNotFound when nothing.
	TemplateSyncMajorGet(ctx context.Context, kind, name string, major int) (*TemplateSyncMajor, error)
}

// RepositoryKey is the key of the linked repository name (owner/name) of
// provider: the resource part of its ARN, "repository/<provider in
// lowercase>:<name>".
func RepositoryKey(provider, name string) string {
	return "repository/" + strings.ToLower(provider) + ":" + name
}
