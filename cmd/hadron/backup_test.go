package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

func TestRestoreRefusesWhileAServerRunsAndKeepsTheReplacedDatabase(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// A backup holding one template.
	src := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(src, server.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.TemplateCreate(ctx, &store.Template{Kind: store.KindEnvironmentTemplate, Name: "from-backup"}); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := st.BackupTo(ctx, backup); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// A data directory with a database of its own, held by a "server".
	dataDir := t.TempDir()
	live, err := sqlite.Open(ctx, filepath.Join(dataDir, server.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	live.Close()
	unlock, err := lockDataDir(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI(t, "", "restore", backup, "--data-dir", dataDir); code != ExitFailed || !strings.Contains(errOut, "stop it first") {
		t.Errorf("restore while the data directory is held = exit %d %q, want a refusal", code, errOut)
	}
	unlock()

	garbage := filepath.Join(t.TempDir(), "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("x", 4096)), 0o600)
	if _, _, code := runCLI(t, "", "restore", garbage, "--data-dir", dataDir); code != ExitFailed {
		t.Errorf("restore of a file that is no database = exit %d", code)
	}
	if _, _, code := runCLI(t, "", "restore", backup, "--data-dir", dataDir, "--database-url", "postgres://x@y/z"); code != ExitFailed {
		t.Errorf("restore with a PostgreSQL URL = exit %d, want a refusal", code)
	}

	out, errOut, code := runCLI(t, "", "restore", backup, "--data-dir", dataDir)
	if code != ExitOK || !strings.Contains(out, "before-restore") {
		t.Fatalf("restore = exit %d %q %q", code, out, errOut)
	}
	kept, _ := filepath.Glob(filepath.Join(dataDir, server.DatabaseFile+".before-restore-*"))
	if len(kept) != 1 {
		t.Errorf("kept %v, want the replaced database", kept)
	}
	restored, err := sqlite.Open(ctx, filepath.Join(dataDir, server.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	if _, err := restored.TemplateGet(ctx, store.KindEnvironmentTemplate, "from-backup"); err != nil {
		t.Errorf("the restored database lacks the backup's template: %v", err)
	}
}

func TestBackupRefusesAnExistingFileBeforeCallingTheServer(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "exists.db")
	os.WriteFile(file, []byte("keep me"), 0o600)
	// Port 1 refuses connections: a call would fail differently.
	_, errOut, code := runCLI(t, "", "backup", file, "--endpoint-url", "http://127.0.0.1:1", "--no-sign-request")
	if code != ExitFailed || !strings.Contains(errOut, "exists") {
		t.Errorf("backup over an existing file = exit %d %q", code, errOut)
	}
	if data, _ := os.ReadFile(file); string(data) != "keep me" {
		t.Error("the existing file was changed")
	}
}
