package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The AWS SigV4 test suite's credentials and time.
const (
	suiteKey    = "AKIDEXAMPLE"
	suiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	suiteDate   = "20150830T123600Z"
	suiteToken  = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
)

func suiteTime(t *testing.T) time.Time {
	t.Helper()
	at, err := time.Parse(TimeFormat, suiteDate)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestSuiteVectors checks Sign and Verify against request/signature pairs
// published in the AWS SigV4 test suite (and the IAM ListUsers example of the
// SigV4 documentation).
func TestSuiteVectors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, method, url, service string
		headers                    map[string]string
		token, body                string
		signedHeaders, signature   string
	}{
		{name: "get-vanilla", method: "GET", url: "https://example.amazonaws.com/", service: "service",
			signedHeaders: "host;x-amz-date", signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{name: "post-vanilla", method: "POST", url: "https://example.amazonaws.com/", service: "service",
			signedHeaders: "host;x-amz-date", signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
		{name: "get-vanilla-query-order-key-case", method: "GET", url: "https://example.amazonaws.com/?Param2=value2&Param1=value1", service: "service",
			signedHeaders: "host;x-amz-date", signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
		{name: "post-header-value-case", method: "POST", url: "https://example.amazonaws.com/", service: "service",
			headers:       map[string]string{"My-Header1": "VALUE1"},
			signedHeaders: "host;my-header1;x-amz-date", signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
		{name: "post-sts-header-before", method: "POST", url: "https://example.amazonaws.com/", service: "service", token: suiteToken,
			signedHeaders: "host;x-amz-date;x-amz-security-token", signature: "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
		{name: "iam-list-users (SigV4 documentation)", method: "GET", url: "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", service: "iam",
			headers:       map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
			signedHeaders: "content-type;host;x-amz-date", signature: "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(c.method, c.url, strings.NewReader(c.body))
			r.Header = http.Header{}
			for k, v := range c.headers {
				r.Header.Set(k, v)
			}
			Sign(r, []byte(c.body), suiteKey, suiteSecret, c.token, "us-east-1", c.service, suiteTime(t))
			want := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/" + c.service + "/aws4_request, SignedHeaders=" + c.signedHeaders + ", Signature=" + c.signature
			if got := r.Header.Get("Authorization"); got != want {
				t.Errorf("Sign:\n got  %s\n want %s", got, want)
			}
			// The published Authorization verifies, and a flipped bit does not.
			r.Header.Set("Authorization", want)
			v := &Verifier{Service: c.service, Now: func() time.Time { return suiteTime(t).Add(14 * time.Minute) }}
			id, err := v.Verify(r, []byte(c.body), suiteCreds)
			if err != nil || id != suiteKey {
				t.Errorf("Verify = %q, %v; want %s", id, err, suiteKey)
			}
			r.Header.Set("Authorization", want[:len(want)-1]+flip(want[len(want)-1]))
			if _, err := v.Verify(r, []byte(c.body), suiteCreds); code(err) != InvalidSignature {
				t.Errorf("Verify of a changed signature: %v, want %s", err, InvalidSignature)
			}
		})
	}
}

func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

func suiteCreds(id string) (string, bool) {
	if id == suiteKey {
		return suiteSecret, true
	}
	return "", false
}

func code(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// TestCanonicalRequest pins the pieces of the canonical request that the
// suite's vectors above do not reach.
func TestCanonicalRequest(t *testing.T) {
	t.Parallel()
	const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	cases := []struct {
		name    string
		url     string
		headers [][2]string
		signed  string
		want    string
	}{
		{name: "query sorted by key then value, values encoded", url: "http://h/?b=2&a=z&a=y&c=a%20b&d=~x*",
			signed: "host", want: "GET\n/\na=y&a=z&b=2&c=a%20b&d=~x%2A\nhost:h\n\nhost\n" + empty},
		{name: "query key without value", url: "http://h/?acl", signed: "host", want: "GET\n/\nacl=\nhost:h\n\nhost\n" + empty},
		{name: "header values trimmed, runs of spaces collapsed, repeats joined", url: "http://h/",
			headers: [][2]string{{"My-Header1", "  value1  "}, {"My-Header2", "a   b   c"}, {"My-Header1", "value2"}},
			signed:  "host;my-header1;my-header2",
			want:    "GET\n/\n\nhost:h\nmy-header1:value1,value2\nmy-header2:a b c\n\nhost;my-header1;my-header2\n" + empty},
		{name: "path segments encoded once more, dot segments removed", url: "http://h/a/./b/../c%20d/",
			signed: "host", want: "GET\n/a/c%2520d/\n\nhost:h\n\nhost\n" + empty},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", c.url, nil)
			r.Header = http.Header{}
			for _, h := range c.headers {
				r.Header.Add(h[0], h[1])
			}
			if got := CanonicalRequest(r, strings.Split(c.signed, ";"), empty); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// protonRequest is a request as the AWS SDKs send Proton calls.
func protonRequest(t *testing.T, body string) *http.Request {
	t.Helper()
	r, err := http.NewRequest("POST", "http://127.0.0.1:8787/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	r.Header.Set("X-Amz-Target", "AwsProton20200720.GetEnvironment")
	r.Header.Set("Amz-Sdk-Invocation-Id", "f8b1ce1e-8d59-4b5a-b9a7-8b8a2b4bfa5c")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	return r
}

// TestAgainstSDKSigner verifies requests signed by aws-sdk-go-v2's signer:
// with and without a session token, with a signed payload hash header and
// extra headers as the JS SDK sends.
func TestAgainstSDKSigner(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	signer := v4.NewSigner()
	for _, c := range []struct {
		name, token string
		contentSHA  bool
	}{{"plain", "", false}, {"session token", "FQoGZXIvYXdzEXAMPLE", false}, {"x-amz-content-sha256", "", true}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			body := `{"name":"web"}`
			r := protonRequest(t, body)
			h := sha256.Sum256([]byte(body))
			hash := hex.EncodeToString(h[:])
			if c.contentSHA {
				r.Header.Set("X-Amz-Content-Sha256", hash)
			}
			creds := aws.Credentials{AccessKeyID: "HKEXAMPLE", SecretAccessKey: "s3cr3t/+example", SessionToken: c.token}
			if err := signer.SignHTTP(context.Background(), creds, r, hash, "proton", "eu-west-1", now); err != nil {
				t.Fatal(err)
			}
			v := &Verifier{Service: "proton", Regions: []string{"eu-west-1"}}
			lookup := func(id string) (string, bool) { return creds.SecretAccessKey, id == creds.AccessKeyID }
			if id, err := v.Verify(r, []byte(body), lookup); err != nil || id != creds.AccessKeyID {
				t.Fatalf("Verify = %q, %v\nAuthorization: %s", id, err, r.Header.Get("Authorization"))
			}
			// Our own Sign agrees with the SDK's.
			want := r.Header.Get("Authorization")
			r2 := protonRequest(t, body)
			if c.contentSHA {
				r2.Header.Set("X-Amz-Content-Sha256", hash)
			}
			Sign(r2, []byte(body), creds.AccessKeyID, creds.SecretAccessKey, c.token, "eu-west-1", "proton", now)
			if got := r2.Header.Get("Authorization"); got != want {
				t.Errorf("Sign:\n got  %s\n want %s (the SDK's)", got, want)
			}
		})
	}
}

// TestVerifyRefuses pins each refusal: its code and message.
func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	const body = `{"name":"web"}`
	signed := func(mutate func(r *http.Request), at time.Time, secret, region, service string) *http.Request {
		r := protonRequest(t, body)
		Sign(r, []byte(body), "HKEXAMPLE", secret, "", region, service, at)
		if mutate != nil {
			mutate(r)
		}
		return r
	}
	good := func(r *http.Request) *http.Request { return r }
	cases := []struct {
		name    string
		req     *http.Request
		body    string
		code    Code
		message string
	}{
		{"unsigned", good(protonRequest(t, body)), body, MissingAuthenticationToken, "Request is missing Authentication Token"},
		{"unknown key", signed(func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "HKEXAMPLE", "HKUNKNOWN", 1))
		}, now, "secret", "us-east-1", "proton"), body, UnrecognizedClient, "The security token included in the request is invalid."},
		{"wrong secret", signed(nil, now, "not-the-secret", "us-east-1", "proton"), body, InvalidSignature, "The request signature we calculated does not match"},
		{"body changed", signed(nil, now, "secret", "us-east-1", "proton"), `{"name":"prod"}`, InvalidSignature, "does not match"},
		{"target changed", signed(func(r *http.Request) { r.Header.Set("X-Amz-Target", "AwsProton20200720.DeleteEnvironment") }, now, "secret", "us-east-1", "proton"),
			body, InvalidSignature, "does not match"},
		{"target not signed", signed(func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), ";x-amz-target", "", 1))
		}, now, "secret", "us-east-1", "proton"), body, InvalidSignature, "'X-Amz-Target' must be a 'SignedHeader'"},
		{"payload hash header lies", signed(func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") }, now, "secret", "us-east-1", "proton"),
			body, InvalidSignature, "x-amz-content-sha256"},
		{"other service", signed(nil, now, "secret", "us-east-1", "s3"), body, InvalidSignature, "Credential should be scoped to correct service: 'proton'."},
		{"region not allowed", signed(nil, now, "secret", "mars-north-1", "proton"), body, InvalidSignature, "Credential should be scoped to a valid region, not 'mars-north-1'."},
		{"16 minutes old", signed(nil, now.Add(-16*time.Minute), "secret", "us-east-1", "proton"), body, InvalidSignature,
			"Signature expired: 20261123T114400Z is now earlier than 20261123T114500Z (20261123T120000Z - 15 min.)"},
		{"16 minutes ahead", signed(nil, now.Add(16*time.Minute), "secret", "us-east-1", "proton"), body, InvalidSignature,
			"Signature not yet current: 20261123T121600Z is still later than 20261123T121500Z (20261123T120000Z + 15 min.)"},
		{"scope date differs", signed(func(r *http.Request) { r.Header.Set("X-Amz-Date", "20261124T000000Z") }, now, "secret", "us-east-1", "proton"),
			body, InvalidSignature, "Date in Credential scope does not match"},
		{"no date", signed(func(r *http.Request) { r.Header.Del("X-Amz-Date") }, now, "secret", "us-east-1", "proton"), body, IncompleteSignature, "'X-Amz-Date' or a 'Date'"},
		{"no signature part", signed(func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
		}, now, "secret", "us-east-1", "proton"), body, IncompleteSignature, "requires 'Signature' parameter"},
		{"garbage", signed(func(r *http.Request) { r.Header.Set("Authorization", "Bearer xyz") }, now, "secret", "us-east-1", "proton"), body, IncompleteSignature, "AWS4-HMAC-SHA256"},
		{"sigv2-style", signed(func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA512 Credential=x") }, now, "secret", "us-east-1", "proton"), body, InvalidSignature, "Unsupported AWS 'algorithm'"},
	}
	v := &Verifier{Service: "proton", Regions: []string{"us-east-1"}, Now: func() time.Time { return now }}
	creds := func(id string) (string, bool) { return "secret", id == "HKEXAMPLE" }
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(c.req, []byte(c.body), creds)
			var e *Error
			if !errors.As(err, &e) || e.Code != c.code || !strings.Contains(e.Message, c.message) {
				t.Fatalf("Verify: %v; want %s containing %q", err, c.code, c.message)
			}
			if strings.Contains(e.Message, "secret") {
				t.Errorf("message %q holds the secret", e.Message)
			}
		})
	}
	// The good request itself verifies at the edges of the window.
	for _, at := range []time.Time{now.Add(-15 * time.Minute), now, now.Add(15 * time.Minute)} {
		if _, err := v.Verify(signed(nil, at, "secret", "us-east-1", "proton"), []byte(body), creds); err != nil {
			t.Errorf("signed at %s: %v", at, err)
		}
	}
}

