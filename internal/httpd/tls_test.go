package httpd

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depotfs/depot/internal/certs/certstest"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/httpd/fastsrv"
)

// serveTLSOn serves h over HTTPS on ln with the storage node's server until the test ends.
func serveTLSOn(t testing.TB, ln net.Listener, h http.Handler, cfg *tls.Config) {
	t.Helper()
	srv := fastsrv.New(fastsrv.Config{Handler: h, TLS: cfg})
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// tlsNodes starts twoNodes over HTTPS with certificates for 127.0.0.1 and 127.0.0.2 from a
// fresh CA, and returns a client that trusts that CA and does not follow redirects.
func tlsNodes(t *testing.T, mode Mode, tweak func(*Config, *certstest.CA)) (here, source *node, cl *http.Client, ca *certstest.CA) {
	t.Helper()
	ca = certstest.New(t)
	c, k := ca.Issue(t, "node", "127.0.0.1", "127.0.0.2", "localhost")
	pair, err := tls.LoadX509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	var tw func(*Config)
	if tweak != nil {
		tw = func(cfg *Config) { tweak(cfg, ca) }
	}
	here, source = twoNodesOn(t, mode, tw, &tls.Config{Certificates: []tls.Certificate{pair}})
	cl = &http.Client{
		Transport:     &http.Transport{TLSClientConfig: ca.ClientConfig()},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(cl.CloseIdleConnections)
	return here, source, cl, ca
}

func get(t *testing.T, cl *http.Client, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
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

// TestHTTPSRange: a file over HTTPS whole and by Range, from the Go client and from curl.
func TestHTTPSRange(t *testing.T) {
	_, source, cl, ca := tlsNodes(t, Proxy, nil)
	data := bytes.Repeat([]byte("0123456789abcdef"), 8<<10) // 128 KiB: past the copy threshold
	id := source.upload(t, bytes.NewReader(data), int64(len(data)), "bin")
	url := source.url + "/" + id.String()

	resp, body := get(t, cl, url)
	if resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Fatalf("whole file over https: status %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body = get(t, cl, url, "Range", "bytes=100000-100099")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[100000:100100]) {
		t.Fatalf("range over https: status %d body %q", resp.StatusCode, body)
	}
	wantHeader(t, resp, "Content-Range", "bytes 100000-100099/131072")

	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl missing under CI (.ci/run installs it)")
		}
		t.Skip("curl not installed (apt-get install curl)")
	}
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(curl, "-sS", "--fail", "--cacert", ca.CAFile, "-r", "5-65540", "-o", out, url)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("curl --cacert: %v: %s", err, b)
	}
	got := readFile(t, out)
	if !bytes.Equal(got, data[5:65541]) {
		t.Fatalf("curl range: %d bytes, want %d", len(got), 65536)
	}
	// Without the CA, curl refuses the certificate.
	if b, err := exec.Command(curl, "-sS", "-o", out, url).CombinedOutput(); err == nil {
		t.Fatalf("curl without --cacert succeeded: %s", b)
	}
}

// TestHTTPSRedirectKeepsScheme: a node serving https redirects to https, also when the
// source's URL as the cluster knows it says http.
func TestHTTPSRedirectKeepsScheme(t *testing.T) {
	check := func(here, source *node, cl *http.Client, what string) {
		t.Helper()
		data := []byte("redirected over https\n")
		id := source.upload(t, bytes.NewReader(data), int64(len(data)), "txt")
		port := here.url[strings.LastIndexByte(here.url, ':'):]
		want := "https://127.0.0.2" + port + "/" + id.String() + "?redirect=1"
		resp, _ := get(t, cl, here.url+"/"+id.String())
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("%s: status %d, want 302", what, resp.StatusCode)
		}
		wantHeader(t, resp, "Location", want)
		resp, body := get(t, cl, want)
		if resp.StatusCode != 200 || !bytes.Equal(body, data) {
			t.Fatalf("%s: following the https redirect: status %d body %q", what, resp.StatusCode, body)
		}
	}
	here, source, cl, _ := tlsNodes(t, Redirect, nil)
	check(here, source, cl, "no SourceURL")
	// The cluster's URL for the source (its http_url) says http or https.
	for _, scheme := range []string{"http://", "https://"} {
		var base string // set once the nodes listen
		here, source, cl, _ := tlsNodes(t, Redirect, func(c *Config, _ *certstest.CA) {
			c.SourceURL = func(fileid.ID) (string, bool) { return base, true }
		})
		base = scheme + "127.0.0.2" + here.url[strings.LastIndexByte(here.url, ':'):]
		check(here, source, cl, "SourceURL "+scheme)
	}
}

// TestHTTPSProxy: proxy mode fetches from an https source trusting Config.ProxyTLS; without
// it (system roots only) the source's certificate is refused and the client gets 502.
func TestHTTPSProxy(t *testing.T) {
	here, source, cl, _ := tlsNodes(t, Proxy, func(c *Config, ca *certstest.CA) { c.ProxyTLS = ca.ClientConfig() })
	data := bytes.Repeat([]byte("proxied "), 10000)
	id := source.upload(t, bytes.NewReader(data), int64(len(data)), "txt")
	resp, body := get(t, cl, here.url+"/"+id.String(), "Range", "bytes=8-15")
	if resp.StatusCode != http.StatusPartialContent || string(body) != "proxied " {
		t.Fatalf("proxy over https: status %d body %q", resp.StatusCode, body)
	}
	if source.ln.accepted.Load() == 0 {
		t.Fatal("the source was not asked")
	}

	here2, source2, cl2, _ := tlsNodes(t, Proxy, nil)
	id2 := source2.upload(t, bytes.NewReader(data), int64(len(data)), "txt")
	if resp, body := get(t, cl2, here2.url+"/"+id2.String()); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("proxy to an untrusted https source: status %d body %q, want 502", resp.StatusCode, body)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHTTPSRateLimited: a paced download (limit_rate) over HTTPS goes out in chunks through
// the TLS path and arrives whole, Range included.
func TestHTTPSRateLimited(t *testing.T) {
	here, _, cl, _ := tlsNodes(t, Proxy, func(c *Config, _ *certstest.CA) { c.LimitRate, c.LimitRateAfter = 4<<20, 16<<10 })
	data := bytes.Repeat([]byte("paced over tls. "), 16<<10) // 256 KiB
	id := here.upload(t, bytes.NewReader(data), int64(len(data)), "bin")
	resp, body := get(t, cl, here.url+"/"+id.String())
	if resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Fatalf("paced https download: status %d, %d bytes (equal %v)", resp.StatusCode, len(body), bytes.Equal(body, data))
	}
	resp, body = get(t, cl, here.url+"/"+id.String(), "Range", "bytes=1000-200999")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[1000:201000]) {
		t.Fatalf("paced https range: status %d, %d bytes", resp.StatusCode, len(body))
	}
}
