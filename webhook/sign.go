package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// signature returns the webhook-signature header value: one "v1,<sig>"
// per secret, space-separated (several during a rotation).
func signature(secrets []Secret, id string, ts time.Time, body []byte) string {
	var parts []string
	prefix := id + "." + strconv.FormatInt(ts.Unix(), 10) + "."
	for _, s := range secrets {
		key, err := ParseSecret(s.Key)
		if err != nil {
			continue // validated on the way in; a corrupt one signs nothing
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(prefix))
		mac.Write(body)
		parts = append(parts, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(parts, " ")
}
