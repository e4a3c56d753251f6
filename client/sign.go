package client

import (
	"strconv"
	"strings"
	"time"

	"github.com/depotfs/depot/internal/token"
)

// Sign returns the anti-steal token for fileID at Unix time ts:
// md5(fileID without its group + secret + decimal ts) in lower-case hex, the token the
// HTTP download module checks. fileID may include the group ("group1/M00/...") or not
// ("M00/..."); the group is stripped either way, as the download module expects.
func Sign(secret, fileID string, ts int64) string {
	return token.Sign(secret, remoteOf(fileID), ts)
}

// remoteOf returns "M00/XX/YY/name" from a file ID with or without its group and leading
// slash. A full ID has five '/'-separated parts, a remote one four (a group may itself be
// named like "M00", so the count decides, not the text).
func remoteOf(fileID string) string {
	s := strings.TrimPrefix(fileID, "/")
	if strings.Count(s, "/") >= 4 {
		s = s[strings.IndexByte(s, '/')+1:]
	}
	return s
}

// Sign returns the token for fileID at ts with the client's Config.Secret.
func (c *Client) Sign(fileID string, ts time.Time) string {
	return Sign(c.secret, fileID, ts.Unix())
}

// SignedURL returns base + "/" + fileID + "?token=...&ts=..." signed with Config.Secret.
// The URL path keeps the group; the token is computed without it. base may be "" to get
// just the path and query.
func (c *Client) SignedURL(base, fileID string, ts time.Time) string {
	return SignedURL(c.secret, base, fileID, ts.Unix())
}

// SignedURL is the package-level form of Client.SignedURL.
func SignedURL(secret, base, fileID string, ts int64) string {
	id := strings.TrimPrefix(fileID, "/")
	return strings.TrimSuffix(base, "/") + "/" + id + "?token=" + Sign(secret, id, ts) + "&ts=" + strconv.FormatInt(ts, 10)
}
