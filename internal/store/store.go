// Package store defines Hadron's persistent records and the Store interface that
// every database backend implements. The records hold what the Proton API shows;
// the rules about which changes are allowed live in package proton, and the
// conditional writes that make races safe live in the backends.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Errors returned by every Store implementation. Callers test them with errors.Is.
var (
	// ErrNotFound means the addressed record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means a record with the same identity already exists.
	ErrExists = errors.New("already exists")
	// ErrActiveDeployment means the resource already has an active deployment
	// (IN_PROGRESS, CANCELLING or DELETE_IN_PROGRESS); the database refuses a second.
	ErrActiveDeployment = errors.New("resource has an active deployment")
	// ErrStatusChanged means a conditional write found the record in another
	// status than the one it expected: another writer won the race.
	ErrStatusChanged = errors.New("status changed concurrently")
	// ErrInUse means the record is still referenced and cannot be deleted.
	ErrInUse = errors.New("in use")
	// ErrLimit means the change would take a record past a limit the caller set.
	ErrLimit = errors.New("limit exceeded")
	// ErrTooManyOutputs means a report would bring a deployment's reported
	// outputs past the bound its caller set.
	ErrTooManyOutputs = errors.New("too many outputs")
	// ErrConnectionUnusable means an environment account connection a
	// resource was to use is gone or not CONNECTED.
	ErrConnectionUnusable = errors.New("environment account connection not connected")
)

// Tags are kept by the key of their resource: the resource part of its ARN
// ("environment/prod", "environment-template/net:1.0"). Resources have that
// key in Resource.Key; these give the key of the other taggable records.

// TemplateKey is the key of a template.
func TemplateKey(kind, name string) string { return kind + "-template/" + name }

// TemplateVersionKey is the key of a template version.
func TemplateVersionKey(kind, name string, major, minor int) string {
	return fmt.Sprintf("%s-template/%s:%d.%d", kind, name, major, minor)
}

// ServiceKey is the key of a service.
func ServiceKey(name string) string { return "service/" + name }

// UsedByError is the ErrInUse of a record whose users the store can name:
// the keys of the records that reference it (at most a few), in key order.
type UsedByError struct {
	Users []string
}

func (e *UsedByError) Error() string { return "in use by " + strings.Join(e.Users, ", ") }

// Is makes a UsedByError match ErrInUse.
func (e *UsedByError) Is(target error) bool { return target == ErrInUse }

// Template kinds.
const (
	KindEnvironmentTemplate = "environment"
	KindServiceTemplate     = "service"
)

// Deployment statuses (the model's DeploymentStatus enum).
const (
	StatusInProgress       = "IN_PROGRESS"
	StatusFailed           = "FAILED"
	StatusSucceeded        = "SUCCEEDED"
	StatusDeleteInProgress = "DELETE_IN_PROGRESS"
	StatusDeleteFailed     = "DELETE_FAILED"
	StatusDeleteComplete   = "DELETE_COMPLETE"
	StatusCancelling       = "CANCELLING"
	StatusCancelled        = "CANCELLED"
)

// CancelledMessage is the status message of a deployment a user cancelled.
const CancelledMessage = "User initiated cancellation."

// IsActive reports whether a deployment in this status still has work to do.
func IsActive(status string) bool {
	return status == StatusInProgress || status == StatusCancelling || status == StatusDeleteInProgress
}

// Resource types (the model's DeploymentTargetResourceType enum).
const (
	ResourceEnvironment     = "ENVIRONMENT"
	ResourceServiceInstance = "SERVICE_INSTANCE"
	ResourceServicePipeline = "SERVICE_PIPELINE"
	ResourceComponent       = "COMPONENT"
)

// Template is an environment or service template.
type Template struct {
	Kind          string
	Name          string
	DisplayName   string
	Description   string
	EncryptionKey string
	// Provisioning is CUSTOMER_MANAGED or empty; for service templates it is the
	// pipeline provisioning.
	Provisioning   string
	CreatedAt      time.Time
	LastModifiedAt time.Time
	// RecommendedMajor/Minor name the highest published version, -1 when none.
	RecommendedMajor int
	RecommendedMinor int
	// Tags are the customer tags TemplateCreate sets; reads leave them nil.
	Tags map[string]string
}

