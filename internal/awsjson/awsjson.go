// Package awsjson serves the AWS JSON 1.0 protocol: every call is POST / with
// an X-Amz-Target header naming the operation, a JSON body in and a JSON body
// out, and errors as {"__type", "message"} with an x-amzn-ErrorType header.
// It knows nothing of Proton: operations are registered by name.
package awsjson

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// ContentType is the media type of requests and responses.
const ContentType = "application/x-amz-json-1.0"

// DefaultMaxBodyBytes bounds a request body; larger bodies are refused before
// they are read whole. Proton's largest input (a spec or template file) is 51,200
// characters, so 1 MiB leaves room for any valid request.
const DefaultMaxBodyBytes = 1 << 20

// Error is an error as the protocol sends it.
type Error struct {
	// Type is the short error name, e.g. "ValidationException".
	Type    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Protocol-level errors.
func serializationError(msg string) *Error {
	return &Error{Type: "SerializationException", Status: http.StatusBadRequest, Message: msg}
}

// Handler serves one operation: it gets the raw body and returns the output to
// encode as JSON, or an error.
type Handler func(ctx context.Context, body []byte) (any, error)

// Authenticator checks a request before dispatch; a non-nil error is sent as
// the response. It is the place where signature verification goes. It sees
// every POST, before the target is looked up; operation is "" when the
// target names no operation of the service (nothing to authorize).
type Authenticator func(r *http.Request, operation string, body []byte) error

// Server dispatches AWS JSON 1.0 calls to registered handlers.
type Server struct {
	// TargetPrefix is the service part of X-Amz-Target, e.g. "AwsProton20200720".
	TargetPrefix string
	// Known lists every operation of the service; a known operation without a
	// handler answers UnknownOperationException saying it is not implemented.
	Known        func(op string) bool
	Auth         Authenticator
	MapError     func(error) *Error
	Logger       *slog.Logger
	MaxBodyBytes int64
	// Observe, when set, is told of every call once it is answered
	// (metrics, the log of failed calls).
	Observe func(r *http.Request, c Call)

	handlers map[string]Handler
}

// Handle registers h for operation op. Registering an operation twice is a
// programming error and panics.
func (s *Server) Handle(op string, h Handler) {
	if s.handlers == nil {
		s.handlers = map[string]Handler{}
	}
	if _, dup := s.handlers[op]; dup {
		panic("awsjson: operation registered twice: " + op)
	}
	s.handlers[op] = h
}

// Handled reports whether op has a handler.
func (s *Server) Handled(op string) bool {
	_, ok := s.handlers[op]
	return ok
}

type ctxKey struct{}

// RequestID returns the request id of the call ctx belongs to.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Call is how one call went.
type Call struct {
	// Operation is "" when the target named no operation of the service.
	Operation string
	RequestID string
	// Status is the HTTP status of the answer.
	Status int
	// ErrorType and ErrorMessage are those of the error answered, "" on success.
	ErrorType, ErrorMessage string
	Duration                time.Duration
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	op := ""
	var (
		status int
		fail   *Error
	)
	defer func() {
		took := time.Since(start)
		if s.Logger != nil {
			s.Logger.Debug("request", "op", op, "status", status, "request_id", reqID, "duration", took)
		}
		if s.Observe != nil {
			c := Call{Operation: op, RequestID: reqID, Status: status, Duration: took}
			if fail != nil {
				c.ErrorType, c.ErrorMessage = fail.Type, fail.Message
			}
			s.Observe(r, c)
		}
	}()
	if r.Method != http.MethodPost {
		status, fail = s.writeError(w, reqID, &Error{Type: "UnknownOperationException", Status: http.StatusNotFound,
			Message: fmt.Sprintf("%s %s is not an operation: AWS JSON 1.0 calls are POST / with an X-Amz-Target header", r.Method, r.URL.Path)})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	prefix, name, ok := strings.Cut(target, ".")
	known := ok && prefix == s.TargetPrefix && (s.Known == nil || s.Known(name))
	if known {
		op = name
	}
	limit := s.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status, fail = s.writeError(w, reqID, &Error{Type: "ValidationException", Status: http.StatusRequestEntityTooLarge,
				Message: fmt.Sprintf("request body is larger than %d bytes", limit)})
			return
		}
		status, fail = s.writeError(w, reqID, serializationError("could not read the request body: "+err.Error()))
		return
	}
	// Authentication comes first, as on AWS: an unsigned call learns nothing,
	// not even which operations this server implements. An operation outside
	// the model has no action to authorize, so it is only authenticated.
	if s.Auth != nil {
		if err := s.Auth(r, op, body); err != nil {
			status, fail = s.writeError(w, reqID, s.toError(err))
			return
		}
	}
	if !known {
		status, fail = s.writeError(w, reqID, &Error{Type: "UnknownOperationException", Status: http.StatusBadRequest,
			Message: fmt.Sprintf("unknown operation %q: X-Amz-Target must be %s.<Operation>", target, s.TargetPrefix)})
		return
	}
	h, ok := s.handlers[name]
	if !ok {
		status, fail = s.writeError(w, reqID, &Error{Type: "UnknownOperationException", Status: http.StatusBadRequest,
			Message: fmt.Sprintf("operation %s is not implemented by this server yet", name)})
		return
	}
	ctx := context.WithValue(r.Context(), ctxKey{}, reqID)
	out, err := s.call(ctx, h, name, body)
	if err != nil {
		status, fail = s.writeError(w, reqID, s.toError(err))
		return
	}
	if out == nil {
		out = struct{}{}
	}
	data, err := json.Marshal(out)
	if err != nil {
		status, fail = s.writeError(w, reqID, s.toError(fmt.Errorf("encode %s output: %w", name, err)))
		return
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	status = http.StatusOK
	w.WriteHeader(status)
	w.Write(data)
}

// call runs h, turning a panic into an InternalServerException.
func (s *Server) call(ctx context.Context, h Handler, op string, body []byte) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			if s.Logger != nil {
				s.Logger.Error("handler panic", "op", op, "request_id", RequestID(ctx), "panic", p, "stack", string(debug.Stack()))
			}
			out, err = nil, &Error{Type: "InternalServerException", Status: http.StatusInternalServerError,
				Message: "internal error (request id " + RequestID(ctx) + "): the server log has the details"}
		}
	}()
	return h(ctx, body)
}

// ToError is the protocol's error for err: err itself when it is an *Error,
// else MapError's answer, else InternalServerException (and err is logged).
func (s *Server) ToError(err error) *Error { return s.toError(err) }

// WriteError answers e in the protocol's envelope, for handlers beside the
// protocol's that share its errors, with a new request id, which it returns.
func WriteError(w http.ResponseWriter, e *Error) string {
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	(&Server{}).writeError(w, reqID, e)
	return reqID
}

func (s *Server) toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if s.MapError != nil {
		if e := s.MapError(err); e != nil {
			return e
		}
	}
	if s.Logger != nil {
		s.Logger.Error("internal error", "err", err)
	}
	return &Error{Type: "InternalServerException", Status: http.StatusInternalServerError, Message: "internal error: the server log has the details"}
}

func (s *Server) writeError(w http.ResponseWriter, reqID string, e *Error) (int, *Error) {
	data, _ := json.Marshal(map[string]string{"__type": e.Type, "message": e.Message})
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("x-amzn-ErrorType", e.Type)
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(e.Status)
	w.Write(data)
	return e.Status, e
}
