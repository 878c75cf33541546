package explain_test

// The worst cases of the per-request header work (format and language
// together), for headers up to Caddy's default max_header_bytes (16 KiB)
// and Go's http.DefaultMaxHeaderBytes (1 MiB):
//
//	go test -run '^$' -bench 'HostileHeaders' -benchmem ./explain
//
// No timing is asserted; the figures are in the README under Limits.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/explainerrors/caddy-explain-errors/explain"
)

// hostileShapes builds an Accept and an Accept-Language of n bytes each.
var hostileShapes = []struct {
	name string
	make func(n int) (accept, acceptLanguage string)
}{
	// the longest tags x/text/language parses, repeated: every entry up to
	// the bound is parsed
	{"valid-tags", func(n int) (string, string) {
		return fill("text/html;level=1;q=0.5,", n), fill(distinctTags, n)
	}},
	// malformed entries: skipped one by one
	{"junk-entries", func(n int) (string, string) {
		return fill(`a/b;p="x\"y";q=2,`, n), fill("!!-@@;q=x,", n)
	}},
	// one long token, no comma at all
	{"one-token", func(n int) (string, string) {
		return fill("x", n), fill("a", n)
	}},
	// an unterminated quoted string that swallows every comma
	{"open-quote", func(n int) (string, string) {
		return `text/html;p="` + fill("a,", n), fill(",", n)
	}},
	// the largest well-formed values the cache admits (256 bytes), too
	// many to stay cached
	{"unique-cacheable", nil},
}

// distinctTags are long tags of distinct languages, none of the pages',
// so every one is parsed and matched as far as the bounds let it.
const distinctTags = "sr-Latn-RS-u-nu-latn;q=0.9,uz-Cyrl-UZ-u-ca-islamic;q=0.9,az-Arab-IR-u-co-phonebk;q=0.9," +
	"pa-Guru-IN-u-nu-deva;q=0.9,ms-Arab-BN-u-ca-gregory;q=0.9,mn-Mong-CN-u-co-pinyin;q=0.9,ha-Arab-NG-u-nu-arab;q=0.9," +
	"ks-Deva-IN-u-ca-indian;q=0.9,sd-Deva-IN-u-co-emoji;q=0.9,bs-Cyrl-BA-u-nu-latn;q=0.9,vai-Latn-LR-u-ca-coptic;q=0.9," +
	"shi-Latn-MA-u-co-trad;q=0.9,ff-Adlm-GN-u-nu-adlm;q=0.9,yue-Hans-CN-u-ca-chinese;q=0.9,kk-Arab-CN-u-co-std;q=0.9,tg-Arab-AF-u-ca-persian;q=0.9,"

func fill(unit string, n int) string {
	return strings.Repeat(unit, n/len(unit)+1)[:n]
}

func BenchmarkHostileHeaders(b *testing.B) {
	for _, size := range []int{16 << 10, 1 << 20} {
		for _, sh := range hostileShapes {
			b.Run(fmt.Sprintf("%s/%dKiB", sh.name, size>>10), func(b *testing.B) {
				var accepts, langs []string
				if sh.make != nil {
					a, l := sh.make(size)
					accepts, langs = []string{a}, []string{l}
				} else {
					for i := range 8192 {
						accepts = append(accepts, fill(fmt.Sprintf("text/html;q=0.%03d,application/json;q=0.5,", i%1000), 250))
						langs = append(langs, fmt.Sprintf("de-DE,de;q=0.9,fr-CH;q=0.8,zh-Hant-TW;q=0.7,pt-BR;q=0.6,es-419;q=0.5,x-%04d;q=0.4,ja;q=0.3,ko;q=0.2,ru;q=0.1", i))
					}
				}
				var cache explain.LangCache
				b.ReportAllocs()
				var f explain.Format
				var l explain.Lang
				i := 0
				stop := measureCPU(b)
				for b.Loop() {
					f = explain.NegotiateFormat(accepts[i%len(accepts)])
					l = cache.Match(langs[i%len(langs)])
					i++
				}
				stop()
				sinkString = f.String() + l.String()
			})
		}
	}
}

// BenchmarkBrowserHeaders is the everyday case for comparison: a browser's
// Accept and Accept-Language, the language cached.
func BenchmarkBrowserHeaders(b *testing.B) {
	var cache explain.LangCache
	const accept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
	const al = "de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7"
	b.ReportAllocs()
	var f explain.Format
	var l explain.Lang
	stop := measureCPU(b)
	for b.Loop() {
		f = explain.NegotiateFormat(accept)
		l = cache.Match(al)
	}
	stop()
	sinkString = f.String() + l.String()
}
