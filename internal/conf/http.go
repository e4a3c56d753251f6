package conf

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// AntiSteal holds the http.anti_steal.* keys.
type AntiSteal struct {
	CheckToken     bool
	TokenTTL       time.Duration // seconds in the file
	SecretKey      string
	TokenCheckFail string // absolute path of the file served on a failed check, "" = 400
	// Depot switches; their defaults keep FastDFS behaviour.
	RefuseZeroTS   bool          // http.anti_steal.refuse_zero_ts: refuse ts=0 (never expires)
	RefuseFutureTS bool          // http.anti_steal.refuse_future_ts: refuse ts > now+FutureSkew
	FutureSkew     time.Duration // http.anti_steal.future_skew, seconds
	// RefuseMD5Token (http.anti_steal.refuse_md5_token) refuses FastDFS md5 tokens: only
	// Depot's signed URLs (HMAC-SHA256) pass, once every app signs the new kind.
	RefuseMD5Token bool
}

// HTTPConf is http.conf, usually included into mod_fastdfs.conf.
type HTTPConf struct {
	Path string // the file the keys came from (mod_fastdfs.conf when included)

	Disabled            bool
	NeedFindContentType bool
	ServerPort          int // http.server_port: read for compatibility, unused
	DefaultContentType  string
	MimeTypesFilename   string            // absolute path, "" = built-in table
	MimeTypes           map[string]string // extension (without dot, case-sensitive) → type
	MultiRangeEnabled   bool
	MultiRangeMaxRanges int // http.multi_range.max_ranges (Depot); more ranges → 416
	AntiSteal           AntiSteal
}

// httpKeys are the keys HTTPConf reads; other files accept them silently.
var httpKeys = []string{
	"http.disabled", "http.need_find_content_type", "http.server_port",
	"http.default_content_type", "http.mime_types_filename", "http.multi_range.enabled",
	"http.multi_range.max_ranges", "http.anti_steal.check_token", "http.anti_steal.token_ttl",
	"http.anti_steal.secret_key", "http.anti_steal.token_check_fail",
	"http.anti_steal.refuse_zero_ts", "http.anti_steal.refuse_future_ts",
	"http.anti_steal.future_skew", "http.anti_steal.refuse_md5_token",
}

// DefaultHTTP returns the values used for keys absent from http.conf, with the built-in
// mime table.
func DefaultHTTP() HTTPConf {
	return HTTPConf{
		NeedFindContentType: true,
		ServerPort:          80,
		DefaultContentType:  "application/octet-stream",
		MimeTypes:           BuiltinMimeTypes(),
		MultiRangeEnabled:   true,
		MultiRangeMaxRanges: 16,
		AntiSteal: AntiSteal{
			TokenTTL:   600 * time.Second,
			FutureSkew: 300 * time.Second,
		},
	}
}

// LoadHTTP reads a stand-alone http.conf at path.
func LoadHTTP(path string, log *slog.Logger) (*HTTPConf, error) {
	d, err := readDoc(path)
	if err != nil {
		return nil, err
	}
	b := newBinder(d, log)
	h := DefaultHTTP()
	h.bind(b)
	if err := b.finish(); err != nil {
		return nil, err
	}
	if err := h.resolve(b); err != nil {
		return nil, err
	}
	if err := h.Validate(); err != nil {
		return nil, locate(err, d)
	}
	return &h, nil
}

