package conf

import (
	"path/filepath"
	"testing"
	"time"
)

func TestControlledKeys(t *testing.T) {
	dir := writeFiles(t, map[string]string{"storage.conf": `base_path = /a
group_name = group1
http.auth_request.url = http://127.0.0.1:9000/auth
http.auth_request.timeout = 2
http.auth_request.cache_ttl = 30
http.x_accel.prefix = /app/
http.x_accel.upstream = http://127.0.0.1:9001
http.limit_rate = 512K
http.limit_rate_after = 1M
http.user_limit_rate = 1M
http.accounting.window = 3600
http.accounting.max_entries = 5000
http.completion_callback.url = http://127.0.0.1:9002/done
http.completion_callback.queue_max = 10
http.stats.enabled = true
http.stats.allow_referers = example.com, app.example.com
http.stats.max_days = 31
http.download.allow_referers = none,example.com
`})
	s, err := LoadStorage(filepath.Join(dir, "storage.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultControlled()
	want.AuthRequestURL, want.AuthRequestTimeout, want.AuthRequestCacheTTL = "http://127.0.0.1:9000/auth", 2*time.Second, 30*time.Second
	want.XAccelPrefix, want.XAccelUpstream = "/app/", "http://127.0.0.1:9001"
	want.LimitRate, want.LimitRateAfter, want.UserLimitRate = 512<<10, 1<<20, 1<<20
	want.Accounting, want.AccountingWindow, want.AccountingMaxEntries = true, time.Hour, 5000
	want.CallbackURL, want.CallbackQueueMax = "http://127.0.0.1:9002/done", 10
	want.StatsEnabled, want.StatsAllowReferers, want.StatsMaxDays = true, "example.com, app.example.com", 31
	want.DownloadAllowReferers = "none,example.com"
	if s.HTTP.Controlled != want {
		t.Errorf("got  %+v\nwant %+v", s.HTTP.Controlled, want)
	}
	if !s.HTTP.Controlled.AccountingOn() {
		t.Error("a completion callback needs accounting on")
	}
}

func TestControlledInvalid(t *testing.T) {
	storage := func(p string) error { _, err := LoadStorage(p, nil); return err }
	base := "base_path=/a\ngroup_name=g\n"
	for _, tc := range []struct {
		name, text, key string
		sentinel        error
	}{
		{"auth url scheme", "http.auth_request.url = ftp://x/auth\n", "http.auth_request.url", ErrInvalidValue},
		{"callback url", "http.completion_callback.url = nohost\n", "http.completion_callback.url", ErrInvalidValue},
		{"x_accel prefix without upstream", "http.x_accel.prefix = /app/\n", "http.x_accel.prefix", ErrRequired},
		{"x_accel prefix dots", "http.x_accel.prefix = /a/../b\nhttp.x_accel.upstream = http://127.0.0.1:1\n", "http.x_accel.prefix", ErrInvalidValue},
		{"zero window", "http.accounting.window = 0\n", "http.accounting.window", ErrInvalidValue},
		{"zero max entries", "http.accounting.max_entries = 0\n", "http.accounting.max_entries", ErrInvalidValue},
		{"zero auth timeout", "http.auth_request.timeout = 0\n", "http.auth_request.timeout", ErrInvalidValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loadErr(t, storage, "storage.conf", base+tc.text, tc.sentinel, tc.key, 3)
		})
	}
	t.Run("bad rate", func(t *testing.T) {
		loadErr(t, storage, "storage.conf", base+"http.limit_rate = fast\n", ErrInvalidValue, "http.limit_rate", 3)
	})
}
