package bundle

import (
	"bytes"
	"testing"
)

func TestPackIsReadBackByUnpackAndIsTheSameForTheSameFiles(t *testing.T) {
	files := map[string][]byte{"schema/schema.yaml": []byte("schema: {}"), "infrastructure/manifest.yaml": []byte("m")}
	a, err := Pack(files)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Pack(map[string][]byte{"infrastructure/manifest.yaml": []byte("m"), "schema/schema.yaml": []byte("schema: {}")})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("the same files packed twice differ")
	}
	got, err := Unpack(a)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		if data, ok := got.Get(name); !ok || !bytes.Equal(data, want) {
			t.Errorf("%s = %q, %v; want %q", name, data, ok, want)
		}
	}
}
