package session

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"slices"
	"time"
)

// compactCodec encodes session data for the store. It replaces scs's
// GobCodec for two reasons:
//   - the same data always gives the same bytes (keys sorted), which lets
//     the stores skip saving a session a request did not change;
//   - it is several times cheaper than gob, which rebuilds its type
//     descriptions for every session it decodes — on the hot path of every
//     signed-in request.
//
// A session holds only strings, int64s and bools (see the key list in
// manager.go); any other type is an error, not a silent loss.
//
// Format: magic byte, deadline (unix ns, varint), entry count (uvarint),
// then per entry in key order: key (uvarint length + bytes), a type byte
// and the value (string: length + bytes; int64: varint; bool: one byte).
type compactCodec struct{}

// codecMagic can never start a gob stream (gob would read it as an
// 11-byte message length), so older gob-encoded sessions still decode.
const codecMagic = 0xF5

const (
	tagString = 's'
	tagInt64  = 'i'
	tagBool   = 'b'
)

func (compactCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := make([]byte, 0, 256)
	b = append(b, codecMagic)
	b = binary.AppendVarint(b, deadline.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		switch v := values[k].(type) {
		case string:
			b = appendString(append(b, tagString), v)
		case int64:
			b = binary.AppendVarint(append(b, tagInt64), v)
		case bool:
			x := byte(0)
			if v {
				x = 1
			}
			b = append(b, tagBool, x)
		default:
			return nil, fmt.Errorf("session value %q: unsupported type %T", k, v)
		}
	}
	return b, nil
}

var errCorrupt = errors.New("session data: corrupt")

func (compactCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	if len(b) == 0 || b[0] != codecMagic {
		return decodeGob(b)
	}
	r := reader{b: b[1:]}
	deadline := time.Unix(0, r.varint())
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		return time.Time{}, nil, errCorrupt
	}
	values := make(map[string]any, n)
	for i := uint64(0); i < n && r.err == nil; i++ {
		k := r.string()
		switch r.byte() {
		case tagString:
			values[k] = r.string()
		case tagInt64:
			values[k] = r.varint()
		case tagBool:
			values[k] = r.byte() == 1
		default:
			r.err = errCorrupt
		}
	}
	if r.err != nil || len(r.b) != 0 {
		return time.Time{}, nil, errCorrupt
	}
	return deadline, values, nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// reader consumes b, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() { r.err, r.b = errCorrupt, nil }

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// decodeGob reads sessions saved by scs's GobCodec (before this codec).
func decodeGob(b []byte) (time.Time, map[string]any, error) {
	var aux struct {
		Deadline time.Time
		Values   map[string]any
	}
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&aux); err != nil {
		return time.Time{}, nil, err
	}
	return aux.Deadline, aux.Values, nil
}
