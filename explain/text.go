package explain

// Text is what the pages say about one status in one language. Every field
// is plain text (no markup); the renderers escape it for their format.
type Text struct {
	// Title is the status's name as a reader of this language would call
	// it, e.g. "Conflict" or "Konflikt".
	Title string
	// Heading is the page's heading in plain words: what happened to the
	// visitor ("Your change was not saved"), not the reason phrase, which
	// goes in the small label above it.
	Heading string
	// Reassure is the one sentence a visitor needs first, where it is true
	// ("Nothing that was already saved has been lost."); "" when there is
	// nothing true to reassure with.
	Reassure string
	// Summary is one sentence: what the status means.
	Summary string
	// What says, for the visitor, what happened to their request.
	What string
	// Where says where in the HTTP exchange the status arises: name
	// lookup, connecting, sending the request, the server checking it,
	// the application deciding, a gateway waiting on another server.
	Where string
	// Visitor lists what the visitor can do, one step an item.
	Visitor []string
	// Owner lists, for the site owner, the likely causes and their fixes,
	// one an item.
	Owner []string
	// Help lists, for a program that reads problem+json, what its client
	// code can do: one step an item, written for a developer, never
	// "reload the page".
	Help []string
}

// UI holds the words around a page's texts in one language.
type UI struct {
	// Name is the language's own name for itself, e.g. "Deutsch".
	Name string
	// Error is the word put before a status code in a page title,
	// e.g. "Error" in "Error 409".
	Error string
	// WhatHeading heads the Text.What paragraph ("What happened").
	WhatHeading string
	// WhereHeading heads the Text.Where paragraph ("Where it arose").
	WhereHeading string
	// VisitorHeading heads the visitor's list ("What you can do").
	VisitorHeading string
	// OwnerHeading heads the owner's list ("For the site owner").
	OwnerHeading string
	// RequestID labels the request id ("Request ID").
	RequestID string
	// Time labels the time of the response ("Time").
	Time string
	// Contact labels the owner's contact ("Contact the site owner").
	Contact string
	// Spec labels the defining specification ("Defined in").
	Spec string
	// QuoteID asks the visitor to quote the request id when they write
	// to the owner (one sentence).
	QuoteID string
	// Home is the text of the link to the site's home page ("Go to the
	// home page").
	Home string
	// TryAgain is the text of the "try again" action offered on a 5xx
	// answer to a safe method ("Try again").
	TryAgain string
	// RetryAfter says how long to wait, from a Retry-After header; "{wait}"
	// in it stands for the wait in words ("Please wait {wait} before you
	// try again.").
	RetryAfter string
	// SiteNote heads the owner's own words for this status on this site
	// ("On this site").
	SiteNote string
	// Dir is the script's direction, "ltr" or "rtl".
	Dir string
}

// Class keys stand in a language's text map for any status of that class
// that has no text of its own.
const (
	Class4xx = 4
	Class5xx = 5
)
