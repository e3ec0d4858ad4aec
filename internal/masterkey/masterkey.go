// Package masterkey keeps the secrets Hadron must be able to read back (the
// secrets of its access keys, the values of its secret store) encrypted at
// rest in a directory: one master key file, AES-256-GCM sealing under it,
// and the private, atomically replaced JSON files that hold the sealed
// values (SealedFile: keys.json and secrets.json are both one).
//
// The master key is 32 random bytes, written once as hex to keys.master
// (mode 0600) by the first writer. Each value is sealed with a fresh nonce
// and with additional data naming what it belongs to (an access key id, a
// secret's name), so that a sealed value moved to another entry does not
// open. A file holding secrets, or the master key itself, with a mode that
// lets others than its owner read or write it is refused.
//
// Writers of any file sealed with the master key take the directory's one
// lock (keys.lock) around their read-change-write, which also makes the
// creation of the master key race-free.
package masterkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Files in the directory.
const (
	// File holds the master key (64 hexadecimal characters).
	File = "keys.master"
	// LockFile serialises the writers of the directory's sealed files.
	LockFile = "keys.lock"
)

// Key is a loaded master key. It is safe for concurrent use.
type Key struct {
	aead cipher.AEAD
}

// Load reads dir's master key. With create, a missing key is made (the
// caller should hold Lock). A missing key without create is an error that
// wraps fs.ErrNotExist.
func Load(dir string, create bool) (*Key, error) {
	path := filepath.Join(dir, File)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		raw := make([]byte, 32)
		rand.Read(raw)
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create master key: %w", err)
		}
		_, err = f.WriteString(hex.EncodeToString(raw) + "\n")
		err = errors.Join(err, f.Sync(), f.Close())
		if err != nil {
			return nil, fmt.Errorf("create master key: %w", err)
		}
		return newKey(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if err := CheckPrivate(path, info); err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("%s is not a master key (64 hexadecimal characters)", path)
	}
	return newKey(raw)
}

func newKey(raw []byte) (*Key, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{aead: aead}, nil
}

// Seal encrypts plain for the entry named by ad and returns
// base64(nonce || AES-256-GCM(plain)).
func (k *Key) Seal(ad string, plain []byte) string {
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(k.aead.Seal(nonce, nonce, plain, []byte(ad)))
}

// Open decrypts what Seal returned for the same ad. Its errors never hold
// any part of the value.
func (k *Key) Open(ad, sealed string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < k.aead.NonceSize() {
		return nil, fmt.Errorf("the sealed value of %s is damaged", ad)
	}
	plain, err := k.aead.Open(nil, raw[:k.aead.NonceSize()], raw[k.aead.NonceSize():], []byte(ad))
	if err != nil {
		return nil, fmt.Errorf("the sealed value of %s does not open with %s (was the master key replaced?)", ad, File)
	}
	return plain, nil
}

// Lock takes dir's writer lock (creating dir if needed) and returns its
// release.
func Lock(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// WriteFile replaces path with data, mode 0600, atomically: a temporary
// file beside it is written, synced and renamed over it.
func WriteFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// CheckPrivate refuses a file that others than its owner may read or write.
func CheckPrivate(path string, info fs.FileInfo) error {
	if info.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s has mode %04o: it holds secrets, so only its owner may read it (chmod 600 %s)", path, info.Mode().Perm(), path)
	}
	return nil
}
