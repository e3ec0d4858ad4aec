// Package buildinfo says which build of Hadron is running: the module
// version, the VCS commit and the Go version, read from the information the
// Go toolchain embeds in every binary (runtime/debug.ReadBuildInfo).
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
)

// Info describes one build.
type Info struct {
	// Version is the main module's version: a tag or pseudo-version for a
	// `go install module@version` build, "(devel)" for a build from a
	// checkout.
	Version string `json:"version"`
	// Commit is the VCS revision the binary was built from, "" when the build
	// did not record it (go run, go test, or a build outside a checkout).
	Commit string `json:"commit,omitempty"`
	// Modified says the checkout had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// CommitTime is the revision's commit time (RFC 3339), when recorded.
	CommitTime string `json:"commitTime,omitempty"`
	// GoVersion is the toolchain that built the binary.
	GoVersion string `json:"goVersion"`
}

// Read returns the running binary's build information.
var Read = sync.OnceValue(func() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "(unknown)", GoVersion: runtime.Version()}
	}
	return fromBuildInfo(bi)
})

func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if info.Version == "" {
		info.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.time":
			info.CommitTime = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String is one line for people and headers:
// "(devel) commit 52a2e66c1d0e+dirty go1.26.8".
func (i Info) String() string {
	s := i.Version
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if i.Modified {
			c += "+dirty"
		}
		s += " commit " + c
	}
	return fmt.Sprintf("%s %s", s, i.GoVersion)
}
