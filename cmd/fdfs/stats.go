package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/depotfs/depot/proto/trackerpb"
)

// statsRow is one row of a storage's /stats answer.
type statsRow struct {
	EventDate string           `json:"eventDate"`
	EventKey  string           `json:"eventKey"`
	EventData map[string]int64 `json:"eventData"`
}

// cmdStats asks every storage the trackers know (or -storage, one storage's HTTP address) for
// its daily statistics, adds them up and prints a table or the JSON rows.
func cmdStats(ctx context.Context, e *env, args []string) error {
	fs := e.subFlags("stats", "[-from YYYY-MM-DD] [-to YYYY-MM-DD] [-prefix KEY] [-json] [-storage HOST:HTTPPORT] [-referer URL]")
	today := time.Now().Format(time.DateOnly)
	from := fs.String("from", today, "first day")
	to := fs.String("to", today, "last day")
	prefix := fs.String("prefix", "", "only this key and the keys below it")
	asJSON := fs.Bool("json", false, "print the JSON rows (the /stats schema) instead of a table")
	one := fs.String("storage", "", "ask only this storage's HTTP port (host:port), not the trackers'")
	referer := fs.String("referer", "", "Referer to send (when the storages have http.stats.allow_referers)")
	if err := parseSub(fs, args, 0, 0); err != nil {
		return err
	}
	var bases []string
	if *one != "" {
		bases = []string{*one}
		if !strings.HasPrefix(*one, "http://") && !strings.HasPrefix(*one, "https://") {
			bases[0] = e.httpScheme() + *one
		}
	} else {
		var err error
		if bases, err = e.storageHTTPBases(ctx); err != nil {
			return err
		}
	}
	q := url.Values{"from": {*from}, "to": {*to}}
	if *prefix != "" {
		q.Set("prefix", *prefix)
	}
	sum := map[[2]string]map[string]int64{}
	for _, base := range bases {
		rows, err := fetchStats(ctx, e.httpClient(), base+"/stats?"+q.Encode(), *referer, e.dialTimeout)
		if err != nil {
			return err
		}
		for _, r := range rows {
			k := [2]string{r.EventDate, r.EventKey}
			if sum[k] == nil {
				sum[k] = map[string]int64{}
			}
			for c, n := range r.EventData {
				sum[k][c] += n
			}
		}
	}
	out := make([]statsRow, 0, len(sum))
	for k, d := range sum {
		out = append(out, statsRow{k[0], k[1], d})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].EventDate != out[j].EventDate {
			return out[i].EventDate < out[j].EventDate
		}
		return out[i].EventKey < out[j].EventKey
	})
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "DATE\tKEY\tCOUNTERS\t(%d storages)\n", len(bases))
	for _, r := range out {
		names := make([]string, 0, len(r.EventData))
		for c := range r.EventData {
			names = append(names, c)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, c := range names {
			parts[i] = fmt.Sprintf("%s=%d", c, r.EventData[c])
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.EventDate, r.EventKey, strings.Join(parts, " "))
	}
	return tw.Flush()
}

// storageHTTPBases lists the HTTP base URLs of every storage the trackers know.
func (e *env) storageHTTPBases(ctx context.Context) ([]string, error) {
	var resp *trackerpb.ListGroupsResponse
	if _, err := e.askTrackers(ctx, func(ctx context.Context, rpc trackerpb.TrackerServiceClient) error {
		var err error
		resp, err = rpc.ListGroups(ctx, &trackerpb.ListGroupsRequest{})
		return err
	}); err != nil {
		return nil, err
	}
	var bases []string
	for _, g := range resp.GetGroups() {
		for _, s := range g.GetStorages() {
			if u := s.GetBrief().GetHttpUrl(); u != "" {
				bases = append(bases, strings.TrimSuffix(u, "/"))
			}
		}
	}
	if len(bases) == 0 {
		return nil, fmt.Errorf("stats: the trackers know no storage with an HTTP port")
	}
	return bases, nil
}

// fetchStats GETs one storage's /stats.
func fetchStats(ctx context.Context, hc *http.Client, u, referer string, timeout time.Duration) ([]statsRow, error) {
	ctx, cancel := context.WithTimeout(ctx, max(timeout, 10*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	if referer != "" {
		req.Header.Set("Referer", referer)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("stats: %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("stats: %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	var rows []statsRow
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, fmt.Errorf("stats: %s: not the /stats JSON: %w", u, err)
	}
	return rows, nil
}

// httpScheme is the scheme of a storage's HTTP port given as host:port: https with TLS.
func (e *env) httpScheme() string {
	if e.tls != nil {
		return "https://"
	}
	return "http://"
}

// httpClient is the client for the storages' HTTP ports, trusting e's CAs with TLS.
func (e *env) httpClient() *http.Client {
	if e.tls == nil {
		return http.DefaultClient
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: e.tls.Clone()}}
}
