package providers

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// testdata/report_v0.json is a fully filled Report as the portal stored it
// before reports had JSON tags or a version: captured from that code, never
// regenerated. Every row saved before then looks like it.
func readV0(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/report_v0.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStoredReport_V0ReadsWhole fails when a field of a saved report would
// read blank: every leaf of the fixture is filled, and writing what was read
// gives back exactly the fixture's keys (encoding/json matches names without
// regard to case when reading, so only the written names show a changed tag).
func TestStoredReport_V0ReadsWhole(t *testing.T) {
	data := readV0(t)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var strict Report
	if err := dec.Decode(&strict); err != nil {
		t.Fatalf("a key of the stored format is no longer read: %v", err)
	}
	r, err := DecodeReport(data)
	if err != nil {
		t.Fatal(err)
	}
	written, err := EncodeReport(r)
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(written, &got); err != nil {
		t.Fatal(err)
	}
	delete(got, "Format")
	if !reflect.DeepEqual(want, got) {
		t.Errorf("the stored format changed:\nfixture: %v\nwritten: %v", want, got)
	}
	if r.Format != ReportFormat {
		t.Errorf("Format = %d, want %d", r.Format, ReportFormat)
	}
	for _, path := range zeroLeaves(reflect.ValueOf(*r), "Report") {
		if path != "Report.Format" {
			t.Errorf("%s reads blank from a stored report", path)
		}
	}
}

// TestStoredReport_RoundTrip: what EncodeReport writes is the fixture's
// names plus the version, and reads back equal.
func TestStoredReport_RoundTrip(t *testing.T) {
	r, err := DecodeReport(readV0(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeReport(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"Format":1`)) {
		t.Errorf("stored report carries no version: %s", b)
	}
	back, err := DecodeReport(b)
	if err != nil {
		t.Fatal(err)
	}
	// Raw is kept as the provider sent it; the fixture's is indented.
	var raw bytes.Buffer
	if err := json.Compact(&raw, r.Raw); err != nil {
		t.Fatal(err)
	}
	r.Raw = raw.Bytes()
	if !reflect.DeepEqual(r, back) {
		t.Errorf("round trip changed the report:\n%+v\n%+v", r, back)
	}
}

func TestStoredReport_NewerFormatRefused(t *testing.T) {
	if _, err := DecodeReport([]byte(`{"Format":99,"ReportID":"x"}`)); err == nil {
		t.Fatal("a report of a newer format was read")
	}
}

// TestStoredReport_EveryFieldTagged: a field without an explicit tag would
// take its Go name as its stored name, so renaming it would blank it.
func TestStoredReport_EveryFieldTagged(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(tp reflect.Type) {
		for tp.Kind() == reflect.Pointer || tp.Kind() == reflect.Slice {
			tp = tp.Elem()
		}
		if tp.Kind() != reflect.Struct || tp.PkgPath() != reflect.TypeOf(Report{}).PkgPath() || seen[tp] {
			return
		}
		seen[tp] = true
		for i := range tp.NumField() {
			f := tp.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				t.Errorf("%s.%s has no JSON name tag", tp.Name(), f.Name)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(Report{}))
}

// zeroLeaves lists the paths of v's zero scalar fields, descending into
// structs, pointers and every slice element (time.Time counts as a scalar).
func zeroLeaves(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		return zeroLeaves(v.Elem(), path)
	case reflect.Slice:
		if v.Len() == 0 {
			return []string{path}
		}
		if v.Type().Elem().Kind() == reflect.Uint8 { // json.RawMessage
			return nil
		}
		var out []string
		for i := range v.Len() {
			out = append(out, zeroLeaves(v.Index(i), path+"[]")...)
		}
		return out
	case reflect.Struct:
		if _, ok := v.Interface().(interface{ IsZero() bool }); ok {
			if v.IsZero() {
				return []string{path}
			}
			return nil
		}
		var out []string
		for i := range v.NumField() {
			out = append(out, zeroLeaves(v.Field(i), path+"."+v.Type().Field(i).Name)...)
		}
		return out
	default:
		if v.IsZero() {
			return []string{path}
		}
		return nil
	}
}
