package fleet

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// wire is a change message's body: one local change-log record of one
// member, as JSON. Times are Unix nanoseconds, 0 for none.
type wire struct {
	Member   string `json:"member"`
	Seq      uint64 `json:"seq"` // the record's local sequence number on Member
	Op       string `json:"op"`  // "block" or "unblock"
	Kind     string `json:"kind"`
	Value    string `json:"value"` // canonical
	Original string `json:"original,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Source   string `json:"source,omitempty"`
	Time     int64  `json:"time,omitempty"`
	Created  int64  `json:"created,omitempty"`
	Expires  int64  `json:"expires,omitempty"`
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func encodeChange(member string, r *storage.Record) ([]byte, error) {
	return json.Marshal(wire{
		Member:   member,
		Seq:      r.Seq,
		Op:       r.Op.String(),
		Kind:     r.Contact.Kind.String(),
		Value:    r.Contact.Value,
		Original: r.Original,
		Reason:   r.Reason,
		Source:   r.Source,
		Time:     nanos(r.Time),
		Created:  nanos(r.CreatedAt),
		Expires:  nanos(r.ExpiresAt),
	})
}

// decodeChange reads a change message. The record's Seq is the sender's
// local sequence number; Origin is not set.
func decodeChange(b []byte) (member string, r storage.Record, err error) {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return "", r, fmt.Errorf("fleet: change message: %w", err)
	}
	switch w.Op {
	case "block":
		r.Op = storage.OpBlock
	case "unblock":
		r.Op = storage.OpUnblock
	default:
		return "", r, fmt.Errorf("fleet: change message: op %q", w.Op)
	}
	k, err := normalize.ParseKind(w.Kind)
	if err != nil {
		return "", r, fmt.Errorf("fleet: change message: %w", err)
	}
	if w.Member == "" || w.Value == "" {
		return "", r, fmt.Errorf("fleet: change message: no member or no contact")
	}
	r.Seq = w.Seq
	r.Contact = normalize.Contact{Kind: k, Value: w.Value}
	r.Original, r.Reason, r.Source = w.Original, w.Reason, w.Source
	r.Time, r.CreatedAt, r.ExpiresAt = fromNanos(w.Time), fromNanos(w.Created), fromNanos(w.Expires)
	return w.Member, r, nil
}

// msgID is a change's de-duplication id (Nats-Msg-Id): the member and
// the record's local sequence number, so that a resend within the
// stream's duplicate window is not a second message.
func msgID(member string, seq uint64) string {
	return member + ":" + strconv.FormatUint(seq, 10)
}
