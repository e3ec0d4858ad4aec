package codebuild

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// runtimeTools names, for each runtime a CodeBuild image could install,
// the commands a manifest using it expects on PATH.
var runtimeTools = map[string][]string{
	"android":  {"sdkmanager"},
	"corretto": {"java"},
	"java":     {"java"},
	"docker":   {"docker"},
	"dotnet":   {"dotnet"},
	"golang":   {"go"},
	"nodejs":   {"node", "npm"},
	"php":      {"php"},
	"python":   {"python3", "pip3"},
	"ruby":     {"ruby", "gem"},
}

// noteRuntimes says once in the log that the manifest's image and runtimes
// are not applied, and which of the runtimes' tools the commands' PATH
// lacks.
func noteRuntimes(log *logger, job Job, env []string) {
	if job.Image == "" && len(job.Runtimes) == 0 {
		return
	}
	var asked []string
	if job.Image != "" {
		asked = append(asked, fmt.Sprintf("image %q", job.Image))
	}
	var rts, missing []string
	for _, name := range slices.Sorted(maps.Keys(job.Runtimes)) {
		rts = append(rts, name+" "+job.Runtimes[name])
		tools, known := runtimeTools[name]
		if !known {
			tools = []string{name}
		}
		for _, tool := range tools {
			if lookPath(env, tool) == "" && !slices.Contains(missing, tool) {
				missing = append(missing, tool)
			}
		}
	}
	if len(rts) > 0 {
		asked = append(asked, "runtimes "+strings.Join(rts, ", "))
	}
	verb := "are"
	if len(asked) == 1 && job.Image != "" {
		verb = "is"
	}
	msg := fmt.Sprintf("the manifest's %s %s not applied: the commands run on Hadron's host with the tools installed there", strings.Join(asked, " and "), verb)
	if len(job.Runtimes) > 0 {
		if len(missing) > 0 {
			msg += "; missing on PATH: " + strings.Join(missing, ", ")
		} else {
			msg += "; every runtime's tools are on PATH"
		}
	}
	log.notef("%s", msg)
}

// lookPath returns the path of the executable file named name in the
// directories of env's PATH, or "" if there is none.
func lookPath(env []string, name string) string {
	for _, kv := range slices.Backward(env) {
		p, ok := strings.CutPrefix(kv, "PATH=")
		if !ok {
			continue
		}
		for _, dir := range filepath.SplitList(p) {
			if !filepath.IsAbs(dir) {
				continue
			}
			file := filepath.Join(dir, name)
			if fi, err := os.Stat(file); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return file
			}
		}
		return ""
	}
	return ""
}
