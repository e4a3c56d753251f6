package storage_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/certs/certstest"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/storage"
)

// tlsConf is storage.conf text for a node on addr serving gRPC and HTTP over TLS with
// certificates of ca (for 127.0.0.1 and 127.0.0.2), trusting ca for its peers.
func tlsConf(t *testing.T, ca *certstest.CA, dir, addr string, httpPort int, extra string) string {
	t.Helper()
	cert, key := ca.Issue(t, "node", "127.0.0.1", "127.0.0.2")
	return fmt.Sprintf(`group_name = group1
bind_addr = %[2]s
port = 23000
base_path = %[1]s
store_path0 = %[1]s
subdir_count_per_path = 2
http.server_port = %[3]d
reserved_storage_space = 1%%
tls_cert_file = %[4]s
tls_key_file = %[5]s
tls_ca_file = %[6]s
http.tls.cert_file = %[4]s
http.tls.key_file = %[5]s
%[7]s`, dir, addr, httpPort, cert, key, ca.CAFile, extra)
}

func httpsClient(ca *certstest.CA) *http.Client {
	return &http.Client{
		Transport:     &http.Transport{TLSClientConfig: ca.ClientConfig()},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func getWith(t *testing.T, cl *http.Client, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return resp, b
}

// TestTLSNode: a node configured with the TLS keys of storage.conf serves gRPC over TLS to
// the SDK (upload, download) and HTTPS on its download port (Range included); plaintext
// clients of either port get a clear error; a reload swaps the certificate for new
// connections, and refuses to turn TLS off.
func TestTLSNode(t *testing.T) {
	ca := certstest.New(t)
	dir := t.TempDir()
	text := tlsConf(t, ca, dir, "127.0.0.1", 8888, "")
	node := launch(t, dir, text, "base_path = "+dir+"\ngroup_name = group1\nurl_have_group_name = true\n",
		func(sc *conf.Storage) { sc.Port, sc.HTTP.ServerPort = 0, 0 })

	c, err := client.New(client.Config{Storage: node.GRPCAddr(), TLS: ca.ClientConfig()})
	if err != nil {
		t.Fatalf("TLS client: %v", err)
	}
	defer c.Close()
	data := bytes.Repeat([]byte("tls bytes "), 20000)
	id, err := c.Upload(t.Context(), bytes.NewReader(data), client.UploadOptions{Ext: "bin", Size: int64(len(data))})
	if err != nil {
		t.Fatalf("upload over TLS: %v", err)
	}
	var got bytes.Buffer
	if _, err := c.Download(t.Context(), id, &got, 10, 100); err != nil || !bytes.Equal(got.Bytes(), data[10:110]) {
		t.Fatalf("download over TLS: %v, %q", err, got.Bytes())
	}

	_, err = client.New(client.Config{Storage: node.GRPCAddr(), DialTimeout: 3 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("plaintext client of the TLS gRPC port: err %v, want a failure that names TLS", err)
	}
	t.Logf("plaintext client of a TLS port: %v", err)
	plain := startNode(t, t.TempDir(), "")
	_, err = client.New(client.Config{Storage: plain.GRPCAddr(), DialTimeout: 3 * time.Second, TLS: ca.ClientConfig()})
	if err == nil || !strings.Contains(err.Error(), "does not serve TLS") {
		t.Fatalf("TLS client of a plaintext gRPC port: err %v, want a failure saying the node does not serve TLS", err)
	}
	t.Logf("TLS client of a plaintext port: %v", err)

	hc := httpsClient(ca)
	url := "https://" + node.HTTPAddr() + "/" + id
	resp, body := getWith(t, hc, url, "Range", "bytes=100-199")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[100:200]) {
		t.Fatalf("HTTPS range: status %d, %q", resp.StatusCode, body)
	}
	code, _, body := httpGet(t, http.MethodGet, "http://"+node.HTTPAddr()+"/"+id)
	if code != http.StatusBadRequest || !strings.Contains(string(body), "HTTPS") {
		t.Fatalf("plain HTTP to the HTTPS port: %d %q", code, body)
	}

	// Reload: a renewed certificate (same key names, new files) is used by new connections.
	cert2, key2 := ca.Issue(t, "renewed", "127.0.0.1")
	sc, err := conf.LoadStorage(dir+"/storage.conf", nil)
	if err != nil {
		t.Fatal(err)
	}
	sc.TLS.CertFile, sc.TLS.KeyFile, sc.HTTP.TLS.CertFile, sc.HTTP.TLS.KeyFile = cert2, key2, cert2, key2
	if err := node.Reload(*sc, nil); err != nil {
		t.Fatalf("reload with a renewed certificate: %v", err)
	}
	if cn := peerCN(t, ca, node.HTTPAddr()); cn != "renewed" {
		t.Fatalf("HTTPS certificate after reload: CN %q, want renewed", cn)
	}
	if cn := peerCN(t, ca, node.GRPCAddr()); cn != "renewed" {
		t.Fatalf("gRPC certificate after reload: CN %q, want renewed", cn)
	}
	bad := *sc
	bad.HTTP.TLS.KeyFile = ca.CAFile // not a key
	if err := node.Reload(bad, nil); err == nil || !strings.Contains(err.Error(), "http.tls.cert_file") {
		t.Fatalf("reload with a bad key: err %v, want a refusal naming http.tls.cert_file", err)
	}
	off := *sc
	off.HTTP.TLS = conf.TLS{}
	if err := node.Reload(off, nil); err == nil {
		t.Fatal("reload turning HTTPS off: no error")
	}
	if cn := peerCN(t, ca, node.HTTPAddr()); cn != "renewed" {
		t.Fatalf("after refused reloads: CN %q, want renewed (kept)", cn)
	}
}

// peerCN returns the common name of the certificate the server at addr presents.
func peerCN(t *testing.T, ca *certstest.CA, addr string) string {
	t.Helper()
	cfg := ca.ClientConfig()
	cfg.NextProtos = []string{"h2", "http/1.1"}
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS dial %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// TestTLSTwoNodesRedirectAndProxy: nodes serving HTTPS redirect to https and proxy over
// https (trusting tls_ca_file).
func TestTLSTwoNodesRedirectAndProxy(t *testing.T) {
	ca := certstest.New(t)
	for _, mode := range []string{"redirect", "proxy"} {
		t.Run(mode, func(t *testing.T) {
			port := sharedPort(t)
			start := func(addr string) *storage.Server {
				dir := t.TempDir()
				return launch(t, dir, tlsConf(t, ca, dir, addr, port, ""),
					"base_path = "+dir+"\ngroup_name = group1\nurl_have_group_name = true\nresponse_mode = "+mode+"\n",
					func(sc *conf.Storage) { sc.Port = 0 })
			}
			src, other := start("127.0.0.1"), start("127.0.0.2")
			c, err := client.New(client.Config{Storage: src.GRPCAddr(), TLS: ca.ClientConfig()})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			body := bytes.Repeat([]byte("depot "), 5000)
			id, err := c.Upload(t.Context(), bytes.NewReader(body), client.UploadOptions{Ext: "txt", Size: int64(len(body))})
			if err != nil {
				t.Fatal(err)
			}
			hc := httpsClient(ca)
			url := "https://" + other.HTTPAddr() + "/" + id
			resp, got := getWith(t, hc, url, "Range", "bytes=6-11")
			switch mode {
			case "redirect":
				want := fmt.Sprintf("https://127.0.0.1:%d/%s?redirect=1", port, id)
				if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
					t.Fatalf("GET %s: %d Location %q, want 302 %q", url, resp.StatusCode, resp.Header.Get("Location"), want)
				}
				resp, got = getWith(t, hc, want, "Range", "bytes=6-11")
			}
			if resp.StatusCode != http.StatusPartialContent || string(got) != "depot " {
				t.Fatalf("%s over https: status %d body %q", mode, resp.StatusCode, got)
			}
		})
	}
}

// TestTLSAccounting: download accounting works over HTTPS (acknowledgements read from the TCP
// socket under TLS): a file fetched in two ranges over two connections is one completion.
func TestTLSAccounting(t *testing.T) {
	ca := certstest.New(t)
	cert, key := ca.Issue(t, "node")
	dir := t.TempDir()
	rc := startReceiver(t)
	node := startAccountingNode(t, dir, rc, "http.tls.cert_file = "+cert+"\nhttp.tls.key_file = "+key+"\n")
	const size = 1 << 20
	id, body := uploadRandom(t, node, size)
	for _, r := range [][2]int{{0, size/2 - 1}, {size / 2, size - 1}} {
		hc := httpsClient(ca) // a connection of its own for each half
		resp, got := getWith(t, hc, "https://"+node.HTTPAddr()+"/"+id, "Range", fmt.Sprintf("bytes=%d-%d", r[0], r[1]))
		hc.CloseIdleConnections()
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, body[r[0]:r[1]+1]) {
			t.Fatalf("range %v over https: status %d, %d bytes", r, resp.StatusCode, len(got))
		}
	}
	evs := waitEvents(t, rc, 1)
	if ev := evs[0]; ev.FileID != id || ev.Size != size || ev.Connections != 2 {
		t.Fatalf("completion over https: %+v", ev)
	}
}
