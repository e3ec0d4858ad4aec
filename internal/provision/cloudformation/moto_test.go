package cloudformation

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hadronhq/hadron/internal/mototest"
)

// motoURL is the moto_server the package's tests share (package mototest);
// each test uses stack names of its own.
func motoURL(t *testing.T) string { return mototest.URL(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	mototest.Stop()
	os.Exit(code)
}

// newTestDriver returns a driver on endpoint with static base credentials
// (moto and the fake accept any) and fast polling.
func newTestDriver(t *testing.T, endpoint string, mod ...func(*Config)) *Driver {
	t.Helper()
	cfg := Config{
		Region:      "us-east-1",
		EndpointURL: endpoint,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBASE", "base-secret", ""),
		PollInitial: 5 * time.Millisecond,
		PollMax:     50 * time.Millisecond,
	}
	for _, f := range mod {
		f(&cfg)
	}
	d, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
