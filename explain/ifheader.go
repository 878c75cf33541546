package explain

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ifHeader is what the hint needs of a WebDAV If header (RFC 4918, Section
// 10.4): whether its lists are tagged with resources, and the lock tokens
// and entity tags its conditions name.
type ifHeader struct {
	tagged    bool
	resources []string
	tokens    []string
	etags     []string
}

// maxIfConditions bounds the conditions parseIfHeader reads.
const maxIfConditions = 32

// parseIfHeader reads
//
//	If = ( 1*No-tag-list ) / ( 1*Tagged-list )
//	Tagged-list = Resource-Tag 1*List
//	List = "(" 1*Condition ")"
//	Condition = ["Not"] ( State-token / "[" entity-tag "]" )
//
// strictly: a mix of tagged and untagged lists, an empty list or an
// unclosed bracket is an error that says where.
func parseIfHeader(s string) (ifHeader, error) {
	var h ifHeader
	lists, untagged := 0, false
	n := 0
	for {
		s = trimOWS(s)
		if s == "" {
			break
		}
		switch s[0] {
		case '<':
			end := strings.IndexByte(s, '>')
			if end < 0 {
				return h, errors.New("resource tag without '>'")
			}
			if untagged {
				return h, errors.New("tagged and untagged lists mixed")
			}
			h.tagged = true
			h.resources = append(h.resources, s[1:end])
			s = s[end+1:]
			s = trimOWS(s)
			if s == "" || s[0] != '(' {
				return h, fmt.Errorf("resource tag <%s> without a list", clip(h.resources[len(h.resources)-1], 32))
			}
		case '(':
			if !h.tagged {
				untagged = true
			}
			lists++
			s = s[1:]
			conds := 0
			for {
				s = trimOWS(s)
				if s == "" {
					return h, fmt.Errorf("list %d without ')'", lists)
				}
				if s[0] == ')' {
					s = s[1:]
					break
				}
				if n++; n > maxIfConditions {
					return h, fmt.Errorf("more than %d conditions", maxIfConditions)
				}
				if len(s) >= 3 && strings.EqualFold(s[:3], "not") {
					s = trimOWS(s[3:])
				}
				switch {
				case s != "" && s[0] == '<':
					end := strings.IndexByte(s, '>')
					if end < 0 {
						return h, fmt.Errorf("state token in list %d without '>'", lists)
					}
					h.tokens = append(h.tokens, s[1:end])
					s = s[end+1:]
				case s != "" && s[0] == '[':
					end := strings.IndexByte(s, ']')
					if end < 0 {
						return h, fmt.Errorf("entity tag in list %d without ']'", lists)
					}
					if _, err := ParseETag(s[1:end]); err != nil {
						return h, fmt.Errorf("entity tag in list %d: %v", lists, err)
					}
					h.etags = append(h.etags, s[1:end])
					s = s[end+1:]
				default:
					return h, fmt.Errorf("%q in list %d where a state token or [entity-tag] belongs", clip(s, 16), lists)
				}
				conds++
			}
			if conds == 0 {
				return h, fmt.Errorf("list %d is empty", lists)
			}
		default:
			return h, fmt.Errorf("%q where a list or resource tag belongs", clip(s, 16))
		}
	}
	if lists == 0 {
		return h, errors.New("no list")
	}
	return h, nil
}

// tagsHost reports whether any resource tag names host, or is a path on
// the request's own host.
func (h ifHeader) tagsHost(host string) bool {
	for _, r := range h.resources {
		u, err := url.Parse(r)
		if err != nil {
			continue
		}
		if u.Host == "" || strings.EqualFold(u.Host, host) {
			return true
		}
	}
	return false
}
