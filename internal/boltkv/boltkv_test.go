package boltkv_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/downsignal/downsignal/internal/boltkv"
)

type item struct {
	Name string `json:"name"`
}

// update runs fn in a write transaction on a fresh bucket of a real file.
func update(t *testing.T, db *bolt.DB, fn func(b *bolt.Bucket) error) {
	t.Helper()
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("b"))
		if err != nil {
			return err
		}
		return fn(b)
	}); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "kv.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestPutOrDelete(t *testing.T) {
	db := open(t)
	for _, tc := range []struct {
		name      string
		val       []byte
		keep      bool
		wantFound bool
		want      string
	}{
		{"put", []byte("v1"), true, true, "v1"},
		{"overwrite", []byte("v2"), true, true, "v2"},
		{"delete", []byte("ignored"), false, false, ""},
		{"delete absent", nil, false, false, ""},
		{"empty member", nil, true, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			update(t, db, func(b *bolt.Bucket) error {
				if err := boltkv.PutOrDelete(b, []byte("k"), tc.val, tc.keep); err != nil {
					return err
				}
				// A cursor, not Get: Get answers nil for an empty value.
				k, got := b.Cursor().Seek([]byte("k"))
				found := string(k) == "k"
				if found != tc.wantFound || string(got) != tc.want {
					t.Errorf("after PutOrDelete(%q, keep=%v): got %q (found %v), want %q (found %v)",
						tc.val, tc.keep, got, found, tc.want, tc.wantFound)
				}
				return nil
			})
		})
	}
}

func TestJSON(t *testing.T) {
	db := open(t)
	update(t, db, func(b *bolt.Bucket) error {
		var it item
		if ok, err := boltkv.GetJSON(b, []byte("a"), &it); ok || err != nil {
			t.Errorf("GetJSON of an absent key: got %v, %v, want false, nil", ok, err)
		}
		if err := boltkv.PutJSONOrDelete(b, []byte("a"), item{"alpha"}, true); err != nil {
			return err
		}
		if err := boltkv.PutJSON(b, []byte("b"), &item{"beta"}); err != nil {
			return err
		}
		if ok, err := boltkv.GetJSON(b, []byte("a"), &it); !ok || err != nil || it.Name != "alpha" {
			t.Errorf("GetJSON: got %v, %v, %+v, want true, nil, alpha", ok, err, it)
		}
		if got := string(b.Get([]byte("b"))); got != `{"name":"beta"}` {
			t.Errorf("stored %s, want the JSON encoding", got)
		}
		var seen []string
		if err := boltkv.ForEachJSON(b, "item", func(k []byte, v *item) error {
			seen = append(seen, string(k)+"="+v.Name)
			return nil
		}); err != nil {
			return err
		}
		if got := strings.Join(seen, ","); got != "a=alpha,b=beta" {
			t.Errorf("ForEachJSON saw %s, want a=alpha,b=beta", got)
		}
		if err := boltkv.PutJSONOrDelete(b, []byte("a"), nil, false); err != nil {
			return err
		}
		if b.Get([]byte("a")) != nil {
			t.Error("PutJSONOrDelete with keep=false left the key")
		}
		return nil
	})
}

func TestJSONErrors(t *testing.T) {
	db := open(t)
	update(t, db, func(b *bolt.Bucket) error {
		if err := b.Put([]byte("bad"), []byte("{not json")); err != nil {
			return err
		}
		var it item
		if ok, err := boltkv.GetJSON(b, []byte("bad"), &it); !ok || err == nil {
			t.Errorf("GetJSON of a bad value: got %v, %v, want true and an error", ok, err)
		}
		err := boltkv.ForEachJSON(b, "item", func([]byte, *item) error { return nil })
		if err == nil || !strings.Contains(err.Error(), `item "bad"`) {
			t.Errorf("ForEachJSON of a bad value: got %v, want an error naming item \"bad\"", err)
		}
		stop := errors.New("stop")
		if err := b.Put([]byte("bad"), []byte(`{"name":"x"}`)); err != nil {
			return err
		}
		if err := boltkv.ForEachJSON(b, "item", func([]byte, *item) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("ForEachJSON: got %v, want fn's error", err)
		}
		if err := boltkv.PutJSON(b, []byte("c"), func() {}); err == nil {
			t.Error("PutJSON of a func: no error")
		}
		return nil
	})
}
