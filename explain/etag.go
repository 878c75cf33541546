package explain

import (
	"errors"
	"fmt"
)

// EntityTag is one entity tag (RFC 9110, Section 8.8.3): the opaque tag
// without its quotes, and whether it carried the W/ prefix.
type EntityTag struct {
	Weak   bool
	Opaque string
}

// String writes the tag as it goes on the wire: W/"x" or "x".
func (t EntityTag) String() string {
	if t.Weak {
		return `W/"` + t.Opaque + `"`
	}
	return `"` + t.Opaque + `"`
}

// StrongMatch is the strong comparison of RFC 9110, Section 8.8.3.2: both
// tags strong and their opaque tags equal byte for byte. If-Match and
// If-Range use it.
func (t EntityTag) StrongMatch(u EntityTag) bool {
	return !t.Weak && !u.Weak && t.Opaque == u.Opaque
}

// WeakMatch is the weak comparison: the opaque tags equal, whatever the W/
// prefixes. If-None-Match uses it.
func (t EntityTag) WeakMatch(u EntityTag) bool { return t.Opaque == u.Opaque }

// ETagList is the value of If-Match or If-None-Match: "*" or a list of
// entity tags.
type ETagList struct {
	Any  bool
	Tags []EntityTag
}

// MaxETagListEntries bounds the entity tags ParseETagList reads from one
// header. A client that knows more than a few versions of one resource is
// rare; a longer list is reported as an error, not read on.
const MaxETagListEntries = 32

var errEmptyETag = errors.New("empty")

// ParseETag parses one entity-tag: [ "W/" ] DQUOTE *etagc DQUOTE, where
// etagc is any byte from 0x21 to 0x7E but DQUOTE, or 0x80 and above.
// Surrounding spaces and tabs are ignored.
func ParseETag(s string) (EntityTag, error) {
	s = trimOWS(s)
	if s == "" {
		return EntityTag{}, errEmptyETag
	}
	t, rest, err := scanETag(s)
	if err != nil {
		return EntityTag{}, err
	}
	if rest != "" {
		return EntityTag{}, fmt.Errorf("%q after the entity tag", clip(rest, 16))
	}
	return t, nil
}

// ParseETagList parses If-Match or If-None-Match strictly: "*" or
// 1#entity-tag, empty list elements allowed (RFC 9110, Section 5.6.1), at
// most MaxETagListEntries tags. An error says what is wrong and where.
func ParseETagList(s string) (ETagList, error) {
	s = trimOWS(s)
	if s == "*" {
		return ETagList{Any: true}, nil
	}
	var l ETagList
	for s != "" {
		if s[0] == ',' || s[0] == ' ' || s[0] == '\t' {
			s = s[1:]
			continue
		}
		if s[0] == '*' {
			return ETagList{}, errors.New(`"*" must stand alone`)
		}
		if len(l.Tags) == MaxETagListEntries {
			return ETagList{}, fmt.Errorf("more than %d entity tags", MaxETagListEntries)
		}
		t, rest, err := scanETag(s)
		if err != nil {
			return ETagList{}, fmt.Errorf("entity tag %d: %w", len(l.Tags)+1, err)
		}
		l.Tags = append(l.Tags, t)
		rest = trimOWS(rest)
		if rest != "" && rest[0] != ',' {
			return ETagList{}, fmt.Errorf("entity tag %d: %q where a comma belongs", len(l.Tags), clip(rest, 16))
		}
		s = rest
	}
	if len(l.Tags) == 0 {
		return ETagList{}, errors.New("no entity tag")
	}
	return l, nil
}

// scanETag reads one entity tag from the start of s and returns the rest.
func scanETag(s string) (EntityTag, string, error) {
	var t EntityTag
	if len(s) >= 2 && s[0] == 'W' && s[1] == '/' {
		t.Weak = true
		s = s[2:]
	}
	if s == "" || s[0] != '"' {
		if len(s) > 0 && s[0] == 'w' {
			return t, "", errors.New(`lower-case "w/" (the weak prefix is "W/")`)
		}
		return t, "", errors.New("not in double quotes")
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			t.Opaque = s[1:i]
			return t, s[i+1:], nil
		case c == 0x21 || c >= 0x23 && c <= 0x7E || c >= 0x80:
		default:
			return t, "", fmt.Errorf("byte %#02x inside the quotes", c)
		}
	}
	return t, "", errors.New("no closing double quote")
}

// StrongMatch reports whether any tag of the list matches t under the
// strong comparison (If-Match); "*" matches any current representation.
func (l ETagList) StrongMatch(t EntityTag) bool {
	if l.Any {
		return true
	}
	for _, u := range l.Tags {
		if u.StrongMatch(t) {
			return true
		}
	}
	return false
}

// WeakMatch is StrongMatch under the weak comparison (If-None-Match).
func (l ETagList) WeakMatch(t EntityTag) bool {
	if l.Any {
		return true
	}
	for _, u := range l.Tags {
		if u.WeakMatch(t) {
			return true
		}
	}
	return false
}

func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// clip returns at most n bytes of s, for error messages.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
