package explain

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Encoding is a content coding a page can be sent in.
type Encoding uint8

// The codings, Identity first.
const (
	Identity Encoding = iota
	Gzip
	Zstd
	numEncodings
)

// String returns the coding's Content-Encoding token, "" for Identity.
func (e Encoding) String() string {
	switch e {
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return ""
}

// NegotiateEncoding picks the coding for a page from an Accept-Encoding
// header value (RFC 9110 §12.5.3): the acceptable coding with the highest
// q among zstd and gzip (zstd on a tie; "x-gzip" counts as gzip, "*" as
// any coding not named), else Identity. Identity is also the answer when
// the client excludes it, as a page has no other form to offer. At most
// the first 64 entries are read.
func NegotiateEncoding(acceptEncoding string) Encoding {
	if acceptEncoding == "" {
		return Identity
	}
	qz, qg, qstar := -1, -1, -1
	for n := 0; acceptEncoding != "" && n < 64; n++ {
		var part string
		part, acceptEncoding, _ = strings.Cut(acceptEncoding, ",")
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.TrimSpace(coding)
		q := parseQ(params)
		switch {
		case strings.EqualFold(coding, "zstd"):
			qz = max(qz, q)
		case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
			qg = max(qg, q)
		case coding == "*":
			qstar = max(qstar, q)
		}
	}
	if qz < 0 {
		qz = qstar
	}
	if qg < 0 {
		qg = qstar
	}
	switch {
	case qz > 0 && qz >= qg:
		return Zstd
	case qg > 0:
		return Gzip
	}
	return Identity
}

// encodedPage is a page's static parts compressed once: segs[i] is
// parts[i] in the coding, and the per-request values go between them
// uncompressed.
//
// gzip (RFC 1952 over RFC 1951): one DEFLATE stream. Each part is
// compressed on its own and ended with a sync flush (non-final, ending on
// a byte boundary with an empty stored block), the last one with the final
// block; a per-request value goes between as a non-final stored block
// (BTYPE 00: a header byte, LEN, NLEN, the bytes). No back-reference
// crosses a part, so what goes between cannot shift one. The trailer's
// CRC-32 is computed per request over the whole page.
//
// zstd (RFC 8878): a sequence of frames, which §3.1 allows and decoders
// decode as one stream: a compressed frame per part, and a frame of one
// raw block per per-request value.
type encodedPage struct {
	segs    [][]byte
	segsLen int

	lenOnce sync.Once
	len36   string // the encoded length with a uuid's 36 bytes of id
}

var zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false), zstd.WithZeroFrames(false))
	if err != nil {
		panic(err) // only on invalid options
	}
	return e
})

func (p *Page) encoded(e Encoding) *encodedPage {
	p.encOnce[e].Do(func() {
		ep := &encodedPage{segs: make([][]byte, len(p.parts))}
		for i, part := range p.parts {
			switch e {
			case Gzip:
				var b bytes.Buffer
				fw, _ := flate.NewWriter(&b, flate.BestCompression)
				_, _ = fw.Write(part)
				if i == len(p.parts)-1 {
					_ = fw.Close()
				} else {
					_ = fw.Flush()
				}
				ep.segs[i] = b.Bytes()
			case Zstd:
				if len(part) > 0 {
					ep.segs[i] = zstdEncoder().EncodeAll(part, nil)
				}
			}
			ep.segsLen += len(ep.segs[i])
		}
		p.enc[e] = ep
	})
	return p.enc[e]
}

const (
	gzipHeaderLen  = 10
	gzipTrailerLen = 8
	storedHeadLen  = 5 // the block header byte, LEN, NLEN
	zstdRawHeadLen = 9 // magic, frame header descriptor, 1-byte content size, block header
)

// gzipHeader: no name, no time, no extra fields; XFL 2 (best compression),
// OS 255 (unknown).
var gzipHeader = [gzipHeaderLen]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255}

// EncodedLen returns the length AppendEncoded appends for the request id
// id, or -1 for a page of an owner's template.
func (p *Page) EncodedLen(e Encoding, id string) int {
	if p.tmpl != nil {
		return -1
	}
	if e == Identity || e >= numEncodings {
		return p.Len(id)
	}
	if !safeID(id) {
		id = ""
	}
	ep := p.encoded(e)
	n := ep.segsLen
	if e == Gzip {
		n += gzipHeaderLen + gzipTrailerLen
	}
	for _, s := range p.slots {
		if l := slotLen(s, len(id)); l > 0 {
			if e == Gzip {
				n += storedHeadLen + l
			} else {
				n += zstdRawHeadLen + l
			}
		}
	}
	return n
}

// EncodedLenString is strconv.Itoa(p.EncodedLen(e, id)).
func (p *Page) EncodedLenString(e Encoding, id string) string {
	if e == Identity || e >= numEncodings {
		return p.LenString(id)
	}
	if p.tmpl == nil && len(id) == 36 && safeID(id) {
		ep := p.encoded(e)
		ep.lenOnce.Do(func() { ep.len36 = strconv.Itoa(p.EncodedLen(e, id)) })
		return ep.len36
	}
	return strconv.Itoa(p.EncodedLen(e, id))
}

// AppendEncoded appends the page for one request in coding e to dst. It
// is for built-in pages only (EncodedLen >= 0).
func (p *Page) AppendEncoded(dst []byte, e Encoding, id string, t time.Time) []byte {
	if e == Identity || e >= numEncodings {
		return p.AppendTo(dst, id, t)
	}
	if !safeID(id) {
		id = ""
	}
	ep := p.encoded(e)
	var crc uint32
	size := 0
	if e == Gzip {
		dst = append(dst, gzipHeader[:]...)
	}
	for i, seg := range ep.segs {
		dst = append(dst, seg...)
		if e == Gzip {
			crc = crc32.Update(crc, crc32.IEEETable, p.parts[i])
			size += len(p.parts[i])
		}
		if i >= len(p.slots) {
			continue
		}
		l := slotLen(p.slots[i], len(id))
		if l == 0 {
			continue
		}
		// the header, then the value appended in place
		var at int
		if e == Gzip {
			dst = append(dst, 0, byte(l), byte(l>>8), ^byte(l), ^byte(l>>8))
			at = len(dst)
		} else {
			bh := uint32(l)<<3 | 1 // last block, raw
			dst = append(dst, 0x28, 0xb5, 0x2f, 0xfd, 0x20, byte(l), byte(bh), byte(bh>>8), byte(bh>>16))
			at = len(dst)
		}
		dst = appendSlot(dst, p.slots[i], id, t)
		if e == Gzip {
			crc = crc32.Update(crc, crc32.IEEETable, dst[at:])
			size += l
		}
	}
	if e == Gzip {
		dst = binary.LittleEndian.AppendUint32(dst, crc)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(size))
	}
	return dst
}
