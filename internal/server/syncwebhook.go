package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// SyncWebhookPath is where a forge posts its push events so that template
// and service sync read the pushed branch at once instead of at the next
// poll (POST). It is not signed with SigV4, which forges cannot do: the
// request carries the HMAC-SHA256 of its body keyed with the webhook secret
// (Config.SyncWebhookSecret) in the X-Hub-Signature-256 header, as
// "sha256=<hex>", which is GitHub's webhook signature (GitHub Enterprise
// and Bitbucket Server send the same). Without a secret configured the
// endpoint answers 404.
//
// The body is a push event; Hadron reads repository.full_name (owner/name)
// and syncs every watched branch of the repository of that name (of the
// provider named by the query parameter provider, when given). A ping
// event (X-GitHub-Event: ping, sent when a webhook is created) is answered
// 200 and does nothing. With several nodes on PostgreSQL the trigger goes
// to every node (Config.Notifier), so the node holding the branch's sync
// lease syncs it, whichever node the forge reached.
const SyncWebhookPath = HadronPrefix + "sync/webhook"

// SignatureHeader carries a webhook body's signature.
const SignatureHeader = "X-Hub-Signature-256"

// maxWebhookBody bounds a webhook's body (GitHub caps payloads at 25 MB;
// push events are far smaller, and only the repository's name is read).
const maxWebhookBody = 25 << 20

// serveSyncWebhook checks a forge's push event and triggers sync.
func (s *Server) serveSyncWebhook(w http.ResponseWriter, r *http.Request) {
	secret := s.cfg.SyncWebhookSecret
	if secret == "" || s.sync == nil {
		http.Error(w, "the sync webhook is off: start hadron serve with --sync-webhook-secret-file", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "the sync webhook takes POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		http.Error(w, "read the body: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	if !validSignature(secret, body, r.Header.Get(SignatureHeader)) {
		s.logger.Warn("sync webhook: bad or missing signature", "remote", r.RemoteAddr)
		http.Error(w, "the "+SignatureHeader+" signature does not match the body", http.StatusUnauthorized)
		return
	}
	if r.Header.Get("X-GitHub-Event") == "ping" {
		w.WriteHeader(http.StatusOK)
		return
	}
	var event struct {
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(body, &event); err != nil || !strings.Contains(event.Repository.FullName, "/") {
		http.Error(w, "the body is not a push event naming repository.full_name (owner/name)", http.StatusBadRequest)
		return
	}
	provider := strings.ToUpper(r.URL.Query().Get("provider"))
	s.sync.Trigger(provider, event.Repository.FullName)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(map[string]string{"repository": event.Repository.FullName, "sync": "triggered"})
}

// validSignature reports whether header is "sha256=" and the HMAC-SHA256
// of body keyed with secret, in hex.
func validSignature(secret string, body []byte, header string) bool {
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	sum, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(sum, mac.Sum(nil))
}
