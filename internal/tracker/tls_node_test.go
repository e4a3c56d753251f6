package tracker_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/peer"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/certs/certstest"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/storage"
	"github.com/depotfs/depot/internal/tracker"
	"github.com/depotfs/depot/proto/trackerpb"
)

// TestTLSCluster: a tracker and two storages of one group, all with gRPC over TLS and HTTPS
// downloads: the storages join the tracker over TLS and advertise https URLs, the SDK in
// tracker mode uploads over TLS, the file replicates to the other storage over TLS and
// downloads from both; a plaintext caller of the tracker is refused.
func TestTLSCluster(t *testing.T) {
	ca := certstest.New(t)
	tcert, tkey := ca.Issue(t, "tracker", "127.0.0.1")
	n := startTracker(t, true, func(tc *conf.Tracker) {
		tc.TLS = conf.TLS{CertFile: tcert, KeyFile: tkey, CAFile: ca.CAFile}
	})
	scert, skey := ca.Issue(t, "storage", "127.0.0.1", "127.0.0.2")
	var nodes []*storage.Server
	for _, addr := range []string{"127.0.0.1", "127.0.0.2"} {
		dir := t.TempDir()
		sc := conf.DefaultStorage()
		sc.GroupName, sc.BindAddr, sc.Port, sc.HTTP.ServerPort = "group1", addr, 0, 0
		sc.BasePath, sc.StorePaths, sc.SubdirCountPerPath = dir, []conf.StorePath{{Path: dir}}, 2
		sc.TrackerServers, sc.HeartBeatInterval = []string{n.Addr()}, 100*time.Millisecond
		sc.ReservedStorageSpace = conf.Reserved{Bytes: 1 << 20}
		sc.TLS = conf.TLS{CertFile: scert, KeyFile: skey, CAFile: ca.CAFile}
		sc.HTTP.TLS = conf.TLS{CertFile: scert, KeyFile: skey}
		node, err := storage.New(storage.Config{Storage: sc})
		if err != nil {
			t.Fatal(err)
		}
		if err := node.Start(); err != nil {
			node.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { node.Close() })
		nodes = append(nodes, node)
	}

	conn, err := grpc.NewClient(n.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(ca.ClientConfig())))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rpc := trackerpb.NewTrackerServiceClient(conn)
	waitFor(t, "both storages ACTIVE with https URLs", func() bool {
		resp, err := rpc.ListGroups(t.Context(), &trackerpb.ListGroupsRequest{})
		if err != nil || len(resp.GetGroups()) != 1 {
			return false
		}
		active := 0
		for _, s := range resp.GetGroups()[0].GetStorages() {
			if s.GetStatusName() == "ACTIVE" && strings.HasPrefix(s.GetBrief().GetHttpUrl(), "https://") {
				active++
			}
		}
		return active == 2
	})

	c, err := client.New(client.Config{Trackers: []string{n.Addr()}, TLS: ca.ClientConfig(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := bytes.Repeat([]byte("replicated over TLS "), 3000)
	id, err := c.Upload(t.Context(), bytes.NewReader(data), client.UploadOptions{Ext: "txt", Size: int64(len(data))})
	if err != nil {
		t.Fatalf("upload through the tracker over TLS: %v", err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.ClientConfig()}}
	defer hc.CloseIdleConnections()
	for _, node := range nodes {
		sc, err := client.New(client.Config{Storage: node.GRPCAddr(), TLS: ca.ClientConfig()})
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		var got bytes.Buffer
		waitFor(t, "the file on "+node.GRPCAddr(), func() bool {
			got.Reset()
			_, err := sc.Download(t.Context(), id, &got, 0, 0)
			return err == nil && bytes.Equal(got.Bytes(), data)
		})
		resp, err := hc.Get("https://" + node.HTTPAddr() + "/" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTPS download from %s: %d", node.HTTPAddr(), resp.StatusCode)
		}
	}

	plain, err := grpc.NewClient(n.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := trackerpb.NewTrackerServiceClient(plain).ListGroups(t.Context(), &trackerpb.ListGroupsRequest{}); err == nil {
		t.Fatal("plaintext call to the TLS tracker succeeded")
	}
}

// TestTLSTrackerReload: Reload rereads the certificate files; a bad pair is refused and turning
// TLS off needs a restart.
func TestTLSTrackerReload(t *testing.T) {
	ca := certstest.New(t)
	c1, k1 := ca.Issue(t, "one", "127.0.0.1")
	c2, k2 := ca.Issue(t, "two", "127.0.0.1")
	var tc conf.Tracker
	n := startTracker(t, true, func(c *conf.Tracker) {
		c.TLS = conf.TLS{CertFile: c1, KeyFile: k1}
		tc = *c
	})
	tc.TLS = conf.TLS{CertFile: c2, KeyFile: k1}
	if err := n.Reload(tc); err == nil {
		t.Fatal("reload with a key of another certificate: no error")
	}
	tc.TLS = conf.TLS{}
	if err := n.Reload(tc); err == nil {
		t.Fatal("reload turning TLS off: no error")
	}
	tc.TLS = conf.TLS{CertFile: c2, KeyFile: k2}
	if err := n.Reload(tc); err != nil {
		t.Fatal(err)
	}
	cfg := ca.ClientConfig()
	cfg.NextProtos = []string{"h2"}
	conn, err := grpc.NewClient(n.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var p peer.Peer
	if _, err := trackerpb.NewTrackerServiceClient(conn).TrackerInfo(t.Context(), &trackerpb.TrackerInfoRequest{}, grpc.Peer(&p)); err != nil {
		t.Fatal(err)
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || info.State.PeerCertificates[0].Subject.CommonName != "two" {
		t.Fatalf("after reload: peer %+v, want the certificate with CN two", p.AuthInfo)
	}
	if !tracker.LiveKey("tls_cert_file") || !tracker.LiveKey("tls_key_file") || tracker.LiveKey("tls_ca_file") {
		t.Fatal("LiveKey: tls_cert_file and tls_key_file are live, tls_ca_file needs a restart")
	}
}
