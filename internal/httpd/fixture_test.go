package httpd

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/fileid"
)

// TestFixtureDropIn serves every file of the FastDFS-written store path with the bytes and
// headers vectors.md lists (plus the ETag Depot adds).
func TestFixtureDropIn(t *testing.T) {
	cfg, dir := fixtureConfig(t)
	srv, _ := startServer(t, cfg)
	st, err := os.Stat(filepath.Join(dir, "data/00/00/fwAAAWsEB-yAHShKAAAADg4Qul0296_big.txt"))
	if err != nil {
		t.Fatal(err)
	}
	slaveLM := st.ModTime().UTC().Format(http.TimeFormat)
	tests := []struct {
		id, md5, ctype string
		size           int
		lastMod, etag  string
	}{
		{idBin, "6f7ae495c0aeca0881eb13ce1f63ce35", "application/octet-stream", 4096, lm(1795426190), `"8921b602-1000"`},
		{idTxt, "04f3fb1e5242fabaed4f869d7e906ac7", "text/plain", 14, lm(1795426284), `"0e10ba5d-e"`},
		{idSlave, "04f3fb1e5242fabaed4f869d7e906ac7", "text/plain", 14, slaveLM, ""},
		{idNoExt, "66f1f96207616225d50a72a2dadda054", "application/octet-stream", 100, lm(1795426243), `"7468f438-64"`},
		{idTr1, "06e4995b0dcf3b96804450ec1baf333e", "application/octet-stream", 1000, lm(1795426361), `"82684d11-3e8"`},
		{idTr2, "d3e7c8c59d142cb5a95956fbae6c9367", "application/octet-stream", 300, lmOf(t, idTr2), `"91e1712d-12c"`},
		{idTr3, "17d28350294cc98ee0c9bce44cc228a7", "image/jpeg", 100000, lmOf(t, idTr3), `"63d7aab1-186a0"`},
	}
	for _, tc := range tests {
		t.Run(tc.id[17:], func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				resp, body := fetch(t, method, srv.URL+"/"+tc.id, nil)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: status %d, body %q", method, resp.StatusCode, body)
				}
				if method == http.MethodGet {
					sum := md5.Sum(body)
					if got := hex.EncodeToString(sum[:]); got != tc.md5 {
						t.Errorf("GET: md5 %s, want %s (len %d)", got, tc.md5, len(body))
					}
				} else if len(body) != 0 {
					t.Errorf("HEAD: %d body bytes", len(body))
				}
				wantHeader(t, resp, "Content-Type", tc.ctype)
				wantHeader(t, resp, "Content-Length", strconv.Itoa(tc.size))
				wantHeader(t, resp, "Accept-Ranges", "bytes")
				wantHeader(t, resp, "Last-Modified", tc.lastMod)
				wantHeader(t, resp, "ETag", tc.etag)
			}
		})
	}
}

// lm formats a Unix time as Last-Modified.
func lm(unix int64) string { return time.Unix(unix, 0).UTC().Format(http.TimeFormat) }

// lmOf is the Last-Modified of a normal or trunk ID: its create time.
func lmOf(t testing.TB, id string) string {
	t.Helper()
	fid, err := fileid.Parse(id)
	if err != nil {
		t.Fatal(err)
	}
	return lm(fid.CreatedUnix())
}
