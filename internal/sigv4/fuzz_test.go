package sigv4

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary Authorization headers, dates, targets, paths
// and bodies to Verify: it must never panic, and must never accept a request
// that the fuzzer did not sign with the secret.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	good, _ := http.NewRequest("POST", "http://h/", nil)
	good.Header.Set("X-Amz-Target", "AwsProton20200720.GetEnvironment")
	Sign(good, []byte(`{"name":"web"}`), "HKEXAMPLE", "secret", "", "us-east-1", "proton", now)
	f.Add(good.Header.Get("Authorization"), good.Header.Get("X-Amz-Date"), "AwsProton20200720.GetEnvironment", "/", `{"name":"web"}`)
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=00", "20261123T120000Z", "", "/a/../b", "")
	f.Add("AWS4-HMAC-SHA256 Credential=HKEXAMPLE/20261123/us-east-1/proton/aws4_request,SignedHeaders=;;,Signature=", "x", "t", "/?a=b&&c", "{}")
	f.Add("AWS4-HMAC-SHA256", "", "", "/%zz", "")
	f.Add("AWS4-HMAC-SHA256 ,,,==,Credential=/////", "", "", "//", "")
	v := &Verifier{Service: "proton", Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, authz, date, target, path, body string) {
		r, err := http.NewRequest("POST", "http://h/", strings.NewReader(body))
		if err != nil {
			return
		}
		if u, err := r.URL.Parse(path); err == nil {
			r.URL = u
		}
		r.Header.Set("Authorization", authz)
		r.Header.Set("X-Amz-Date", date)
		r.Header.Set("X-Amz-Target", target)
		id, err := v.Verify(r, []byte(body), func(id string) (string, bool) { return "secret", id == "HKEXAMPLE" })
		if err == nil {
			// Only the seed signed with the secret verifies; anything else
			// that does is a forgery (or a fuzzer that found SHA-256's secret).
			if authz != good.Header.Get("Authorization") || id != "HKEXAMPLE" {
				t.Fatalf("accepted %q with id %q", authz, id)
			}
		} else if _, ok := err.(*Error); !ok {
			t.Fatalf("error of type %T: %v", err, err)
		}
	})
}