// TemplateVersion is one major.minor version of a template with its bundle.
type TemplateVersion struct {
	Kind          string
	TemplateName  string
	Major, Minor  int
	Status        string
	StatusMessage string
	Description   string
	// Schema is the bundle's schema.yaml text, set once registration succeeded.
	Schema string
	// Bundle is the template bundle as uploaded (a gzipped tarball).
	Bundle       []byte
	SourceBucket string
	SourceKey    string
	ClientToken  string
	// ClientRequest fingerprints the parameters of the request that carried
	// ClientToken, so that the token given again with other parameters is
	// told apart from a retry.
	ClientRequest  string
	CreatedAt      time.Time
	LastModifiedAt time.Time
	// RecommendedMinor is the highest published minor of this major, -1 when none.
	RecommendedMinor int
	// Extra holds kind-specific fields as JSON (service templates: compatible
	// environment templates, supported component sources).
	Extra string
	// Tags are the customer tags TemplateVersionCreate sets; reads leave them nil.
	Tags map[string]string
}

// Resource is a deployable resource: an environment, service instance, service
// pipeline or component. Its template, spec and outputs are those of its last
// successful deployment (or, before any success, those it was created with); the
// state a running deployment aims at lives only in the deployment.
type Resource struct {
	// Key identifies the resource: the resource part of its ARN, such as
	// "environment/prod" or "service/api/service-instance/one".
	Key             string
	Type            string
	Name            string
	ServiceName     string
	EnvironmentName string
	Description     string
	TemplateName    string
	TemplateMajor   string
	TemplateMinor   string
	Spec            string
	// Settings holds type-specific configuration as JSON (roles, repositories).
	Settings string
	// Outputs holds the outputs of the last successful deployment as JSON.
	Outputs                   string
	DeploymentStatus          string
	DeploymentStatusMessage   string
	LastAttemptedDeploymentID string
	LastSucceededDeploymentID string
	LastDeploymentAttemptedAt time.Time
	LastDeploymentSucceededAt time.Time
	LastClientRequestToken    string
	// LastClientRequest fingerprints the parameters of the request that
	// carried LastClientRequestToken.
	LastClientRequest string
	// Repository is the Key of the linked repository the resource provisions
	// through (self-managed provisioning), "" for none. The store refuses a
	// key no repository has (ErrNotFound), and refuses to delete a
	// repository a resource names.
	Repository     string
	CreatedAt      time.Time
	LastModifiedAt time.Time
	// Tags are the customer tags the insert of the resource sets (a create
	// in DeploymentStart or ServiceChange); reads leave them nil.
	Tags map[string]string
}

// Repository is a linked repository (CreateRepository): a git repository
// known by provider and name, that self-managed provisioning hands
// rendered infrastructure to.
type Repository struct {
	// Key identifies the repository: the resource part of its ARN, such as
	// "repository/github:owner/repo".
	Key           string
	Provider      string
	Name          string
	ConnectionArn string
	EncryptionKey string
	CreatedAt     time.Time
	// Tags are the customer tags RepositoryCreate sets; reads leave them nil.
	Tags map[string]string
}

// Deployment operations.
const (
	OperationDeploy = "DEPLOY"
	OperationDelete = "DELETE"
)

