package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"time"

	"github.com/depotfs/depot/client"
)

// signedFlags are the flags that make sign print a Depot signed URL instead of an md5 token.
var signedFlags = map[string]bool{"user": true, "expires": true, "rate": true, "filename": true}

func cmdSign(_ context.Context, e *env, args []string) error {
	fs := e.subFlags("sign", "[-ts UNIX] [-user U] [-expires SECONDS] [-rate BYTES_PER_S] [-filename NAME] ID")
	ts := fs.Int64("ts", 0, "time to sign at, Unix seconds (default: now)")
	user := fs.String("user", "", "signed URL: who the download is for (per-user rate limit, accounting)")
	expires := fs.Int64("expires", 3600, "signed URL: seconds from -ts until it expires")
	rate := fs.Int64("rate", 0, "signed URL: the user's bytes per second (overrides http.user_limit_rate)")
	filename := fs.String("filename", "", "signed URL: download file name")
	if err := parseSub(fs, args, 1, 1); err != nil {
		return err
	}
	if e.secret == "" {
		return usagef("sign: no secret: pass -secret or -c client.conf with http.anti_steal.secret_key")
	}
	t := *ts
	if t == 0 {
		t = time.Now().Unix()
	}
	signed := false
	fs.Visit(func(f *flag.Flag) { signed = signed || signedFlags[f.Name] })
	if !signed {
		_, err := fmt.Fprintln(e.stdout, client.SignedURL(e.secret, "", fs.Arg(0), t))
		return err
	}
	if *expires <= 0 || *expires > math.MaxInt64-t {
		return usagef("sign: -expires %d: want a lifetime in seconds > 0", *expires)
	}
	u, err := client.SignedURLWith(e.secret, "", fs.Arg(0), client.SignOptions{
		Expires: time.Unix(t+*expires, 0), User: *user, Rate: *rate, Filename: *filename,
	})
	if err != nil {
		return usagef("sign: %v", err)
	}
	_, err = fmt.Fprintln(e.stdout, u)
	return err
}
