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
