package auth

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hadronhq/hadron/internal/masterkey"
)

// reloadEvery is how often a Keyring looks at keys.json at most, when every
// request names a key it knows.
const reloadEvery = time.Second

// Keyring is the server's view of a data directory's keys: their secrets,
// opened, and their policies. It reloads keys.json when the file changes; a
// file that cannot be read keeps the last good keys in force and is logged.
type Keyring struct {
	dir    string
	logger *slog.Logger

	keys      atomic.Pointer[map[string]*ringKey]
	lastCheck atomic.Int64 // unix nanoseconds of the last stat

	mu      sync.Mutex // serialises reloads
	version fileVersion
}

type ringKey struct {
	secret  string
	policy  compiledPolicy
	account string
	// description is the key's name as its maker gave it ("" for none).
	description string
}

// fileVersion tells one keys.json from another: writers replace the file,
// so a new one has a new inode.
type fileVersion struct {
	ino, size int64
	mtime     time.Time
}

// OpenKeyring loads the keys of dir. A missing keys file is no keys.
func OpenKeyring(dir string, logger *slog.Logger) (*Keyring, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	k := &Keyring{dir: dir, logger: logger}
	empty := map[string]*ringKey{}
	k.keys.Store(&empty)
	if err := k.reload(true); err != nil {
		return nil, err
	}
	return k, nil
}

// Len is the number of enabled keys.
func (k *Keyring) Len() int { return len(*k.keys.Load()) }

// lookup returns an enabled key. A miss looks at keys.json at once, so a
// key created a moment ago is found.
func (k *Keyring) lookup(id string) (*ringKey, bool) {
	now := time.Now().UnixNano()
	if now-k.lastCheck.Load() >= int64(reloadEvery) {
		k.reload(false)
	}
	if rk, ok := (*k.keys.Load())[id]; ok {
		return rk, true
	}
	k.reload(false)
	rk, ok := (*k.keys.Load())[id]
	return rk, ok
}

// reload reads keys.json if it changed since the last read. With strict, an
// error is returned; otherwise it is logged and the old keys stay.
func (k *Keyring) reload(strict bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lastCheck.Store(time.Now().UnixNano())
	path := filepath.Join(k.dir, KeysFile)
	info, err := os.Stat(path)
	var v fileVersion
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return k.failed(strict, err)
	default:
		v = fileVersion{size: info.Size(), mtime: info.ModTime()}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			v.ino = int64(st.Ino)
		}
	}
	if v == k.version && !strict {
		return nil
	}
	keys := map[string]*ringKey{}
	if v != (fileVersion{}) {
		doc, err := readKeys(k.dir)
		if err != nil {
			return k.failed(strict, err)
		}
		var master *masterkey.Key
		if len(doc.Keys) > 0 {
			if master, err = keysFile(k.dir).Key(); err != nil {
				return k.failed(strict, err)
			}
		}
		for _, key := range doc.Keys {
			if key.Disabled {
				continue
			}
			secret, err := open(master, key.AccessKeyID, key.SealedSecret)
			if err != nil {
				return k.failed(strict, err)
			}
			p, err := key.Policy.compile()
			if err != nil {
				return k.failed(strict, fmt.Errorf("keys: %s: %w", key.AccessKeyID, err))
			}
			keys[key.AccessKeyID] = &ringKey{secret: secret, policy: p, account: key.AccountID, description: key.Description}
		}
	}
	old := len(*k.keys.Load())
	k.keys.Store(&keys)
	if k.version != (fileVersion{}) || v != (fileVersion{}) {
		k.logger.Info("access keys loaded", "file", path, "enabled", len(keys), "before", old)
	}
	k.version = v
	return nil
}

func (k *Keyring) failed(strict bool, err error) error {
	if strict {
		return err
	}
	k.logger.Error("access keys not reloaded; the previous keys stay in force", "err", err)
	return nil
}
