package transport

import (
	"errors"
	"testing"

	"github.com/parleychat/parley"
)

// FuzzWebFrame feeds arbitrary bytes to the browser frame decoder: it
// must never panic, and must either fail with ErrMalformed or
// ErrFrameTooLarge or return a frame with exactly one of its parts set
// whose body, if any, decodes as a request type or fails as malformed.
func FuzzWebFrame(f *testing.F) {
	for _, s := range []string{
		`{"hello":{"Version":1,"User":"alice","Password":"pw"}}`,
		`{"id":1,"op":"send","body":{"Room":"general","ID":"01ARZ3NDEKTSV4RRFFQ69G5FAV","Text":"hi"}}`,
		`{"id":2,"op":"subscribe","body":{"Room":"general","From":1,"Sub":1}}`,
		`{"unsub":3}`,
		`{"id":1,"op":"ping"}`,
		`{"hello":{}} {}`,
		`[]`, `null`, `{"id":1}`, `{"op":"x","unsub":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := DecodeWebFrame(data)
		if err != nil {
			if !errors.Is(err, parley.ErrMalformed) && !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("error %v is neither malformed nor too large", err)
			}
			return
		}
		parts := 0
		for _, set := range []bool{fr.Hello != nil, fr.Op != "", fr.Unsub != 0} {
			if set {
				parts++
			}
		}
		if parts != 1 {
			t.Fatalf("decoded frame has %d parts: %+v", parts, fr)
		}
		if len(fr.Body) > 0 {
			var r SendRequest
			if err := DecodeWebBody(fr.Body, &r); err != nil && !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("body error %v is not malformed", err)
			}
		}
	})
}
