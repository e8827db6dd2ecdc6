package migration

import (
	"errors"
	"fmt"
	"strings"
)

// ParseSize reads a size as admins write it: "35MB", "1.5GiB", "512KB" or
// "35000000" (bytes); decimal (KB, MB, GB) and binary (KiB, MiB, GiB)
// units, any case. Every transport (flags, forms) reads sizes with it.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	units := []struct {
		suffix string
		mult   float64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			mult = u.mult
			s = strings.TrimSpace(strings.TrimSuffix(s, u.suffix))
			break
		}
	}
	var v float64
	if _, err := fmt.Sscanf(s, "%g", &v); err != nil || v <= 0 {
		return 0, errors.New("not a size: write e.g. 35MB, 512KiB or 1000000")
	}
	return int64(v * mult), nil
}
