package httpd

// grant is what a request's credentials say about its download: who it is for, how fast it
// may go and under which name it is saved. A signed URL, the auth_request answer or an
// X-Accel-Redirect answer fills it; the zero value is an anonymous download (the user is the
// client address) at the configured rates.
type grant struct {
	user string // "" = the client address
	// rate is the user's bytes/s across connections: 0 = Config.UserLimitRate, < 0 = none.
	rate        int64
	filename    string // download file name (Content-Disposition: attachment)
	disposition string // a whole Content-Disposition value (an X-Accel app's own)
	ctype       string // Content-Type instead of the one from the extension (an X-Accel app's own)
}