// Deployment is one attempt to bring a resource to a target state.
type Deployment struct {
	ID              string
	Seq             int64
	TargetKey       string
	TargetType      string
	TargetCreatedAt time.Time
	EnvironmentName string
	ServiceName     string
	ServiceInstance string
	ComponentName   string
	Operation       string
	Status          string
	StatusMessage   string
	InitialState    string // JSON, the model's DeploymentState
	TargetState     string // JSON, the model's DeploymentState
	Plan            string // JSON, what the engine runs (see package engine)
	Outputs         string // JSON object of the outputs this deployment produced
	// Resources is the JSON array of the resources a successful deployment
	// provisioned ({name, identifier, provisioningEngine}), "[]" otherwise.
	Resources       string
	LastAttemptedID string // the resource's last attempted deployment before this one
	LastSucceededID string // the resource's last succeeded deployment before this one
	CreatedAt       time.Time
	LastModifiedAt  time.Time
	CompletedAt     time.Time
	LeaseOwner      string
	LeaseExpiresAt  time.Time
	TargetTemplate  string
	TargetMajor     string
	TargetMinor     string
	TargetSpec      string
	// Wait is the engine's record of a deployment handed to an outside
	// party, which waits for its report holding no lease (see
	// DeploymentWait); "" when the deployment is not waiting.
	Wait string
	// WakeAt is when a waiting deployment is next claimed for a check on
	// the outside party; zero when only a cancel wakes it.
	WakeAt time.Time
	// StartedByKeyID is the access key whose call started the deployment,
	// "" when Hadron started it itself (or the record predates the column).
	StartedByKeyID string
	// StartedBy names who or what started it: the key's name, or a label
	// of Hadron's own ("hadron (template sync)"); see proton.StartedBy.
	StartedBy string
}

// Page asks for one page of a list.
type Page struct {
	// After is the sort key of the last item of the previous page, "" for the first.
	After string
	Limit int
}

// ResourceFilter selects resources for ResourceList.
type ResourceFilter struct {
	Type            string
	ServiceName     string
	EnvironmentName string
	// Templates, when not empty, keeps resources on one of these template majors.
	Templates []TemplateMajor
	// NameContains, when set, keeps resources whose name contains it, ignoring
	// ASCII case (the web console's search).
	NameContains string
	// Statuses, when not empty, keeps resources whose deployment status is
	// one of these.
	Statuses []string
}

// TemplateMajor names a template and one of its major versions.
type TemplateMajor struct{ Name, Major string }

// DeploymentFilter selects deployments for DeploymentList.
type DeploymentFilter struct {
	EnvironmentName string
	ServiceName     string
	ServiceInstance string
	ComponentName   string
	// Statuses, when not empty, keeps deployments in one of these statuses.
	Statuses []string
}

// DeploymentStartParams starts a deployment of an existing resource (update or
// delete) or of a new one (create, when Create is set).
type DeploymentStartParams struct {
	Deployment *Deployment
	// Create, when set, is inserted in the same transaction; ErrExists if taken.
	Create *Resource
	// Resource changes applied together with the start (description,
	// settings, the repository: "" for none; see Resource.Repository).
	Description *string
	Settings    *string
	ClientToken *string
	// ClientRequest fingerprints the request of ClientToken (set with it).
	ClientRequest *string
	Repository    *string
	// Connection, when set, is the environment account connection the
	// environment uses from this start on ("" for none). A connection named
	// is locked for the transaction and must be CONNECTED, otherwise
	// ErrConnectionUnusable: so a ConnectionReject racing the start either
	// sees the environment using the connection or makes the start fail.
	Connection *string
}

// DeploymentFinishParams ends a deployment with a conditional write.
type DeploymentFinishParams struct {
	ID string
	// From lists the statuses the deployment must be in; otherwise ErrStatusChanged.
	From    []string
	To      string
	Message string
	Outputs string // JSON object; applied to the resource when To is SUCCEEDED
	// Resources is the JSON array of provisioned resources, kept with the
	// deployment when To is SUCCEEDED ("" keeps none: "[]").
	Resources string
	// Owner, when set, must hold the lease.
	Owner string
}

// DeploymentNotifyParams is one report of a running deployment's provisioning.
type DeploymentNotifyParams struct {
	ID string
	// Outputs is a JSON object of string values, merged into the outputs
	// reported before; "" or "{}" adds none.
	Outputs string
	// Status and Message are the status the report gave (IN_PROGRESS,
	// SUCCEEDED, FAILED, or "" for none) and its message; the last report's
	// are kept. Whether they end the deployment is the engine's to say: the
	// caller finishes it with DeploymentFinish when they do.
	Status, Message string
	At              time.Time
	// MaxOutputs, when positive, bounds the number of outputs reported so
	// far, this report's included: a report that would exceed it changes
	// nothing and fails with ErrTooManyOutputs.
	MaxOutputs int
}

