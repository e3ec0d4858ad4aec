package bundle

import (
	"strings"
	"testing"
)

func TestParseComponentManifest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, manifest, wantFile, wantEngine, wantErr string
	}{
		{"codebuild names its file", "infrastructure:\n  templates:\n    - file: deploy.sh\n      rendering_engine: codebuild\n      settings:\n        provision:\n          - sh deploy.sh\n",
			"deploy.sh", EngineCodebuild, ""},
		{"codebuild without a file", "infrastructure:\n  templates:\n    - rendering_engine: codebuild\n      settings:\n        provision:\n          - sh template\n",
			"template", EngineCodebuild, ""},
		{"cloudformation", "infrastructure:\n  templates:\n    - file: cloudformation.yaml\n      rendering_engine: jinja\n      template_language: cloudformation\n",
			"cloudformation.yaml", EngineCloudFormation, ""},
		{"unknown engine", "infrastructure:\n  templates:\n    - file: x\n      rendering_engine: pulumi\n", "", "", "pulumi"},
		{"escaping file name", "infrastructure:\n  templates:\n    - file: ../x.sh\n      rendering_engine: codebuild\n      settings:\n        provision: [x]\n", "", "", "relative"},
		{"not YAML", "infrastructure: [", "", "", "manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, files, err := ParseComponentManifest(tt.manifest, "echo hi\n")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Engine() != tt.wantEngine || string(files[tt.wantFile]) != "echo hi\n" {
				t.Errorf("engine %s, files %v", m.Engine(), files)
			}
		})
	}
}