func (h *HTTPConf) bind(b *binder) {
	h.Path = b.d.path
	b.boolean("http.disabled", &h.Disabled)
	b.boolean("http.need_find_content_type", &h.NeedFindContentType)
	b.integer("http.server_port", &h.ServerPort)
	b.str("http.default_content_type", &h.DefaultContentType)
	b.str("http.mime_types_filename", &h.MimeTypesFilename)
	b.boolean("http.multi_range.enabled", &h.MultiRangeEnabled)
	b.integer("http.multi_range.max_ranges", &h.MultiRangeMaxRanges)
	a := &h.AntiSteal
	b.boolean("http.anti_steal.check_token", &a.CheckToken)
	b.seconds("http.anti_steal.token_ttl", &a.TokenTTL)
	b.str("http.anti_steal.secret_key", &a.SecretKey)
	b.str("http.anti_steal.token_check_fail", &a.TokenCheckFail)
	b.boolean("http.anti_steal.refuse_zero_ts", &a.RefuseZeroTS)
	b.boolean("http.anti_steal.refuse_future_ts", &a.RefuseFutureTS)
	b.seconds("http.anti_steal.future_skew", &a.FutureSkew)
	b.boolean("http.anti_steal.refuse_md5_token", &a.RefuseMD5Token)
	if h.DefaultContentType == "" {
		h.DefaultContentType = DefaultHTTP().DefaultContentType
	}
}

// resolve makes file names absolute, checks token_check_fail and loads the mime table.
func (h *HTTPConf) resolve(b *binder) error {
	dir := b.d.dir()
	if h.Disabled {
		h.MimeTypes = BuiltinMimeTypes()
		return nil
	}
	if f := h.AntiSteal.TokenCheckFail; f != "" {
		e, _ := b.get("http.anti_steal.token_check_fail")
		if isRemote(f) {
			return &Error{File: e.File, Line: e.Line, Key: e.Key, Err: fmt.Errorf("%s: %w", f, ErrRemoteInclude)}
		}
		h.AntiSteal.TokenCheckFail = resolvePath(dir, f)
		if !fileExists(h.AntiSteal.TokenCheckFail) {
			if h.AntiSteal.CheckToken {
				return &Error{File: e.File, Line: e.Line, Key: e.Key,
					Err: fmt.Errorf("%s: %w", h.AntiSteal.TokenCheckFail, os.ErrNotExist)}
			}
			b.warn("token_check_fail file missing; ignored while check_token is off",
				"file", e.File, "line", e.Line, "path", h.AntiSteal.TokenCheckFail)
			h.AntiSteal.TokenCheckFail = ""
		}
	}
	f := h.MimeTypesFilename
	if f == "" {
		h.MimeTypes = BuiltinMimeTypes()
		return nil
	}
	e, _ := b.get("http.mime_types_filename")
	if isRemote(f) {
		return &Error{File: e.File, Line: e.Line, Key: e.Key, Err: fmt.Errorf("%s: %w", f, ErrRemoteInclude)}
	}
	h.MimeTypesFilename = resolvePath(dir, f)
	m, err := LoadMimeTypes(h.MimeTypesFilename)
	if errors.Is(err, os.ErrNotExist) {
		b.warn("mime types file missing; using the built-in table",
			"file", e.File, "line", e.Line, "path", h.MimeTypesFilename)
		h.MimeTypesFilename = ""
		m = BuiltinMimeTypes()
	} else if err != nil {
		return &Error{File: e.File, Line: e.Line, Key: e.Key, Err: err}
	}
	h.MimeTypes = m
	return nil
}

// Validate checks h. It does not touch the file system.
func (h *HTTPConf) Validate() error {
	if h.Disabled {
		return nil
	}
	var errs []error
	a := h.AntiSteal
	if a.CheckToken && a.SecretKey == "" {
		errs = append(errs, keyErr("http.anti_steal.secret_key",
			fmt.Errorf("needed with http.anti_steal.check_token: %w", ErrRequired)))
	}
	if a.TokenTTL <= 0 {
		errs = append(errs, keyErr("http.anti_steal.token_ttl", invalid("ttl (want > 0)", fmt.Sprint(a.TokenTTL))))
	}
	if h.MultiRangeMaxRanges < 1 {
		errs = append(errs, keyErr("http.multi_range.max_ranges",
			invalid("count (want >= 1)", fmt.Sprint(h.MultiRangeMaxRanges))))
	}
	if h.ServerPort < 1 || h.ServerPort > 65535 {
		errs = append(errs, checkPort("http.server_port", h.ServerPort))
	}
	return errors.Join(errs...)
}
