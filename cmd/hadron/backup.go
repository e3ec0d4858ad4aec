package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/store/sqlite"
	"github.com/spf13/cobra"
)

// newBackupCommand is `hadron backup FILE`: the running server copies its
// SQLite database (VACUUM INTO, a consistent snapshot taken while it keeps
// serving) and sends it; the copy is checked before it is given FILE's name.
//
// Why through the server and not on the data directory: the server is the
// one process that owns the database (its lock), the copy then needs no
// access to the server's files (only a key allowed hadron:Backup), and it
// works from another machine.
func newBackupCommand(s streams) *cobra.Command {
	var flags clientFlags
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Copy a running server's SQLite database into FILE, while it serves",
		Long: `Copy a running server's SQLite database into FILE, while it keeps serving: the
server takes a consistent snapshot (SQLite's VACUUM INTO, one read transaction:
every call answered before it is in the copy) and sends it; the copy is checked
(SQLite's integrity check) before it is given FILE's name. Signed like a Proton
call (action hadron:Backup in key policies).

The database holds Hadron's whole state except these files of the data
directory, which a full backup copies beside it: keys.json, keys.master and
secrets.json (or those of --keys-dir), terraform-state/ and logs/.

A server on PostgreSQL refuses: use pg_dump (see the README).
Restore with hadron restore on a stopped server.`,
		Args: exactArgs(1, "file to write"),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := args[0]
			if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("backup: %s exists; give a new file name", file)
			}
			c, err := flags.client(cmd.Context())
			if err != nil {
				return err
			}
			start := time.Now()
			resp, err := c.Do(cmd.Context(), http.MethodPost, "backup", nil)
			if err != nil {
				return fmt.Errorf("backup of %s: %w", c.Endpoint(), err)
			}
			defer resp.Body.Close()
			n, err := writeChecked(cmd, file, resp)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "backup of %s written to %s (%d bytes, %s); restore it with: hadron restore %s --data-dir DIR (server stopped)\n",
				c.Endpoint(), file, n, time.Since(start).Round(time.Millisecond), file)
			return nil
		},
	}
	flags.register(cmd)
	return cmd
}

// writeChecked writes the response's body to a temporary file beside file,
// checks that it is whole (Content-Length) and a sound database, and
// renames it to file.
func writeChecked(cmd *cobra.Command, file string, resp *http.Response) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*.partial")
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	n, err := io.Copy(tmp, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("the server sent %d of %d bytes", n, resp.ContentLength)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("backup: receive the copy: %w", err)
	}
	if _, err := sqlite.Verify(cmd.Context(), tmp.Name()); err != nil {
		return 0, fmt.Errorf("backup: the copy received is not sound: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	return n, nil
}

// newRestoreCommand is `hadron restore FILE --data-dir DIR`.
func newRestoreCommand(s streams) *cobra.Command {
	var dataDir, databaseURL string
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Put a backup in place of a stopped server's SQLite database",
		Long: `Put FILE, made by hadron backup, in place of the SQLite database of the data
directory. The server must be stopped: restore refuses while a hadron process
holds the data directory, and holds it itself meanwhile so none starts. The
database it replaces is kept beside it as hadron.db.before-restore-TIME.

The next hadron serve recovers the deployments the backup shows in progress
(they end FAILED, as after a crash) and applies the migrations of a newer
Hadron. A server on PostgreSQL is restored with pg_restore (see the README).`,
		Args: exactArgs(1, "backup file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if databaseURL != "" {
				return errors.New("restore: the server uses PostgreSQL (--database-url): restore with pg_restore, see the README's Backup section")
			}
			if err := requireDir(dataDir); err != nil {
				return err
			}
			migrations, err := sqlite.Verify(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			unlock, err := lockDataDir(dataDir)
			if err != nil {
				return fmt.Errorf("restore: refused: a hadron server is running on %s (or another restore): stop it first (%w)", dataDir, err)
			}
			defer unlock()
			kept, err := restoreDatabase(args[0], dataDir)
			if err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			fmt.Fprintf(s.out, "restored %s into %s (%d migrations applied in the backup)\n", args[0], filepath.Join(dataDir, server.DatabaseFile), migrations)
			if kept != "" {
				fmt.Fprintf(s.out, "the database it replaced is kept as %s\n", kept)
			}
			fmt.Fprintf(s.out, "start the server: hadron serve --data-dir %s\n", dataDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", cmp.Or(os.Getenv("HADRON_DATA_DIR"), DefaultDataDir), "the stopped server's data directory (HADRON_DATA_DIR)")
	cmd.Flags().StringVar(&databaseURL, "database-url", os.Getenv("HADRON_DATABASE_URL"), "refused: a PostgreSQL server is restored with pg_restore (HADRON_DATABASE_URL)")
	return cmd
}

// restoreDatabase copies file into the data directory and renames it over
// the database; the database it replaces (and its WAL, which holds commits
// not yet in the main file) is renamed aside, and its name returned.
func restoreDatabase(file, dataDir string) (kept string, err error) {
	db := filepath.Join(dataDir, server.DatabaseFile)
	tmp := db + ".restore.tmp"
	if err := copyFile(file, tmp); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if _, err := os.Stat(db); err == nil {
		kept = db + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(db, kept); err != nil {
			os.Remove(tmp)
			return "", err
		}
		// SQLite finds a database's WAL by its name: keep it with it.
		if err := os.Rename(db+"-wal", kept+"-wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	if err := os.Remove(db + "-shm"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.Rename(tmp, db); err != nil {
		return "", err
	}
	return kept, syncDir(dataDir)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
