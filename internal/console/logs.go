package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"

	"github.com/hadronhq/hadron/internal/deploylog"
)

// LogSource reads a deployment's log from offset: at most limit bytes, and
// the offset to read from next. A deployment whose log does not exist yet
// (not started) has an empty one.
type LogSource interface {
	ReadLog(ctx context.Context, deploymentID string, offset int64, limit int) ([]byte, int64, error)
}

// FileLogs reads the log files the deployment engine writes in the data
// directory DataDir, where package deploylog says they are (the log
// endpoint /hadron/v1/deployments/{id}/log reads the same files).
type FileLogs struct {
	DataDir string
}

var deploymentID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ReadLog implements LogSource.
func (l FileLogs) ReadLog(_ context.Context, id string, offset int64, limit int) ([]byte, int64, error) {
	if !deploymentID.MatchString(id) {
		return nil, offset, fmt.Errorf("read log: %q is not a deployment id", id)
	}
	f, err := os.Open(deploylog.Path(l.DataDir, id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, offset, nil
	}
	if err != nil {
		return nil, offset, fmt.Errorf("read log of %s: %w", id, err)
	}
	defer f.Close()
	buf := make([]byte, limit)
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, offset, fmt.Errorf("read log of %s: %w", id, err)
	}
	return buf[:n], offset + int64(n), nil
}
