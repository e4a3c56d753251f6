package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/conf"
)

func TestLoadClientConf(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "http.conf"), "http.anti_steal.secret_key = FastDFS1234567890\n")
	tests := []struct {
		name, text string
		want       clientConf
		wantErr    bool
	}{
		{"shipped style", "# comment\nconnect_timeout = 5\ntracker_server = 10.0.0.1:22122\ntracker_server=10.0.0.2:22122\n#include http.conf\n",
			clientConf{TrackerServers: []string{"10.0.0.1:22122", "10.0.0.2:22122"}, Secret: "FastDFS1234567890", ConnectTimeout: 5 * time.Second}, false},
		{"storage server, last wins", "storage_server = a:1\nstorage_server = b:2\n",
			clientConf{StorageServer: "b:2", ConnectTimeout: 10 * time.Second}, false},
		{"bad storage server", "storage_server = nowhere\n", clientConf{}, true},
		{"bad tracker", "tracker_server = nowhere\n", clientConf{}, true},
		{"bad timeout", "connect_timeout = soon\n", clientConf{}, true},
		{"missing include", "#include absent.conf\n", clientConf{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "client.conf")
			writeFile(t, p, tt.text)
			got, err := loadClientConf(p)
			if (err != nil) != tt.wantErr {
				t.Fatalf("loadClientConf: %v; want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if got.StorageServer != tt.want.StorageServer || got.Secret != tt.want.Secret ||
				got.ConnectTimeout != tt.want.ConnectTimeout || !slices.Equal(got.TrackerServers, tt.want.TrackerServers) {
				t.Errorf("got %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestLoadShippedClientConf(t *testing.T) {
	got, err := loadClientConf("../../testdata/fastdfs-conf/client.conf")
	if err != nil {
		t.Fatalf("shipped client.conf: %v", err)
	}
	if len(got.TrackerServers) != 2 || got.StorageServer != "" {
		t.Errorf("shipped client.conf read as %+v", got)
	}
}

func TestIncludeCycle(t *testing.T) {
	p := filepath.Join(t.TempDir(), "loop.conf")
	writeFile(t, p, "#include loop.conf\n")
	if _, err := loadClientConf(p); err == nil {
		t.Error("an #include cycle was accepted")
	}
}

func FuzzLoadClientConf(f *testing.F) {
	f.Add("connect_timeout = 5\ntracker_server = 10.0.0.1:22122\nstorage_server=x:1\n")
	f.Add("#include other.conf\n[x]\n=\n")
	f.Add("http.anti_steal.secret_key = \xff\n")
	dir := f.TempDir()
	p := filepath.Join(dir, "client.conf")
	f.Fuzz(func(t *testing.T, text string) {
		if strings.Contains(text, "#include") {
			t.Skip("includes read other files (covered by the table tests)")
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := loadClientConf(p)
		if err == nil && c.StorageServer != "" && conf.CheckHostPort(c.StorageServer) != nil {
			t.Errorf("invalid storage_server %q accepted from %q", c.StorageServer, text)
		}
	})
}
