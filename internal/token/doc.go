// Package token signs and verifies the two kinds of download credentials the HTTP module
// accepts. It is pure: the current time is passed in.
//
// # FastDFS md5 tokens
//
// "?token=T&ts=TS" where T is md5(fileIDWithoutGroup + secret + decimal TS) as 32 lower-case
// hex digits (Sign, Verify, ParseTS). Verify is on the download path of every request; it
// does not allocate when the md5 input (file ID, secret and ts) is at most 256 bytes.
//
// # Depot signed URLs (HMAC-SHA256)
//
// The query of a signed URL carries these parameters, in any order, values percent-encoded as
// by url.QueryEscape; others are ignored:
//
//	expires   required: absolute Unix seconds; refused when now > expires
//	user      optional: who the download is for (at most 256 bytes, no control character)
//	rate      optional: bytes per second for that user, a decimal integer > 0
//	filename  optional: the download file name (at most 256 bytes, no control character)
//	sig       required: base64url without padding of HMAC-SHA256(key = secret, canonical)
//
// canonical is built from the decoded values, an absent optional value being "":
//
//	"depot-v1\n" + path + "\n" + expires + "\n" + user + "\n" + rate + "\n" + filename
//
// path is the decoded URL path as requested, with its group ("/group1/M00/00/00/x.jpg", as in
// http.Request.URL.Path). Integers are digits only with no leading zero, so each value has one
// spelling; only path may contain a newline, so the canonical string is unambiguous. Each
// parameter may appear once.
//
// SignQuery writes such a query, ParseQuery reads one, VerifyQuery checks it (constant-time
// compare) and returns its Claims. For example, secret "FastDFS1234567890", path
// "/group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", expires 1795430000, user "alice",
// rate 1048576 and filename "report 2026.pdf" sign as
//
//	expires=1795430000&user=alice&rate=1048576&filename=report+2026.pdf&sig=GMOTautl8cqFbVQ7CLlTM9Zkrylevf8Q_aj_ByREMnE
package token
