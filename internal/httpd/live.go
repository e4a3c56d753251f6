package httpd

import (
	"fmt"
	"net/textproto"
)

// Live is the part of a Handler's settings that may change while it serves (SetLive): what
// to do with a file that is not here, the anti-steal check, the rate limits and the
// download Referer allow-list. Each request reads them once, when it starts, and keeps them
// to its end: a download in flight is never switched over.
type Live struct {
	ResponseMode Mode
	Token        TokenConfig
	// LimitRate, LimitRateAfter and UserLimitRate are Config's (nginx's limit_rate and
	// limit_rate_after, the per-user rate).
	LimitRate, LimitRateAfter int64
	UserLimitRate             int64
	// DownloadReferers is Config.DownloadReferers (nil = every Referer).
	DownloadReferers func(referer string) bool
}

// liveConfig is a Live with what is derived from it; a Handler swaps one in whole.
type liveConfig struct {
	Live
	bypassKey string   // canonical header name of the token bypass header
	checkFail []byte   // token_check_fail body, nil when not configured
	failType  []string // its Content-Type value
}

// live returns the live part of c.
func (c *Config) live() Live {
	return Live{
		ResponseMode: c.ResponseMode, Token: c.Token,
		LimitRate: c.LimitRate, LimitRateAfter: c.LimitRateAfter, UserLimitRate: c.UserLimitRate,
		DownloadReferers: c.DownloadReferers,
	}
}

// validate checks l as New checks a Config.
func (l *Live) validate() error {
	t := &l.Token
	if t.Check && t.Secret == "" {
		return fmt.Errorf("%w: anti-steal token check without a secret key", ErrConfig)
	}
	if t.BypassHeader != "" && t.BypassValue == "" {
		return fmt.Errorf("%w: token bypass header %q has no value: any request could skip the check", ErrConfig, t.BypassHeader)
	}
	if t.Check && t.TTL <= 0 {
		return fmt.Errorf("%w: token ttl %v must be > 0", ErrConfig, t.TTL)
	}
	if l.LimitRate < 0 || l.LimitRateAfter < 0 || l.UserLimitRate < 0 {
		return fmt.Errorf("%w: negative rate (limit_rate %d, limit_rate_after %d, user_limit_rate %d)", ErrConfig, l.LimitRate, l.LimitRateAfter, l.UserLimitRate)
	}
	return nil
}

// newLive checks l and derives what requests need from it (it reads the token_check_fail
// file when the check is on).
func (h *Handler) newLive(l Live) (*liveConfig, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	lc := &liveConfig{Live: l}
	if l.Token.BypassHeader != "" {
		lc.bypassKey = textproto.CanonicalMIMEHeaderKey(l.Token.BypassHeader)
	}
	if l.Token.Check && l.Token.CheckFailFile != "" {
		b, err := loadCheckFail(l.Token.CheckFailFile)
		if err != nil {
			return nil, err
		}
		lc.checkFail = b
		lc.failType = h.contentType(l.Token.CheckFailFile)
	}
	return lc, nil
}

// SetLive checks l and puts it in force for the requests that start from now on; those in
// flight finish with the settings they started with. On error nothing changes. It is safe
// to call while the Handler serves.
func (h *Handler) SetLive(l Live) error {
	lc, err := h.newLive(l)
	if err != nil {
		return err
	}
	h.live.Store(lc)
	return nil
}

// Live returns the settings in force.
func (h *Handler) Live() Live { return h.live.Load().Live }
