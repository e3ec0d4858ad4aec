// Package auth holds Hadron's access keys, their policies and their request
// rates, and decides for each call who made it and whether it may.
//
// # Where keys live
//
// Keys live in the data directory, beside the SQLite database, so they work
// with every store and need no database of their own:
//
//	keys.json    the keys: id, secret (encrypted), policy, state; mode 0600
//	keys.master  32 random bytes (hex) that encrypt the secrets; mode 0600
//	keys.lock    serialises writers (hadron keys, first start of hadron serve)
//
// Secrets are encrypted at rest with AES-256-GCM under the master key (package
// masterkey, shared with the secret store of package secrets), the
// access key id being the additional data (a secret cannot be moved to
// another key). They cannot be hashed: SigV4 is an HMAC keyed by the secret,
// so the server must hold the secret itself to recompute a signature. The
// encryption keeps secrets out of anything that copies keys.json alone (a
// backup, a support bundle, a paste); whoever can read both files can read
// the secrets, which is why both are 0600 and a looser mode is refused.
//
// Writers replace keys.json whole (write a temporary file, fsync, rename) under
// an exclusive lock on keys.lock. A running server notices a new keys.json by
// its inode, size and modification time: it looks at most once a second, and
// at once when a request names a key it does not know. So a key made with
// `hadron keys create` works at its first use, and a disabled or deleted key
// stops working within a second, without a restart.
//
// # Accounts
//
// The account a call is made in is decided here, by its key: a key made
// with an account (hadron keys create --account-id X) calls in X, any other
// key, a provisioning run's session and an unauthenticated server call in
// the server's own account (hadron serve --account-id, Config.Account).
// The server's account is the management account in Proton's sense: every
// template, environment, service, instance, pipeline, component and
// repository lives there, and their ARNs carry its id whatever key made or
// reads them. Another account is an environment account. Its key may call
// only its side of an environment account connection:
//
//	CreateEnvironmentAccountConnection   request a connection to the management account
//	Update/DeleteEnvironmentAccountConnection, its own connections
//	Get/ListEnvironmentAccountConnections       its own connections (ARNs in its account)
//	Tag/UntagResource, ListTagsForResource      on its own connections' ARNs
//
// Everything else, accepting and rejecting connections included (the
// management account's side), and Hadron's own endpoints, is refused with
// an AccessDeniedError whose Reason says so, after the key's policy and
// before anything is read. Package proton applies the rest of the model:
// which party of a connection may act on it (proton.WithAccount carries
// the account in, from AccountOf).
package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hadronhq/hadron/internal/masterkey"
)

// Files in the data directory.
const (
	KeysFile      = "keys.json"
	MasterKeyFile = masterkey.File
)

// keysFormat is the version of keys.json this code writes and reads.
const keysFormat = 1

// KeyIDPrefix starts every access key id Hadron makes. It is not AWS's AKIA,
// so that secret scanners and people never take a Hadron key for an AWS one.
const KeyIDPrefix = "HK"

// ErrNotFound is returned for an access key id that is not in the file.
var ErrNotFound = errors.New("no such access key")

// Policy says what a key may do. An empty list allows everything of its kind.
type Policy struct {
	// Allow are action patterns such as "proton:Get*", "proton:*" or
	// "proton:CancelEnvironmentDeployment"; '*' matches any run of
	// characters and '?' one character, case-insensitively as in IAM.
	Allow []string `json:"allow,omitempty"`
	// Resources are patterns of resource names (see ResourceNames), matched
	// case-sensitively with the same wildcards.
	Resources []string `json:"resources,omitempty"`
}

