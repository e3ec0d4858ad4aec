package proton

import (
	"context"

	"github.com/hadronhq/hadron/internal/store"
)

// StartedBy says who or what started a deployment. Every deployment
// records it when it is created, from the context of the call that creates
// it (WithStartedBy); the web console shows it in deployment histories. It
// is Hadron's, not Proton's: the API's Deployment has no such member and
// API responses do not carry it.
//
// Callers inside Hadron that start deployments on their own (a template or
// service sync, recovery) say so by calling the operation with a context
// carrying one of the Hadron* values, or Internal(label) for a new kind:
//
//	ctx = proton.WithStartedBy(ctx, proton.HadronTemplateSync)
//	_, err := api.UpdateEnvironment(ctx, in)
type StartedBy struct {
	// AccessKeyID is the access key whose call started the deployment; ""
	// when Hadron started it itself or authentication is off.
	AccessKeyID string `json:"accessKeyId,omitempty"`
	// Name is the key's name (its description, or its id when it has
	// none), or for Hadron's own starts a label such as
	// "hadron (template sync)".
	Name string `json:"name"`
}

// Labels of Hadron's own starts.
var (
	HadronTemplateSync = Internal("template sync")
	HadronServiceSync  = Internal("service sync")
	HadronRecovery     = Internal("recovery")
	// HadronServiceChange is a step of a service change (the pipeline
	// after the instances, a cleanup) whose change records no starter:
	// changes begun before deployments recorded one.
	HadronServiceChange = Internal("service change")
)

// Unauthenticated is the starter of calls to a server that does not
// authenticate (hadron serve --auth none).
var Unauthenticated = StartedBy{Name: "anyone (authentication off)"}

// unknownStarter is recorded when a call's context says nothing: a caller
// that should have said who it is, shown as such rather than guessed.
var unknownStarter = StartedBy{Name: "unknown"}

// Internal returns the starter of a deployment Hadron starts itself for
// reason (a short phrase): "hadron (<reason>)", with no access key.
func Internal(reason string) StartedBy { return StartedBy{Name: "hadron (" + reason + ")"} }

// Key returns the starter of a call signed with access key id, named name
// (the key's description; the id when it has none).
func Key(id, name string) StartedBy {
	if name == "" {
		name = id
	}
	return StartedBy{AccessKeyID: id, Name: name}
}

// String is the starter as the console shows it: the name, and the key id
// in parentheses when the name is not the id.
func (b StartedBy) String() string {
	if b.AccessKeyID == "" || b.Name == b.AccessKeyID {
		return b.Name
	}
	return b.Name + " (" + b.AccessKeyID + ")"
}

type startedByKey struct{}

// WithStartedBy returns ctx whose calls record b as the starter of the
// deployments they create. The server sets it from the access key of each
// API call and the console from its signed-in key; Hadron's own callers
// set one of the Hadron* values.
func WithStartedBy(ctx context.Context, b StartedBy) context.Context {
	return context.WithValue(ctx, startedByKey{}, b)
}

// StartedByFrom returns the starter ctx carries, and whether it carries one.
func StartedByFrom(ctx context.Context) (StartedBy, bool) {
	b, ok := ctx.Value(startedByKey{}).(StartedBy)
	return b, ok
}

// starterOf is the starter recorded for a deployment created in ctx.
func starterOf(ctx context.Context) StartedBy {
	if b, ok := StartedByFrom(ctx); ok {
		return b
	}
	return unknownStarter
}

// record is the starter as a deployment record keeps it.
func (b StartedBy) record() (keyID, name string) { return b.AccessKeyID, b.Name }

// startedByOf reads the starter a deployment record keeps.
func startedByOf(d *store.Deployment) StartedBy {
	return StartedBy{AccessKeyID: d.StartedByKeyID, Name: d.StartedBy}
}
