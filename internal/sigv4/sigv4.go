// Package sigv4 verifies AWS Signature Version 4 on incoming requests, the way
// AWS services do, and signs requests the way the AWS SDKs do (for tests,
// benchmarks and Go clients).
//
// Verification rebuilds the canonical request from what arrived: the method,
// the path, the query, the headers the client listed in SignedHeaders (with
// Host from the request line), and the SHA-256 of the body as received. It
// never trusts a hash the client sends: an X-Amz-Content-Sha256 header that
// disagrees with the body is refused. The signature is compared in constant
// time.
//
// Beyond the algorithm, Verify insists that Host, the date header and
// X-Amz-Target are signed. Every AWS SDK and the CLI sign all three; without
// X-Amz-Target in the signature, a captured request could be replayed within
// the skew window as a different operation with the same body
// (GetEnvironment's {"name": "x"} as DeleteEnvironment's).
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// DefaultMaxSkew is how far the signed date may be from the server's clock,
// either way, as AWS allows.
const DefaultMaxSkew = 15 * time.Minute

// TimeFormat is the layout of X-Amz-Date; DateFormat that of the scope's date.
const (
	TimeFormat = "20060102T150405Z"
	DateFormat = "20060102"
)

// Code is the error code AWS answers a failed verification with.
type Code string

// The codes of failed verifications.
const (
	// MissingAuthenticationToken: the request carries no signature at all.
	MissingAuthenticationToken Code = "MissingAuthenticationTokenException"
	// IncompleteSignature: the Authorization header is malformed or lacks a part.
	IncompleteSignature Code = "IncompleteSignatureException"
	// UnrecognizedClient: the access key id is not known (or is disabled).
	UnrecognizedClient Code = "UnrecognizedClientException"
	// InvalidSignature: the signature does not match, is out of its scope, or
	// its date is too far from now.
	InvalidSignature Code = "InvalidSignatureException"
)

// Error is a failed verification. Its message is fit for the caller: it never
// holds a secret, a signing key or the signature the server computed.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

