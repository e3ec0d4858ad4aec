package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/awsjson"
	"github.com/hadronhq/hadron/internal/deploylog"
	"github.com/hadronhq/hadron/internal/store"
)

// The deployment log endpoint, one of Hadron's own (see hadron.go).
const (
	// DeploymentLogPath is the log of one deployment: GET, text/plain.
	// ?follow=true streams it until the deployment ends; the answer's
	// DeploymentStatusTrailer then says how it ended.
	DeploymentLogPath = HadronPrefix + "deployments/{id}/log"
	// ActionGetDeploymentLog is the action a key's policy must allow to read
	// a deployment's log, on the deployment's resource (the names a Proton
	// call on that resource carries): hadron:GetDeploymentLog, hadron:* or *.
	ActionGetDeploymentLog = "hadron:GetDeploymentLog"
	// DeploymentStatusTrailer is the header (the trailer, when followed)
	// with the deployment's status.
	DeploymentStatusTrailer = "X-Hadron-Deployment-Status"
)

// deploymentLogID returns the deployment id of a GET of DeploymentLogPath
// (path below HadronPrefix), or "" when path is not one.
func deploymentLogID(method, path string) string {
	rest, ok := strings.CutPrefix(path, "deployments/")
	if !ok || method != http.MethodGet {
		return ""
	}
	id, ok := strings.CutSuffix(rest, "/log")
	if !ok || id == "" || strings.Contains(id, "/") {
		return ""
	}
	return id
}

// authenticate verifies the request's signature (its body is empty: these
// are GETs) and returns the caller; nil with --auth none.
func (s *Server) authenticate(r *http.Request) (*auth.Caller, error) {
	if s.authn == nil {
		return nil, nil
	}
	return s.authn.Authenticate(r, nil)
}

// deploymentResources are the resource names a deployment's log is
// authorized on: those a Proton call on its resource would carry.
func deploymentResources(d *store.Deployment) []string {
	var names []string
	switch d.TargetType {
	case store.ResourceEnvironment:
		names = []string{d.EnvironmentName}
	case store.ResourceServiceInstance:
		names = []string{d.ServiceName, d.ServiceInstance}
	case store.ResourceServicePipeline:
		names = []string{d.ServiceName}
	case store.ResourceComponent:
		names = []string{d.ComponentName}
	}
	var out []string
	for _, n := range names {
		if n != "" {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return []string{auth.AllResources}
	}
	return out
}

// deploymentLog serves GET /hadron/v1/deployments/{id}/log. It
// authorizes the call once it knows the deployment's resource, so it
// authenticates it itself (first: an unsigned call learns nothing).
func (s *Server) deploymentLog(w http.ResponseWriter, r *http.Request, id string) {
	const op = "GetDeploymentLog"
	start := time.Now()
	caller, err := s.authenticate(r)
	if err != nil {
		s.hadronError(w, r, op, start, err)
		return
	}
	follow, err := strconv.ParseBool(r.URL.Query().Get("follow"))
	if r.URL.Query().Get("follow") == "" {
		follow, err = false, nil
	}
	if err != nil {
		s.hadronError(w, r, op, start, &awsjson.Error{Type: "ValidationException", Status: http.StatusBadRequest,
			Message: fmt.Sprintf("follow=%q is not true or false", r.URL.Query().Get("follow"))})
		return
	}
	d, err := s.store.DeploymentGet(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		// Whether it exists is told only to a key that may read any log.
		if caller != nil {
			if aerr := s.authn.Authorize(r, caller, ActionGetDeploymentLog, []string{auth.AllResources}); aerr != nil {
				s.hadronError(w, r, op, start, aerr)
				return
			}
		}
		s.hadronError(w, r, op, start, &awsjson.Error{Type: "ResourceNotFoundException", Status: http.StatusBadRequest,
			Message: fmt.Sprintf("deployment %s not found", id)})
		return
	}
	if err != nil {
		s.hadronError(w, r, op, start, err)
		return
	}
	if caller != nil {
		if err := s.authn.Authorize(r, caller, ActionGetDeploymentLog, deploymentResources(d)); err != nil {
			s.hadronError(w, r, op, start, err)
			return
		}
	}
	path := deploylog.Path(s.dataDir, d.ID)
	if !follow || !store.IsActive(d.Status) {
		f, err := os.Open(path)
		switch {
		case errors.Is(err, os.ErrNotExist) && store.IsActive(d.Status):
			// Queued: no line yet.
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set(DeploymentStatusTrailer, d.Status)
			w.WriteHeader(http.StatusOK)
			return
		case errors.Is(err, os.ErrNotExist):
			s.hadronError(w, r, op, start, &awsjson.Error{Type: "ResourceNotFoundException", Status: http.StatusBadRequest,
				Message: fmt.Sprintf("deployment %s (%s) has no log: it never ran (cancelled while queued), its log was removed by log retention, or it ran on another node whose data directory this one does not share", d.ID, d.Status)})
			return
		case err != nil:
			s.hadronError(w, r, op, start, fmt.Errorf("open deployment log: %w", err))
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set(DeploymentStatusTrailer, d.Status)
		io.Copy(w, f)
		s.metrics.APIRequest(op, "", time.Since(start))
		return
	}
	// Followed: the status comes at the end, as a trailer. A follow is
	// counted in the metrics, not timed: it lasts as long as the deployment.
	s.metrics.APIRequest(op, "", 0)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Trailer", DeploymentStatusTrailer)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()
	// A follow outlives the server's read and write deadlines by design (a
	// read deadline would end it through the connection's background read).
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	// It ends with the deployment, or when the server stops serving.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.streams, cancel)()
	lastCheck := time.Time{}
	status, err := deploylog.Follow(ctx, path, w, func() { rc.Flush() }, s.logPoll,
		func(ctx context.Context) (string, bool, error) {
			// The store is asked at most every second per follower.
			if time.Since(lastCheck) < time.Second {
				return "", false, nil
			}
			lastCheck = time.Now()
			cur, err := s.store.DeploymentGet(ctx, d.ID)
			if err != nil {
				return "", false, err
			}
			return cur.Status, !store.IsActive(cur.Status), nil
		})
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Warn("follow deployment log", "deployment", d.ID, "err", err)
		}
		return
	}
	w.Header().Set(DeploymentStatusTrailer, status)
}

// hadronError answers err in Proton's error envelope (the one mapping of
// domain errors to wire errors, mapError), and records the call as the
// Proton API's are: in the metrics and, failed, in the log.
// start is when the call arrived.
func (s *Server) hadronError(w http.ResponseWriter, r *http.Request, op string, start time.Time, err error) {
	e := s.http.ToError(err)
	reqID := awsjson.WriteError(w, e)
	s.observe(r, awsjson.Call{Operation: op, RequestID: reqID, Status: e.Status, ErrorType: e.Type, ErrorMessage: e.Message, Duration: time.Since(start)})
}