// Key is an access key as keys.json holds it.
type Key struct {
	AccessKeyID string    `json:"accessKeyId"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
	Disabled    bool      `json:"disabled,omitempty"`
	Policy      Policy    `json:"policy"`
	// AccountID is the AWS account the key's calls are made in (the
	// account of an environment account connection's request, say); ""
	// for the server's own account (hadron serve --account-id).
	AccountID string `json:"accountId,omitempty"`
	// SealedSecret is base64(nonce || AES-256-GCM(secret)).
	SealedSecret string `json:"sealedSecret"`
}

type keysDoc struct {
	masterkey.Header
	Keys []Key `json:"keys"`
}

// keysFile is dir's keys.json.
func keysFile(dir string) masterkey.SealedFile {
	return masterkey.SealedFile{Dir: dir, Name: KeysFile, What: "keys", Format: keysFormat}
}

// Store reads and changes the keys of a data directory.
type Store struct {
	Dir string
}

// NewKey is a key just made: the only time its secret is shown.
type NewKey struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// Exists reports whether the data directory has a keys file.
func (s *Store) Exists() (bool, error) {
	_, err := os.Stat(filepath.Join(s.Dir, KeysFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Create makes a key with the given policy and description.
func (s *Store) Create(p Policy, description string) (NewKey, error) {
	return s.CreateInAccount(p, description, "")
}

// CreateInAccount is Create for a key whose calls are made in account
// (12 digits; "" for the server's own account).
func (s *Store) CreateInAccount(p Policy, description, account string) (NewKey, error) {
	if account != "" && !isAccountID(account) {
		return NewKey{}, fmt.Errorf("account id %q must be 12 digits", account)
	}
	var nk NewKey
	err := s.update(func(doc *keysDoc, master *masterkey.Key) error {
		var err error
		if nk, err = addKey(doc, master, p, description); err == nil {
			doc.Keys[len(doc.Keys)-1].AccountID = account
		}
		return err
	})
	return nk, err
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// CreateFirst makes an administrator key (no policy: every action on every
// resource) if and only if the data directory has no keys file yet; created
// is false, and nk empty, when it had one.
func (s *Store) CreateFirst(description string) (nk NewKey, created bool, err error) {
	err = s.update(func(doc *keysDoc, master *masterkey.Key) error {
		if doc != nil && doc.Format != 0 {
			return errSkip
		}
		created = true
		nk, err = addKey(doc, master, Policy{}, description)
		return err
	})
	if errors.Is(err, errSkip) {
		err = nil
	}
	return nk, created, err
}

var errSkip = errors.New("skip")

func addKey(doc *keysDoc, master *masterkey.Key, p Policy, description string) (NewKey, error) {
	if err := p.Validate(); err != nil {
		return NewKey{}, err
	}
	nk := NewKey{AccessKeyID: newKeyID(), SecretAccessKey: newSecret()}
	sealed := master.Seal(nk.AccessKeyID, []byte(nk.SecretAccessKey))
	doc.Keys = append(doc.Keys, Key{AccessKeyID: nk.AccessKeyID, Description: description,
		Created: time.Now().UTC().Truncate(time.Second), Policy: p, SealedSecret: sealed})
	return nk, nil
}

// List returns the keys, secrets sealed, in order of creation.
func (s *Store) List() ([]Key, error) {
	doc, err := readKeys(s.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return doc.Keys, nil
}

// SetDisabled disables or enables a key.
func (s *Store) SetDisabled(id string, disabled bool) error {
	return s.update(func(doc *keysDoc, _ *masterkey.Key) error {
		i := slices.IndexFunc(doc.Keys, func(k Key) bool { return k.AccessKeyID == id })
		if i < 0 {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		doc.Keys[i].Disabled = disabled
		return nil
	})
}

// Delete removes a key.
func (s *Store) Delete(id string) error {
	return s.update(func(doc *keysDoc, _ *masterkey.Key) error {
		n := len(doc.Keys)
		doc.Keys = slices.DeleteFunc(doc.Keys, func(k Key) bool { return k.AccessKeyID == id })
		if len(doc.Keys) == n {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil
	})
}

// update runs change on the keys under the lock and writes them back. A
// missing keys file is an empty one whose Format is 0 when change runs.
func (s *Store) update(change func(doc *keysDoc, master *masterkey.Key) error) error {
	doc := &keysDoc{}
	return keysFile(s.Dir).Update(doc, func(master *masterkey.Key) error {
		if err := change(doc, master); err != nil {
			return err
		}
		if doc.Keys == nil {
			doc.Keys = []Key{}
		}
		return nil
	})
}

// readKeys reads dir's keys file; a missing one is an error wrapping
// fs.ErrNotExist.
func readKeys(dir string) (*keysDoc, error) {
	doc := &keysDoc{}
	if err := keysFile(dir).Read(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

func open(master *masterkey.Key, id, sealed string) (string, error) {
	plain, err := master.Open(id, sealed)
	if err != nil {
		return "", fmt.Errorf("keys: the secret of %s: %w", id, err)
	}
	return string(plain), nil
}

// newKeyID is "HK" and 18 characters of base32 (A-Z, 2-7): 20 characters
// like an AWS access key id, 90 random bits.
func newKeyID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, 18)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return KeyIDPrefix + string(b)
}

// newSecret is 40 characters of URL-safe base64: 240 random bits.
func newSecret() string {
	b := make([]byte, 30)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
