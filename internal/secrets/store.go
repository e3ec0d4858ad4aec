// Package secrets gives CodeBuild runs the secrets their manifests name
// (env.secrets-manager and env.parameter-store), from AWS Secrets Manager
// and SSM Parameter Store when Hadron has AWS access, and otherwise from
// Hadron's own secret store.
//
// # Hadron's own store
//
// The store is secrets.json in the keys directory (the data directory
// unless hadron serve --keys-dir says otherwise), beside keys.json. Its
// values are sealed under the same master key (keys.master) as the access
// keys' secrets, with the secret's name as the additional data (package
// masterkey), and the file is replaced atomically under the same lock. A
// running server reads the file at each run, so `hadron secrets put` takes
// effect at the next deployment, without a restart.
//
// # Lookup order
//
// When Hadron has AWS access (hadron serve --aws-region or
// --aws-endpoint-url), every reference is read from AWS, with the
// credentials of the run's CodeBuild role assumed for the deployment, as
// CodeBuild read them; Hadron's store is not consulted. Without AWS access,
// every reference is read from Hadron's store. One source per server keeps
// a secret's origin obvious: a name never silently resolves from the other
// place.
package secrets

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/masterkey"
)

// File is the store's file in the keys directory.
const File = "secrets.json"

// MaxValueBytes is the largest value the store keeps: Secrets Manager's
// own limit on a secret.
const MaxValueBytes = 65536

// storeFormat is the version of secrets.json this code writes and reads.
const storeFormat = 1

// ErrNotFound is returned for a name the store does not hold.
var ErrNotFound = errors.New("no such secret")

// validName reports whether name is a Secrets Manager secret name or an
// SSM parameter name: 1 to 512 of the characters both allow, without the
// ':' that separates a secrets-manager reference's parts. A loop, not a
// package-level regexp: `{1,512}` compiles to 512 copies of the class, which
// cost every start of the binary (each command's supervisor too) ~2 ms.
func validName(name string) bool {
	if len(name) < 1 || len(name) > 512 {
		return false
	}
	for i := range len(name) {
		c := name[i]
		ok := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("/_+=.@!-", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// CheckName returns why name cannot name a secret of the store, or nil.
func CheckName(name string) error {
	if !validName(name) {
		return fmt.Errorf("secret name %q: want 1 to 512 of A-Z a-z 0-9 / _ + = . @ ! -", name)
	}
	return nil
}

// Info is what the store shows of a secret: never its value.
type Info struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

type entry struct {
	Info
	// SealedValue is base64(nonce || AES-256-GCM(value)), sealed for Name.
	SealedValue string `json:"sealedValue"`
}

type storeDoc struct {
	masterkey.Header
	Secrets []entry `json:"secrets"`
}

// Store is Hadron's own secret store in a keys directory.
type Store struct {
	Dir string
}

// file is the store's sealed file.
func (s *Store) file() masterkey.SealedFile {
	return masterkey.SealedFile{Dir: s.Dir, Name: File, What: "secrets", Format: storeFormat}
}

// Put sets name's value, creating the secret or replacing its value, and
// reports whether it was created.
func (s *Store) Put(name string, value []byte) (created bool, err error) {
	if err := CheckName(name); err != nil {
		return false, err
	}
	if len(value) > MaxValueBytes {
		return false, fmt.Errorf("secret %s: the value has %d bytes; at most %d are kept", name, len(value), MaxValueBytes)
	}
	err = s.update(func(doc *storeDoc, key *masterkey.Key) error {
		now := time.Now().UTC().Truncate(time.Second)
		sealed := key.Seal(name, value)
		if i := slices.IndexFunc(doc.Secrets, func(e entry) bool { return e.Name == name }); i >= 0 {
			doc.Secrets[i].SealedValue, doc.Secrets[i].Updated = sealed, now
			return nil
		}
		created = true
		doc.Secrets = append(doc.Secrets, entry{Info: Info{Name: name, Created: now, Updated: now}, SealedValue: sealed})
		return nil
	})
	return created, err
}

// Get returns name's value; an error wrapping ErrNotFound if the store
// does not hold it.
func (s *Store) Get(name string) ([]byte, error) {
	doc := &storeDoc{}
	err := s.file().Read(doc)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(doc.Secrets, func(e entry) bool { return e.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	key, err := s.file().Key()
	if err != nil {
		return nil, err
	}
	v, err := key.Open(name, doc.Secrets[i].SealedValue)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return v, nil
}

// List returns the secrets' names and dates, sorted by name.
func (s *Store) List() ([]Info, error) {
	doc := &storeDoc{}
	err := s.file().Read(doc)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	infos := make([]Info, 0, len(doc.Secrets))
	for _, e := range doc.Secrets {
		infos = append(infos, e.Info)
	}
	slices.SortFunc(infos, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return infos, nil
}

// Delete removes a secret.
func (s *Store) Delete(name string) error {
	return s.update(func(doc *storeDoc, _ *masterkey.Key) error {
		n := len(doc.Secrets)
		doc.Secrets = slices.DeleteFunc(doc.Secrets, func(e entry) bool { return e.Name == name })
		if len(doc.Secrets) == n {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		return nil
	})
}

// update runs change on the store under the directory's lock and writes it
// back; a missing file is an empty store.
func (s *Store) update(change func(doc *storeDoc, key *masterkey.Key) error) error {
	doc := &storeDoc{}
	return s.file().Update(doc, func(key *masterkey.Key) error {
		if err := change(doc, key); err != nil {
			return err
		}
		if doc.Secrets == nil {
			doc.Secrets = []entry{}
		}
		return nil
	})
}
