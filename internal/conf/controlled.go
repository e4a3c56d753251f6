package conf

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// DefaultControlled returns the controlled-download defaults: everything off, with the
// timeouts and bounds that apply once a feature is turned on.
func DefaultControlled() Controlled {
	return Controlled{
		AuthRequestTimeout:   5 * time.Second,
		XAccelTimeout:        10 * time.Second,
		AccountingWindow:     7 * 24 * time.Hour,
		AccountingMaxEntries: 1_000_000,
		CallbackTimeout:      10 * time.Second,
		CallbackQueueMax:     100_000,
		StatsMaxDays:         366,
	}
}

func (c *Controlled) bind(b *binder) {
	b.str("http.auth_request.url", &c.AuthRequestURL)
	b.seconds("http.auth_request.timeout", &c.AuthRequestTimeout)
	b.seconds("http.auth_request.cache_ttl", &c.AuthRequestCacheTTL)
	b.str("http.x_accel.prefix", &c.XAccelPrefix)
	b.str("http.x_accel.upstream", &c.XAccelUpstream)
	b.seconds("http.x_accel.timeout", &c.XAccelTimeout)
	b.size("http.limit_rate", &c.LimitRate)
	b.size("http.limit_rate_after", &c.LimitRateAfter)
	b.size("http.user_limit_rate", &c.UserLimitRate)
	b.boolean("http.accounting.enabled", &c.Accounting)
	b.seconds("http.accounting.window", &c.AccountingWindow)
	b.integer("http.accounting.max_entries", &c.AccountingMaxEntries)
	b.str("http.completion_callback.url", &c.CallbackURL)
	b.seconds("http.completion_callback.timeout", &c.CallbackTimeout)
	b.integer("http.completion_callback.queue_max", &c.CallbackQueueMax)
	b.boolean("http.stats.enabled", &c.StatsEnabled)
	b.str("http.stats.allow_referers", &c.StatsAllowReferers)
	b.integer("http.stats.max_days", &c.StatsMaxDays)
	b.str("http.download.allow_referers", &c.DownloadAllowReferers)
	if c.CallbackURL != "" {
		c.Accounting = true
	}
}

// AccountingOn reports whether downloads are accounted (enabled, or needed by the callback or
// the statistics' completed counts).
func (c *Controlled) AccountingOn() bool {
	return c.Accounting || c.CallbackURL != "" || c.StatsEnabled
}

func (c *Controlled) validate() []error {
	var errs []error
	checkURL := func(key, u string) {
		if u == "" {
			return
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, keyErr(key, invalid("URL (want http://host[:port]/path)", u)))
		}
	}
	checkURL("http.auth_request.url", c.AuthRequestURL)
	checkURL("http.x_accel.upstream", c.XAccelUpstream)
	checkURL("http.completion_callback.url", c.CallbackURL)
	if (c.XAccelPrefix == "") != (c.XAccelUpstream == "") {
		errs = append(errs, keyErr("http.x_accel.prefix", fmt.Errorf("http.x_accel.prefix and http.x_accel.upstream go together: %w", ErrRequired)))
	}
	if p := c.XAccelPrefix; p != "" && (!strings.HasPrefix(p, "/") || strings.Contains(p, "..")) {
		errs = append(errs, keyErr("http.x_accel.prefix", invalid("path prefix (want /path/, no ..)", p)))
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, keyErr(key, invalid("seconds (want > 0)", fmt.Sprint(d.Seconds()))))
		}
	}
	positive("http.auth_request.timeout", c.AuthRequestTimeout)
	positive("http.x_accel.timeout", c.XAccelTimeout)
	positive("http.accounting.window", c.AccountingWindow)
	positive("http.completion_callback.timeout", c.CallbackTimeout)
	for key, v := range map[string]int64{"http.limit_rate": c.LimitRate, "http.limit_rate_after": c.LimitRateAfter, "http.user_limit_rate": c.UserLimitRate} {
		if v < 0 {
			errs = append(errs, keyErr(key, invalid("bytes per second (want >= 0)", fmt.Sprint(v))))
		}
	}
	if c.AccountingMaxEntries < 1 {
		errs = append(errs, keyErr("http.accounting.max_entries", invalid("count (want >= 1)", fmt.Sprint(c.AccountingMaxEntries))))
	}
	if c.StatsMaxDays < 1 {
		errs = append(errs, keyErr("http.stats.max_days", invalid("days (want >= 1)", fmt.Sprint(c.StatsMaxDays))))
	}
	if c.CallbackQueueMax < 1 {
		errs = append(errs, keyErr("http.completion_callback.queue_max", invalid("count (want >= 1)", fmt.Sprint(c.CallbackQueueMax))))
	}
	return errs
}
