package folders

import (
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Folder is one folder as a server lists it.
type Folder struct {
	Name        string           // full name as listed, UTF-8 (go-imap decodes modified UTF-7), e.g. "INBOX.Sent Items"
	Delim       rune             // hierarchy delimiter; 0 on a flat server
	NoSelect    bool             // \Noselect or \NonExistent: a parent only, holds no messages
	NoInferiors bool             // \Noinferiors: cannot have children (an mbox INBOX)
	SpecialUse  imap.MailboxAttr // from the SPECIAL-USE attributes (RFC 6154), "" if none
	Subscribed  bool
}

// FolderFromList builds a Folder from the fields of one LIST response:
//
//	f := folders.FolderFromList(d.Mailbox, d.Delim, d.Attrs)
//
// Attributes are compared without regard to case.
func FolderFromList(name string, delim rune, attrs []imap.MailboxAttr) Folder {
	f := Folder{Name: name, Delim: delim}
	for _, a := range attrs {
		switch s := string(a); {
		case strings.EqualFold(s, `\Noselect`), strings.EqualFold(s, `\NonExistent`):
			f.NoSelect = true
		case strings.EqualFold(s, `\Noinferiors`):
			f.NoInferiors = true
		case strings.EqualFold(s, `\Subscribed`):
			f.Subscribed = true
		default:
			if u := canonicalUse(s); u != "" && f.SpecialUse == "" {
				f.SpecialUse = u
			}
		}
	}
	return f
}

// Options restrict and adjust the plan of one mailbox.
type Options struct {
	// UserRoot, for Courier/Oracle virtual shared folders: only the folders
	// under this root are the user's; they map to the target's top level and
	// the root itself (or root/INBOX) is INBOX. Written with '/' (as in the
	// migration file: "/users/terry.adams"), whatever the source delimiter.
	UserRoot string
	// Exclude holds exclusion patterns (see the package documentation),
	// relative to the mailbox root (below UserRoot and SourcePrefix).
	Exclude []string
	// SourcePrefix and TargetPrefix are the personal namespace prefixes as
	// the servers announce them in NAMESPACE, e.g. "INBOX." on Courier and
	// Cyrus, "" on Dovecot.
	SourcePrefix, TargetPrefix string
	// TargetCaseInsensitive says that the target treats folder names that
	// differ only in case as one folder (Exchange Online, Gmail): two source
	// folders that would become the same folder there are then a collision.
	// INBOX is case-insensitive everywhere regardless.
	TargetCaseInsensitive bool
}

// Mapping is the plan for one folder.
type Mapping struct {
	// Source is the source folder; its zero value (empty Name) for a parent
	// that exists only so that its children can be created.
	Source Folder
	// Target is the full target name (target delimiter and prefix). For an
	// excluded folder it is the name it would have had.
	Target string
	// SpecialUse is the use the target folder has or, when Create is set,
	// should be created with (CREATE-SPECIAL-USE). At most one mapping per
	// use has it.
	SpecialUse imap.MailboxAttr
	// Create: the target folder is not in the target list and must be
	// created (before any of its children: see the order of Plan).
	Create bool
	// Sync: the folder's messages are copied. False for parents only
	// (\Noselect, synthesised parents) and excluded folders.
	Sync bool
	// Excluded, when not empty, is the exclusion pattern that keeps the
	// folder's messages out of the migration, or another reason. An excluded
	// folder may still be created empty as the parent of migrated folders.
	Excluded string
	// Note explains a decision a person may wonder about in a dry run.
	Note string
}

// Describe renders m as one line of a dry-run table, e.g.
//
//	"Sent Messages" → "Sent Items"  sync, create, \Sent, subscribed
func Describe(m Mapping) string {
	var b strings.Builder
	if m.Source.Name == "" {
		b.WriteString("(parent)")
	} else {
		fmt.Fprintf(&b, "%q", m.Source.Name)
	}
	fmt.Fprintf(&b, " → %q ", m.Target)
	var parts []string
	switch {
	case m.Excluded != "":
		parts = append(parts, fmt.Sprintf("excluded (%s)", m.Excluded))
	case m.Sync:
		parts = append(parts, "sync")
	default:
		parts = append(parts, "parent only")
	}
	if m.Create {
		parts = append(parts, "create")
	}
	if m.SpecialUse != "" {
		parts = append(parts, string(m.SpecialUse))
	}
	if m.Source.Subscribed {
		parts = append(parts, "subscribed")
	}
	b.WriteString(" " + strings.Join(parts, ", "))
	if m.Note != "" {
		b.WriteString(" — " + m.Note)
	}
	return b.String()
}

// CollisionError reports source folders that would become the same target
// folder, which Plan refuses: their messages would be merged.
type CollisionError struct {
	Target  string   // the target folder name
	Sources []string // the source folder names, sorted
}

func (e *CollisionError) Error() string {
	quoted := make([]string, len(e.Sources))
	for i, s := range e.Sources {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("source folders %s would all become target folder %q: rename all but one on the source, or exclude them",
		strings.Join(quoted, " and "), e.Target)
}