func fail(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Messages AWS uses.
const (
	msgMissing       = "Request is missing Authentication Token"
	msgUnrecognized  = "The security token included in the request is invalid."
	msgBadSignature  = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgPayloadHash   = "The provided 'x-amz-content-sha256' header does not match what was computed."
	skewMessageFront = "Signature expired: "
)

// Authorization is a parsed Authorization header.
type Authorization struct {
	AccessKeyID string
	// Date (YYYYMMDD), Region, Service and the terminator aws4_request make
	// up the credential scope.
	Date, Region, Service string
	// SignedHeaders are lowercase header names, in the order the client sent.
	SignedHeaders []string
	Signature     []byte
}

// Scope is the credential scope: date/region/service/aws4_request.
func (a *Authorization) Scope() string {
	return a.Date + "/" + a.Region + "/" + a.Service + "/aws4_request"
}

// ParseAuthorization parses an Authorization header of the form
//
//	AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/proton/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex
//
// Errors are IncompleteSignature, except an unknown algorithm, which is
// InvalidSignature (AWS: "Unsupported AWS 'algorithm'").
func ParseAuthorization(h string) (Authorization, error) {
	var a Authorization
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != Algorithm {
		if strings.HasPrefix(alg, "AWS4-") || alg == "AWS" {
			return a, fail(InvalidSignature, "Unsupported AWS 'algorithm': '%s'", truncate(alg, 40))
		}
		return a, fail(IncompleteSignature, "Authorization header requires the %s algorithm", Algorithm)
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return a, fail(IncompleteSignature, "Authorization header requires each component to be of the form key=value")
		}
		switch k {
		case "Credential":
			cred, haveCred = v, true
		case "SignedHeaders":
			signed, haveSigned = v, true
		case "Signature":
			sig, haveSig = v, true
		}
	}
	switch {
	case !haveCred:
		return a, fail(IncompleteSignature, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.")
	case !haveSigned:
		return a, fail(IncompleteSignature, "Authorization header requires 'SignedHeaders' parameter.")
	case !haveSig:
		return a, fail(IncompleteSignature, "Authorization header requires 'Signature' parameter.")
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[0] == "" {
		return a, fail(IncompleteSignature, "Credential should be of the form access-key-id/YYYYMMDD/region/service/aws4_request")
	}
	if parts[4] != "aws4_request" {
		return a, fail(InvalidSignature, "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", truncate(parts[4], 40))
	}
	a.AccessKeyID, a.Date, a.Region, a.Service = parts[0], parts[1], parts[2], parts[3]
	if signed == "" {
		return a, fail(IncompleteSignature, "Authorization header requires 'SignedHeaders' parameter.")
	}
	a.SignedHeaders = strings.Split(signed, ";")
	for _, name := range a.SignedHeaders {
		if name == "" || name != strings.ToLower(name) {
			return a, fail(IncompleteSignature, "SignedHeaders must be lowercase header names separated by ';'")
		}
	}
	var err error
	if a.Signature, err = hex.DecodeString(sig); err != nil || len(a.Signature) != sha256.Size {
		return a, fail(IncompleteSignature, "Signature must be 64 hexadecimal characters")
	}
	return a, nil
}

// Credentials finds the secret of an access key; ok is false for a key that
// is unknown or may not be used.
type Credentials func(accessKeyID string) (secret string, ok bool)

// Verifier verifies requests for one service.
type Verifier struct {
	// Service is the signing name, e.g. "proton".
	Service string
	// Regions are the regions a scope may name; empty allows any.
	Regions []string
	// MaxSkew defaults to DefaultMaxSkew.
	MaxSkew time.Duration
	// Now defaults to time.Now.
	Now func() time.Time

	keys sync.Map // signingKeyCacheKey -> signingKeyEntry
	size int64    // approximate number of cached signing keys, guarded by mu
	mu   sync.Mutex
}

// maxCachedKeys bounds the signing-key cache; it is emptied when full.
const maxCachedKeys = 4096

type signingKeyEntry struct {
	secret string
	key    []byte
}

// Verify checks the signature of r, whose body (already read) is body, and
// returns the access key id that signed it. Every failure is an *Error.
func (v *Verifier) Verify(r *http.Request, body []byte, creds Credentials) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if r.URL.Query().Has("X-Amz-Signature") {
			return "", fail(IncompleteSignature, "presigned (query string) requests are not accepted; sign the Authorization header")
		}
		return "", fail(MissingAuthenticationToken, msgMissing)
	}
	a, err := ParseAuthorization(h)
	if err != nil {
		return "", err
	}
	secret, ok := creds(a.AccessKeyID)
	if !ok {
		return "", fail(UnrecognizedClient, msgUnrecognized)
	}
	if a.Service != v.Service {
		return "", fail(InvalidSignature, "Credential should be scoped to correct service: '%s'.", v.Service)
	}
	if len(v.Regions) > 0 && !slices.Contains(v.Regions, a.Region) {
		return "", fail(InvalidSignature, "Credential should be scoped to a valid region, not '%s'.", truncate(a.Region, 40))
	}
	if !slices.Contains(a.SignedHeaders, "host") {
		return "", fail(InvalidSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if r.Header.Get("X-Amz-Target") != "" && !slices.Contains(a.SignedHeaders, "x-amz-target") {
		return "", fail(InvalidSignature, "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.")
	}
	// The date: X-Amz-Date, or else Date; whichever it is must be signed.
	var signedAt time.Time
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate != "" {
		if !slices.Contains(a.SignedHeaders, "x-amz-date") {
			return "", fail(InvalidSignature, "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")
		}
		if signedAt, err = time.Parse(TimeFormat, amzDate); err != nil {
			return "", fail(IncompleteSignature, "X-Amz-Date must be in the ISO-8601 basic format YYYYMMDD'T'HHMMSS'Z'")
		}
	} else if d := r.Header.Get("Date"); d != "" {
		if !slices.Contains(a.SignedHeaders, "date") {
			return "", fail(InvalidSignature, "'Date' must be a 'SignedHeader' in the AWS Authorization.")
		}
		if signedAt, err = http.ParseTime(d); err != nil {
			return "", fail(IncompleteSignature, "Date must be an HTTP date")
		}
		amzDate = signedAt.UTC().Format(TimeFormat)
	} else {
		return "", fail(IncompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if a.Date != amzDate[:8] {
		return "", fail(InvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", truncate(a.Date, 16), amzDate[:8], amzDate)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	t := now().UTC()
	if signedAt.Before(t.Add(-skew)) {
		return "", fail(InvalidSignature, "%s%s is now earlier than %s (%s - %s.)", skewMessageFront,
			amzDate, t.Add(-skew).Format(TimeFormat), t.Format(TimeFormat), skewText(skew))
	}
	if signedAt.After(t.Add(skew)) {
		return "", fail(InvalidSignature, "Signature not yet current: %s is still later than %s (%s + %s.)",
			amzDate, t.Add(skew).Format(TimeFormat), t.Format(TimeFormat), skewText(skew))
	}
	payloadHash := sha256.Sum256(body)
	payloadHex := hex.EncodeToString(payloadHash[:])
	if claimed := r.Header.Get("X-Amz-Content-Sha256"); claimed != "" && claimed != payloadHex {
		return "", fail(InvalidSignature, msgPayloadHash)
	}
	creq := CanonicalRequest(r, a.SignedHeaders, payloadHex)
	sts := StringToSign(amzDate, a.Scope(), creq)
	mac := hmac.New(sha256.New, v.signingKey(a.AccessKeyID, secret, a.Date, a.Region, a.Service))
	mac.Write([]byte(sts))
	if !hmac.Equal(mac.Sum(nil), a.Signature) {
		return "", fail(InvalidSignature, msgBadSignature)
	}
	return a.AccessKeyID, nil
}

func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.Itoa(int(d/time.Minute)) + " min"
	}
	return d.String()
}

// signingKey returns the derived key of a scope, from the cache when the
// secret is unchanged.
func (v *Verifier) signingKey(id, secret, date, region, service string) []byte {
	ck := id + "/" + date + "/" + region + "/" + service
	if e, ok := v.keys.Load(ck); ok {
		if e := e.(signingKeyEntry); e.secret == secret {
			return e.key
		}
	}
	k := SigningKey(secret, date, region, service)
	v.mu.Lock()
	v.size++
	if v.size > maxCachedKeys {
		v.keys.Clear()
		v.size = 1
	}
	v.mu.Unlock()
	v.keys.Store(ck, signingKeyEntry{secret: secret, key: k})
	return k
}

// SigningKey derives the key that signs strings to sign in one scope.
func SigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// StringToSign is the string a signature is the HMAC of.
func StringToSign(amzDate, scope, canonicalRequest string) string {
	h := sha256.Sum256([]byte(canonicalRequest))
	return Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(h[:])
}

// CanonicalRequest builds the canonical request of r over signedHeaders (in
// the given order) and the hex SHA-256 of the payload:
//
//	METHOD \n canonical URI \n canonical query \n canonical headers \n signed headers \n payload hash
//
// The URI is the escaped path with each segment percent-encoded once more
// (what every SDK but S3's does), after removing dot segments; the query is
// sorted by encoded name, then value; each header's values are joined with
// "," after trimming and collapsing inner runs of spaces.
func CanonicalRequest(r *http.Request, signedHeaders []string, payloadHash string) string {
	var b strings.Builder
	b.Grow(256)
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery))
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(headerValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func headerValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host":
		values = []string{r.Host}
		if r.Host == "" && r.URL != nil {
			values = []string{r.URL.Host}
		}
	case "content-length":
		values = r.Header.Values("Content-Length")
		if len(values) == 0 && r.ContentLength >= 0 {
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	default:
		values = r.Header.Values(name) // canonicalises name
	}
	if len(values) == 1 {
		return trimAll(values[0])
	}
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = trimAll(v)
	}
	return strings.Join(out, ",")
}

// trimAll trims s and collapses each run of spaces into one.
func trimAll(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "  ") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" || p == "/" {
		return "/"
	}
	p = removeDotSegments(p)
	return escape(p, true)
}

