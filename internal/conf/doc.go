// Package conf reads Depot's configuration files, which use FastDFS's names, keys and ini
// dialect so that an existing FastDFS installation's files work unchanged: storage.conf,
// tracker.conf, client.conf, mod_fastdfs.conf (with `#include http.conf`), http.conf,
// storage_ids.conf and mime.types.
//
// Each file has a typed struct (Storage, Tracker, Client, Mod, HTTPConf, StorageIDs), a
// DefaultX function with the values of absent keys, a LoadX function and a Validate method.
// LoadX applies the defaults, reads the file, resolves relative file names against the
// directory of the configuration file, and calls Validate. No other package reads
// configuration files.
//
// # Dialect
//
// The reader follows FastDFS's ini dialect rather than a generic ini library:
//
//   - lines are trimmed; a line starting with '#' is a comment; there are no inline
//     comments (`k = v # x` has the value `v # x`);
//   - `#include file` (any case, then a space or tab) reads another file, relative to the
//     including file's directory, and afterwards the section is the global one again;
//     includes nest up to 16 deep, cycles and http:// includes are errors;
//   - `[name]` starts a section and `[]` returns to the global section;
//   - `key = value` with both sides trimmed; keys are case-sensitive; lines without '='
//     are ignored; keys may repeat: repeatable keys (tracker_server, allow_hosts) keep every
//     value in order, for other keys the last occurrence wins;
//   - booleans are true for true, yes, on (any case) or 1 and false otherwise (other
//     spellings are logged as a warning);
//   - integers are strict: `port = abc` is an error naming the file, the line and the key;
//   - byte sizes take K, M or G (powers of 1024, any case, optional B): 8KB, 1M, 2g;
//   - durations are whole seconds (sync_wait_msec and sync_interval: milliseconds);
//   - an empty value (`key =`) keeps the default for numbers, booleans and durations;
//   - unknown keys are logged as warnings through the injected *slog.Logger; FastDFS keys
//     Depot does not use are accepted silently.
//
// gopkg.in/ini.v1 is used only as a reference in tests: it cannot report file:line per key,
// has no #include, reads ';' lines as comments and unquotes some values FastDFS keeps as
// written, so the production reader is the small scanner in reader.go.
//
// Errors are *Error values that name the file, the line and the key, wrapping one of the
// sentinel errors (ErrInvalidValue, ErrRequired, ...). A loader reports every problem it
// finds, joined with errors.Join.
package conf
