package ocambatest

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sendguard/sendguard/internal/vendorfake"
)

// filterValue returns the value of a documented filterable field of e.
func filterValue(field string, e Entry) string {
	switch field {
	case "id":
		return e.ID
	case "creator_id":
		return e.CreatorID
	case "type":
		return e.Type
	case "create_time":
		return formatTime(e.CreateTime)
	}
	return formatTime(e.UpdateTime) // "update_time"
}

// compareValues compares two filter values of field: times as times, ids
// as numbers, the rest as text. ok is false for an unreadable value.
func compareValues(field, a, b string) (int, bool) {
	switch field {
	case "create_time", "update_time":
		ta, ok1 := parseFilterTime(a)
		tb, ok2 := parseFilterTime(b)
		return ta.Compare(tb), ok1 && ok2
	case "id", "creator_id":
		na, err1 := strconv.Atoi(a)
		nb, err2 := strconv.Atoi(b)
		return cmp.Compare(na, nb), err1 == nil && err2 == nil
	}
	return strings.Compare(a, b), true
}

func isOperator(s string) bool {
	switch s {
	case "eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "is", "isn", "r", "rf", "rl", "rr":
		return true
	}
	return false
}

// match applies one documented filter, <field>=[operator:]value, to a
// value. ok is false for an unknown operator or unreadable value.
func match(field, have, filterValue string) (bool, bool) {
	op, val := "eq", filterValue
	if o, v, found := strings.Cut(filterValue, ":"); found && isOperator(o) {
		op, val = o, v
	}
	one := func(want string) (int, bool) { return compareValues(field, have, want) }
	switch op {
	case "in", "nin":
		in := false
		for w := range strings.SplitSeq(val, ",") {
			c, ok := one(w)
			if !ok {
				return false, false
			}
			in = in || c == 0
		}
		return in == (op == "in"), true
	case "r", "rf":
		lo, hi, found := strings.Cut(val, ",")
		c1, ok1 := one(lo)
		c2, ok2 := one(hi)
		if !found || !ok1 || !ok2 {
			return false, false
		}
		if op == "r" {
			return c1 > 0 && c2 < 0, true
		}
		return c1 >= 0 && c2 <= 0, true
	case "is", "isn":
		empty := have == ""
		return empty == (op == "is"), true
	}
	c, ok := one(val)
	if !ok {
		return false, false
	}
	switch op {
	case "eq":
		return c == 0, true
	case "neq":
		return c != 0, true
	case "gt":
		return c > 0, true
	case "gte", "rl":
		return c >= 0, true
	case "lt":
		return c < 0, true
	default: // "lte", "rr"
		return c <= 0, true
	}
}

// filter keeps the entries that pass every documented filter and the q
// search on description. Parameters that are not filterable (contact, for
// one) are ignored, as a lenient API would.
func filter(all []Entry, r *vendorfake.Request) ([]Entry, bool) {
	out := all[:0]
	q := strings.ToLower(r.Query.Get("q"))
	for _, e := range all {
		keep := q == "" || strings.Contains(strings.ToLower(e.Description), q)
		for _, field := range [...]string{"id", "creator_id", "type", "create_time", "update_time"} {
			for _, fv := range r.Query[field] {
				m, ok := match(field, filterValue(field, e), fv)
				if !ok {
					return nil, false
				}
				keep = keep && m
			}
		}
		if keep {
			out = append(out, e)
		}
	}
	return out, true
}

// sortEntries sorts by the documented sortable fields (create_time,
// update_time; "-" for descending; several comma-separated), ties broken
// by id in the direction of the first key. No sort: newest first.
func sortEntries(all []Entry, spec string) bool {
	if spec == "" {
		spec = "-create_time"
	}
	type key struct {
		get  func(Entry) time.Time
		desc bool
	}
	var keys []key
	for f := range strings.SplitSeq(spec, ",") {
		f = strings.TrimSpace(f)
		desc := strings.HasPrefix(f, "-")
		switch strings.TrimPrefix(f, "-") {
		case "create_time":
			keys = append(keys, key{func(e Entry) time.Time { return e.CreateTime }, desc})
		case "update_time":
			keys = append(keys, key{func(e Entry) time.Time { return e.UpdateTime }, desc})
		default:
			return false
		}
	}
	slices.SortStableFunc(all, func(a, b Entry) int {
		for _, k := range keys {
			c := k.get(a).Compare(k.get(b))
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		na, _ := strconv.Atoi(a.ID)
		nb, _ := strconv.Atoi(b.ID)
		if keys[0].desc {
			return cmp.Compare(nb, na)
		}
		return cmp.Compare(na, nb)
	})
	return true
}
