package main

import (
	"testing"
)

func TestLogsTakesTheDeploymentIDBeforeOrAfterItsFlags(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args     []string
		id       string
		follow   bool
		endpoint string
		wantErr  bool
	}{
		{args: []string{"abc"}, id: "abc"},
		{args: []string{"abc", "--follow"}, id: "abc", follow: true},
		{args: []string{"-f", "abc", "--endpoint-url", "http://h:1"}, id: "abc", follow: true, endpoint: "http://h:1"},
		{args: []string{"--endpoint-url=http://h:1", "abc", "-f"}, id: "abc", follow: true, endpoint: "http://h:1"},
		{args: nil, wantErr: true},
		{args: []string{"a", "b"}, wantErr: true},
		{args: []string{"abc", "--no-such-flag"}, wantErr: true},
	} {
		var cmd logsCommand
		err := cmd.ParseFlags(c.args)
		if (err != nil) != c.wantErr {
			t.Errorf("%q: err = %v, want error %v", c.args, err, c.wantErr)
			continue
		}
		if err == nil && (cmd.id != c.id || cmd.follow != c.follow || cmd.opts.EndpointURL != c.endpoint) {
			t.Errorf("%q: id %q follow %v endpoint %q, want %q %v %q", c.args, cmd.id, cmd.follow, cmd.opts.EndpointURL, c.id, c.follow, c.endpoint)
		}
	}
}

func TestRetentionFlagsReadDaysAndSizes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		age, size string
		wantAge   string
		wantBytes int64
		wantErr   bool
	}{
		{age: "30d", size: "1G", wantAge: "720h0m0s", wantBytes: 1 << 30},
		{age: "72h", size: "500M", wantAge: "72h0m0s", wantBytes: 500 << 20},
		{age: "0", size: "0", wantAge: "0s", wantBytes: 0},
		{age: "1.5d", size: "2GiB", wantAge: "36h0m0s", wantBytes: 2 << 30},
		{age: "12", size: "1G", wantErr: true},
		{age: "1d", size: "lots", wantErr: true},
		{age: "-1d", size: "1G", wantErr: true},
	} {
		var cmd serveCommand
		err := cmd.ParseFlags([]string{"--log-retention-age", c.age, "--log-retention-size", c.size})
		if (err != nil) != c.wantErr {
			t.Errorf("%s %s: err = %v, want error %v", c.age, c.size, err, c.wantErr)
			continue
		}
		if err == nil && (cmd.logRetentionAge.String() != c.wantAge || cmd.logRetentionBytes != c.wantBytes) {
			t.Errorf("%s %s: %v %d, want %s %d", c.age, c.size, cmd.logRetentionAge, cmd.logRetentionBytes, c.wantAge, c.wantBytes)
		}
	}
}
