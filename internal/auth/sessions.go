package auth

import (
	"crypto/subtle"
	"encoding/json"
	"sort"
	"strings"
	"sync"
)

// Session is a temporary credential set Hadron holds in memory, such as
// the credentials a CodeBuild run is given: it is accepted only with its
// session token (X-Amz-Security-Token) and only for the calls its Scope
// allows, and only until it is removed from its Sessions.
type Session struct {
	Secret string
	Token  string
	Scope  Scope
}

// Scope lists the calls a session may make: by operation name, the input
// members that must hold exactly the given values (other members are free,
// a missing one is a mismatch). An operation it does not name is denied.
// {"GetEnvironment": {"name": "web"}} allows GetEnvironment of web only.
type Scope map[string]map[string]string

// Sessions is an in-memory credential source keyed by access key id, looked
// up after the access keys of the data directory. It is safe for
// concurrent use; the zero value is not: call NewSessions.
type Sessions struct {
	mu sync.RWMutex
	m  map[string]Session
}

// NewSessions returns an empty source.
func NewSessions() *Sessions { return &Sessions{m: map[string]Session{}} }

// Add accepts s under access key id until Remove(id).
func (s *Sessions) Add(id string, sess Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[id] = sess
}

// Remove stops accepting id; removing an unknown id does nothing.
func (s *Sessions) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// Len is the number of sessions accepted now.
func (s *Sessions) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}

func (s *Sessions) lookup(id string) (Session, bool) {
	if s == nil {
		return Session{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess, ok := s.m[id]
	return sess, ok
}

// tokenMatches compares a request's session token with the session's in
// constant time.
func (sess Session) tokenMatches(token string) bool {
	return subtle.ConstantTimeCompare([]byte(sess.Token), []byte(token)) == 1
}

// denied returns "" when the scope allows operation with body, else the
// resource to name in the AccessDeniedException.
func (sc Scope) denied(operation string, body []byte) string {
	want, ok := sc[operation]
	if !ok {
		return strings.Join(ResourceNames(body), ", ")
	}
	var in map[string]json.RawMessage
	if json.Unmarshal(body, &in) != nil {
		return AllResources
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var got string
		if raw, ok := in[k]; !ok || json.Unmarshal(raw, &got) != nil || got != want[k] {
			if got == "" {
				return AllResources
			}
			return got
		}
	}
	return ""
}
