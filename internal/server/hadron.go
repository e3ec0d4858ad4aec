package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/awsjson"
	"github.com/hadronhq/hadron/internal/buildinfo"
)

// Hadron's own endpoints, beyond the Proton API: under HadronPrefix, signed
// with SigV4 like the Proton API and authorized through the key policies as
// the actions "hadron:<Action>" (package hadronclient calls them).
const (
	// HadronPrefix is the path prefix of Hadron's own endpoints.
	HadronPrefix = "/hadron/v1/"
	// ActionGetStatus is GET /hadron/v1/status.
	ActionGetStatus = "hadron:GetStatus"
	// ActionBackup is POST /hadron/v1/backup.
	ActionBackup = "hadron:Backup"
	// ActionGetDeploymentLog (hadronapi.go) is GET /hadron/v1/deployments/{id}/log.
)

// Database describes the store for the status endpoint.
type Database struct {
	// Kind is "sqlite" or "postgresql".
	Kind string `json:"kind"`
	// Location is the SQLite file, or the PostgreSQL URL without its password.
	Location string `json:"location,omitempty"`
}

// Protection is one of the protections of provisioning runs (package
// sandbox's mechanisms, as serve set them up).
type Protection struct {
	Name   string `json:"name"`
	On     bool   `json:"on"`
	Detail string `json:"detail,omitempty"`
}

// Isolation is how provisioning runs are confined.
type Isolation struct {
	// Mode is strict, best-effort or off.
	Mode        string       `json:"mode"`
	Protections []Protection `json:"protections"`
}

// Status is the answer of GET /hadron/v1/status: how this node is.
type Status struct {
	Build     buildinfo.Info `json:"build"`
	Node      string         `json:"node"`
	StartedAt time.Time      `json:"startedAt"`
	Database  DatabaseStatus `json:"database"`
	// Workers is how many deployments this node runs at once.
	Workers int `json:"workers"`
	// Running are the deployments this node runs now.
	Running   []string   `json:"running"`
	Isolation *Isolation `json:"isolation,omitempty"`
	// Auth is sigv4 or none.
	Auth string `json:"auth"`
}

// DatabaseStatus is the store and whether it answers.
type DatabaseStatus struct {
	Database
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
}

// Backuper is a store that can copy itself into a new file while it serves
// (the SQLite store); the backup endpoint needs one.
type Backuper interface {
	// BackupTo writes a consistent copy of the database to path, which must
	// not exist.
	BackupTo(ctx context.Context, path string) error
}

// hadronRoutes maps "METHOD path" (path below HadronPrefix) to the action a
// call must be allowed and its handler.
func (s *Server) hadronRoutes() map[string]hadronRoute {
	return map[string]hadronRoute{
		"GET status":  {ActionGetStatus, s.status},
		"POST backup": {ActionBackup, s.backup},
	}
}

type hadronRoute struct {
	action  string
	handler http.HandlerFunc
}

// serveHadron serves a request under HadronPrefix: it authenticates the
// caller first (an unsigned caller learns nothing, not even which paths
// exist), then authorizes the route's action and runs it.
func (s *Server) serveHadron(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, HadronPrefix)
	if id := deploymentLogID(r.Method, path); id != "" {
		// Authorized on the deployment's resource, once it is read.
		s.deploymentLog(w, r, id)
		return
	}
	route, ok := s.routes[r.Method+" "+path]
	// Counted as the Proton API's calls are, by the action's name; the
	// error type is in the answer's header once the handler has answered.
	start := time.Now()
	defer func() {
		s.metrics.APIRequest(strings.TrimPrefix(route.action, "hadron:"), w.Header().Get("x-amzn-ErrorType"), time.Since(start))
	}()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, awsjson.DefaultMaxBodyBytes))
	if err != nil {
		writeHadronError(w, &awsjson.Error{Type: "SerializationException", Status: http.StatusBadRequest, Message: "could not read the request body: " + err.Error()})
		return
	}
	if s.auth != nil {
		if _, err := s.auth(r, route.action, body); err != nil {
			writeHadronError(w, s.http.MapError(err))
			return
		}
	}
	if !ok {
		writeHadronError(w, &awsjson.Error{Type: "UnknownOperationException", Status: http.StatusNotFound,
			Message: fmt.Sprintf("%s %s is not an endpoint of this server", r.Method, r.URL.Path)})
		return
	}
	route.handler(w, r)
}

