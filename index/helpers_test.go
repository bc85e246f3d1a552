package index

import (
	"errors"
	"strings"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func asLimit(err error, le **LimitError) bool { return errors.As(err, le) }
