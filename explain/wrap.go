package explain

import (
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// displayWidth is the number of terminal columns s takes: East Asian wide
// and fullwidth characters take two, combining marks and format
// characters none, everything else one.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	if unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) {
		return 0
	}
	return 1
}

// breaksAround reports whether a line may break before and after r with
// no space: Han, kana and fullwidth signs, as CJK text runs without
// spaces. Hangul is written with spaces between words, so it breaks only
// there.
func breaksAround(r rune) bool {
	if runeWidth(r) != 2 || unicode.Is(unicode.Hangul, r) {
		return false
	}
	return !noBreakBefore(r) && !noBreakAfter(r)
}

// noBreakBefore holds the closing marks a line must not start with, and
// noBreakAfter the opening ones it must not end with (the strict kinsoku
// rules, for the marks these texts use).
func noBreakBefore(r rune) bool {
	return strings.ContainsRune("、。，．・：；？！）」』】〕〉》”’ー々ぁぃぅぇぉっゃゅょァィゥェォッャュョ.,:;?!)]}%", r)
}

func noBreakAfter(r rune) bool { return strings.ContainsRune("（「『【〔〈《“‘([{", r) }

// atom is a piece of text that is not broken, and whether a space came
// before it.
type atom struct {
	text  string
	space bool
}

// atoms splits s at spaces and, in CJK text, between characters where a
// line may break.
func atoms(s string) []atom {
	var out []atom
	start, space := -1, false
	var last rune
	flush := func(end int) {
		if start >= 0 && end > start {
			out = append(out, atom{s[start:end], space})
			space = false
		}
		start = -1
	}
	for i, r := range s {
		switch {
		case unicode.IsSpace(r):
			flush(i)
			if len(out) > 0 {
				space = true
			}
		case start < 0:
			start = i
		case noBreakBefore(r) || noBreakAfter(last):
			// stays with the atom
		case breaksAround(r) || breaksAround(last):
			flush(i)
			start = i
		}
		last = r
	}
	flush(len(s))
	return out
}

// wrap breaks s into lines of at most width columns (a word longer than
// a line gets a line of its own), the first line starting with first and
// the others with rest, each line ending in a newline.
func wrap(s string, width int, first, rest string) string {
	var b strings.Builder
	b.WriteString(first)
	col, fresh := displayWidth(first), true
	for _, a := range atoms(s) {
		w := displayWidth(a.text)
		sp := 0
		if a.space {
			sp = 1
		}
		if !fresh && col+sp+w > width {
			b.WriteByte('\n')
			b.WriteString(rest)
			col, fresh, sp = displayWidth(rest), true, 0
		}
		if fresh {
			sp = 0
		}
		if sp == 1 {
			b.WriteByte(' ')
		}
		b.WriteString(a.text)
		col += sp + w
		fresh = false
	}
	b.WriteByte('\n')
	return b.String()
}
