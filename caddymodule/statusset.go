package caddymodule

import (
	"fmt"
	"strconv"
	"strings"
)

// statusSet is a set of 4xx and 5xx status codes.
type statusSet struct {
	bits [4]uint64 // bit i stands for status 400+i
}

func (s *statusSet) has(code int) bool {
	i := code - 400
	if i < 0 || i >= 200 {
		return false
	}
	return s.bits[i/64]&(1<<(i%64)) != 0
}

func (s *statusSet) add(code int) {
	i := code - 400
	s.bits[i/64] |= 1 << (i % 64)
}

// parseStatuses reads codes ("409") and classes ("4xx", "5xx") into a set.
func parseStatuses(specs []string) (statusSet, error) {
	var s statusSet
	for _, spec := range specs {
		low := strings.ToLower(spec)
		if len(low) == 3 && strings.HasSuffix(low, "xx") {
			switch low[0] {
			case '4', '5':
				base := int(low[0]-'0') * 100
				for c := base; c < base+100; c++ {
					s.add(c)
				}
				continue
			}
			return s, fmt.Errorf("status class %q: only 4xx and 5xx", spec)
		}
		code, err := strconv.Atoi(spec)
		if err != nil {
			return s, fmt.Errorf("status %q: must be a code like 409 or a class like 4xx", spec)
		}
		if code < 400 || code > 599 {
			return s, fmt.Errorf("status %d: only 4xx and 5xx statuses can be logged or explained", code)
		}
		s.add(code)
	}
	return s, nil
}
