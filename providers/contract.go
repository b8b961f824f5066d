package providers

import (
	"fmt"
	"reflect"
	"strings"
)

// FillDefaults returns c with every zero field (an empty string, a zero
// number, a nil or empty slice) taken from def, so that a provider contract
// override (TRUV_CONTRACT, PAYSCORE_CONTRACT, ...) only names what differs
// from the adapter's defaults. Reflection keeps this correct when a field is
// added to a contract. T must be a struct.
func FillDefaults[T any](c, def T) T {
	cv := reflect.ValueOf(&c).Elem()
	dv := reflect.ValueOf(def)
	for i := range cv.NumField() {
		f := cv.Field(i)
		if !f.CanSet() {
			continue
		}
		if f.IsZero() || (f.Kind() == reflect.Slice && f.Len() == 0) {
			f.Set(dv.Field(i))
		}
	}
	return c
}

// CheckContract is the start-up check every provider contract shares: no
// string field (nor any element of a string-slice field) may be blank after
// the defaults are filled in, and every field whose name ends in "Path" must
// start with "/" and contain each placeholder that want lists for it. It
// names the first bad field, so a wrong override stops the start with a
// message an operator can act on.
func CheckContract[T any](c T, want map[string][]string) error {
	v := reflect.ValueOf(c)
	t := v.Type()
	for i := range v.NumField() {
		name, f := t.Field(i).Name, v.Field(i)
		switch f.Kind() {
		case reflect.String:
			s := f.String()
			if strings.TrimSpace(s) == "" && !optionalField(t.Field(i)) {
				return fmt.Errorf("contract field %s must not be empty", name)
			}
			if strings.HasSuffix(name, "Path") && s != "" {
				if !strings.HasPrefix(s, "/") {
					return fmt.Errorf("contract field %s must start with /", name)
				}
				for _, ph := range want[name] {
					if !strings.Contains(s, ph) {
						return fmt.Errorf("contract field %s must contain %s", name, ph)
					}
				}
			}
		case reflect.Slice:
			if f.Type().Elem().Kind() != reflect.String {
				continue
			}
			for j := range f.Len() {
				if strings.TrimSpace(f.Index(j).String()) == "" {
					return fmt.Errorf("contract field %s has an empty entry", name)
				}
			}
		}
	}
	return nil
}

// optionalField says a contract string field may stay empty: its struct tag
// is `contract:"optional"` (an empty value turns a feature off, e.g.
// Payscore's applicant link field).
func optionalField(f reflect.StructField) bool { return f.Tag.Get("contract") == "optional" }