// MergeOutputs returns the JSON object of base's outputs with over's laid on
// top (over wins on a key both name); either may be "" for none.
func MergeOutputs(base, over string) (string, error) {
	merged := map[string]string{}
	for _, doc := range []string{base, over} {
		if doc == "" {
			continue
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			return "", fmt.Errorf("merge outputs: %w", err)
		}
		maps.Copy(merged, m)
	}
	b, err := json.Marshal(merged)
	return string(b), err
}

// CancelResult says what a cancel did.
type CancelResult struct {
	// Status is the deployment's status after the cancel: CANCELLED when no worker
	// had claimed it, CANCELLING when a worker runs it.
	Status string
	// Owner is the lease owner running the deployment, when CANCELLING.
	Owner string
}

// Store is the persistence boundary. Every method that changes state does so in
// one transaction, and every status change is a conditional write naming the
// status it expects, so that concurrent writers have exactly one winner.
type Store interface {
	SyncStore

	TemplateCreate(ctx context.Context, t *Template) error
	TemplateGet(ctx context.Context, kind, name string) (*Template, error)
	TemplateList(ctx context.Context, kind string, page Page) ([]*Template, error)
	TemplateUpdate(ctx context.Context, p TemplateUpdateParams) (*Template, error)
	// TemplateDelete deletes a template that has no versions left (ErrInUse otherwise).
	TemplateDelete(ctx context.Context, kind, name string) (*Template, error)

	// TemplateVersionCreate inserts v with the next minor of v.Major (or the next
	// major when v.Major is -1) and fills in the numbers it chose.
	TemplateVersionCreate(ctx context.Context, v *TemplateVersion) error
	TemplateVersionGet(ctx context.Context, kind, template string, major, minor int) (*TemplateVersion, error)
	// TemplateVersionList lists versions, ordered by major then minor; major -1 lists all.
	TemplateVersionList(ctx context.Context, kind, template string, major int, page Page) ([]*TemplateVersion, error)
	// TemplateVersionSetStatus moves a version from one of the statuses in from
	// to status (ErrStatusChanged otherwise), with the schema when registering.
	TemplateVersionSetStatus(ctx context.Context, p TemplateVersionStatusParams) (*TemplateVersion, error)
	TemplateVersionSetDescription(ctx context.Context, p TemplateVersionSetDescriptionParams) (*TemplateVersion, error)
	// TemplateVersionDelete deletes a version no resource or active deployment
	// uses (ErrInUse otherwise).
	TemplateVersionDelete(ctx context.Context, kind, template string, major, minor int) (*TemplateVersion, error)
	// TemplateVersionsRegistering lists versions left in REGISTRATION_IN_PROGRESS.
	TemplateVersionsRegistering(ctx context.Context) ([]*TemplateVersion, error)
	// TemplateVersionSetExtra replaces a version's kind-specific Extra JSON.
	TemplateVersionSetExtra(ctx context.Context, p TemplateVersionSetExtraParams) (*TemplateVersion, error)

	// SettingsGet returns every account-wide setting by key; empty when none is set.
	SettingsGet(ctx context.Context) (map[string]string, error)
	// SettingsUpdate sets and deletes settings in one transaction and returns
	// every setting as it is after the change.
	SettingsUpdate(ctx context.Context, p SettingsUpdateParams) (map[string]string, error)

	ResourceGet(ctx context.Context, key string) (*Resource, error)
	ResourceList(ctx context.Context, f ResourceFilter, page Page) ([]*Resource, error)
	// ResourceUpdateMetadata changes description and settings without a deployment;
	// refused with ErrActiveDeployment while one is active.
	ResourceUpdateMetadata(ctx context.Context, p ResourceUpdateMetadataParams) (*Resource, error)

	// DeploymentStart inserts an active deployment and points the resource at it,
	// in one transaction; ErrActiveDeployment when the resource has one already.
	DeploymentStart(ctx context.Context, p DeploymentStartParams) (*Resource, error)
	DeploymentGet(ctx context.Context, id string) (*Deployment, error)
	// DeploymentList lists deployments newest first; Page.After is a Seq.
	DeploymentList(ctx context.Context, f DeploymentFilter, page Page) ([]*Deployment, error)
	// DeploymentDelete deletes an inactive deployment (ErrInUse while active).
	DeploymentDelete(ctx context.Context, id string) (*Deployment, error)
	// DeploymentClaim leases the oldest unclaimed active deployment to owner, or
	// returns nil, nil when there is none.
	DeploymentClaim(ctx context.Context, p DeploymentClaimParams) (*Deployment, error)
	// DeploymentRenew extends owner's lease and returns the current status.
	DeploymentRenew(ctx context.Context, p DeploymentRenewParams) (string, error)
	// DeploymentCancel flips the resource's IN_PROGRESS deployment to CANCELLED
	// when unclaimed, or to CANCELLING when claimed. ErrStatusChanged when it is
	// in another status (the returned deployment shows which).
	DeploymentCancel(ctx context.Context, p DeploymentCancelParams) (CancelResult, error)
	// DeploymentFinish ends a deployment and applies its effect on the resource.
	// A deployment that ends SUCCEEDED keeps the outputs of p merged with the
	// outputs its run reported through DeploymentNotify, which win on a key
	// both name.
	DeploymentFinish(ctx context.Context, p DeploymentFinishParams, at time.Time) (*Deployment, error)
	// DeploymentFinishAndClaim is DeploymentFinish of p and then
	// DeploymentClaim of c, in one transaction: a worker hands off from one
	// deployment to the next with one commit. next is nil when nothing is
	// queued. When the finish fails (ErrStatusChanged, ended then shows the
	// deployment as it is) nothing is written and nothing claimed.
	DeploymentFinishAndClaim(ctx context.Context, p DeploymentFinishParams, at time.Time, c DeploymentClaimParams) (ended, next *Deployment, err error)
	// DeploymentNotify records what a running deployment's provisioning
	// reported (NotifyResourceDeploymentStatusChange): its outputs are merged
	// into those reported before (a later report wins on a key), in one
	// conditional write that requires the deployment still be IN_PROGRESS or
	// CANCELLING (ErrStatusChanged otherwise, ErrNotFound when it is gone).
	DeploymentNotify(ctx context.Context, p DeploymentNotifyParams) error
	// DeploymentWait parks a deployment its worker handed to an outside
	// party: it stays active (IN_PROGRESS, CANCELLING or
	// DELETE_IN_PROGRESS) with the engine's record p.State and releases
	// the lease, so no worker holds it while it waits. DeploymentClaim
	// gives it back to a worker when p.WakeAt has come (a check) or when
	// it is CANCELLING (the cancel's work); a report ends it with
	// DeploymentFinish as any finish. ErrStatusChanged when p.Owner does
	// not hold the lease or the deployment is no longer active. Returns
	// the deployment's status.
	DeploymentWait(ctx context.Context, p DeploymentWaitParams) (string, error)
	// DeploymentsOrphaned lists claimed active deployments whose lease expired
	// before the given time or whose owner is not alive (owner not in alive).
	DeploymentsOrphaned(ctx context.Context, p DeploymentsOrphanedParams) ([]*Deployment, error)

	// RepositoryCreate inserts a linked repository; ErrExists when its key is taken.
	RepositoryCreate(ctx context.Context, r *Repository) error
	RepositoryGet(ctx context.Context, key string) (*Repository, error)
	// RepositoryList lists repositories by key.
	RepositoryList(ctx context.Context, page Page) ([]*Repository, error)
	// RepositoryDelete deletes a repository nothing uses. While a record uses
	// it, the error is a *UsedByError (ErrInUse) naming the users.
	RepositoryDelete(ctx context.Context, key string) (*Repository, error)

	ServiceGet(ctx context.Context, name string) (*Service, error)
	// ServiceList lists services by name.
	ServiceList(ctx context.Context, page Page) ([]*Service, error)
	// ServiceSearch lists the services f selects by name (the web
	// console's search); Page.After is a name.
	ServiceSearch(ctx context.Context, f ServiceFilter, page Page) ([]*Service, error)
	// ServiceChange applies p in one transaction and returns the service as it
	// is after it (nil when deleted). When a start fails (ErrActiveDeployment,
	// ErrExists), nothing is changed.
	ServiceChange(ctx context.Context, p ServiceChangeParams) (*Service, error)

	// TagsGet returns the tags of the record with key (see TemplateKey);
	// empty, not an error, when it has none. It does not check the record exists.
	TagsGet(ctx context.Context, key string) (map[string]string, error)
	// TagsChange sets and deletes tags of one record in one transaction and
	// returns its tags as they are after the change. With Max set, a change
	// that would leave more than Max tags changes nothing (ErrLimit). A
	// record's tags go when the record is deleted and are replaced by those
	// its insert sets when a record of the same key is created again.
	TagsChange(ctx context.Context, p TagsChangeParams) (map[string]string, error)

	// ConnectionCreate inserts an environment account connection and sets
	// its Tags. A request retried with the client token of one the same
	// environment account made returns that connection (c is filled with
	// it); ErrExists when the environment account has a live (not
	// REJECTED) connection for the environment with the management account.
	ConnectionCreate(ctx context.Context, c *Connection) error
	ConnectionGet(ctx context.Context, id string) (*Connection, error)
	// ConnectionList lists connections by id.
	ConnectionList(ctx context.Context, f ConnectionFilter, page Page) ([]*Connection, error)
	// ConnectionUpdate changes a connection in one of the statuses From
	// (ErrStatusChanged otherwise, with the connection as it is).
	ConnectionUpdate(ctx context.Context, p ConnectionUpdateParams) (*Connection, error)
	// ConnectionReject rejects a connection in one of the statuses From
	// (otherwise ErrStatusChanged) that no environment uses (otherwise a
	// *UsedByError naming the environments' keys), in one transaction with the connection's row
	// locked: of a reject and a DeploymentStart that puts an environment on
	// the connection, exactly one succeeds.
	ConnectionReject(ctx context.Context, p ConnectionRejectParams) (*Connection, error)
	// ConnectionDelete deletes a connection and its tags.
	ConnectionDelete(ctx context.Context, id string) (*Connection, error)

	// ConsoleSessionCreate inserts a web console sign-in; ErrExists when
	// its IDHash is taken.
	ConsoleSessionCreate(ctx context.Context, s *ConsoleSession) error
	// ConsoleSessionGet returns the session whose id hashes to idHash if it
	// has not expired at now; ErrNotFound otherwise.
	ConsoleSessionGet(ctx context.Context, idHash string, now time.Time) (*ConsoleSession, error)
	// ConsoleSessionDelete deletes the sessions p names (one session, or
	// every session of a key) and returns how many it deleted.
	ConsoleSessionDelete(ctx context.Context, p ConsoleSessionDeleteParams) (int, error)
	// ConsoleSessionDeleteExpired deletes the sessions expired at now and
	// returns how many it deleted.
	ConsoleSessionDeleteExpired(ctx context.Context, now time.Time) (int, error)

	// ResourceCounts returns how many environments, service instances,
	// pipelines, components, services and templates there are, grouped by
	// type, template version and status. The counts are kept as records
	// change, so the call reads one row per group, not one per record.
	ResourceCounts(ctx context.Context) ([]ResourceCount, error)

	ServiceSyncStore

	Close() error
}