func writeHadronError(w http.ResponseWriter, e *awsjson.Error) {
	if e == nil {
		e = &awsjson.Error{Type: "InternalServerException", Status: http.StatusInternalServerError, Message: "internal error: the server log has the details"}
	}
	data, _ := json.Marshal(map[string]string{"__type": e.Type, "message": e.Message})
	w.Header().Set("Content-Type", awsjson.ContentType)
	w.Header().Set("x-amzn-ErrorType", e.Type)
	w.WriteHeader(e.Status)
	w.Write(data)
}

// status answers the node's Status.
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st := Status{
		Build:     buildinfo.Read(),
		Node:      s.cfg.Owner,
		StartedAt: s.started,
		Database:  DatabaseStatus{Database: s.cfg.Database, Reachable: true},
		Workers:   s.engine.Workers(),
		Running:   s.engine.Running(),
		Isolation: s.cfg.Isolation,
		Auth:      "sigv4",
	}
	if s.cfg.Auth == nil {
		st.Auth = "none"
	}
	ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
	defer cancel()
	if _, err := s.store.SettingsGet(ctx); err != nil {
		st.Database.Reachable, st.Database.Error = false, err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
}

// backup streams a consistent copy of the SQLite database, made while the
// server keeps serving (see Backuper). The copy is made in the data
// directory first (it must be complete before the first byte is sent, so
// a client never mistakes a cut stream for a backup: Content-Length says
// the size) and removed after.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	b, ok := s.store.(Backuper)
	if !ok {
		writeHadronError(w, &awsjson.Error{Type: "ValidationException", Status: http.StatusBadRequest,
			Message: "this server's database is " + s.cfg.Database.Kind + ", which hadron backup does not copy: back it up with the database's own tools (PostgreSQL: pg_dump; the README's Backup section)"})
		return
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(s.cfg.DataDir, "backup-"+hex.EncodeToString(rnd[:])+".db.tmp")
	defer os.Remove(tmp)
	start := time.Now()
	if err := b.BackupTo(r.Context(), tmp); err != nil {
		s.logger.Error("backup failed", "err", err)
		writeHadronError(w, &awsjson.Error{Type: "InternalServerException", Status: http.StatusInternalServerError, Message: "backup failed: " + err.Error()})
		return
	}
	f, err := os.Open(tmp)
	if err != nil {
		writeHadronError(w, &awsjson.Error{Type: "InternalServerException", Status: http.StatusInternalServerError, Message: "backup failed: " + err.Error()})
		return
	}
	defer f.Close()
	// Sent from the open descriptor: the file's name goes now, so that
	// nothing is left once the answer is complete, nor after a crash while
	// it is sent.
	os.Remove(tmp)
	fi, err := f.Stat()
	if err != nil {
		writeHadronError(w, &awsjson.Error{Type: "InternalServerException", Status: http.StatusInternalServerError, Message: "backup failed: " + err.Error()})
		return
	}
	s.logger.Info("backup made", "bytes", fi.Size(), "duration", time.Since(start))
	w.Header().Set("Content-Type", "application/vnd.sqlite3")
	w.Header().Set("Content-Length", fmt.Sprint(fi.Size()))
	if _, err := io.Copy(w, f); err != nil && !errors.Is(err, context.Canceled) {
		s.logger.Warn("backup: sending the copy failed", "err", err)
	}
}
