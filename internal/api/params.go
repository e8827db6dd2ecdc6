package api

import (
	"fmt"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"strconv"
	"strings"
	"time"
)

// parseSpan reads a duration in a request (migration.ParseTimeSpan).
func parseSpan(s string) (time.Duration, error) {
	d, err := migration.ParseTimeSpan(s)
	return time.Duration(d), err
}

// parseDate reads 2006-01-02 (midnight UTC) or RFC 3339, as the CLI
// takes a date.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("not a date: write 2024-01-31 or 2024-01-31T08:00:00Z")
	}
	return t, nil
}

// parseField parses the value of a property or form field with parse,
// a problem (422) named by field when it does not parse.
func parseField[T any](field, value string, parse func(string) (T, error)) (T, error) {
	v, err := parse(value)
	if err != nil {
		return v, badValue(field, value, err.Error())
	}
	return v, nil
}

// parseOptional is parseField for an optional property: nil stays nil.
func parseOptional[T any](field string, value *string, parse func(string) (T, error)) (*T, error) {
	if value == nil {
		return nil, nil
	}
	v, err := parseField(field, *value, parse)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// parseBool reads true/false (and 1/0, on/off from forms).
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "on", "yes":
		return true, nil
	case "false", "0", "off", "no", "":
		return false, nil
	}
	return false, fmt.Errorf("must be true or false")
}

// parseCount reads a whole number of at least 0.
func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("must be a whole number, 0 or more")
	}
	return n, nil
}

// parseBytes reads a size in bytes (a whole number, 0 or more).
func parseBytes(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("must be a size in bytes, 0 or more (0: the default, 35000000)")
	}
	return n, nil
}
