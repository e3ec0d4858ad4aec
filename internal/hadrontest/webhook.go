package hadrontest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
)

// PushWebhook sends Hadron's sync webhook at endpoint a GitHub push event
// for branch main of repository (owner/name), signed with secret as GitHub
// signs it (X-Hub-Signature-256), and returns the answer's status code.
func PushWebhook(ctx context.Context, endpoint, secret, repository string) (int, error) {
	body := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","repository":{"full_name":%q}}`, repository))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/hadron/v1/sync/webhook", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("X-GitHub-Event", "push")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
