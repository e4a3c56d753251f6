package conf

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/ini.v1"
)

// iniOptions make ini.v1 as close to the FastDFS dialect as it goes.
var iniOptions = ini.LoadOptions{
	AllowShadows:            true,
	IgnoreInlineComment:     true,
	IgnoreContinuation:      true,
	PreserveSurroundedQuote: true,
	SkipUnrecognizableLines: true,
	KeyValueDelimiters:      "=",
}

// TestAgreesWithIni cross-checks the reader against ini.v1 on every fixture and sample file
// without includes: same sections, keys and values (repeated keys in order). ini.v1 is not
// the production parser because it cannot keep file:line per key, does not know #include
// or `[]`, treats `;` lines as comments and unquotes `...` and """...""" values even with
// these options (FastDFS keeps them verbatim).
func TestAgreesWithIni(t *testing.T) {
	for _, dir := range []string{fixtures, samples} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := filepath.Join(dir, e.Name())
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(e.Name(), ".conf") || e.Name() == "storage_ids.conf" ||
				strings.Contains(strings.ToLower(string(data)), "#include") {
				continue
			}
			t.Run(name, func(t *testing.T) {
				d, err := readDoc(name)
				if err != nil {
					t.Fatal(err)
				}
				f, err := ini.LoadSources(iniOptions, data)
				if err != nil {
					t.Fatal(err)
				}
				want := map[[2]string][]string{}
				for _, sec := range f.Sections() {
					name := sec.Name()
					if name == ini.DefaultSection {
						name = ""
					}
					for _, k := range sec.Keys() {
						// ValueWithShadows drops empty values: compare non-empty ones.
						want[[2]string{name, k.Name()}] = nonEmpty(k.ValueWithShadows())
					}
				}
				got := map[[2]string][]string{}
				for _, en := range d.entries {
					k := [2]string{en.Section, en.Key}
					got[k] = nonEmpty(append(got[k], en.Value))
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("reader %q\nini.v1 %q", got, want)
				}
			})
		}
	}
}

func nonEmpty(vs []string) []string {
	out := []string{}
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// iniComparable reports whether data avoids the constructs where the FastDFS dialect and
// ini.v1 knowingly differ (see TestAgreesWithIni).
func iniComparable(data string) bool {
	if strings.ContainsAny(data, "`\"\r\x00") || strings.Contains(strings.ToLower(data), "#include") {
		return false
	}
	for _, l := range strings.Split(data, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, ";") || strings.HasPrefix(l, "[") {
			return false // ini.v1: ';' comments; sections are compared in TestAgreesWithIni
		}
	}
	return true
}

// FuzzAgainstIni checks that the reader and ini.v1 agree on the common subset.
func FuzzAgainstIni(f *testing.F) {
	seedFiles(f, func(b []byte) { f.Add(b) })
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if !iniComparable(string(data)) {
			return
		}
		d, err := parseDoc(filepath.Join(dir, "x.conf"), data)
		if err != nil {
			return
		}
		file, err := ini.LoadSources(iniOptions, data)
		if err != nil {
			return
		}
		want := map[string][]string{}
		for _, k := range file.Section("").Keys() {
			want[k.Name()] = nonEmpty(k.ValueWithShadows())
		}
		got := map[string][]string{}
		for _, en := range d.entries {
			got[en.Key] = nonEmpty(append(got[en.Key], en.Value))
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("reader %q\nini.v1 %q", got, want)
		}
	})
}
