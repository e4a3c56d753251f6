package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/proto/trackerpb"
)

// askTrackers calls fn on each tracker in turn until one answers; it returns the address
// of the tracker that answered.
func (e *env) askTrackers(ctx context.Context, fn func(context.Context, trackerpb.TrackerServiceClient) error) (string, error) {
	if len(e.trackers) == 0 {
		return "", usagef("no tracker: pass -tracker HOST:PORT or -c client.conf with tracker_server")
	}
	var errs []error
	for _, addr := range e.trackers {
		err := e.callTracker(ctx, addr, fn)
		if err == nil {
			return addr, nil
		}
		errs = append(errs, fmt.Errorf("tracker %s: %w", addr, err))
		if c := status.Code(err); c != codes.Unavailable && c != codes.DeadlineExceeded {
			return addr, errors.Join(errs...)
		}
	}
	return "", fmt.Errorf("no tracker answered: %w", errors.Join(errs...))
}

// callTracker calls fn on one tracker, bounded by the connect timeout.
func (e *env) callTracker(ctx context.Context, addr string, fn func(context.Context, trackerpb.TrackerServiceClient) error) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(e.creds()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, e.dialTimeout)
	defer cancel()
	return fn(ctx, trackerpb.NewTrackerServiceClient(conn))
}

func cmdMonitor(ctx context.Context, e *env, args []string) error {
	fs := e.subFlags("monitor", "[GROUP]")
	if err := parseSub(fs, args, 0, 1); err != nil {
		return err
	}
	var resp *trackerpb.ListGroupsResponse
	addr, err := e.askTrackers(ctx, func(ctx context.Context, rpc trackerpb.TrackerServiceClient) error {
		var err error
		resp, err = rpc.ListGroups(ctx, &trackerpb.ListGroupsRequest{Group: fs.Arg(0)})
		return err
	})
	if err != nil {
		return err
	}
	printMonitor(e.stdout, addr, resp, time.Now())
	return nil
}

// printMonitor prints the cluster like fdfs_monitor: the tracker that answered, then per
// group one line per storage. A storage's state is printed as FastDFS's upper-case name,
// and only there.
func printMonitor(w io.Writer, addr string, resp *trackerpb.ListGroupsResponse, now time.Time) {
	ti := resp.GetTracker()
	leader := ti.GetLeaderAddr()
	if leader == "" {
		leader = "none"
	}
	fmt.Fprintf(w, "tracker %s answered (leader %s, %d trackers known)\n", addr, leader, max(len(ti.GetPeers()), 1))
	fmt.Fprintf(w, "%d groups\n", len(resp.GetGroups()))
	for _, g := range resp.GetGroups() {
		fmt.Fprintf(w, "\ngroup %s: %d storages, free %s of %s\n", g.GetName(), len(g.GetStorages()),
			bytesText(g.GetFreeBytes()), bytesText(g.GetTotalBytes()))
		if k := g.GetTrunkServerKey(); k != "" {
			fmt.Fprintf(w, "  trunk server %s (epoch %d)\n", k, g.GetTrunkEpoch())
		}
		for _, s := range g.GetStorages() {
			b := s.GetBrief()
			who := b.GetKey()
			if b.GetId() != "" {
				who = fmt.Sprintf("%s (%s:%d)", b.GetId(), b.GetAddr(), b.GetPort())
			}
			fmt.Fprintf(w, "  %-24s %-10s free %-10s heartbeat %-10s sync lag %s  %s\n", who, s.GetStatusName(),
				bytesText(s.GetFreeBytes()), ago(now, s.GetLastHeartbeat()), syncLag(now, s), b.GetHttpUrl())
		}
	}
}

// syncLag is how far behind the storage's newest synced file is; "-" before any sync.
func syncLag(now time.Time, s *trackerpb.StorageInfo) string {
	ts := s.GetLastSyncedTs()
	if ts <= 0 {
		return "-"
	}
	return durText(now.Sub(time.Unix(ts, 0)))
}

func ago(now time.Time, unix int64) string {
	if unix <= 0 {
		return "never"
	}
	return durText(now.Sub(time.Unix(unix, 0))) + " ago"
}

func durText(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second).String()
}

func bytesText(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), "KMGTPE"
	i := -1
	for v >= unit && i < len(suffix)-1 {
		v /= unit
		i++
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0") + " " + string(suffix[i]) + "iB"
}

func cmdDeleteStorage(ctx context.Context, e *env, args []string) error {
	fs := e.subFlags("delete-storage", "GROUP ID")
	if err := parseSub(fs, args, 2, 2); err != nil {
		return err
	}
	req := &trackerpb.DeleteStorageRequest{Group: fs.Arg(0), StorageKey: fs.Arg(1)}
	// Deletion is the leader's decision: ask a tracker who leads, then the leader; a
	// follower refuses with FAILED_PRECONDITION and the next tracker is tried.
	var leader string
	if _, err := e.askTrackers(ctx, func(ctx context.Context, rpc trackerpb.TrackerServiceClient) error {
		info, err := rpc.TrackerInfo(ctx, &trackerpb.TrackerInfoRequest{})
		leader = info.GetLeaderAddr()
		return err
	}); err != nil {
		return err
	}
	order := e.trackers
	if leader != "" {
		order = append([]string{leader}, order...)
	}
	var errs []error
	for _, addr := range order {
		err := e.callTracker(ctx, addr, func(ctx context.Context, rpc trackerpb.TrackerServiceClient) error {
			_, err := rpc.DeleteStorage(ctx, req)
			return err
		})
		if err == nil {
			_, err = fmt.Fprintf(e.stdout, "deleted storage %s from group %s (tracker %s)\n", req.StorageKey, req.Group, addr)
			return err
		}
		errs = append(errs, fmt.Errorf("tracker %s: %w", addr, err))
		if c := status.Code(err); c != codes.FailedPrecondition && c != codes.Unavailable && c != codes.DeadlineExceeded {
			break
		}
	}
	return errors.Join(errs...)
}
