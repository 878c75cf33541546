package explain

import "strconv"

// Status is the language-independent part of what the package knows about
// an HTTP status: its registered reason phrase and where it is defined.
type Status struct {
	Code int
	// Reason is the reason phrase from the IANA HTTP Status Code Registry.
	Reason string
	// RFC and Section name the defining specification.
	RFC     int
	Section string
}

// Spec returns the defining specification in words, e.g.
// "RFC 9110, Section 15.5.10".
func (s Status) Spec() string {
	return "RFC " + strconv.Itoa(s.RFC) + ", Section " + s.Section
}

// SpecURL returns a link to the defining section.
func (s Status) SpecURL() string {
	return "https://www.rfc-editor.org/rfc/rfc" + strconv.Itoa(s.RFC) + "#section-" + s.Section
}

// registry holds every 4xx and 5xx status in the IANA registry that is in
// use (418 is reserved and unused, so it falls back to its class).
var registry = map[int]Status{
	400: {400, "Bad Request", 9110, "15.5.1"},
	401: {401, "Unauthorized", 9110, "15.5.2"},
	402: {402, "Payment Required", 9110, "15.5.3"},
	403: {403, "Forbidden", 9110, "15.5.4"},
	404: {404, "Not Found", 9110, "15.5.5"},
	405: {405, "Method Not Allowed", 9110, "15.5.6"},
	406: {406, "Not Acceptable", 9110, "15.5.7"},
	407: {407, "Proxy Authentication Required", 9110, "15.5.8"},
	408: {408, "Request Timeout", 9110, "15.5.9"},
	409: {409, "Conflict", 9110, "15.5.10"},
	410: {410, "Gone", 9110, "15.5.11"},
	411: {411, "Length Required", 9110, "15.5.12"},
	412: {412, "Precondition Failed", 9110, "15.5.13"},
	413: {413, "Content Too Large", 9110, "15.5.14"},
	414: {414, "URI Too Long", 9110, "15.5.15"},
	415: {415, "Unsupported Media Type", 9110, "15.5.16"},
	416: {416, "Range Not Satisfiable", 9110, "15.5.17"},
	417: {417, "Expectation Failed", 9110, "15.5.18"},
	421: {421, "Misdirected Request", 9110, "15.5.20"},
	422: {422, "Unprocessable Content", 9110, "15.5.21"},
	423: {423, "Locked", 4918, "11.3"},
	424: {424, "Failed Dependency", 4918, "11.4"},
	425: {425, "Too Early", 8470, "5.2"},
	426: {426, "Upgrade Required", 9110, "15.5.22"},
	428: {428, "Precondition Required", 6585, "3"},
	429: {429, "Too Many Requests", 6585, "4"},
	431: {431, "Request Header Fields Too Large", 6585, "5"},
	451: {451, "Unavailable For Legal Reasons", 7725, "3"},
	500: {500, "Internal Server Error", 9110, "15.6.1"},
	501: {501, "Not Implemented", 9110, "15.6.2"},
	502: {502, "Bad Gateway", 9110, "15.6.3"},
	503: {503, "Service Unavailable", 9110, "15.6.4"},
	504: {504, "Gateway Timeout", 9110, "15.6.5"},
	505: {505, "HTTP Version Not Supported", 9110, "15.6.6"},
	506: {506, "Variant Also Negotiates", 2295, "8.1"},
	507: {507, "Insufficient Storage", 4918, "11.5"},
	508: {508, "Loop Detected", 5842, "7.2"},
	510: {510, "Not Extended", 2774, "7"},
	511: {511, "Network Authentication Required", 6585, "6"},
}

// Codes returns every registered status the package has its own texts for,
// in ascending order.
func Codes() []int {
	codes := make([]int, 0, len(registry))
	for c := 400; c < 600; c++ {
		if _, ok := registry[c]; ok {
			codes = append(codes, c)
		}
	}
	return codes
}

// Lookup returns what is known of code. A code outside the registry gets a
// Status with Known false-like zero RFC; its Reason is the class's name.
func Lookup(code int) (Status, bool) {
	s, ok := registry[code]
	if ok {
		return s, true
	}
	if code >= 500 {
		return Status{Code: code, Reason: "Server Error", RFC: 9110, Section: "15.6"}, false
	}
	return Status{Code: code, Reason: "Client Error", RFC: 9110, Section: "15.5"}, false
}

// IsConflictClass reports whether code is one of the statuses this package
// calls the conflict class: a version, precondition or lock conflict.
func IsConflictClass(code int) bool {
	switch code {
	case 409, 412, 423, 424, 428:
		return true
	}
	return false
}
