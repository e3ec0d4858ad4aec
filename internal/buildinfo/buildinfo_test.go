package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestFromBuildInfoReadsVersionCommitAndGo(t *testing.T) {
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want Info
		line string
	}{
		{
			name: "checkout build with a dirty tree",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "52a2e66c1d0e0123456789abcdef0123456789ab"},
				{Key: "vcs.time", Value: "2026-12-02T01:00:00Z"},
				{Key: "vcs.modified", Value: "true"},
			}},
			want: Info{Version: "(devel)", Commit: "52a2e66c1d0e0123456789abcdef0123456789ab", CommitTime: "2026-12-02T01:00:00Z", Modified: true, GoVersion: "go1.26.8"},
			line: "(devel) commit 52a2e66c1d0e+dirty go1.26.8",
		},
		{
			name: "tagged install without VCS settings",
			bi:   debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}},
			want: Info{Version: "v1.2.3", GoVersion: "go1.26.8"},
			line: "v1.2.3 go1.26.8",
		},
		{
			name: "no main module version",
			bi:   debug.BuildInfo{GoVersion: "go1.26.8"},
			want: Info{Version: "(devel)", GoVersion: "go1.26.8"},
			line: "(devel) go1.26.8",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromBuildInfo(&tt.bi)
			if got != tt.want {
				t.Errorf("fromBuildInfo = %+v, want %+v", got, tt.want)
			}
			if got.String() != tt.line {
				t.Errorf("String() = %q, want %q", got.String(), tt.line)
			}
		})
	}
}

func TestReadNamesTheRunningToolchain(t *testing.T) {
	if got := Read().GoVersion; got != runtime.Version() {
		t.Errorf("Read().GoVersion = %q, want %q", got, runtime.Version())
	}
}