// TestVerifyOverHTTP verifies a request as the server receives it: Host in
// r.Host, Content-Length signed.
func TestVerifyOverHTTP(t *testing.T) {
	t.Parallel()
	v := &Verifier{Service: "proton"}
	errs := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		buf.ReadFrom(r.Body)
		_, err := v.Verify(r, buf.Bytes(), func(string) (string, bool) { return "secret", true })
		errs <- err
	}))
	defer srv.Close()
	body := `{"name":"web"}`
	r := protonRequest(t, body)
	r.URL.Host = strings.TrimPrefix(srv.URL, "http://")
	r.Host = r.URL.Host
	r.Header.Set("Content-Length", "14")
	Sign(r, []byte(body), "HK", "secret", "", "us-east-1", "proton", time.Now())
	if !strings.Contains(r.Header.Get("Authorization"), "content-length;") {
		t.Fatalf("content-length not signed: %s", r.Header.Get("Authorization"))
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

func BenchmarkVerify(b *testing.B) {
	body := []byte(`{"name":"api-00042"}`)
	r, _ := http.NewRequest("POST", "http://127.0.0.1:8787/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	r.Header.Set("X-Amz-Target", "AwsProton20200720.GetEnvironment")
	Sign(r, body, "HK", "secret", "", "us-east-1", "proton", time.Now())
	v := &Verifier{Service: "proton"}
	creds := func(string) (string, bool) { return "secret", true }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, body, creds); err != nil {
			b.Fatal(err)
		}
	}
}