// removeDotSegments applies RFC 3986 section 5.2.4 and collapses empty segments,
// as botocore and the JS SDK normalise paths for every service but S3.
func removeDotSegments(p string) string {
	trailing := strings.HasSuffix(p, "/")
	var out []string
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	s := "/" + strings.Join(out, "/")
	if trailing && len(out) > 0 {
		s += "/"
	}
	return s
}

func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var pairs []kv
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		pairs = append(pairs, kv{escape(unescape(k), false), escape(unescape(v), false)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// escape percent-encodes every byte but the unreserved characters (and '/'
// when keepSlash), upper-case hex, as SigV4 wants.
func escape(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Sign signs r as the AWS SDKs do: it sets X-Amz-Date (and X-Amz-Security-Token
// when token is not empty) and the Authorization header over every header r
// has plus Host. body must be what r will send.
func Sign(r *http.Request, body []byte, accessKeyID, secret, token, region, service string, t time.Time) {
	amzDate := t.UTC().Format(TimeFormat)
	r.Header.Set("X-Amz-Date", amzDate)
	if token != "" {
		r.Header.Set("X-Amz-Security-Token", token)
	}
	names := []string{"host"}
	for k := range r.Header {
		lk := strings.ToLower(k)
		if lk == "authorization" || lk == "user-agent" || lk == "x-amzn-trace-id" || lk == "expect" {
			continue
		}
		names = append(names, lk)
	}
	if r.ContentLength > 0 && r.Header.Get("Content-Length") == "" {
		names = append(names, "content-length")
	}
	sort.Strings(names)
	names = slices.Compact(names)
	h := sha256.Sum256(body)
	date := amzDate[:8]
	scope := date + "/" + region + "/" + service + "/aws4_request"
	sts := StringToSign(amzDate, scope, CanonicalRequest(r, names, hex.EncodeToString(h[:])))
	mac := hmac.New(sha256.New, SigningKey(secret, date, region, service))
	mac.Write([]byte(sts))
	r.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		Algorithm, accessKeyID, scope, strings.Join(names, ";"), hex.EncodeToString(mac.Sum(nil))))
}
