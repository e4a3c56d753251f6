package storage

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/depotfs/depot/internal/accounting"
	"github.com/depotfs/depot/internal/httpd"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/internal/stats"
)

// controlled is the node's download accounting: the bbolt file, the accountant and the
// completion-callback notifier (each nil when off).
type controlled struct {
	store    *meta.DownloadStore
	acct     *accounting.Accountant
	notifier *accounting.Notifier
	stats    *meta.StatsStore
	rec      *stats.Recorder
	api      *stats.API // /stats and /event.png; its Referer allow-list is live (Reload)
}

// downloadsFile is the accounting state under the base path.
const (
	downloadsFile = "downloads.db"
	statsFile     = "stats.db"
)

// openControlled opens, when accounting is on, its state under BasePath/data and points
// cfg's accounting at it (storage.conf's rate limits are live settings: httpLive).
func (s *Server) openControlled(cfg *httpd.Config) error {
	c := s.cfg.Storage.HTTP.Controlled
	if !c.AccountingOn() {
		return nil
	}
	if err := s.openStats(cfg); err != nil {
		return err
	}
	path := filepath.Join(s.cfg.Storage.BasePath, "data", downloadsFile)
	st, err := meta.OpenDownloads(path, meta.Options{Logger: s.log})
	if err != nil {
		s.closeControlled()
		return fmt.Errorf("download accounting (http.accounting.*): %w", err)
	}
	s.ctl.store = st
	log := s.log.With("component", "accounting")
	if c.CallbackURL != "" {
		backoff := s.cfg.CallbackBackoff
		if backoff <= 0 {
			backoff = time.Second
		}
		s.ctl.notifier, err = accounting.NewNotifier(accounting.NotifierConfig{
			URL: c.CallbackURL, Store: st, Timeout: c.CallbackTimeout, Logger: log,
			MinBackoff: backoff, MaxBackoff: 60 * backoff,
		})
		if err != nil {
			s.closeControlled()
			return err
		}
	}
	acfg := accounting.Config{
		Window: c.AccountingWindow, MaxEntries: c.AccountingMaxEntries, Store: st,
		QueueMax: c.CallbackQueueMax, QueueEvents: s.ctl.notifier != nil, Logger: log,
	}
	n, rec := s.ctl.notifier, s.ctl.rec
	if n != nil || rec != nil { // (without either, whole downloads are counted on the fast path)
		acfg.OnComplete = func(c accounting.Completion) {
			if n != nil {
				n.Wake()
			}
			if rec != nil {
				rec.Completed(c.FileID, knownUser(c.User, c.Anonymous))
			}
		}
	}
	if rec != nil {
		acfg.OnDelivery = func(d *accounting.Delivery) {
			rec.Download(d.FileID, knownUser(d.User, d.Anonymous), d.AckedBytes())
		}
	}
	s.ctl.acct, err = accounting.New(acfg)
	if err != nil {
		s.closeControlled()
		return err
	}
	cfg.Accounting = s.ctl.acct
	return nil
}

// knownUser is user, or "" when it is only the client address.
func knownUser(user string, anonymous bool) string {
	if anonymous {
		return ""
	}
	return user
}

// openStats opens the daily statistics (http.stats.enabled) under BasePath/data and routes
// /event.png and /stats to them.
func (s *Server) openStats(cfg *httpd.Config) error {
	c := s.cfg.Storage.HTTP.Controlled
	if !c.StatsEnabled {
		return nil
	}
	path := filepath.Join(s.cfg.Storage.BasePath, "data", statsFile)
	st, err := meta.OpenStats(path, meta.Options{})
	if err != nil {
		return fmt.Errorf("statistics (http.stats.enabled): %w", err)
	}
	rec, err := stats.New(stats.Config{Store: st, Logger: s.log.With("component", "stats"), Now: s.cfg.Now})
	if err != nil {
		st.Close()
		return err
	}
	s.ctl.stats, s.ctl.rec = st, rec
	s.statsStore.Store(st)
	api := stats.NewAPI(rec, stats.ParseReferers(c.StatsAllowReferers), c.StatsMaxDays)
	s.ctl.api = api
	cfg.Routes = map[string]http.Handler{
		"/event.png": http.HandlerFunc(api.ServeBeacon),
		"/stats":     http.HandlerFunc(api.ServeStats),
	}
	return nil
}

// Stats returns the node's statistics recorder, nil when off (tests).
func (s *Server) Stats() *stats.Recorder { return s.ctl.rec }

// closeControlled writes what the accountant holds and closes the notifier and the file.
func (s *Server) closeControlled() error {
	var errs []error
	if s.ctl.acct != nil {
		errs = append(errs, s.ctl.acct.Close())
	}
	if s.ctl.notifier != nil {
		errs = append(errs, s.ctl.notifier.Close())
	}
	if s.ctl.rec != nil {
		errs = append(errs, s.ctl.rec.Close())
	}
	if s.ctl.stats != nil {
		s.statsStore.Store(nil)
		s.importing.Lock() // an import of a rotated log in progress finishes first
		errs = append(errs, s.ctl.stats.Close())
		s.importing.Unlock()
	}
	if s.ctl.store != nil {
		errs = append(errs, s.ctl.store.Close())
	}
	s.ctl = controlled{}
	return errors.Join(errs...)
}

// Accounting returns the node's download accountant, nil when accounting is off (tests).
func (s *Server) Accounting() *accounting.Accountant { return s.ctl.acct }

// importRotated imports a rotated access log into the statistics (the daily job: it repairs
// the page views and requests a crash lost of the live counters, and counts nothing twice;
// bytes and completed stay the live, acknowledged ones). It runs on the access log's
// background worker.
func (s *Server) importRotated(path string) {
	s.importing.Lock()
	defer s.importing.Unlock()
	st := s.statsStore.Load()
	if st == nil {
		return
	}
	res, err := stats.Import(st, path, stats.ImportOptions{Group: s.cfg.Storage.GroupName, Counters: []string{"pv", "requests"}})
	if err != nil {
		s.log.Error("statistics: import of the rotated access log failed", "file", path, "err", err)
		return
	}
	s.log.Info("statistics: rotated access log imported", "file", path, "lines", res.Lines, "counted", res.Counted, "skipped", res.Skipped)
}
