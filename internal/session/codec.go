package session

import (
	"bytes"
	"encoding/gob"
	"slices"
	"time"
)

// sortedCodec encodes session data like scs's GobCodec but with the keys
// in sorted order, so the same data always gives the same bytes. The stores
// rely on that to skip saving a session a request did not change.
type sortedCodec struct{}

type encodedSession struct {
	Deadline time.Time
	Keys     []string
	Values   []any
}

func (sortedCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	e := encodedSession{Deadline: deadline, Keys: make([]string, 0, len(values))}
	for k := range values {
		e.Keys = append(e.Keys, k)
	}
	slices.Sort(e.Keys)
	for _, k := range e.Keys {
		e.Values = append(e.Values, values[k])
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&e); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (sortedCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	var e encodedSession
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&e); err != nil {
		return time.Time{}, nil, err
	}
	values := make(map[string]any, len(e.Keys))
	for i, k := range e.Keys {
		if i < len(e.Values) {
			values[k] = e.Values[i]
		}
	}
	return e.Deadline, values, nil
}
