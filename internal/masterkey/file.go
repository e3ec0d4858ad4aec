package masterkey

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Header starts every document of a SealedFile: the version of the file's
// format, 0 while the file does not exist yet. A document type embeds it
// first, so that the file reads {"format": N, ...}.
type Header struct {
	Format int `json:"format"`
}

func (h *Header) header() *Header { return h }

// Document is a JSON document that embeds Header.
type Document interface{ header() *Header }

// SealedFile is one JSON file of a directory whose values are sealed under
// the directory's master key (keys.json of the access keys, secrets.json of
// the secret store). Readers read it whole; writers change it under the
// directory's lock and replace it atomically, mode 0600. A file that others
// than its owner may read or write, or of another format, is refused.
type SealedFile struct {
	// Dir is the directory of the file and of its master key.
	Dir string
	// Name is the file's name in Dir.
	Name string
	// What the file holds ("keys", "secrets"): it starts every error.
	What string
	// Format is the version of the file that this code reads and writes.
	Format int
}

// Path is the file's path.
func (f SealedFile) Path() string { return filepath.Join(f.Dir, f.Name) }

// Read decodes the file into doc. A missing file is an error that wraps
// fs.ErrNotExist.
func (f SealedFile) Read(doc Document) error {
	path := f.Path()
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return err
	}
	if err := CheckPrivate(path, info); err != nil {
		return fmt.Errorf("%s: %w", f.What, err)
	}
	if err := json.NewDecoder(file).Decode(doc); err != nil {
		return fmt.Errorf("%s: %s is not a %s file: %w", f.What, path, f.What, err)
	}
	if got := doc.header().Format; got != f.Format {
		return fmt.Errorf("%s: %s has format %d; this hadron reads format %d", f.What, path, got, f.Format)
	}
	return nil
}

// Key loads the directory's master key for reading; a missing key is an
// error that wraps fs.ErrNotExist.
func (f SealedFile) Key() (*Key, error) {
	k, err := Load(f.Dir, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.What, err)
	}
	return k, nil
}

// Update reads the file into doc under the directory's lock (doc stays as
// given, its Format 0, when there is no file yet), runs change with the
// master key (made first if the directory has none), and writes doc back in
// f's format unless change failed, whose error it returns.
func (f SealedFile) Update(doc Document, change func(key *Key) error) error {
	unlock, err := Lock(f.Dir)
	if err != nil {
		return fmt.Errorf("%s: %w", f.What, err)
	}
	defer unlock()
	key, err := Load(f.Dir, true)
	if err != nil {
		return fmt.Errorf("%s: %w", f.What, err)
	}
	if err := f.Read(doc); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := change(key); err != nil {
		return err
	}
	doc.header().Format = f.Format
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", f.What, err)
	}
	if err := WriteFile(f.Path(), append(data, '\n')); err != nil {
		return fmt.Errorf("%s: %w", f.What, err)
	}
	return nil
}
