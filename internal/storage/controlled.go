package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/depotfs/depot/internal/accounting"
	"github.com/depotfs/depot/internal/httpd"
	"github.com/depotfs/depot/internal/meta"
)

// controlled is the node's download accounting: the bbolt file, the accountant and the
// completion-callback notifier (each nil when off).
type controlled struct {
	store    *meta.DownloadStore
	acct     *accounting.Accountant
	notifier *accounting.Notifier
}

// downloadsFile is the accounting state under the base path.
const downloadsFile = "downloads.db"

// openControlled applies storage.conf's rate limits to cfg and, when accounting is on, opens
// its state under BasePath/data and points cfg's accounting at it.
func (s *Server) openControlled(cfg *httpd.Config) error {
	c := s.cfg.Storage.HTTP.Controlled
	cfg.LimitRate, cfg.LimitRateAfter, cfg.UserLimitRate = c.LimitRate, c.LimitRateAfter, c.UserLimitRate
	if !c.AccountingOn() {
		return nil
	}
	path := filepath.Join(s.cfg.Storage.BasePath, "data", downloadsFile)
	st, err := meta.OpenDownloads(path, meta.Options{Logger: s.log})
	if err != nil {
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
			st.Close()
			return err
		}
	}
	acfg := accounting.Config{
		Window: c.AccountingWindow, MaxEntries: c.AccountingMaxEntries, Store: st,
		QueueMax: c.CallbackQueueMax, Logger: log,
	}
	if n := s.ctl.notifier; n != nil {
		acfg.OnComplete = func(accounting.Completion) { n.Wake() }
	}
	s.ctl.acct, err = accounting.New(acfg)
	if err != nil {
		s.closeControlled()
		return err
	}
	cfg.Accounting = s.ctl.acct.Record
	return nil
}

// closeControlled writes what the accountant holds and closes the notifier and the file.
func (s *Server) closeControlled() error {
	var errs []error
	if s.ctl.acct != nil {
		errs = append(errs, s.ctl.acct.Close())
	}
	if s.ctl.notifier != nil {
		errs = append(errs, s.ctl.notifier.Close())
	}
	if s.ctl.store != nil {
		errs = append(errs, s.ctl.store.Close())
	}
	s.ctl = controlled{}
	return errors.Join(errs...)
}

// Accounting returns the node's download accountant, nil when accounting is off (tests).
func (s *Server) Accounting() *accounting.Accountant { return s.ctl.acct }
