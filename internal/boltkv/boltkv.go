package boltkv

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// PutOrDelete writes val under key when keep is true and deletes key
// otherwise: how a store writes back an entry that a transaction changed
// or removed. A nil val with keep stores the key with an empty value (a
// set member): bbolt's Get answers nil for it as for an absent key, so read
// such a set with a cursor or ForEach.
func PutOrDelete(b *bolt.Bucket, key, val []byte, keep bool) error {
	if !keep {
		return b.Delete(key)
	}
	return b.Put(key, val)
}

// PutJSONOrDelete writes v as JSON under key when keep is true and
// deletes key otherwise; v is not encoded for a delete.
func PutJSONOrDelete(b *bolt.Bucket, key []byte, v any, keep bool) error {
	if !keep {
		return b.Delete(key)
	}
	return PutJSON(b, key, v)
}

// PutJSON writes v as JSON under key.
func PutJSON(b *bolt.Bucket, key []byte, v any) error {
	val, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, val)
}

// GetJSON decodes the value under key into v and reports whether the key
// was there; v is untouched when it was not.
func GetJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	val := b.Get(key)
	if val == nil {
		return false, nil
	}
	return true, json.Unmarshal(val, v)
}

// ForEachJSON decodes every value of b into a new T, in key order, and
// calls fn with its key. A value that does not decode stops the walk with
// an error naming what and the key (`group "Microsoft 365": ...`).
func ForEachJSON[T any](b *bolt.Bucket, what string, fn func(key []byte, v *T) error) error {
	return b.ForEach(func(k, val []byte) error {
		v := new(T)
		if err := json.Unmarshal(val, v); err != nil {
			return fmt.Errorf("%s %q: %w", what, k, err)
		}
		return fn(k, v)
	})
}