// ConsoleSession is one sign-in of the web console, shared by every node.
// The session id itself is only in the browser's cookie: the store keeps
// its hash, so that reading the database signs no one in.
type ConsoleSession struct {
	// IDHash is the hex SHA-256 of the session id.
	IDHash string
	// KeyID is the access key signed in with; "" with authentication off.
	KeyID string
	// CSRF is the token the session's forms carry.
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ConsoleSessionDeleteParams names the sessions ConsoleSessionDelete
// deletes: the one of IDHash, or (IDHash empty) every one of KeyID.
type ConsoleSessionDeleteParams struct {
	IDHash string
	KeyID  string
}

// TagsChangeParams changes the tags of the record with Key.
type TagsChangeParams struct {
	Key string
	// Set gives tag keys their values; Delete removes tag keys (absent ones
	// are no error). A key in both is set.
	Set    map[string]string
	Delete []string
	// Max, when above 0, is the most tags the record may have after the change.
	Max int
}

// Count types of ResourceCount besides the resource types.
const (
	CountService             = "SERVICE"
	CountEnvironmentTemplate = "ENVIRONMENT_TEMPLATE"
	CountServiceTemplate     = "SERVICE_TEMPLATE"
)

// ResourceCount is the number of records of one type (a resource type or
// one of the Count* types) on one template version in one status. Status
// is the deployment status of a resource, the status of a service, and ""
// for a template; the template fields are "" for components and templates.
type ResourceCount struct {
	Type                                       string
	TemplateName, TemplateMajor, TemplateMinor string
	Status                                     string
	Count                                      int
}

// SettingPipelineRepository is the setting that holds the Key of the linked
// repository service pipelines provision through (the account's
// pipelineProvisioningRepository). SettingsUpdate refuses to set it to a
// key no repository has (ErrNotFound), and a repository it names cannot be
// deleted; RepositoryDelete names this user SettingPipelineRepositoryUser.
const SettingPipelineRepository = "account.pipelineProvisioningRepositoryKey"

// SettingPipelineRepositoryUser is how a UsedByError names the account
// setting SettingPipelineRepository.
const SettingPipelineRepositoryUser = "account/pipelineProvisioningRepository"

// SettingsUpdateParams changes account-wide settings (package proton keeps
// the account settings of the Proton API there, one key per setting).
type SettingsUpdateParams struct {
	// Set gives keys their values; Delete removes keys (absent ones are no error).
	Set    map[string]string
	Delete []string
	At     time.Time
}

// TemplateVersionStatusParams moves a template version to a new status.
type TemplateVersionStatusParams struct {
	Kind          string
	Template      string
	Major, Minor  int
	From          []string
	To            string
	StatusMessage string
	Schema        *string
	At            time.Time
}

// Service is a Proton service. Its instances and pipeline are Resources with
// ServiceName set; the service row holds the service's own status.
type Service struct {
	Name                    string
	Description             string
	Spec                    string
	TemplateName            string
	TemplateMajor           string
	TemplateMinor           string
	Status                  string
	StatusMessage           string
	BranchName              string
	RepositoryConnectionArn string
	RepositoryID            string
	// Operation describes, as JSON, the change in flight (package proton
	// drives it); empty when the service is at rest.
	Operation      string
	CreatedAt      time.Time
	LastModifiedAt time.Time
	// Tags are the customer tags ServiceChange's Create sets; reads leave them nil.
	Tags map[string]string
}

// ServiceFilter selects services for ServiceSearch; empty fields select all.
type ServiceFilter struct {
	// NameContains keeps services whose name contains it, ignoring ASCII case.
	NameContains string
	// Statuses keeps services in one of these statuses.
	Statuses []string
	// TemplateName keeps services of this service template.
	TemplateName string
}

// ServiceChangeParams changes a service and starts its instances' and
// pipeline's deployments, all in one transaction.
type ServiceChangeParams struct {
	Name string
	// Create inserts the service (ErrExists when the name is taken).
	Create *Service
	// From, for an existing service, lists the statuses it must be in
	// (ErrStatusChanged otherwise); empty accepts any.
	From []string
	// FromOperation, when set, is what the service's Operation must be
	// (ErrStatusChanged otherwise): a compare-and-set on the change in flight,
	// so two drivers of one service have one winner.
	FromOperation *string
	// Fields to set; nil leaves them.
	Status, StatusMessage, Spec, Description, Operation *string
	// Resources are inserted without a deployment (a pipeline that waits for
	// its instances).
	Resources []*Resource
	// DeleteResources removes resources that have no active deployment.
	DeleteResources []string
	// Starts are started as DeploymentStart would.
	Starts []DeploymentStartParams
	// Delete removes the service row.
	Delete bool
	At     time.Time
}

// TemplateUpdateParams changes a template's display name and description;
// nil leaves a field as it is.
type TemplateUpdateParams struct {
	Kind, Name               string
	DisplayName, Description *string
	At                       time.Time
}

// TemplateVersionSetDescriptionParams changes one version's description.
type TemplateVersionSetDescriptionParams struct {
	Kind, Template string
	Major, Minor   int
	Description    string
	At             time.Time
}

// TemplateVersionSetExtraParams replaces one version's kind-specific Extra JSON.
type TemplateVersionSetExtraParams struct {
	Kind, Template string
	Major, Minor   int
	Extra          string
	At             time.Time
}

// ResourceUpdateMetadataParams changes a resource's description and
// settings without a deployment; nil leaves a field as it is.
type ResourceUpdateMetadataParams struct {
	Key                   string
	Description, Settings *string
	// Repository, when set, changes the resource's repository ("" for none;
	// see Resource.Repository).
	Repository *string
	// Connection is as DeploymentStartParams.Connection.
	Connection *string
	At         time.Time
}

// DeploymentClaimParams leases the oldest unclaimed active deployment
// that has work to do: one queued, or one waiting (see DeploymentWait)
// that is CANCELLING or whose WakeAt is not after Now.
type DeploymentClaimParams struct {
	Owner   string
	Expires time.Time
	// Now is the time waiting deployments' WakeAt is compared with; zero
	// claims none for a check.
	Now time.Time
}

// DeploymentWaitParams parks deployment ID, whose lease Owner holds, as
// waiting on an outside party (see Store.DeploymentWait).
type DeploymentWaitParams struct {
	ID, Owner string
	// State is the engine's record of the hand-off (JSON, not empty).
	State string
	// WakeAt is when a worker next checks on it; zero: only a cancel.
	WakeAt time.Time
	At     time.Time
}

// DeploymentRenewParams extends Owner's lease on deployment ID.
type DeploymentRenewParams struct {
	ID, Owner string
	Expires   time.Time
}

// DeploymentCancelParams cancels deployment ID.
type DeploymentCancelParams struct {
	ID string
	At time.Time
}

// DeploymentsOrphanedParams selects claimed active deployments whose worker
// is gone: the lease expired before ExpiredBefore, or (when Alive is set)
// another owner than Alive holds it.
type DeploymentsOrphanedParams struct {
	ExpiredBefore time.Time
	Alive         string
}

// Environment account connection statuses (the model's
// EnvironmentAccountConnectionStatus).
const (
	ConnectionPending   = "PENDING"
	ConnectionConnected = "CONNECTED"
	ConnectionRejected  = "REJECTED"
)

// ConnectionKey is the key of an environment account connection (tags are
// kept by it).
func ConnectionKey(id string) string { return "environment-account-connection/" + id }

// Connection is an environment account connection: an environment
// account's request that a management account provision one environment
// in it, with the roles it gives.
type Connection struct {
	ID                                          string
	ManagementAccountID, EnvironmentAccount     string
	EnvironmentName                             string
	RoleArn, ComponentRoleArn, CodebuildRoleArn string
	Status                                      string
	ClientToken, ClientRequest                  string
	RequestedAt, LastModifiedAt                 time.Time
	// Tags are the customer tags ConnectionCreate sets; reads leave them nil.
	Tags map[string]string
}

// ConnectionFilter selects connections; empty fields select all.
type ConnectionFilter struct {
	ManagementAccountID, EnvironmentAccount, EnvironmentName string
	Statuses                                                 []string
}

// ConnectionRejectParams rejects a connection.
type ConnectionRejectParams struct {
	ID   string
	From []string
	At   time.Time
}

// ConnectionUpdateParams changes a connection; nil fields stay as they are.
type ConnectionUpdateParams struct {
	ID                                          string
	From                                        []string
	Status                                      *string
	RoleArn, ComponentRoleArn, CodebuildRoleArn *string
	At                                          time.Time
}
