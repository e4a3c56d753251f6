package main

import (
	"log/slog"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/storage"
)

// reloader rereads the node's config files on SIGHUP and applies what may change live.
type reloader struct {
	confPath, modPath string // modPath "" = no mod_fastdfs.conf (module defaults)
	node              *storage.Server
	level             *slog.LevelVar // the level of log, owned by the command
	log               *slog.Logger
	// running are the values in force, by file: the ones the node started with, except for
	// the keys a reload applied.
	running, runningMod conf.Values
}

// reload rereads storage.conf and mod_fastdfs.conf. A file that does not load (its error
// names the file and line) or settings the node refuses change nothing. Otherwise the live
// keys take their new values, and every other changed key is logged as needing a restart.
func (r *reloader) reload() {
	sc, sv, err := conf.LoadStorageValues(r.confPath, r.log)
	if err != nil {
		r.log.Error("SIGHUP: reload refused, the settings in force stay", "err", err)
		return
	}
	var mod *conf.Mod
	var mv conf.Values
	if r.modPath != "" {
		if mod, mv, err = conf.LoadModValues(r.modPath, r.log); err != nil {
			r.log.Error("SIGHUP: reload refused, the settings in force stay", "err", err)
			return
		}
	}
	if err := r.node.Reload(*sc, mod); err != nil {
		r.log.Error("SIGHUP: reload refused, the settings in force stay", "err", err)
		return
	}
	r.level.Set(conf.SlogLevel(sc.LogLevel))
	live := r.settle(false, sc.Path, sv, r.running)
	if mod != nil {
		live = append(live, r.settle(true, mod.Path, mv, r.runningMod)...)
	}
	r.log.Info("SIGHUP: configuration reloaded", "applied", live)
}

// settle compares the values loaded from file with those running: a live (or unused) key
// takes its new value, a key that needs a restart is logged and keeps the running one. It
// returns the live keys that changed.
func (r *reloader) settle(mod bool, file string, loaded, running conf.Values) []string {
	var live []string
	for _, k := range loaded.Changed(running) {
		switch storage.KeyEffect(mod, k) {
		case storage.Live:
			live = append(live, k)
		case storage.Unused:
			r.log.Info("SIGHUP: changed key is not used by the storage node", "file", file, "key", k)
		default:
			r.log.Warn("SIGHUP: changed key needs a restart; the running value stays", "file", file, "key", k)
			continue
		}
		if v, ok := loaded[k]; ok {
			running[k] = v
		} else {
			delete(running, k)
		}
	}
	return live
}
